import { SchedulerLike } from 'rxjs';
import { defaultRandom, defaultScheduler } from '../defaults';
import { InvalidOptionsError } from '../errors';
import { encodedSize } from '../messages/entryCodec';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { Transport } from './transport';
import type { GroupId } from '../messages/groupId';
import type { HostTransport } from './hostTransport';
import { HubEndpoint, HubEndpointBase, HubRoutes, isGrouped } from './memoryHubEndpoint';
import { MemoryHostTransport } from './memoryHubHost';
import { laneOf, payloadBytes } from './tcpPayloadBytes';
import { InterceptAction, InterceptOptions, InterceptRule, InterceptSink } from './memoryHubIntercept';

export { InterceptRule, matching } from './memoryHubIntercept';
export type { InterceptAction, InterceptOptions, MessageFilter } from './memoryHubIntercept';

/**
 * Fault rates of the in-memory network. Probabilities are in [0, 1].
 *
 * @example
 * new MemoryHub({ scheduler, random: seededRandom(1), faults: { drop: 0.05, duplicate: 0.01, reorder: 0.1, delay: { min: 1, max: 5 } } });
 */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  readonly drop?: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a message is held back by up to `reorderDelay`, overtaking order. */
  readonly reorder?: number;
  /** Largest extra delay of a reordered message (default 50). */
  readonly reorderDelay?: number;
  /** Delivery delay range (default 1–1). */
  readonly delay?: { readonly min: number; readonly max: number };
  /**
   * Bytes per unit of time each link (one direction between two nodes, on one lane)
   * carries; default unlimited. Like the TCP transport's two connections per peer, each
   * direction has two lanes: `bulk` for messages carrying payload bytes (entries,
   * snapshot chunks, forwarded commands: `payloadBytes` > 0) and `control` for the rest
   * (heartbeats, votes, responses). A lane sends one message at a time, in order: a
   * message waits for those ahead of it on its lane, then takes its size (`wireBytes`)
   * divided by `bandwidth`, then the delivery delay. A heartbeat does not wait behind
   * entries: they are on the other lane.
   */
  readonly bandwidth?: number;
}

/**
 * Options of `new MemoryHub`.
 *
 * @example
 * const hub = new MemoryHub({ scheduler: new VirtualTimeScheduler(), random: seededRandom(42), faults: { drop: 0.05, delay: { min: 1, max: 10 } } });
 */
export interface MemoryHubOptions {
  /**
   * Every delivery is scheduled here, never made synchronously. Default: the production
   * scheduler (`createRaftNode`'s default too); tests pass a virtual-time one.
   */
  readonly scheduler?: SchedulerLike;
  /** Seedable randomness for delays and faults. */
  readonly random?: () => number;
  readonly faults?: NetworkFaults;
}

/** Counters of what the hub did with the messages it was given. */
export interface HubStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  blocked: number;
  /** Messages an interception rule acted on (held, dropped, duplicated, delayed or passed). */
  intercepted: number;
  /** With `bandwidth`: the most bytes a message found queued ahead of it on its link's lane. */
  maxLinkBacklog: number;
  /** With `bandwidth`: the longest time a message waited for the messages ahead of it on its link's lane. */
  maxLinkWait: number;
}

/**
 * An in-process network connecting nodes, with fault injection: loss, duplication,
 * reordering, delay, and partitions (symmetric and one-way). Deterministic for a given
 * scheduler and `random`.
 *
 * @example
 * const hub = new MemoryHub({ scheduler, random: seededRandom(7) });
 * const transports = ['n1', 'n2', 'n3'].map(id => hub.connect(id));
 * hub.partition(['n1'], ['n2', 'n3']);   // n1 is cut off
 * hub.block('n2', 'n3');                 // one-way: n2 can no longer reach n3
 * hub.heal();
 */
export class MemoryHub implements HubRoutes {
  private readonly endpoints = new Map<NodeId, HubEndpoint>();
  /** Links that drop everything, as "from->to". */
  private readonly blocked = new Set<string>();
  private faults: NetworkFaults;
  private readonly scheduler: SchedulerLike;
  private readonly random: () => number;
  readonly stats: HubStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, blocked: 0, intercepted: 0, maxLinkBacklog: 0, maxLinkWait: 0 };
  /** With `bandwidth`: when each link's lane ("from->to/lane") finishes sending what it holds. */
  private readonly linkBusyUntil = new Map<string, number>();
  /** Interception rules, in the order they were added; the first active match acts. */
  private rules: InterceptRule[] = [];
  private readonly sink: InterceptSink = {
    deliverLater: (envelope, extra) => this.schedule(envelope, extra),
    deliverReleased: (envelope) => this.scheduler.schedule(() => this.deliver(envelope), this.faults.delay?.min ?? 1),
    lost: (envelope) => {
      this.stats.dropped++;
      this.reportLost(envelope);
    },
  };

  /** Throws `InvalidOptionsError` for a scheduler, `random` or fault rates it cannot use. */
  constructor(options: MemoryHubOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', `MemoryHub takes an options object, got ${String(options)}`);
    const { scheduler = defaultScheduler, random = defaultRandom, faults = {} } = options;
    if (typeof scheduler?.now !== 'function' || typeof scheduler.schedule !== 'function') {
      throw new InvalidOptionsError('scheduler', 'MemoryHub scheduler must be a SchedulerLike (now() and schedule())');
    }
    if (typeof random !== 'function') throw new InvalidOptionsError('random', 'MemoryHub random must be a function returning numbers in [0, 1)');
    this.scheduler = scheduler;
    this.random = random;
    this.faults = checkFaults(faults);
  }

  /** Attaches a node to the network (again, after a restart) and returns its transport. */
  connect(id: NodeId): Transport {
    this.endpoints.get(id)?.detach();
    const endpoint = new MemoryTransport(id, this);
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  /**
   * Attaches a host of Raft groups (`createRaftHost`) to the network (again, after a
   * restart) and returns its shared transport. Hosts and nodes share one name space of
   * ids; a host only hears other hosts.
   *
   * @example
   * const host = createRaftHost({ id: 'h1', transport: hub.connectHost('h1'), storage: () => new MemoryStorage() });
   */
  connectHost(id: NodeId): HostTransport {
    this.endpoints.get(id)?.detach();
    const endpoint = new MemoryHostTransport(id, this);
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  /** Replaces the fault rates. */
  setFaults(faults: NetworkFaults): void {
    this.faults = checkFaults(faults);
  }

  /** Cuts every link between different groups, both ways. Nodes in no group are unaffected. */
  partition(...groups: NodeId[][]): void {
    for (const [i, a] of groups.entries()) {
      for (const [j, b] of groups.entries()) {
        if (i === j) continue;
        for (const from of a) for (const to of b) this.blocked.add(link(from, to));
      }
    }
  }

  /** Cuts the link from `from` to `to` only (one-way). */
  block(from: NodeId, to: NodeId): void {
    this.blocked.add(link(from, to));
  }

  /** Restores the link from `from` to `to`. */
  unblock(from: NodeId, to: NodeId): void {
    this.blocked.delete(link(from, to));
  }

  /** Cuts a node off from everyone, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.endpoints.keys()) {
      if (other !== id) {
        this.block(id, other);
        this.block(other, id);
      }
    }
  }

  /** Restores every link. */
  heal(): void {
    this.blocked.clear();
  }

  /**
   * Intercepts individual messages: every message sent from now on that `match` selects
   * (and that a cut link does not stop first) is held, dropped, duplicated, delayed or
   * only recorded, as `action` says, instead of meeting the random faults. Rules act in
   * the order they were added: the first active one that matches takes the message.
   * Every delivery, released ones included, is scheduled on the hub's scheduler; none is
   * synchronous, and a link cut meanwhile still stops it.
   *
   * @example
   * // n1 wins, but n2's vote is held back, then let through late
   * const vote = hub.intercept((e) => e.message.type === 'RequestVoteResponse' && e.from === 'n2', 'hold');
   * await clock.advance(20);
   * vote.release();
   * vote.remove();
   * // lose only the next AppendEntries to n3
   * hub.intercept(matching({ type: 'AppendEntries', to: 'n3' }), 'drop', { times: 1 });
   */
  intercept(match: (envelope: Envelope) => boolean, action: InterceptAction, options?: InterceptOptions): InterceptRule {
    const rule = new InterceptRule(match, action, this.sink, options);
    this.rules = this.rules.filter((r) => r.isActive || r.held.length > 0);
    this.rules.push(rule);
    return rule;
  }

  /**
   * Sends a hand-written message as if `from` had sent it (a stale heartbeat of an old
   * leader, a vote request with a chosen log): it takes the same path as any message —
   * cut links, rules, faults, a scheduled delivery.
   *
   * @example
   * hub.inject('n2', 'n1', { type: 'AppendEntries', term: 2, leaderId: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: 1 });
   * hub.inject('h2', 'h1', { type: 'TermQuery', term: 1 }, 'orders-7'); // a host's message of group orders-7
   */
  inject(from: NodeId, to: NodeId, message: RaftMessage, group?: GroupId): void {
    this.route(group === undefined ? { from, to, message } : { from, to, group, message } as Envelope);
  }

  /** Whether messages from `from` currently reach `to`. */
  canReach(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(link(from, to));
  }

  /** @internal Called by a node's transport. */
  route(envelope: Envelope): void {
    this.stats.sent++;
    const faults = this.faults;
    if (!this.canReach(envelope.from, envelope.to)) {
      this.stats.blocked++;
      this.reportLost(envelope);
      return;
    }
    for (const rule of this.rules) {
      if (rule.offer(envelope)) {
        this.stats.intercepted++;
        return;
      }
    }
    if (faults.drop && this.random() < faults.drop) {
      this.stats.dropped++;
      this.reportLost(envelope);
      return;
    }
    this.schedule(envelope);
    if (faults.duplicate && this.random() < faults.duplicate) {
      this.stats.duplicated++;
      this.schedule(envelope);
    }
  }

  private schedule(envelope: Envelope, extra = 0): void {
    const { delay = { min: 1, max: 1 }, reorder = 0, reorderDelay = 50 } = this.faults;
    let after = delay.min + this.random() * (delay.max - delay.min) + extra;
    if (reorder && this.random() < reorder) after += this.random() * reorderDelay;
    this.scheduler.schedule(() => this.deliver(envelope), this.transmission(envelope) + after);
  }

  /** With `bandwidth`: how long `envelope` waits for its link's lane and takes to cross it; otherwise 0. */
  private transmission(envelope: Envelope): number {
    const { bandwidth } = this.faults;
    if (!bandwidth) return 0;
    const key = `${link(envelope.from, envelope.to)}/${laneOf(payloadBytes(envelope.message))}`;
    const now = this.scheduler.now();
    const wait = Math.max(0, (this.linkBusyUntil.get(key) ?? now) - now);
    this.stats.maxLinkWait = Math.max(this.stats.maxLinkWait, wait);
    this.stats.maxLinkBacklog = Math.max(this.stats.maxLinkBacklog, wait * bandwidth);
    const done = now + wait + wireBytes(envelope.message) / bandwidth;
    this.linkBusyUntil.set(key, done);
    return done - now;
  }

  private deliver(envelope: Envelope): void {
    // A partition that started while the message was in flight also stops it.
    if (!this.canReach(envelope.from, envelope.to)) {
      this.stats.blocked++;
      this.reportLost(envelope);
      return;
    }
    const endpoint = this.endpoints.get(envelope.to);
    // A node refuses a host's message and a host a node's: they do not speak the same protocol.
    if (endpoint?.receive(envelope)) {
      this.stats.delivered++;
      return;
    }
    this.stats.dropped++;
    this.reportLost(envelope);
  }

  /**
   * Tells the sender of a lost message, after the link's shortest delay (never from its
   * `send`), as a TCP transport learns that a connection closed: its `lost$` names the
   * peer. A sender detached meanwhile (stopped, restarted) hears nothing.
   */
  private reportLost(envelope: Envelope): void {
    const sender = this.endpoints.get(envelope.from);
    if (sender) this.scheduler.schedule(() => sender.lost(envelope.to), this.faults.delay?.min ?? 1);
  }

  /** @internal */
  release(endpoint: HubEndpoint): void {
    if (this.endpoints.get(endpoint.id) === endpoint) this.endpoints.delete(endpoint.id);
  }
}

/** Fixed bytes assumed for a message's envelope and fields besides its payload. */
const MESSAGE_OVERHEAD_BYTES = 64;

/**
 * About the bytes `message` takes on a wire: its payload (entries as `encodeEntries` lays
 * them out, a snapshot chunk, forwarded commands) plus a fixed overhead. For `bandwidth`.
 *
 * @example
 * wireBytes({ type: 'TimeoutNow', term: 3 }); // 64
 */
export function wireBytes(message: RaftMessage): number {
  switch (message.type) {
    case 'AppendEntries':
      return MESSAGE_OVERHEAD_BYTES + encodedSize(message.entries);
    case 'InstallSnapshot':
      return MESSAGE_OVERHEAD_BYTES + message.data.length;
    case 'ProposeRequest':
      return MESSAGE_OVERHEAD_BYTES + message.commands.reduce((n, c) => n + c.data.length, 0);
    default:
      return MESSAGE_OVERHEAD_BYTES;
  }
}

function link(from: NodeId, to: NodeId): string {
  return `${from}->${to}`;
}

class MemoryTransport extends HubEndpointBase<Envelope> implements Transport {
  send(to: NodeId, message: RaftMessage): void {
    if (!this.closed) this.hub.route({ from: this.id, to, message });
  }

  protected accepts(envelope: Envelope): envelope is Envelope {
    return !isGrouped(envelope);
  }
}

/** Fault rates as given, once checked: probabilities in [0, 1], delays finite, 0 <= min <= max. */
function checkFaults(faults: NetworkFaults): NetworkFaults {
  if (typeof faults !== 'object' || faults === null) throw new InvalidOptionsError('faults', `faults must be an object, got ${String(faults)}`);
  for (const name of ['drop', 'duplicate', 'reorder'] as const) {
    const p = faults[name];
    if (p !== undefined && !(typeof p === 'number' && p >= 0 && p <= 1)) throw new InvalidOptionsError(`faults.${name}`, `faults.${name} is a probability in [0, 1], got ${String(p)}`);
  }
  const d = faults.reorderDelay;
  if (d !== undefined && !(typeof d === 'number' && Number.isFinite(d) && d >= 0)) {
    throw new InvalidOptionsError('faults.reorderDelay', `faults.reorderDelay must be a finite number of at least 0, got ${String(d)}`);
  }
  const b = faults.bandwidth;
  if (b !== undefined && !(typeof b === 'number' && Number.isFinite(b) && b > 0)) {
    throw new InvalidOptionsError('faults.bandwidth', `faults.bandwidth must be a finite number of bytes per unit of time above 0, got ${String(b)}`);
  }
  const delay = faults.delay;
  if (delay !== undefined) {
    const { min, max } = delay ?? {};
    if (!(typeof min === 'number' && typeof max === 'number' && Number.isFinite(max) && min >= 0 && min <= max)) {
      throw new InvalidOptionsError('faults.delay', `faults.delay must be { min, max } with 0 <= min <= max, got ${JSON.stringify(delay)}`);
    }
  }
  return faults;
}
