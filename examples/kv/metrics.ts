/**
 * The KV server's Prometheus metrics, on prom-client: the default process and Node.js
 * metrics plus Raft's and the server's own. Names follow Prometheus conventions
 * (`_total` counters, `_seconds` and `_bytes` units); gauges are read at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FollowerProgress, NodeStatus, RoleName } from '../../src';

/** The roles a node can be in (`RoleName`); learner-ness is `rxraft_learner`, not a role. */
export const ROLES: readonly RoleName[] = ['follower', 'precandidate', 'candidate', 'leader'];

/** Latency buckets from 0.25 ms to 10 s. */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the KV server's metrics read at scrape time. */
export interface KvMetricsSource {
  /** The node's latest status (`status$`). */
  status(): Pick<NodeStatus, 'role' | 'term' | 'commitIndex' | 'appliedIndex' | 'lastIndex'>;
  /** Whether this node is a learner of the current configuration. */
  learner(): boolean;
  /** Keys in the store. */
  keys(): number;
  /** The store's buffer of small values (`KvStateMachine.valueBytes`). */
  valueBytes(): { readonly capacityBytes: number; readonly usedBytes: number; readonly garbageBytes: number };
  /** The store's large values (`KvStateMachine.largeValueBytes`): buffers their views hold, their bytes, bytes copied out. */
  largeValueBytes(): { readonly heldBytes: number; readonly liveBytes: number; readonly relocatedBytes: number };
  /** On the leader, each follower's replication (`node.followers()`); null elsewhere. */
  followers(): readonly FollowerProgress[] | null;
  /** HTTP connections open now. */
  httpConnections(): number;
}

/**
 * The KV server's metrics, in a registry of their own.
 *
 * @example
 * const metrics = new KvMetrics(source);
 * metrics.proposals.inc({ op: 'put', result: 'ok' });
 * res.end(await metrics.registry.metrics());
 */
export class KvMetrics {
  readonly registry = new Registry();
  readonly proposals: Counter<'op' | 'result'>;
  readonly reads: Counter<'kind'>;
  readonly errors: Counter<'type'>;
  readonly requests: Counter<'route' | 'code'>;
  readonly latency: Histogram<'route'>;
  readonly leaderChanges: Counter;
  readonly committed: Counter;
  /** How long a storage write took until durable (O_DSYNC write or fsync included), by operation. */
  readonly storageWrite: Histogram<'op'>;
  readonly snapshots: Counter<'result'>;
  readonly snapshotDuration: Histogram;
  readonly connectionsDropped: Counter;
  /** Entries applied since the last scrape (see `noteCommitted`). */
  private committedSinceScrape = 0;

  constructor(source: KvMetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.proposals = new Counter({ name: 'rxraft_kv_proposals_total', help: 'Writes proposed to Raft, by op and result.', labelNames: ['op', 'result'], registers });
    this.reads = new Counter({ name: 'rxraft_kv_reads_total', help: 'Reads served, by consistency (linearizable, lease, stale).', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'rxraft_kv_errors_total', help: 'Failed requests and node errors (including rejected Raft connections), by type.', labelNames: ['type'], registers });
    this.requests = new Counter({ name: 'rxraft_kv_http_requests_total', help: 'HTTP requests, by route and status code.', labelNames: ['route', 'code'], registers });
    this.latency = new Histogram({ name: 'rxraft_kv_http_request_duration_seconds', help: 'HTTP request latency, by route.', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers });
    this.leaderChanges = new Counter({ name: 'rxraft_leader_changes_total', help: 'Times this node saw a new leader (a new leader id or term).', registers });
    const uncounted = () => this.take();
    this.committed = new Counter({
      name: 'rxraft_committed_entries_total',
      help: 'Committed entries applied to the store.',
      registers,
      collect() {
        const n = uncounted();
        if (n > 0) this.inc(n);
      },
    });
    this.storageWrite = new Histogram({
      name: 'rxraft_storage_write_duration_seconds',
      help: 'Time from a storage write to its being durable (the O_DSYNC write or fsync included), by op: append (log) or hard_state.',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.snapshots = new Counter({ name: 'rxraft_snapshots_total', help: 'Snapshots written to storage, by result.', labelNames: ['result'], registers });
    this.snapshotDuration = new Histogram({ name: 'rxraft_snapshot_duration_seconds', help: 'Time to write and commit a snapshot.', buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
    this.connectionsDropped = new Counter({ name: 'rxraft_kv_http_connections_dropped_total', help: 'HTTP connections closed on arrival because the connection limit was reached.', registers });

    const scalar = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    const perPeer = (name: string, help: string, read: (f: FollowerProgress) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          this.reset(); // followers that left, or a node that no longer leads, show no series
          for (const f of source.followers() ?? []) this.set({ peer: f.id }, read(f));
        },
      });
    new Gauge({
      name: 'rxraft_role',
      help: 'This node\'s role: 1 for the current one, 0 for the others.',
      labelNames: ['role'],
      registers,
      collect() {
        const role = source.status().role;
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    scalar('rxraft_learner', '1 if this node is a learner (a non-voting member) of the current configuration.', () => (source.learner() ? 1 : 0));
    scalar('rxraft_term', 'Current term.', () => source.status().term);
    scalar('rxraft_commit_index', 'Highest log index known committed.', () => source.status().commitIndex);
    scalar('rxraft_applied_index', 'Highest log index applied to the state machine.', () => source.status().appliedIndex);
    scalar('rxraft_last_index', 'Highest log index stored.', () => source.status().lastIndex);
    scalar('rxraft_apply_lag_entries', 'Committed entries not yet applied (commit index - applied index).', () => source.status().commitIndex - source.status().appliedIndex);
    perPeer('rxraft_follower_match_index', 'On the leader: highest index known durable on each follower.', (f) => f.matchIndex);
    perPeer('rxraft_follower_lag_entries', 'On the leader: entries of its log each follower is not known to hold.', (f) => f.lag);
    perPeer('rxraft_follower_last_contact_seconds', 'On the leader: time since each follower last answered.', (f) => f.sinceContact / 1000);
    perPeer('rxraft_follower_snapshot_parked', 'On the leader: 1 while the snapshot transfer to each follower is parked (it answered nothing, or the transfer was given up; the transfer starts over when it answers), else 0.', (f) => (f.snapshot?.parked ? 1 : 0));
    perPeer('rxraft_follower_snapshot_chunks_resent', 'On the leader: snapshot chunks sent to each follower again (lost on the way) since this node leads.', (f) => f.snapshotChunksResent);
    perPeer('rxraft_follower_snapshot_transfers_abandoned', 'On the leader: snapshot transfers to each follower given up since this node leads (a chunk unacknowledged through every resend while the follower answered); above 0 needs a look.', (f) => f.snapshotTransfersAbandoned);
    scalar('rxraft_kv_keys', 'Keys in the store.', () => source.keys());
    new Gauge({
      name: 'rxraft_kv_value_buffer_bytes',
      help: 'The store\'s buffer of small values: its size (capacity), the bytes of records in it (used), and of those the freed ones (garbage).',
      labelNames: ['kind'],
      registers,
      collect() {
        const b = source.valueBytes();
        this.set({ kind: 'capacity' }, b.capacityBytes);
        this.set({ kind: 'used' }, b.usedBytes);
        this.set({ kind: 'garbage' }, b.garbageBytes);
      },
    });
    new Gauge({
      name: 'rxraft_kv_large_value_bytes',
      help: "The store's large values, kept as views of the entries they came in: the buffers those views hold (held), the values' own bytes (live: past 3× live plus the buffer being filled, held is brought down to 2×), and the bytes copied out of buffers let go since start (relocated).",
      labelNames: ['kind'],
      registers,
      collect() {
        const b = source.largeValueBytes();
        this.set({ kind: 'held' }, b.heldBytes);
        this.set({ kind: 'live' }, b.liveBytes);
        this.set({ kind: 'relocated' }, b.relocatedBytes);
      },
    });
    scalar('rxraft_kv_http_connections', 'HTTP connections open now.', () => source.httpConnections());
  }

  /**
   * Counts one committed entry applied to the store (`rxraft_committed_entries_total`):
   * a plain increment, added to the counter at the next scrape. Why: `Counter.inc()`
   * makes two objects per call, and this runs for every entry on every node.
   */
  noteCommitted(): void {
    this.committedSinceScrape++;
  }

  private take(): number {
    const n = this.committedSinceScrape;
    this.committedSinceScrape = 0;
    return n;
  }

  /** The text exposition format of every metric, for `GET /metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
