import type { NodeId } from '../messages/types';
import type { TestCluster } from './cluster';

/** A `propose` or `read` call not yet settled. */
interface OpenCall {
  readonly what: string;
  readonly node: NodeId;
  /** The node's running time when it was made. */
  readonly since: number;
  reported: boolean;
}

/**
 * The `propose` and `read` calls the simulator's clients made and that have not settled
 * yet, each with the node it was made on: every wait a client can start has a deadline
 * (DESIGN.md invariant 7), so one unsettled past `limit` of its node's running time (its
 * pauses not counted: its deadlines stand still meanwhile), or after every node stopped,
 * broke the API's promise.
 *
 * @example
 * const calls = new OpenCalls(cluster, (m) => monitor.report('api-contract', m), 4800);
 * calls.watch('n2', "n2's propose of 1f", node.propose(data)).then(...);
 * calls.reportOverdue();   // after each instant: 'n2's propose of 1f (made at 120.0 ms) had not settled after 4801 ms of n2's running time (limit 4800 ms)'
 * await cluster.stop();
 * calls.reportUnsettled(); // what even a stop did not settle
 */
export class OpenCalls {
  private readonly open = new Set<OpenCall>();

  constructor(
    private readonly cluster: TestCluster,
    private readonly onAnomaly: ((message: string) => void) | undefined,
    /** How long a call may stay unsettled (virtual ms of its node's running time); unset: not checked. */
    private readonly limit: number | undefined,
  ) {}

  /** Keeps `call`, made on `node`, among the open ones until it settles; returns it. */
  watch<T>(node: NodeId, what: string, call: Promise<T>): Promise<T> {
    const entry: OpenCall = { what: `${what} (made at ${this.cluster.clock.now().toFixed(1)} ms)`, node, since: this.cluster.scheduler(node).runningTime(), reported: false };
    this.open.add(entry);
    const settled = () => this.open.delete(entry);
    call.then(settled, settled);
    return call;
  }

  /** Reports, once each, the calls open for longer than the limit of their node's running time. */
  reportOverdue(): void {
    const limit = this.limit;
    if (limit === undefined) return;
    for (const call of this.open) {
      if (call.reported) continue;
      const age = this.cluster.scheduler(call.node).runningTime() - call.since;
      if (age <= limit) continue;
      call.reported = true;
      this.onAnomaly?.(`${call.what} had not settled after ${age.toFixed(0)} ms of ${call.node}'s running time (limit ${limit} ms)`);
    }
  }

  /**
   * Reports every call still open, once every node has stopped: a stop settles whatever
   * waits on a node, so one still pending was dropped by the node and would have waited
   * forever (seen: a forwarded proposal whose index a newer leader gave to another
   * proposal). Call it after stopping the cluster.
   */
  reportUnsettled(): void {
    for (const call of this.open) this.onAnomaly?.(`${call.what} never settled, not even once every node had stopped`);
    this.open.clear();
  }
}
