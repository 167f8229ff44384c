import { testHooksOf } from '../testHooks';
import type { TestCluster } from './cluster';

/**
 * Slack over `maxUncommittedBytes` before a leader's log counts as unbounded: a leader
 * takes one batch whatever its size when nothing is pending (a command, or a forwarded
 * request whole), and appends its no-op and configuration entries without asking.
 */
const SLACK_FACTOR = 4;
const SLACK_BYTES = 1024;

/**
 * Checks that a leader's memory stays bounded by configuration: the payload bytes of its
 * own term's entries past what is both committed and durable on it (what it admitted
 * itself; `NodeTestHooks.leaderUnsettledBytes`) stay within `maxUncommittedBytes`
 * (with slack: `SLACK_FACTOR` × the limit + `SLACK_BYTES`). A leader whose own disk
 * hangs still commits on its followers' copies, and held every entry it had not written
 * without limit until the limit counted them. Reports each node at most once per run.
 *
 * @example
 * const bounds = new LeaderBounds(cluster, (message) => monitor.report('bounds', message));
 * await cluster.clock.advanceTo(5000, () => bounds.check());
 */
export class LeaderBounds {
  /** Each run of a node is a new node object: reported once per run. */
  private readonly reported = new WeakSet<object>();

  constructor(
    private readonly cluster: TestCluster,
    private readonly report: (message: string) => void,
  ) {}

  /** Looks at every running leader now. */
  check(): void {
    for (const id of this.cluster.ids) {
      if (!this.cluster.isRunning(id)) continue;
      const node = this.cluster.node(id);
      const held = testHooksOf(node).leaderUnsettledBytes();
      if (held === null || held.bytes <= held.limit * SLACK_FACTOR + SLACK_BYTES || this.reported.has(node)) continue;
      this.reported.add(node);
      this.report(`${id} leads with ${held.bytes} bytes of its term not both committed and durable in its log, past maxUncommittedBytes ${held.limit}`);
    }
  }
}
