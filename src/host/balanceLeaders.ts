import { Observable, SchedulerLike, Subscriber, Subscription, timer } from 'rxjs';
import type { LeaderInfo, Membership, RaftNode } from '../api';
import { defaultScheduler } from '../defaults';
import { InvalidOptionsError } from '../errors';
import type { GroupId } from '../messages/groupId';
import type { NodeId } from '../messages/types';
import { GroupLeadership, planLeaderTransfers, PlannedTransfer } from './leaderBalancePlan';

/**
 * Options of `balanceLeaders`.
 *
 * @example
 * balanceLeaders(host, { interval: 5000, maxInFlight: 1 }).subscribe(); // one transfer at a time, a look every 5 s
 */
export interface BalanceLeadersOptions {
  /** Where time comes from (default: the production clock; tests pass a virtual one). */
  readonly scheduler?: SchedulerLike;
  /** How often (ms) the balancer looks at its groups and plans transfers (default 1000). */
  readonly interval?: number;
  /** Most transfers under way at once, cool-downs included (default 4). */
  readonly maxInFlight?: number;
  /** How long (ms) a transfer's slot stays taken after it settled, and its group untouched (default 1000). */
  readonly coolDown?: number;
  /** A transfer goes only to a follower that answered within this many ms and is replicating (default 1000): never to a host that is down. */
  readonly contactWithin?: number;
}

/**
 * What the groups' streams are read from: a `RaftHost` is one.
 *
 * @example
 * const groups = new Map<string, RaftNode>(); // nodes made with createRaftNode, one per group
 * balanceLeaders({ id: 'n1', groups: () => [...groups.keys()], group: (g) => groups.get(g) }).subscribe();
 */
export interface BalancedHost {
  readonly id: NodeId;
  groups(): GroupId[];
  group(group: GroupId): RaftNode | undefined;
}

/**
 * A transfer `balanceLeaders` made: done (`to` leads now), or failed with `error` (e.g. `LeadershipTransferError`).
 *
 * @example
 * balanceLeaders(host).subscribe((e) => (e.kind === 'failed' ? log.warn(e.error.message) : log.info(`${e.group} → ${e.to}`)));
 */
export type LeaderBalanceEvent =
  | { readonly kind: 'transferred'; readonly group: GroupId; readonly to: NodeId }
  | { readonly kind: 'failed'; readonly group: GroupId; readonly to: NodeId; readonly error: Error };

/**
 * Spreads group leaders evenly over the hosts, from one host's side: while subscribed,
 * it follows `leader$` and `members$` of every group `host` runs (groups created or
 * removed later included) and, every `interval`, when this host leads more than its fair
 * share (`ceil(groups with a leader / hosts)`), hands surplus groups over with
 * `transferLeadership(to)` to the group's voter leading the fewest groups among those
 * that answered within `contactWithin` (so never to a host that is down)
 * (`planLeaderTransfers`). Run it on every host: each one sheds only its own surplus, so
 * the hosts converge without talking to each other beyond Raft.
 *
 * Bounded: at most `maxInFlight` transfers at once; a transfer's slot stays taken for
 * `coolDown` after it settles, and its group is not touched again meanwhile; a group
 * with a transfer under way is never chosen. Emits each transfer's outcome; a failed
 * transfer is an event (`kind: 'failed'`), never an error of the stream. Unsubscribing
 * stops it: no transfer starts afterwards (one under way finishes on its own).
 *
 * ```
 * tick:    t---------t---------t---------t     (interval)
 * leads:   30        26        22        10    (3 hosts, 30 groups, maxInFlight 4)
 * output:  ----aaaa------bbbb------ ...        (one event per settled transfer)
 * ```
 *
 * @example
 * const balancing = balanceLeaders(host, { maxInFlight: 2 }).subscribe((e) =>
 *   e.kind === 'failed' ? log.warn(`${e.group} → ${e.to}: ${e.error.message}`) : log.info(`${e.group} now led by ${e.to}`));
 * // later: balancing.unsubscribe();
 */
export function balanceLeaders(host: BalancedHost, options: BalanceLeadersOptions = {}): Observable<LeaderBalanceEvent> {
  const settings = checkBalanceOptions(options);
  return new Observable<LeaderBalanceEvent>((subscriber) => {
    const balancer = new Balancer(host, settings, subscriber);
    const ticks = timer(0, settings.interval, settings.scheduler).subscribe(() => balancer.step());
    return () => {
      ticks.unsubscribe();
      balancer.close();
    };
  });
}

type Settings = Required<BalanceLeadersOptions>;

function checkBalanceOptions(options: BalanceLeadersOptions): Settings {
  const positive = (name: keyof BalanceLeadersOptions, value: number, integer: boolean) => {
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isSafeInteger(value)))) {
      throw new InvalidOptionsError(name, `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
    }
  };
  const settings: Settings = {
    scheduler: options.scheduler ?? defaultScheduler,
    interval: options.interval ?? 1000,
    maxInFlight: options.maxInFlight ?? 4,
    coolDown: options.coolDown ?? 1000,
    contactWithin: options.contactWithin ?? 1000,
  };
  positive('interval', settings.interval, false);
  positive('maxInFlight', settings.maxInFlight, true);
  positive('contactWithin', settings.contactWithin, false);
  if (!(Number.isFinite(settings.coolDown) && settings.coolDown >= 0)) throw new InvalidOptionsError('coolDown', `coolDown must be a number >= 0, got ${String(settings.coolDown)}`);
  return settings;
}

/**
 * One group the balancer watches, as `planLeaderTransfers` reads it: its leader and
 * voters, kept current by the group's `leader$` and `members$`, and the followers a
 * transfer may go to, asked of the node only when the plan reads them (a group this host
 * leads, while it leads more than its share): a balanced host's look allocates the
 * host's list of group ids and a few small collections, nothing per group.
 */
class WatchedGroup implements GroupLeadership {
  leaderInfo: LeaderInfo | null = null;
  voters: readonly NodeId[] = [];
  /** The two subscriptions, held apart (a `Subscription` holding both cost each group one more object and its array). */
  private readonly leaderWatch: Subscription;
  private readonly membersWatch: Subscription;

  constructor(
    readonly group: GroupId,
    readonly node: RaftNode,
    private readonly contactWithin: number,
  ) {
    // Two plain subscriptions (both streams replay at once), not combineLatest: this runs for every group of the host.
    this.leaderWatch = node.leader$.subscribe((leader: LeaderInfo | null) => (this.leaderInfo = leader));
    this.membersWatch = node.members$.subscribe((members: Membership) => (this.voters = members.voters));
  }

  /** Stops following the group. */
  unwatch(): void {
    this.leaderWatch.unsubscribe();
    this.membersWatch.unsubscribe();
  }

  get leader(): NodeId | null {
    return this.leaderInfo?.id ?? null;
  }

  /** On the leader: the followers that answered within `contactWithin` and are replicating. */
  get reachable(): readonly NodeId[] | undefined {
    if (!this.leaderInfo?.self) return undefined;
    const within = this.contactWithin;
    return (this.node.followers() ?? []).filter((f) => f.state === 'replicating' && f.sinceContact <= within).map((f) => f.id);
  }
}

/** The state of one subscription of `balanceLeaders`. */
class Balancer {
  /** The groups watched, by id, in the order they were first seen. */
  private readonly view = new Map<GroupId, WatchedGroup>();
  /** `view`'s groups as the plan reads them, rebuilt only when the host's groups change. */
  private watched: WatchedGroup[] = [];
  /** Transfers under way. Invariant: pending.size + coolingDown.size <= maxInFlight. */
  private readonly pending = new Map<GroupId, PlannedTransfer>();
  private readonly coolingDown = new Map<GroupId, Subscription>();
  private closed = false;

  constructor(
    private readonly host: BalancedHost,
    private readonly settings: Settings,
    private readonly out: Subscriber<LeaderBalanceEvent>,
  ) {}

  /** Catches up with the host's groups, then starts what the plan says. */
  step(): void {
    this.syncGroups();
    const busy = new Set([...this.pending.keys(), ...this.coolingDown.keys()]);
    const limit = this.settings.maxInFlight - busy.size;
    if (limit <= 0) return;
    for (const t of planLeaderTransfers(this.host.id, this.watched, { pending: [...this.pending.values()], skip: busy, limit })) this.start(t);
  }

  close(): void {
    this.closed = true;
    for (const g of this.view.values()) g.unwatch();
    for (const c of this.coolingDown.values()) c.unsubscribe();
    this.view.clear();
    this.watched = [];
    this.coolingDown.clear();
  }

  /** Watches groups the host started since the last step; forgets those it no longer runs (or runs anew). */
  private syncGroups(): void {
    const ids = this.host.groups();
    if (ids.length === this.view.size && ids.every((id) => this.view.get(id)?.node === this.host.group(id))) return;
    const running = new Set(ids);
    for (const [group, g] of this.view) {
      if (running.has(group) && this.host.group(group) === g.node) continue;
      g.unwatch();
      this.view.delete(group);
    }
    for (const group of running) {
      const node = this.host.group(group);
      if (node && !this.view.has(group)) this.view.set(group, new WatchedGroup(group, node, this.settings.contactWithin));
    }
    this.watched = [...this.view.values()];
  }

  private start(transfer: PlannedTransfer): void {
    const node = this.view.get(transfer.group)?.node;
    if (!node) return;
    this.pending.set(transfer.group, transfer);
    const settled = (event: LeaderBalanceEvent) => {
      this.pending.delete(transfer.group);
      if (this.closed) return;
      this.coolingDown.set(transfer.group, this.settings.scheduler.schedule(() => this.coolingDown.delete(transfer.group), this.settings.coolDown));
      this.out.next(event);
    };
    node.transferLeadership(transfer.to).then(
      () => settled({ kind: 'transferred', ...transfer }),
      (error: unknown) => settled({ kind: 'failed', ...transfer, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }
}
