/**
 * One trial of the Raft paper's Figure 16 ("the time to detect and replace a crashed
 * leader", §9.3 of "In Search of an Understandable Consensus Algorithm (Extended
 * Version)") on the deterministic simulator: five real rxraft nodes on virtual time, an
 * in-memory network and in-memory storage, every random choice drawn from one seed.
 *
 * The paper's worst case, as set up here:
 * - **Logs of different lengths**, "so some candidates were not eligible to become
 *   leader": before the crash the four followers hold k, k+1, k+2 and k+3 entries (in a
 *   random order), so only the two longest can win (§5.4.1).
 * - **A synchronized heartbeat broadcast before the crash**: rxraft's leader sends each
 *   heartbeat round to every follower at one instant, so the last round before the crash
 *   is one.
 * - **A crash at a uniformly random time within the heartbeat interval**, which is half
 *   of the minimum election timeout. The crash is a power loss (`TestCluster.crash`).
 *
 * Downtime runs from the crash to the instant a surviving node becomes leader (read
 * from its `status$`, so exact in virtual time). For reference the trial also records
 * when that leader's first entry (its no-op) commits: the first moment it can serve a
 * write.
 */
import { SchedulerLike, Subscription } from 'rxjs';
import type { NodeId, RaftMessage } from '../src/messages/types';
import type { TimeoutRange } from '../src/api';
import { seededRandom } from '../src/random';
import type { NodeStatus } from '../src/api';
import { TestCluster } from '../src/testing/cluster';
import type { Transport } from '../src/transports/transport';

/** What a trial varies and what it holds fixed. Times in (virtual) milliseconds. */
export interface TrialConfig {
  /** The election timeout range; the heartbeat interval is half of `min`. */
  readonly electionTimeout: TimeoutRange;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** One-way network delay, drawn uniformly per message. */
  readonly delay: { readonly min: number; readonly max: number };
  /** Simulated fsync latency of each node's storage. */
  readonly syncDelay: number;
  /** Give up waiting for a new leader this long after the crash (the trial is censored). */
  readonly giveUpAfter: number;
  /** Give the followers logs of different lengths before the crash (the paper's worst case). */
  readonly divergentLogs: boolean;
}

/** The outcome of one trial. `null` times mean "not within `giveUpAfter`". */
export interface TrialResult {
  readonly seed: number;
  /** Crash → a surviving node becomes leader (the paper's downtime). */
  readonly electedMs: number | null;
  /** Crash → the first leader elected after it commits its first entry (its no-op). */
  readonly committedMs: number | null;
  /** How many terms the election took (1 = the first election after the crash won). */
  readonly terms: number | null;
  /** Time from the leader's last heartbeat round to the crash (uniform in [0, heartbeat interval)). */
  readonly sinceHeartbeat: number | null;
  /**
   * Within `SETUP_TIMEOUTS` maximum election timeouts, no leader held office from its
   * election to the crash (leaders kept being deposed without a crash): there was no
   * stable cluster to measure, and the times are null.
   */
  readonly unstable: boolean;
}

/** Node count, as in the paper. */
export const CLUSTER_SIZE = 5;

/**
 * The paper's setup as this benchmark models it: a broadcast time of about 15 ms made,
 * as the paper defines it (§5.6: the recipient persists before it answers), of a 1–2 ms
 * one-way network delay and a 12 ms fsync. A vote round is then 1.5 + 12 + 1.5 ≈ 15 ms,
 * while a heartbeat (nothing to persist) takes 3 ms: the paper's 12–24 ms timeouts, which
 * kept leaders in office, rule out a network that itself takes 15 ms per round. No PreVote
 * and no CheckQuorum: neither existed in the paper's implementation.
 */
export const PAPER_SETUP: Omit<TrialConfig, 'electionTimeout'> = {
  preVote: false,
  checkQuorum: false,
  delay: { min: 1, max: 2 },
  syncDelay: 12,
  giveUpAfter: 10_000,
  divergentLogs: true,
};

/** How many maximum election timeouts the setup may take to find a leader that lasts. */
export const SETUP_TIMEOUTS = 40;

/** Independent random streams of one trial, all derived from its seed. */
const STREAM = { cluster: 1, stagger: 2, trial: 3 } as const;

/**
 * A seed for random stream `stream` of trial `seed`, mixed (a murmur3 finalizer) so that
 * neighbouring trials' streams do not overlap: trial 1's stagger stream is not trial 2's
 * cluster stream.
 */
export function subSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Runs one trial: builds a fresh cluster from `seed`, elects a leader, makes the logs
 * diverge, crashes the leader at a random point of its heartbeat interval, and times
 * the election that follows. Deterministic: same seed and config, same result.
 *
 * @example
 * const r = await runTrial(7, { ...PAPER_SETUP, electionTimeout: { min: 150, max: 300 } });
 * r.electedMs; // e.g. 212.4
 */
export async function runTrial(seed: number, config: TrialConfig): Promise<TrialResult> {
  const { electionTimeout } = config;
  const heartbeatInterval = electionTimeout.min / 2;
  const net = new NetworkTap();
  const cluster = new TestCluster({
    nodes: CLUSTER_SIZE,
    seed: subSeed(seed, STREAM.cluster),
    faults: { delay: config.delay },
    syncDelay: config.syncDelay,
    nodeOptions: {
      electionTimeout,
      heartbeatInterval,
      preVote: config.preVote,
      checkQuorum: config.checkQuorum,
    },
    transport: (id, transport, scheduler) => net.wrap(id, transport, scheduler),
  });
  const random = seededRandom(subSeed(seed, STREAM.trial));
  const statuses = new StatusWatch(cluster);
  try {
    await startStaggered(cluster, seededRandom(subSeed(seed, STREAM.stagger)), electionTimeout.min, statuses);
    const setupEnds = cluster.clock.now() + SETUP_TIMEOUTS * electionTimeout.max;
    const stable = await settleLeader(cluster, statuses, net, random, config, setupEnds);
    if (!stable) return { seed, electedMs: null, committedMs: null, terms: null, sinceHeartbeat: null, unstable: true };
    const { leader, office } = stable;
    const crashedAt = cluster.clock.now();
    const sinceHeartbeat = crashedAt - net.lastHeartbeatFrom(leader);
    cluster.crash(leader);
    net.caps.clear();
    const deadline = crashedAt + config.giveUpAfter;
    const winner = await statuses.until(() => statuses.firstLeaderAfter(office.term), config.giveUpAfter);
    if (!winner) return { seed, electedMs: null, committedMs: null, terms: null, sinceHeartbeat, unstable: false };
    const committed = await statuses.until(() => statuses.firstCommitAfter(office.term), deadline - cluster.clock.now());
    return {
      seed,
      electedMs: winner.at - crashedAt,
      committedMs: committed === undefined ? null : committed - crashedAt,
      terms: winner.term - office.term,
      sinceHeartbeat,
      unstable: false,
    };
  } finally {
    statuses.unsubscribe();
    await cluster.stop();
  }
}

/**
 * Brings the cluster to the moment of the crash: a leader that every node follows, its
 * no-op committed everywhere, the followers' logs made to diverge, a full election
 * timeout of calm, then a random fraction of a heartbeat interval. If the leader loses
 * office meanwhile (timeouts too close to the round-trip time depose leaders without
 * any crash), starts over with the next leader, until `setupEnds`; returns undefined if
 * no leader lasted.
 */
async function settleLeader(
  cluster: TestCluster,
  statuses: StatusWatch,
  net: NetworkTap,
  random: () => number,
  config: TrialConfig,
  setupEnds: number,
): Promise<{ leader: NodeId; office: Leadership } | undefined> {
  const { electionTimeout } = config;
  const left = () => setupEnds - cluster.clock.now();
  while (left() > 0) {
    net.caps.clear();
    const leader = await statuses.until(() => statuses.stableLeader(), left());
    if (!leader) return undefined;
    // Wait for the leader's no-op to commit everywhere, so every log starts alike at k.
    await statuses.until(() => statuses.allCommitted(leader), left());
    const office = statuses.holdsOffice(leader);
    if (!office) continue;
    if (config.divergentLogs) await divergeLogs(cluster, leader, net, random, config);
    // Calm for a full election timeout; then crash at a uniformly random time within one
    // heartbeat interval (heartbeat rounds are periodic, so any window of that length will do).
    await cluster.clock.advance(electionTimeout.max);
    await cluster.clock.advance(random() * (electionTimeout.min / 2));
    if (statuses.holdsOffice(leader) === office && !statuses.firstLeaderAfter(office.term)) return { leader, office };
  }
  return undefined;
}

/**
 * Restarts all nodes but one at random times within the first `spread` ms. TestCluster
 * starts every node at t=0; with equal timeouts (150–150) nodes started at one instant
 * stay in lockstep and split every vote forever, which is a setup artefact, not what the
 * figure measures. Nothing is durable yet, so a restart is a clean late start.
 */
async function startStaggered(cluster: TestCluster, random: () => number, spread: number, statuses: StatusWatch): Promise<void> {
  const late = cluster.ids.slice(1).map((id) => ({ id, at: random() * spread })).sort((a, b) => a.at - b.at);
  for (const { id } of late) cluster.crash(id);
  for (const { id, at } of late) {
    await cluster.clock.advanceTo(at);
    cluster.start(id);
    statuses.watch(id);
  }
}

/**
 * Appends three entries through `leader` while holding each back from some followers,
 * leaving the four followers (in a random order) with k+3, k+2, k+1 and k entries.
 * Entries are proposed one at a time, so each AppendEntries carries one new entry and a
 * held-back one is simply dropped; heartbeats (no entries) still reach everyone.
 */
async function divergeLogs(
  cluster: TestCluster,
  leader: NodeId,
  net: NetworkTap,
  random: () => number,
  config: TrialConfig,
): Promise<void> {
  const followers = shuffle(cluster.ids.filter((id) => id !== leader), random);
  const k = cluster.status(leader)!.lastIndex;
  followers.forEach((id, i) => net.caps.set(id, k + followers.length - 1 - i));
  // Long enough for an entry to reach every follower that may have it (and be acknowledged).
  const settleMs = 2 * config.delay.max + 2 * config.syncDelay + 1;
  for (let i = 1; i < followers.length; i++) {
    cluster
      .node(leader)
      .propose(new TextEncoder().encode(`entry ${i}`))
      .catch(() => undefined); // the last one never commits; the crash drops it
    await cluster.clock.advance(settleMs);
  }
}

/** Fisher–Yates with the given random source. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * What the trial does to the network: drops an AppendEntries that carries an entry past
 * `caps.get(to)` (as if lost, while heartbeats still pass), and notes when each node
 * last sent a heartbeat (an AppendEntries without entries).
 */
class NetworkTap {
  /** Per receiver: the highest log index an AppendEntries may carry to it. */
  readonly caps = new Map<NodeId, number>();
  private readonly heartbeats = new Map<NodeId, number>();

  wrap(id: NodeId, inner: Transport, scheduler: SchedulerLike): Transport {
    return {
      inbound$: inner.inbound$,
      errors$: inner.errors$,
      send: (to: NodeId, message: RaftMessage): void => {
        if (message.type === 'AppendEntries') {
          if (message.entries.length === 0) {
            this.heartbeats.set(id, scheduler.now());
          } else {
            const cap = this.caps.get(to);
            if (cap !== undefined && message.entries[message.entries.length - 1].index > cap) return;
          }
        }
        inner.send(to, message);
      },
      close: () => inner.close(),
    };
  }

  /** When `id` last sent a heartbeat (-Infinity if never). */
  lastHeartbeatFrom(id: NodeId): number {
    return this.heartbeats.get(id) ?? -Infinity;
  }
}

/** One node's time in office, as seen on its `status$`. */
interface Leadership {
  readonly id: NodeId;
  readonly term: number;
  /** When it became leader. */
  readonly at: number;
  /** Its no-op entry (appended on taking office). */
  readonly noopIndex: number;
  /** When its no-op committed, if it did. */
  committedAt?: number;
}

/**
 * Follows every node's `status$` and remembers, at the exact virtual instant, when each
 * node became leader and when its first entry as leader committed.
 */
class StatusWatch {
  private readonly latest = new Map<NodeId, NodeStatus>();
  /** Every leadership seen, in the order they began. */
  private readonly leaderships: Leadership[] = [];
  private readonly current = new Map<NodeId, Leadership>();
  private readonly subscriptions = new Subscription();

  constructor(private readonly cluster: TestCluster) {
    for (const id of cluster.ids) if (cluster.isRunning(id)) this.watch(id);
  }

  /** Follows the node now running as `id` (call again after a restart). */
  watch(id: NodeId): void {
    this.subscriptions.add(
      this.cluster.node(id).status$.subscribe((s) => {
        if (s.stopped) {
          this.latest.delete(id);
          this.current.delete(id);
          return;
        }
        this.latest.set(id, s);
        if (s.role !== 'leader') {
          this.current.delete(id);
          return;
        }
        let office = this.current.get(id);
        if (office?.term !== s.term) {
          // becomeLeader appended the no-op, so lastIndex is its index.
          office = { id, term: s.term, at: this.cluster.clock.now(), noopIndex: s.lastIndex };
          this.current.set(id, office);
          this.leaderships.push(office);
        }
        if (office.committedAt === undefined && s.commitIndex >= office.noopIndex) office.committedAt = this.cluster.clock.now();
      }),
    );
  }

  get(id: NodeId): NodeStatus | undefined {
    return this.latest.get(id);
  }

  /** The current time in office of `id`, if it leads now. */
  holdsOffice(id: NodeId): Leadership | undefined {
    return this.current.get(id);
  }

  /** A leader that every running node follows in its term, if any. */
  stableLeader(): NodeId | undefined {
    const all = [...this.latest.values()];
    const leader = all.find((s) => s.role === 'leader');
    if (!leader || all.length < this.cluster.ids.length) return undefined;
    return all.every((s) => s.term === leader.term && s.leaderId === leader.id) ? leader.id : undefined;
  }

  /** Whether every running node has committed everything the leader has. */
  allCommitted(leader: NodeId): true | undefined {
    const last = this.latest.get(leader)?.lastIndex ?? Infinity;
    return [...this.latest.values()].every((s) => s.commitIndex >= last) || undefined;
  }

  /** The first leadership of a term after `term`, if any. */
  firstLeaderAfter(term: number): Leadership | undefined {
    return this.leaderships.find((l) => l.term > term);
  }

  /** When a leader of a term after `term` first committed its no-op, if one has. */
  firstCommitAfter(term: number): number | undefined {
    let first: number | undefined;
    for (const l of this.leaderships) {
      if (l.term > term && l.committedAt !== undefined && (first === undefined || l.committedAt < first)) first = l.committedAt;
    }
    return first;
  }

  /**
   * Advances virtual time instant by instant until `probe` returns a value (checked
   * after every instant), or `timeout` ms have passed; returns the value or undefined.
   */
  async until<T>(probe: () => T | undefined, timeout: number): Promise<T | undefined> {
    const clock = this.cluster.clock;
    const deadline = clock.now() + Math.max(0, timeout);
    let found = probe();
    while (found === undefined && clock.now() < deadline) {
      const next = clock.nextTime();
      if (next === undefined || next > deadline) {
        await clock.advanceTo(deadline);
      } else {
        await clock.advanceTo(next);
      }
      found = probe();
    }
    return found;
  }

  unsubscribe(): void {
    this.subscriptions.unsubscribe();
  }
}
