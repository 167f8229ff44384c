import type { Subscription } from 'rxjs';
import type { CommittedEntry, Entry } from '../messages/entry';
import type { NodeId } from '../messages/types';
import type { RaftNode } from '../node';
import { HardStateRecoveryStalledError, UnknownPeerError } from '../errors';
import type { TestCluster } from './cluster';
import { durableLog } from './invariantsDurable';
import type { ClusterConfig } from '../messages/config';
import { testHooksOf } from '../testHooks';

/** Which rule a violation breaks. */
export type ViolationKind =
  /** Two leaders in one term (Raft Figure 3, Election Safety). */
  | 'election-safety'
  /** Two durable logs hold the same (index, term) with different entries or different histories (Log Matching). */
  | 'log-matching'
  /** A leader took office without an entry committed in an earlier term (Leader Completeness). */
  | 'leader-completeness'
  /** Two nodes applied different commands at one index, or a node skipped or reordered one (State Machine Safety). */
  | 'state-machine-safety'
  /** A committed entry is no longer durable on a majority, or a leader's log was not durable when it won. */
  | 'durability'
  /** A node's term, commit index or applied index went backwards within one run. */
  | 'monotonicity'
  /** `read()` resolved with an index below one a node had reported committed before the call (see `SafetyMonitor.readStarted`). */
  | 'stale-read'
  /** A node reported an error on `errors$` (it stopped itself, or saw bad input). */
  | 'node-error'
  /**
   * The node's API broke its promise: `propose` resolved for a command that is not the one
   * applied at its index or failed with an unexpected error, or a request never settled.
   */
  | 'api-contract'
  /** After the faults stopped, the cluster did not elect a leader, serve clients or converge in time. */
  | 'liveness'
  /** A node held more than its configured limits allow (a leader's log past `maxUncommittedBytes`: see `LeaderBounds`). */
  | 'bounds'
  /** The recorded history is not linearizable. */
  | 'linearizability'
  /** The simulation itself threw (a bug in a node or in the simulator). */
  | 'simulator-error';

/** A broken rule, with the virtual time it was seen at. */
export interface Violation {
  readonly kind: ViolationKind;
  /** Virtual time (ms) when it was detected. */
  readonly at: number;
  readonly message: string;
  /** In a simulation of hosts with several Raft groups: the group that broke the rule. */
  readonly group?: string;
}

/** A leader's log as it took office: its durable entries' terms by index, from `base`. */
interface LeaderLog {
  readonly id: NodeId;
  readonly term: number;
  /** Indices below `base` were compacted into a snapshot (committed, so held). */
  readonly base: number;
  /** terms[i] is the term at index base + i. */
  readonly terms: Int32Array;
}

/**
 * One run of a node's state machine: `events` holds each applied index, and each
 * snapshot restored as minus its index; `covered` is the highest index the state
 * reflects (applied or restored).
 */
interface RunLog {
  readonly events: number[];
  covered: number;
}

/** An entry known committed: its term, and the term of the leader that committed it (or a later one). */
interface CommittedInfo {
  readonly term: number;
  readonly commitTerm: number;
  /** The configuration the committing node had in effect: whose majorities must hold the entry. */
  readonly config: ClusterConfig | null;
}

/** A durable (index, term) pair first seen on `node`. */
interface KnownEntry {
  readonly term: number;
  readonly prevTerm: number;
  readonly entry: Entry;
  readonly node: NodeId;
}

/**
 * Watches a `TestCluster` and records every broken Raft safety property.
 *
 * Event-driven, from public streams, as things happen:
 * - **election safety**: every (term, leader) any node ever reported on `status$`; a
 *   second leader for a term is a violation.
 * - **state machine safety**: every entry any node ever emitted on `committed$`, in any
 *   run; the same index with a different term or different bytes is a violation, and so
 *   is a run that emits indices out of order or skips a command index another node
 *   applied (unless a snapshot it restored covers it: see `onRestore`), or restores a
 *   snapshot older than what it already applied.
 * - **leader completeness**: an index is known committed when a node first reports a
 *   commit index that covers it; that node is the leader that committed it (followers
 *   learn commit indices from leaders), so its term is the commit term and its durable
 *   log gives the entry's term (no-ops included) — or, when its own copy is not durable
 *   yet (a leader whose disk hangs commits on its followers' acknowledgements, as Raft
 *   allows), the durable logs of a majority of the voters do. When a node becomes leader, its durable
 *   log (its whole log before the new no-op: a candidate asks for votes only once its
 *   log is durable) is kept; it must hold every entry committed in an earlier term,
 *   whenever that commit is learned (Raft §5.4.3).
 * - **monotonicity**: term, commit index and applied index never decrease within a run.
 * - **node errors**: anything on a node's `errors$`, except messages from non-members
 *   (a removed node keeps talking for a while), which are only counted.
 *
 * From storage, after every virtual instant (`checkStorage`), incrementally:
 * - **log matching**: across all nodes' durable logs (`MemoryStorage.durableEntries()`),
 *   an (index, term) pair always holds the same entry and follows the same term at
 *   index - 1 (which, by induction, is the Log Matching Property); terms never decrease
 *   along a log.
 * - **durability of commits**: a committed entry is durable on a majority when its
 *   commit is first reported, and stays so (a
 *   truncation below it, or a crash losing it, is a violation). A durable snapshot
 *   covers the entries it compacted.
 *
 * Majorities are of the initial node count; the simulator's membership faults keep at
 * most one voter out at a time, so for an odd count the majority size never changes.
 *
 * At the end (`checkConvergence`): every node's current run applied exactly the
 * commands applied anywhere (or restored them from a snapshot), up to the highest
 * applied index — nothing committed was lost across restarts, and every restart
 * replayed an identical prefix.
 *
 * @example
 * const monitor = new SafetyMonitor(cluster);
 * await cluster.clock.advanceTo(5000, () => monitor.checkStorage());
 * monitor.checkConvergence();
 * expect(monitor.violations).toEqual([]);
 */
export class SafetyMonitor {
  readonly violations: Violation[] = [];
  /** Snapshots restored so far (reported through `onRestore`). */
  restores = 0;
  /** Messages nodes dropped because they came from a non-member (a removed node). */
  unknownPeerMessages = 0;
  /** term → the leader seen in it. */
  private readonly leaders = new Map<number, NodeId>();
  private readonly leaderLogs: LeaderLog[] = [];
  /** index → the command applied there (first seen), and by whom. */
  private readonly applied = new Map<number, { readonly entry: CommittedEntry; readonly node: NodeId }>();
  /** committed[index]: what is known committed there (index 0 unused). */
  private readonly committed: (CommittedInfo | undefined)[] = [];
  /** The highest commit index any node reported. */
  private commitWatermark = 0;
  /** Who first reported `commitWatermark`, in which term, and when (virtual ms). */
  private watermarkBy: { readonly id: NodeId; readonly term: number; readonly at: number } | null = null;
  private reportedUncommitted = false;
  /** Command indices applied anywhere, ascending. */
  private readonly appliedIndices: number[] = [];
  private appliedSorted = true;
  /** The durable log of each node as last checked (entries compared by identity). */
  private readonly checkedLogs = new Map<NodeId, Entry[]>();
  /** known[index] = every (term) seen durable at index, with its entry. */
  private readonly known: KnownEntry[][] = [];
  private readonly subscriptions: Subscription[] = [];
  /** Per node and run: what the run's state machine went through, in order. */
  private readonly runs = new Map<NodeId, RunLog[]>();

  constructor(private readonly cluster: TestCluster) {
    for (const id of cluster.ids) {
      this.checkedLogs.set(id, []);
      this.runs.set(id, []);
      if (cluster.isRunning(id)) this.attach(id, cluster.node(id));
    }
    this.subscriptions.push(cluster.started$.subscribe(({ id, node }) => this.attach(id, node)));
  }

  /** Records a violation found elsewhere (workload, liveness, linearizability). */
  report(kind: ViolationKind, message: string): void {
    this.violations.push({ kind, at: this.cluster.clock.now(), message });
  }

  /** How many distinct (term, leader) pairs were seen. */
  get elections(): number {
    return this.leaders.size;
  }

  /** The highest index any node applied a command at (0: none). */
  get highestApplied(): number {
    this.sortApplied();
    return this.appliedIndices[this.appliedIndices.length - 1] ?? 0;
  }

  /** Checks every node's durable log against the others and against what was committed. */
  checkStorage(): void {
    for (const id of this.cluster.ids) this.checkLog(id);
    if (this.highestApplied > this.commitWatermark && !this.reportedUncommitted) {
      this.reportedUncommitted = true;
      this.report('state-machine-safety', `index ${this.highestApplied} was applied, but no node reported a commit index beyond ${this.commitWatermark}`);
    }
  }

  /**
   * End of run: every node's current run must have applied exactly the commands applied
   * anywhere, up to the highest index applied anywhere. Call once the cluster converged.
   */
  checkConvergence(): void {
    this.checkStorage();
    const top = this.highestApplied;
    for (const id of this.cluster.ids) {
      const runs = this.runs.get(id)!;
      for (const [r, run] of runs.entries()) this.checkRunPrefix(id, r, run);
      const reached = runs[runs.length - 1]?.covered ?? 0;
      if (this.cluster.isRunning(id) && reached < top) {
        this.report('liveness', `${id} applied up to index ${reached} only, but index ${top} was applied elsewhere`);
      }
    }
  }

  /**
   * Run `run` of node `id` restored a snapshot as of `index` (at start, or one sent by the
   * leader). Its state must not go back, and it then goes on after `index`.
   */
  onRestore(id: NodeId, run: number, index: number): void {
    this.restores++;
    const log = this.runs.get(id)?.[run];
    if (!log) return;
    if (index < log.covered) {
      this.report('state-machine-safety', `${id} (run ${run}) restored a snapshot at index ${index} after applying up to ${log.covered}`);
    }
    log.events.push(-index);
    log.covered = Math.max(log.covered, index);
  }

  /** Every command applied anywhere up to `index`, in index order (to rebuild a state). */
  appliedUpTo(index: number): CommittedEntry[] {
    this.sortApplied();
    const out: CommittedEntry[] = [];
    for (const i of this.appliedIndices) {
      if (i > index) break;
      out.push(this.applied.get(i)!.entry);
    }
    return out;
  }

  /**
   * A client is about to call `read()` on node `id`: returns the check to run with the
   * index the read resolves with. That index must cover every index any node reported
   * committed before the call (`read()` promises "every entry committed before the call").
   * This finds a lease read served by a deposed leader as soon as the new leader commits
   * anything, even its no-op, where the linearizability check needs a client to observe
   * a write the read then misses.
   *
   * Sound (no report on a correct node): every reported commit index is truly committed,
   * so the watermark at the call is at most what was committed then. Say index i was
   * committed by the leader of term T' before the call, and the read index r comes from
   * the leader L of term T that answered the read (for a follower's read too), taken as
   * L's commit index when it handled the read, after the call.
   * - T' < T: L's log holds i (Leader Completeness), and L answers only once an entry of
   *   its own term, which follows i, has committed: r >= i.
   * - T' = T: L committed i itself, and its commit index never decreases: r >= i.
   * - T' > T is impossible. ReadIndex: a majority answered L's round in term T after the
   *   call, while a majority had term >= T' before it; the majorities share a voter
   *   (of any two configurations the simulator makes: at most one voter is out at a
   *   time), and terms are durable and never decrease. Lease: while the lease holds, no
   *   leader of a later term can exist (DESIGN invariant 9).
   *
   * @example
   * const check = monitor.readStarted('n1', true);
   * node.read({ lease: true }).then(({ index }) => check(index));
   */
  readStarted(id: NodeId, lease: boolean): (index: number) => void {
    const watermark = this.commitWatermark;
    const by = this.watermarkBy;
    const calledAt = this.cluster.clock.now();
    return (index) => {
      if (index >= watermark) return;
      this.report(
        'stale-read',
        `a ${lease ? 'lease' : 'ReadIndex'} read on ${id} called at ${calledAt.toFixed(1)} ms resolved with index ${index}, but ${by!.id} (term ${by!.term}) had reported index ${watermark} committed at ${by!.at.toFixed(1)} ms`,
      );
    };
  }

  /** Stops watching. */
  dispose(): void {
    for (const s of this.subscriptions) s.unsubscribe();
  }

  private attach(id: NodeId, node: RaftNode): void {
    const run: RunLog = { events: [], covered: 0 };
    const runNumber = this.runs.get(id)!.push(run) - 1;
    let last = { term: 0, commitIndex: 0, appliedIndex: 0 };
    this.subscriptions.push(
      node.committed$.subscribe((e) => this.onApplied(id, runNumber, run, e)),
      node.errors$.subscribe((e) => {
        // A removed member keeps talking until it learns it is out: expected, and harmless.
        if (e instanceof UnknownPeerError) this.unknownPeerMessages++;
        // A node recovering a lost hard state while a member is down or cut off waits, safely (a storage fault).
        else if (e instanceof HardStateRecoveryStalledError) return;
        else this.report('node-error', `${id}: ${e.name}: ${e.message}`);
      }),
      node.status$.subscribe((s) => {
        if (s.stopped) return;
        if (s.term < last.term || s.commitIndex < last.commitIndex || s.appliedIndex < last.appliedIndex) {
          this.report(
            'monotonicity',
            `${id} went from term ${last.term}, commit ${last.commitIndex}, applied ${last.appliedIndex} to term ${s.term}, commit ${s.commitIndex}, applied ${s.appliedIndex}`,
          );
        }
        last = s;
        if (s.role === 'leader') this.onLeader(id, s.term, s.lastIndex);
        if (s.commitIndex > this.commitWatermark) this.onCommitAdvance(id, s.term, s.commitIndex);
      }),
    );
  }

  private onLeader(id: NodeId, term: number, lastIndex: number): void {
    const known = this.leaders.get(term);
    if (known === id) return;
    if (known !== undefined) {
      this.report('election-safety', `two leaders in term ${term}: ${known} and ${id}`);
      return;
    }
    this.leaders.set(term, id);
    const durable = durableLog(this.cluster.storage(id));
    // Everything before the new leader's no-op must already be durable.
    if (durable.lastIndex < lastIndex - 1) {
      this.report('durability', `${id} became leader of term ${term} with ${lastIndex - 1} entries before its no-op, only ${durable.lastIndex} durable`);
    }
    const terms = Int32Array.from(durable.entries, (e) => e.term);
    const log: LeaderLog = { id, term, base: durable.base, terms };
    this.leaderLogs.push(log);
    for (let i = 1; i <= this.commitWatermark; i++) this.checkCompleteness(log, i, this.committed[i]!);
  }

  /** Node `id`, in `term`, is the first to report entries up to `commitIndex` committed. */
  private onCommitAdvance(id: NodeId, term: number, commitIndex: number): void {
    const from = this.commitWatermark + 1;
    this.commitWatermark = commitIndex;
    this.watermarkBy = { id, term, at: this.cluster.clock.now() };
    const durable = durableLog(this.cluster.storage(id));
    const config = this.cluster.isRunning(id) ? testHooksOf(this.cluster.node(id)).config() : null;
    for (let i = from; i <= commitIndex; i++) {
      const entryTerm = durable.termAt(i) ?? this.majorityTermAt(i, config);
      if (entryTerm === undefined || entryTerm === 'snapshot') {
        if (entryTerm === undefined) {
          this.report('durability', `${id} (term ${term}) reported index ${i} committed, but its durable log ends at ${durable.lastIndex} and no majority holds it durably`);
        }
        this.committed[i] = { term: -1, commitTerm: term, config };
        continue;
      }
      const info: CommittedInfo = { term: entryTerm, commitTerm: term, config };
      this.committed[i] = info;
      const applied = this.applied.get(i);
      if (applied && applied.entry.term !== entryTerm) {
        this.report('state-machine-safety', `index ${i}: ${applied.node} applied term ${applied.entry.term}, but ${id} committed term ${entryTerm}`);
      }
      this.checkDurableMajority(i, entryTerm, config, `when ${id} (term ${term}) committed it`);
      for (const log of this.leaderLogs) this.checkCompleteness(log, i, info);
    }
  }

  /**
   * The term that a majority of the voters of `config` (of every node without it) hold
   * durably at `index`, if there is one: the entry a node committed on the others'
   * copies while its own was not durable yet.
   */
  private majorityTermAt(index: number, config: ClusterConfig | null): number | undefined {
    const voters = config ? config.voters : this.cluster.ids;
    const holders = new Map<number, number>();
    for (const id of voters) {
      const t = this.cluster.ids.includes(id) ? durableLog(this.cluster.storage(id)).termAt(index) : undefined;
      if (typeof t === 'number') holders.set(t, (holders.get(t) ?? 0) + 1);
    }
    for (const [t, n] of holders) if (n >= Math.floor(voters.length / 2) + 1) return t;
    return undefined;
  }

  private checkCompleteness(log: LeaderLog, index: number, info: CommittedInfo): void {
    if (log.term <= info.commitTerm || info.term < 0 || index < log.base) return;
    const held = index - log.base < log.terms.length ? log.terms[index - log.base] : undefined;
    if (held !== info.term) {
      this.report(
        'leader-completeness',
        `${log.id} became leader of term ${log.term} without index ${index} (term ${info.term}, committed in term ${info.commitTerm}); it held ${held === undefined ? 'nothing' : `term ${held}`} there`,
      );
    }
  }

  private onApplied(id: NodeId, runNumber: number, run: RunLog, e: CommittedEntry): void {
    const prev = run.covered;
    if (e.index <= prev) {
      this.report('state-machine-safety', `${id} (run ${runNumber}) applied index ${e.index} after reaching index ${prev}`);
    }
    run.events.push(e.index);
    run.covered = Math.max(run.covered, e.index);
    const first = this.applied.get(e.index);
    if (!first) {
      this.applied.set(e.index, { entry: e, node: id });
      if (this.appliedIndices.length > 0 && e.index < this.appliedIndices[this.appliedIndices.length - 1]) this.appliedSorted = false;
      this.appliedIndices.push(e.index);
      // A node applies before it publishes its new commit index: if the commit is not
      // known yet, onCommitAdvance compares, and checkStorage makes sure it comes.
      const committed = this.committed[e.index];
      if (committed && committed.term !== e.term) {
        this.report('state-machine-safety', `index ${e.index}: ${id} applied term ${e.term}, but term ${committed.term} was committed there`);
      }
    } else if (first.entry.term !== e.term || !sameBytes(first.entry.data, e.data)) {
      this.report(
        'state-machine-safety',
        `index ${e.index}: ${first.node} applied term ${first.entry.term} ${preview(first.entry.data)}, ${id} (run ${runNumber}) applied term ${e.term} ${preview(e.data)}`,
      );
    }
    // A command index applied elsewhere between this run's previous index and this one was skipped.
    this.sortApplied();
    const skipped = this.firstAppliedBetween(prev, e.index);
    if (skipped !== undefined) {
      this.report('state-machine-safety', `${id} (run ${runNumber}) skipped index ${skipped}, which ${this.applied.get(skipped)!.node} applied`);
    }
  }

  /**
   * A run must have applied exactly the command indices applied anywhere, except those a
   * restored snapshot covers: between two consecutive events, no command index is missing.
   */
  private checkRunPrefix(id: NodeId, runNumber: number, run: RunLog): void {
    this.sortApplied();
    let covered = 0;
    for (const event of run.events) {
      if (event < 0) {
        covered = Math.max(covered, -event);
        continue;
      }
      const skipped = this.firstAppliedBetween(covered, event);
      if (skipped !== undefined) {
        this.report('state-machine-safety', `${id} (run ${runNumber}) applied index ${event} after ${covered}, skipping index ${skipped}, which was applied elsewhere`);
        return;
      }
      covered = event;
    }
  }

  private firstAppliedBetween(lo: number, hi: number): number | undefined {
    const all = this.appliedIndices;
    let a = 0;
    let b = all.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (all[m] <= lo) a = m + 1;
      else b = m;
    }
    return a < all.length && all[a] < hi ? all[a] : undefined;
  }

  private sortApplied(): void {
    if (this.appliedSorted) return;
    this.appliedIndices.sort((a, b) => a - b);
    this.appliedSorted = true;
  }

  /**
   * A committed entry must be durable on a majority of the voters of the configuration
   * that committed it (of both voter sets in a joint configuration); without the
   * configuration (the committing node was not running), on a majority of all nodes.
   *
   * A node whose storage lost its tail (a storage fault, at most one node at a time)
   * counts as still holding what it lost until it is repaired: that loss is the fault the
   * cluster tolerates, and the protocol keeps the node out of elections meanwhile.
   */
  private checkDurableMajority(index: number, term: number, config: ClusterConfig | null, when: string): void {
    const holds = (id: NodeId) => {
      const storage = this.cluster.storage(id);
      const lostFrom = storage.damagedFrom;
      return durableLog(storage).holds(index, term) || (lostFrom !== null && index >= lostFrom);
    };
    const sets = config ? [config.voters, ...(config.oldVoters ? [config.oldVoters] : [])] : [this.cluster.ids];
    for (const voters of sets) {
      const holders = voters.filter(holds).length;
      if (holders >= Math.floor(voters.length / 2) + 1) continue;
      this.report('durability', `index ${index} (term ${term}) is committed but durable on ${holders} of ${voters.length} voters (${voters.join(', ')}) ${when}`);
      return;
    }
  }

  private checkLog(id: NodeId): void {
    const log = this.cluster.storage(id).durableEntries();
    const seen = this.checkedLogs.get(id)!;
    // Storage changes only at the end (truncate + append), or drops a prefix (compaction,
    // which shifts every position: then everything is checked again). Find where it
    // starts to differ.
    let k = Math.min(log.length, seen.length);
    if (k > 0 && log[0] !== seen[0]) k = 0;
    while (k > 0 && log[k - 1] !== seen[k - 1]) k--;
    if (k === log.length && k === seen.length) return;
    const truncated = k < seen.length;
    seen.length = k;
    const first = log[0]?.index ?? 1;
    for (let i = k; i < log.length; i++) {
      const e = log[i];
      // The term before the first entry is the snapshot's (or 0 at index 1), when known.
      const before = i > 0 ? log[i - 1].term : first === 1 ? 0 : durableLog(this.cluster.storage(id)).termAt(first - 1);
      const prevTerm = typeof before === 'number' ? before : UNKNOWN_TERM;
      if (e.index !== first + i) {
        this.report('log-matching', `${id}'s durable log holds index ${e.index} where index ${first + i} belongs`);
      } else if (e.term < prevTerm) {
        this.report('log-matching', `${id}'s durable log has term ${e.term} at index ${e.index} after term ${prevTerm}`);
      }
      this.checkKnown(id, e, prevTerm);
      seen.push(e);
    }
    if (truncated) {
      // A truncation must never remove a committed entry from a majority.
      for (let i = first + k; i <= this.commitWatermark; i++) {
        const info = this.committed[i]!;
        if (info.term >= 0) this.checkDurableMajority(i, info.term, info.config, `after ${id} truncated its log from index ${k + 1}`);
      }
    }
  }

  private checkKnown(id: NodeId, e: Entry, prevTerm: number): void {
    const atIndex = (this.known[e.index] ??= []);
    const same = atIndex.find((k) => k.term === e.term);
    if (!same) {
      atIndex.push({ term: e.term, prevTerm, entry: e, node: id });
      return;
    }
    const prevDiffers = same.prevTerm !== prevTerm && same.prevTerm !== UNKNOWN_TERM && prevTerm !== UNKNOWN_TERM;
    if (same.entry === e) {
      if (prevDiffers) this.reportMismatch(id, e, same, prevTerm);
      return;
    }
    if (prevDiffers || same.entry.kind !== e.kind || !sameBytes(same.entry.data, e.data)) {
      this.reportMismatch(id, e, same, prevTerm);
    }
  }

  private reportMismatch(id: NodeId, e: Entry, same: KnownEntry, prevTerm: number): void {
    this.report(
      'log-matching',
      `index ${e.index} term ${e.term}: ${same.node} holds ${preview(same.entry.data)} after term ${same.prevTerm}, ${id} holds ${preview(e.data)} after term ${prevTerm}`,
    );
  }
}

/** The term before a log's first entry when it was compacted away and is not known. */
const UNKNOWN_TERM = -1;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  if (a.buffer === b.buffer && a.byteOffset === b.byteOffset) return true; // views of the same bytes
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function preview(data: Uint8Array): string {
  const text = new TextDecoder().decode(data.subarray(0, 60));
  return JSON.stringify(text);
}
