/**
 * The few Prometheus metric types the KV server exports, rendered in the text exposition
 * format (version 0.0.4) by hand: counters and histograms with labels, and gauges read
 * at scrape time.
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels, extra?: string): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A series key: label names and values, in the caller's order (each call site uses a fixed order). Cheaper than JSON. */
function keyOf(labels: Labels): string {
  let key = '';
  for (const name in labels) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

interface Metric {
  render(out: string[]): void;
}

/** A monotonically increasing count, per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  /** The current count for `labels` (0 if never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.values.values()) out.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

/** A value read when scraped, possibly one per label set. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | readonly { labels: Labels; value: number }[],
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    const v = this.read();
    if (typeof v === 'number') out.push(`${this.name} ${v}`);
    else for (const { labels, value } of v) out.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

/** Observations counted into cumulative buckets (upper bounds in seconds), per label set. */
export class Histogram implements Metric {
  private readonly series = new Map<string, { labels: Labels; counts: Float64Array; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}

  observe(labels: Labels, value: number): void {
    const key = keyOf(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    // Non-cumulative while counting; made cumulative when rendered.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    if (i < this.buckets.length) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        out.push(`${this.name}_bucket${labelText(s.labels, `le="${le}"`)} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${labelText(s.labels, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
  }
}

/** A set of metrics rendered together for `GET /metrics`. */
export class Registry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  /** The Prometheus text format of every registered metric. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    return out.join('\n') + '\n';
  }
}

/** Latency buckets from 0.25 ms to 10 s. */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the KV server's metrics read at scrape time. */
export interface KvMetricsSource {
  /** The node's latest status (`status$`). */
  status(): { role: string; term: number; commitIndex: number; appliedIndex: number; lastIndex: number };
  /** Keys in the store. */
  keys(): number;
  /** On the leader, each follower's replication (`node.followers()`); null elsewhere. */
  followers?(): readonly { id: string; matchIndex: number; lag: number }[] | null;
}

const ROLES = ['follower', 'candidate', 'leader', 'learner'];

/**
 * The KV server's metrics: Raft state (role, term, commit/applied/last index), proposals,
 * reads, errors, and HTTP request latency.
 *
 * @example
 * const metrics = new KvMetrics({ status: () => latest, keys: () => kv.size });
 * metrics.proposals.inc({ result: 'ok' });
 * res.end(metrics.registry.render());
 */
export class KvMetrics {
  readonly registry = new Registry();
  readonly proposals = this.registry.register(new Counter('rxraft_kv_proposals_total', 'Writes proposed to Raft, by op and result.'));
  readonly reads = this.registry.register(new Counter('rxraft_kv_reads_total', 'Reads served, by consistency (linearizable, lease, stale).'));
  readonly errors = this.registry.register(new Counter('rxraft_kv_errors_total', 'Failed requests and node errors, by type.'));
  readonly requests = this.registry.register(new Counter('rxraft_kv_http_requests_total', 'HTTP requests, by route and status code.'));
  readonly latency = this.registry.register(
    new Histogram('rxraft_kv_http_request_duration_seconds', 'HTTP request latency, by route.', LATENCY_BUCKETS),
  );

  constructor(source: KvMetricsSource) {
    const r = this.registry;
    r.register(new Gauge('rxraft_role', 'This node\'s role (1 for the current one).', () => ROLES.map((role) => ({ labels: { role }, value: source.status().role === role ? 1 : 0 }))));
    r.register(new Gauge('rxraft_term', 'Current term.', () => source.status().term));
    r.register(new Gauge('rxraft_commit_index', 'Highest log index known committed.', () => source.status().commitIndex));
    r.register(new Gauge('rxraft_applied_index', 'Highest log index applied to the state machine.', () => source.status().appliedIndex));
    r.register(new Gauge('rxraft_last_index', 'Highest log index stored.', () => source.status().lastIndex));
    const followers = () => source.followers?.() ?? [];
    r.register(new Gauge('rxraft_follower_match_index', 'On the leader: highest index known durable on each follower.', () => followers().map((f) => ({ labels: { peer: f.id }, value: f.matchIndex }))));
    r.register(new Gauge('rxraft_follower_lag_entries', 'On the leader: entries each follower is not known to hold.', () => followers().map((f) => ({ labels: { peer: f.id }, value: f.lag }))));
    r.register(new Gauge('rxraft_kv_keys', 'Keys in the store.', () => source.keys()));
  }
}
