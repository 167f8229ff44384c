import type { Subscription } from 'rxjs';
import { LeaderOverloadedError, NotLeaderError, RaftError } from '../errors';
import type { NodeId } from '../messages/types';
import type { RaftNode } from '../node';
import type { TestCluster } from './cluster';
import type { KvOperation } from './history';
import { OpenCalls } from './workloadCalls';
import { encodeKvCommand, KvCommand, KvResult, KvStateMachine } from './workloadKv';

/** Relative weights of the operations the clients issue. */
export interface KvOperationMix {
  readonly get: number;
  readonly put: number;
  readonly append: number;
  readonly cas: number;
}

/** Options of `KvWorkload`. Times are virtual milliseconds. */
export interface KvWorkloadOptions {
  /** Decides every choice of the clients (operation, key, value, node, think time). */
  readonly random: () => number;
  /** Concurrent sequential clients (default 4). */
  readonly clients?: number;
  /**
   * Readers co-located with each node (default 1 per node): a reader only gets, always
   * through its own node (which forwards to its leader), 20–60 ms apart, as a service
   * reading from its local server would. With `reads: 'mixed'` a reader mostly uses
   * lease reads. They are not counted in `allCompletedSince`.
   */
  readonly localReaders?: number;
  /**
   * Writers co-located with each node (default 1 per node): a writer only writes (put,
   * append, cas), 40–120 ms apart, always through its own node, so a follower forwards
   * its proposals to the leader, as a service writing through its local server would. A
   * write refused (`NotLeaderError`, `LeaderOverloadedError`: nothing appended) is not
   * retried. They are not counted in `allCompletedSince` (with `forward: false` a
   * follower refuses them all).
   */
  readonly localWriters?: number;
  /**
   * How long a `propose` or `read` call may stay unsettled, in its node's running time
   * (its pauses not counted: its deadlines stand still meanwhile); one still unsettled
   * after that is reported to `onAnomaly`, once. Unset: not checked (`reportUnsettled`
   * still reports what a stop did not settle).
   */
  readonly settleLimit?: number;
  /** The keys operated on (default x, y, z). */
  readonly keys?: readonly string[];
  /** After this long without an outcome an operation is abandoned (default 1000). */
  readonly opTimeout?: number;
  /** Pause between one client's operations (default 0–20). */
  readonly thinkTime?: { readonly min: number; readonly max: number };
  readonly mix?: KvOperationMix;
  /**
   * Which clients use client sessions (`propose(data, { session })`): `'none'`, `'all'`,
   * or `'mixed'` (every other client; the default). A session client retries an
   * operation whose outcome is unknown under the same (clientId, seq) until its timeout:
   * exactly-once makes that safe.
   */
  readonly sessions?: 'none' | 'all' | 'mixed';
  /**
   * How gets read: `'log'` (a command through `propose`), `'index'` (`read()`, ReadIndex,
   * then the node's own state machine), `'lease'` (`read({ lease: true })`), or `'mixed'`
   * (each get picks one at random, a lease read half the time; the default).
   */
  readonly reads?: 'log' | 'index' | 'lease' | 'mixed';
  /**
   * A planted client bug, for tests: clients without a session also retry operations
   * whose outcome is unknown, so a command can execute twice. The history is then not
   * linearizable, and the checker must say so.
   */
  readonly unsafeRetries?: boolean;
  /** Called with a description when a node breaks the `propose` contract. */
  readonly onAnomaly?: (message: string) => void;
  /**
   * Called just before a client calls `read()` on `node`; the function it returns gets
   * the index the read resolves with (e.g. `SafetyMonitor.readStarted`).
   */
  readonly onRead?: (node: NodeId, lease: boolean) => (index: number) => void;
}

/** What the clients did so far. */
export interface KvWorkloadStats {
  /** Operations invoked. */
  invoked: number;
  /** Completed with a result. */
  ok: number;
  /** Outcome unknown (dropped, node stopped, timed out while proposed): recorded with `return: null`. */
  indeterminate: number;
  /** Timed out without ever being accepted by a node: certainly not executed, left out of the history. */
  failed: number;
  /** Attempts repeated (after `NotLeaderError` or `LeaderOverloadedError`, or after an unknown outcome in a session). */
  retries: number;
  /** Proposals a leader refused with `LeaderOverloadedError` (retried). */
  overloaded: number;
}

const DEFAULT_MIX: KvOperationMix = { get: 0.35, put: 0.2, append: 0.25, cas: 0.2 };

type ReadMode = 'log' | 'index' | 'lease';

interface PendingOp {
  readonly command: KvCommand;
  /** How a get reads (`'log'` for every other operation). */
  readonly mode: ReadMode;
  readonly call: number;
  /** The session seq of a session client's op. */
  readonly seq: number;
  /** A proposal of this op is out (made, not yet answered). */
  outstanding: boolean;
  /** Some earlier proposal of this op failed in a way that leaves its outcome unknown. */
  maybeExecuted: boolean;
  done: boolean;
  timeout: Subscription | null;
}

interface Client {
  readonly slot: number;
  /** History client id; a client that leaves an operation indeterminate continues under a new id. */
  id: number;
  leaderGuess: NodeId | null;
  op: PendingOp | null;
  /** Call time of the last operation of this slot that completed with a result. */
  lastOkCall: number;
  /** The session clientId, for a session client. */
  readonly session: string | null;
  seq: number;
  /** For a local reader or writer, the node it goes through; null for a regular client. */
  readonly home: NodeId | null;
  /** A local writer (it writes only); false for a regular client or a local reader. */
  readonly writer: boolean;
}

/** Pause between a local reader's gets. */
const READER_THINK_TIME = { min: 20, max: 60 };
/** Pause between a local writer's writes. */
const WRITER_THINK_TIME = { min: 40, max: 120 };

/**
 * Concurrent key-value clients driving a `TestCluster` through `propose`, recording a
 * history in the format of `history.ts` on the cluster's virtual clock.
 *
 * Every node applies its `committed$` to its own `KvStateMachine` (a fresh one per run).
 * A client's operation completes when its proposal resolves; its result is what the
 * proposing node's state machine returned for that index. A get goes through the log
 * like that, or through `read()` (ReadIndex, or a lease read) and then reads the state
 * machine of the node it asked (see `reads`).
 *
 * - `NotLeaderError`: nothing was appended; the client retries at the hinted leader (or
 *   a random node) until its timeout.
 * - `LeaderOverloadedError`: nothing was appended; the client retries a little later.
 * - A session client (see `sessions`) also retries after an unknown outcome, under the
 *   same (clientId, seq): the node applies it at most once.
 * - Any other rxraft error (`ProposalDroppedError`, `NodeStoppedError`, a request
 *   timeout) or the client's own timeout while a proposal is out: the command may
 *   still commit, so the operation is recorded as indeterminate
 *   (`return: null`) and the client continues under a fresh client id.
 * - Timeout with no proposal accepted: certainly not executed; left out of the history.
 *
 * A client talking to a paused node waits like a real client whose request sits in the
 * node's socket: the proposal is made when the node resumes.
 *
 * Times in the history are virtual nanoseconds, made strictly increasing in the order
 * events happened (so real-time order is exact even within one virtual instant).
 *
 * @example
 * const workload = new KvWorkload(cluster, { random: seededRandom(7), clients: 3 });
 * workload.start();
 * await cluster.clock.advance(5000);
 * workload.stop();
 * await cluster.clock.advance(2000);   // outstanding operations finish or time out
 * checkLinearizability(workload.history).verdict; // 'ok'
 */
export class KvWorkload {
  readonly history: KvOperation[] = [];
  readonly stats: KvWorkloadStats = { invoked: 0, ok: 0, indeterminate: 0, failed: 0, retries: 0, overloaded: 0 };
  private readonly machines = new Map<NodeId, KvStateMachine>();
  private readonly clients: Client[] = [];
  private readonly keys: readonly string[];
  private readonly mix: KvOperationMix;
  private readonly opTimeout: number;
  private readonly thinkTime: { readonly min: number; readonly max: number };
  private readonly random: () => number;
  /** Last value seen per key (what cas expects, mostly). */
  private readonly lastSeen = new Map<string, string | null>();
  private nextClientId = 0;
  private nextOp = 0;
  private lastStamp = -1;
  private running = false;
  /** The `propose` and `read` calls made and not yet settled, each with what to report if it never does. */
  private readonly calls: OpenCalls;
  private readonly subscription: Subscription;

  constructor(
    private readonly cluster: TestCluster,
    private readonly options: KvWorkloadOptions,
  ) {
    this.random = options.random;
    this.keys = options.keys ?? ['x', 'y', 'z'];
    this.mix = options.mix ?? DEFAULT_MIX;
    this.opTimeout = options.opTimeout ?? 1000;
    this.thinkTime = options.thinkTime ?? { min: 0, max: 20 };
    this.calls = new OpenCalls(cluster, options.onAnomaly, options.settleLimit);
    for (const id of cluster.ids) if (cluster.isRunning(id)) this.attach(id, cluster.node(id));
    this.subscription = cluster.started$.subscribe(({ id, node }) => this.attach(id, node));
    const sessions = options.sessions ?? 'mixed';
    for (let slot = 0; slot < (options.clients ?? 4); slot++) {
      const session = sessions === 'all' || (sessions === 'mixed' && slot % 2 === 0) ? `client${slot}` : null;
      this.clients.push({ slot, id: this.nextClientId++, leaderGuess: null, op: null, lastOkCall: -1, session, seq: 0, home: null, writer: false });
    }
    this.addLocalClients('localReaders', options.localReaders ?? 1, false);
    this.addLocalClients('localWriters', options.localWriters ?? 1, true);
  }

  /** Starts every client (each after a first think time). */
  start(): void {
    this.running = true;
    for (const c of this.clients) this.later(() => this.issue(c), this.think(c));
  }

  /** Issues no new operation; outstanding ones still finish or time out. */
  stop(): void {
    this.running = false;
  }

  /** Operations invoked and not yet finished. */
  get outstanding(): number {
    return this.clients.filter((c) => c.op !== null).length;
  }

  /** Whether every client (local readers and writers aside) completed an operation invoked at or after virtual time `t` (ms). */
  allCompletedSince(t: number): boolean {
    const stamp = Math.round(t * 1e6);
    return this.clients.every((c) => c.home !== null || c.lastOkCall >= stamp);
  }

  /**
   * Reports every `propose` and `read` call that has not settled, once every node has
   * stopped (see `OpenCalls.reportUnsettled`). Call it after stopping the cluster.
   */
  reportUnsettled(): void {
    this.calls.reportUnsettled();
  }

  /**
   * Reports, once each, the `propose` and `read` calls unsettled for longer than
   * `settleLimit` of their node's running time. Call it as time goes (the simulator:
   * after every instant).
   */
  reportOverdue(): void {
    this.calls.reportOverdue();
  }

  /** Records every outstanding operation as indeterminate and stops listening to the cluster. */
  finish(): void {
    this.running = false;
    for (const c of this.clients) if (c.op) this.abandon(c, c.op);
    this.subscription.unsubscribe();
  }

  /** The state machine of node `id`'s current run. */
  machine(id: NodeId): KvStateMachine | undefined {
    return this.machines.get(id);
  }

  private attach(id: NodeId, node: RaftNode): void {
    const kv = new KvStateMachine();
    this.machines.set(id, kv);
    node.committed$.subscribe((e) => kv.apply(e));
  }

  /** Adds `count` local readers (or writers) beside each node. */
  private addLocalClients(option: string, count: number, writer: boolean): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`${option} must be an integer >= 0, got ${count}`);
    for (const home of this.cluster.ids) {
      for (let k = 0; k < count; k++) {
        this.clients.push({ slot: this.clients.length, id: this.nextClientId++, leaderGuess: null, op: null, lastOkCall: -1, session: null, seq: 0, home, writer });
      }
    }
  }

  private issue(c: Client): void {
    if (!this.running || c.op) return;
    const command = c.home === null ? this.nextCommand() : c.writer ? this.nextCommand(c.home) : this.nextGet();
    const mode = command.op !== 'get' ? 'log' : c.home === null ? this.readMode() : this.readerMode();
    const op: PendingOp = { command, mode, call: this.stamp(), seq: ++c.seq, outstanding: false, maybeExecuted: false, done: false, timeout: null };
    c.op = op;
    this.stats.invoked++;
    op.timeout = this.cluster.clock.scheduler.schedule(() => this.abandon(c, op), this.opTimeout);
    this.attempt(c, op);
  }

  private attempt(c: Client, op: PendingOp): void {
    if (op.done) return;
    const target = this.chooseTarget(c);
    if (target === null) {
      this.later(() => this.attempt(c, op), 5 + this.random() * 15);
      return;
    }
    op.outstanding = true;
    const view = this.cluster.scheduler(target);
    // A request to a paused node waits in its socket until it runs again.
    if (view.paused) view.schedule(() => this.propose(c, op, target));
    else this.propose(c, op, target);
  }

  private propose(c: Client, op: PendingOp, target: NodeId): void {
    if (op.done) return;
    if (!this.cluster.isRunning(target)) {
      // The node went down while the request waited: the request is lost, unexecuted.
      op.outstanding = false;
      c.leaderGuess = null;
      this.later(() => this.attempt(c, op), 1);
      return;
    }
    const node = this.cluster.node(target);
    const kv = this.machines.get(target)!;
    if (op.mode !== 'log') {
      this.read(c, op, target, node, kv);
      return;
    }
    const session = c.session === null ? undefined : { session: { clientId: c.session, seq: op.seq } };
    this.calls.watch(target, `${target}'s propose of ${op.command.id}`, node.propose(encodeKvCommand(op.command), session)).then(
      ({ index }) => {
        if (op.done) return;
        const applied = kv.takeResult(index);
        if (!applied || applied.id !== op.command.id) {
          this.options.onAnomaly?.(
            `${target} resolved the proposal of ${op.command.id} at index ${index}, but applied ${applied ? `command ${applied.id || '(undecodable)'}` : 'nothing'} there`,
          );
          this.abandon(c, op);
          return;
        }
        c.leaderGuess = target;
        this.complete(c, op, applied.result);
      },
      (e: unknown) => this.proposeFailed(c, op, target, e),
    );
  }

  /** A proposal of `op` made on `target` was rejected with `e`: try again, or give up on the op. */
  private proposeFailed(c: Client, op: PendingOp, target: NodeId, e: unknown): void {
    if (op.done) return;
    op.outstanding = false;
    // A local writer does not chase the leader: nothing was appended, it writes again later.
    if (c.writer && (e instanceof NotLeaderError || e instanceof LeaderOverloadedError)) return this.abandon(c, op);
    if (e instanceof NotLeaderError) {
      this.stats.retries++;
      const hinted = e.leaderId !== null && e.leaderId !== target;
      c.leaderGuess = hinted ? e.leaderId : null;
      this.later(() => this.attempt(c, op), hinted ? 1 : 5 + this.random() * 15);
      return;
    }
    if (e instanceof LeaderOverloadedError) {
      this.stats.retries++;
      this.stats.overloaded++;
      this.later(() => this.attempt(c, op), 5 + this.random() * 15);
      return;
    }
    // ProposalDroppedError, NodeStoppedError, RequestTimeoutError...: the command may still commit.
    op.maybeExecuted = true;
    c.leaderGuess = null;
    if (!(e instanceof RaftError)) {
      this.options.onAnomaly?.(`${target} rejected ${op.command.id} with an unexpected error: ${String(e)}`);
    } else if (c.session !== null || this.options.unsafeRetries) {
      this.stats.retries++;
      this.later(() => this.attempt(c, op), 5 + this.random() * 15);
      return;
    }
    this.abandon(c, op);
  }

  /** A get through `read()`: once it resolves, the node's own state machine is up to date. */
  private read(c: Client, op: PendingOp, target: NodeId, node: RaftNode, kv: KvStateMachine): void {
    const check = this.options.onRead?.(target, op.mode === 'lease');
    this.calls.watch(target, `${target}'s ${op.mode} read`, node.read({ lease: op.mode === 'lease' })).then(
      ({ index }) => {
        check?.(index);
        if (op.done) return;
        c.leaderGuess = target;
        this.complete(c, op, kv.get(op.command.key));
      },
      (e: unknown) => {
        if (op.done) return;
        // A read changes nothing: whatever went wrong, trying again is safe.
        op.outstanding = false;
        if (!(e instanceof RaftError)) this.options.onAnomaly?.(`${target} failed a read with an unexpected error: ${String(e)}`);
        const hinted = e instanceof NotLeaderError && e.leaderId !== null && e.leaderId !== target;
        c.leaderGuess = hinted ? (e as NotLeaderError).leaderId : null;
        this.stats.retries++;
        this.later(() => this.attempt(c, op), hinted ? 1 : 5 + this.random() * 15);
      },
    );
  }

  private readMode(): ReadMode {
    const reads = this.options.reads ?? 'mixed';
    if (reads !== 'mixed') return reads;
    const r = this.random();
    return r < 0.25 ? 'log' : r < 0.5 ? 'index' : 'lease';
  }

  /** A local reader's way of reading: lease reads three times in four with `reads: 'mixed'`, else ReadIndex. */
  private readerMode(): ReadMode {
    const reads = this.options.reads ?? 'mixed';
    if (reads !== 'mixed') return reads;
    return this.random() < 0.75 ? 'lease' : 'index';
  }

  private chooseTarget(c: Client): NodeId | null {
    if (c.home !== null) return this.cluster.isRunning(c.home) ? c.home : null;
    if (c.leaderGuess !== null && this.cluster.isRunning(c.leaderGuess)) return c.leaderGuess;
    const running = this.cluster.ids.filter((id) => this.cluster.isRunning(id));
    if (running.length === 0) return null;
    return running[Math.floor(this.random() * running.length)];
  }

  private complete(c: Client, op: PendingOp, result: KvResult): void {
    this.finishOp(c, op);
    this.stats.ok++;
    const cmd = op.command;
    const base = { client: c.id, call: op.call, return: this.stamp(), key: cmd.key };
    switch (cmd.op) {
      case 'get':
        this.history.push({ ...base, op: 'get', output: result as string | null });
        this.lastSeen.set(cmd.key, result as string | null);
        break;
      case 'put':
        this.history.push({ ...base, op: 'put', value: cmd.value });
        this.lastSeen.set(cmd.key, cmd.value);
        break;
      case 'append':
        this.history.push({ ...base, op: 'append', value: cmd.value });
        break;
      case 'cas':
        this.history.push({ ...base, op: 'cas', expected: cmd.expected, value: cmd.value, output: result as boolean });
        if (result === true) this.lastSeen.set(cmd.key, cmd.value);
        break;
    }
    c.lastOkCall = op.call;
    this.later(() => this.issue(c), this.think(c));
  }

  /** Gives up on `op`: indeterminate if a proposal may be out, otherwise simply failed. */
  private abandon(c: Client, op: PendingOp): void {
    if (op.done) return;
    this.finishOp(c, op);
    // A read through read() that did not return simply failed: it changed nothing.
    if ((!op.outstanding && !op.maybeExecuted) || op.mode !== 'log') {
      this.stats.failed++;
    } else {
      this.stats.indeterminate++;
      const cmd = op.command;
      const base = { client: c.id, call: op.call, return: null, key: cmd.key };
      if (cmd.op === 'get') this.history.push({ ...base, op: 'get' });
      else if (cmd.op === 'cas') this.history.push({ ...base, op: 'cas', expected: cmd.expected, value: cmd.value });
      else this.history.push({ ...base, op: cmd.op, value: cmd.value });
      c.id = this.nextClientId++;
    }
    this.later(() => this.issue(c), this.think(c));
  }

  private finishOp(c: Client, op: PendingOp): void {
    op.done = true;
    op.timeout?.unsubscribe();
    c.op = null;
  }

  private nextGet(): KvCommand {
    const id = (this.nextOp++).toString(36);
    return { id, op: 'get', key: this.keys[Math.floor(this.random() * this.keys.length)] };
  }

  /** The next operation of the mix; for the local writer of node `writer`, one of its writes, to its own key. */
  private nextCommand(writer?: NodeId): KvCommand {
    const n = this.nextOp++;
    const id = n.toString(36);
    const key = writer === undefined ? this.keys[Math.floor(this.random() * this.keys.length)] : `w-${writer}`;
    const m = this.mix;
    const get = writer === undefined ? m.get : 0;
    let r = this.random() * (get + m.put + m.append + m.cas);
    if ((r -= get) < 0) return { id, op: 'get', key };
    if ((r -= m.put) < 0) return { id, op: 'put', key, value: `p${id}` };
    if ((r -= m.append) < 0) return { id, op: 'append', key, value: `${id}.` };
    const seen = this.lastSeen.get(key);
    const expected = seen !== undefined && this.random() < 0.8 ? seen : this.random() < 0.5 ? null : `p${Math.floor(this.random() * n).toString(36)}`;
    return { id, op: 'cas', key, expected, value: `c${id}` };
  }

  /** The current virtual time in nanoseconds, strictly after every stamp given before. */
  private stamp(): number {
    this.lastStamp = Math.max(this.lastStamp + 1, Math.round(this.cluster.clock.now() * 1e6));
    return this.lastStamp;
  }

  private think(c: Client): number {
    const { min, max } = c.home === null ? this.thinkTime : c.writer ? WRITER_THINK_TIME : READER_THINK_TIME;
    return min + this.random() * (max - min);
  }

  private later(work: () => void, delay: number): void {
    this.cluster.clock.scheduler.schedule(work, delay);
  }
}
