import { Observable, SchedulerLike, Subject, Subscription, Unsubscribable } from 'rxjs';
import type { HostAlive, HostAliveEnvelope, HostWakeup } from '../messages/liveness';
import type { NodeId } from '../messages/types';
import { Listenable, Listener, Listening } from '../operators/listenable';
import { TooManyPeerHostsError } from './hostErrors';

/** What `HostLiveness` needs of the host's transport (`HostTransport.sendAlive` and `alive$`). */
export interface LivenessLink {
  sendAlive(to: NodeId, message: HostAlive): void;
  readonly alive$: Observable<HostAliveEnvelope>;
}

export interface HostLivenessOptions {
  readonly id: NodeId;
  readonly link: LivenessLink;
  readonly scheduler: SchedulerLike;
  /**
   * When each peer host is pinged: the host's shared heartbeat clock (`HeartbeatClocks`),
   * so pings leave in the turn of the active groups' heartbeats, in their frames.
   */
  readonly ticks$: Observable<unknown>;
  /** A peer host that answered no ping sent within this long is silent (the groups' minimum election timeout)... */
  readonly timeout: number;
  /**
   * ... and for this many ticks (default 1): a stall of this host's own event loop moves the
   * clock, but the answers that arrived meanwhile are still unread when the late tick runs
   * (as CheckQuorum counts ticks too: `ceil(timeout / interval)`).
   */
  readonly silentTicks?: number;
  /** Most peer hosts watched; pings from further hosts are ignored and reported once. */
  readonly maxPeers?: number;
  readonly report: (error: Error) => void;
}

/** Ticks without an answer are counted up to here (a peer silent for days does not grow the count). */
const MAX_TICKS_COUNTED = 1 << 20;

/** What this host knows of one peer host. */
interface Peer {
  /** When the newest ping that the peer answered was sent (scheduler time). */
  answeredAt: number;
  /** Whether it had answered within `timeout` at the last check. */
  alive: boolean;
  /** Ticks since it last answered (counted on every tick, up to `MAX_TICKS_COUNTED`). */
  ticksSilent: number;
  /** Its incarnation and groups version as last heard, or null before the first word. */
  incarnation: number | null;
  groupsVersion: number;
}

/**
 * Host-level failure detection for quiescence: one liveness ping per peer host and
 * interval, however many groups (not one heartbeat per group), answered by the peer host
 * itself. `wakeups$` emits a `HostWakeup` — naming the peer hosts that changed, and every
 * peer host silent now — when a peer host:
 *
 * - answers no ping sent within `timeout` (the groups' minimum election timeout), nor in
 *   `silentTicks` ticks, once per silence: the quiet groups whose leader is there wake and
 *   take their normal election path (PreVote), and the quiet leaders here with a follower
 *   there run CheckQuorum again (and may go quiet again without it);
 * - answers again after a silence: the leaders that went quiet without its followers
 *   wake to catch them up;
 * - restarted (a new `incarnation`), or stopped or removed a group (`groupsVersion`
 *   grew): a replica of a quiet group may have gone, or come back without its state.
 *
 * A group wakes only if the change concerns it (`core/quiescence.ts`): a quiet follower
 * whose leader is elsewhere, alive, needs no timer.
 * A ping's answer counts from when the ping was sent, so "answered within the window"
 * means the round trip started inside it. Peers are the hosts named by `watch` and those
 * that ping this one.
 *
 * @example
 * const liveness = new HostLiveness({ id: 'h1', link: transport, scheduler, ticks$: clocks.for(scheduler, 50), timeout: 150, report });
 * liveness.watch(['h2', 'h3']);
 * liveness.wakeups$.subscribe(({ hosts, silent }) => wakeGroupsOn(hosts, silent));
 */
export class HostLiveness {
  private readonly wakes = new Subject<HostWakeup>();
  readonly wakeups$: Observable<HostWakeup> = this.wakes.asObservable();
  /**
   * The subscribers and listeners of `wakeupsOf`, with their group: one entry per group,
   * where a `map` over `wakeups$` cost each group an operator subscriber, its closures and
   * a subscription to the subject. A node's role switch listens (`listenTo`), with no
   * subscriber of its own.
   */
  private readonly groupWakeups = new Map<Listener<HostWakeup>, string>();
  private stopped = false;
  private readonly peers = new Map<NodeId, Peer>();
  /** Send times of the pings still worth an answer, by seq (bounded: older than `timeout` are dropped). */
  private readonly sentAt = new Map<number, number>();
  private readonly subscription = new Subscription();
  private readonly incarnation: number;
  private groupsVersion = 0;
  private seq = 0;
  private overflowReported = false;

  constructor(private readonly o: HostLivenessOptions) {
    this.incarnation = o.scheduler.now();
    this.subscription.add(o.link.alive$.subscribe(({ from, message }) => this.receive(from, message)));
    this.subscription.add(o.ticks$.subscribe(() => this.tick()));
  }

  /** The wake-ups handed to one group: `wakeups$`, naming the group (its voters' failover order is drawn from it). */
  wakeupsOf(group: string): Observable<HostWakeup> {
    return new GroupWakeups(this, group);
  }

  /** Takes a listener of `wakeupsOf(group)` in (what `GroupWakeups` calls); one that comes after `stop` is completed at once. */
  listenForGroup(group: string, listener: Listener<HostWakeup>): Unsubscribable | undefined {
    if (this.stopped) {
      listener.complete();
      return undefined;
    }
    this.groupWakeups.set(listener, group);
    return new Listening(this, listener);
  }

  /** Lets a listener of `wakeupsOf` go (what its handle's `unsubscribe` calls). */
  leave(listener: Listener<HostWakeup>): void {
    this.groupWakeups.delete(listener);
  }

  /** Starts watching these hosts (this host's own id is skipped). */
  watch(hosts: readonly NodeId[]): void {
    for (const host of hosts) this.peer(host);
  }

  /** A group stopped or was removed here: peers learn it from the next answer, and wake their quiet groups. */
  groupStopped(): void {
    this.groupsVersion++;
  }

  /** Stops pinging and answering. */
  stop(): void {
    this.subscription.unsubscribe();
    this.stopped = true;
    this.wakes.complete();
    const groups = [...this.groupWakeups.keys()];
    this.groupWakeups.clear();
    for (const listener of groups) listener.complete();
  }

  private tick(): void {
    const now = this.o.scheduler.now();
    const changed: NodeId[] = [];
    for (const [host, peer] of this.peers) {
      // Both counts run from the last answer at once (as CheckQuorum's): silent after `timeout`, not `timeout` and then `silentTicks` more ticks.
      peer.ticksSilent = Math.min(peer.ticksSilent + 1, MAX_TICKS_COUNTED);
      const alive = now - peer.answeredAt < this.o.timeout || peer.ticksSilent < (this.o.silentTicks ?? 1);
      if (peer.alive !== alive) changed.push(host);
      peer.alive = alive;
    }
    for (const [seq, at] of this.sentAt) if (now - at >= this.o.timeout) this.sentAt.delete(seq);
    this.sentAt.set(++this.seq, now);
    for (const host of this.peers.keys()) this.o.link.sendAlive(host, this.message(false, this.seq));
    if (changed.length > 0) this.wake(changed);
  }

  /** Tells the groups that `hosts` changed, and which peer hosts are silent now. */
  private wake(hosts: NodeId[]): void {
    const silent: NodeId[] = [];
    for (const [host, peer] of this.peers) if (!peer.alive) silent.push(host);
    this.wakes.next({ hosts, silent });
    // Those subscribed now, in the order they subscribed (as a subject's observers); one
    // that left meanwhile (its node stopped on an earlier wake-up) gets nothing more.
    for (const [listener, group] of [...this.groupWakeups]) if (this.groupWakeups.has(listener)) listener.next({ hosts, silent, group });
  }

  private receive(from: NodeId, m: HostAlive): void {
    const peer = this.peer(from);
    if (!peer) return;
    const changed = peer.incarnation !== null && (peer.incarnation !== m.incarnation || peer.groupsVersion !== m.groupsVersion);
    peer.incarnation = m.incarnation;
    peer.groupsVersion = m.groupsVersion;
    if (m.reply) {
      const at = this.sentAt.get(m.seq);
      if (at !== undefined && at > peer.answeredAt) {
        peer.answeredAt = at;
        peer.ticksSilent = 0;
      }
    } else {
      this.o.link.sendAlive(from, this.message(true, m.seq));
    }
    if (changed) this.wake([from]);
  }

  private peer(host: NodeId): Peer | undefined {
    if (host === this.o.id) return undefined;
    let peer = this.peers.get(host);
    if (peer) return peer;
    if (this.peers.size >= (this.o.maxPeers ?? 4096)) {
      if (!this.overflowReported) this.o.report(new TooManyPeerHostsError(this.o.maxPeers ?? 4096, host));
      this.overflowReported = true;
      return undefined;
    }
    // A new peer counts as heard from now: it gets one timeout to answer.
    peer = { answeredAt: this.o.scheduler.now(), alive: true, ticksSilent: 0, incarnation: null, groupsVersion: 0 };
    this.peers.set(host, peer);
    return peer;
  }

  private message(reply: boolean, seq: number): HostAlive {
    return { type: 'HostAlive', reply, seq, incarnation: this.incarnation, groupsVersion: this.groupsVersion };
  }
}

/** `HostLiveness.wakeupsOf(group)`: subscribing (or listening) joins the host's wake-ups for `group`. */
class GroupWakeups extends Listenable<HostWakeup> {
  constructor(
    private readonly liveness: HostLiveness,
    private readonly group: string,
  ) {
    super();
  }

  listen(listener: Listener<HostWakeup>): Unsubscribable | undefined {
    return this.liveness.listenForGroup(this.group, listener);
  }
}
