import type { Unsubscribable } from 'rxjs';
import { Broadcast } from '../operators/broadcast';
import { Listenable, Listener } from '../operators/listenable';
import type { NodeId } from '../messages/types';

/**
 * Values addressed to one peer's pipeline, routed by a map lookup: each value goes to the
 * one pipeline that listens for its peer, instead of every follower's pipeline filtering
 * every value (the leader's AppendEntries and their answers pass here once per message).
 * A value for a peer no pipeline listens to is dropped, as a filtered stream would drop it.
 * A channel is `Listenable`: the leader's `replicateTo` takes its three in as listeners
 * (`listenTo`), with no subscriber per follower.
 *
 * @example
 * const sends = new PeerChannels<LeaderSend>();
 * sends.of('n2').subscribe((m) => transport.send('n2', m.message));
 * sends.next('n2', send); // true: the n2 pipeline had it
 * sends.next('n9', send); // false: nobody listens for n9
 */
export class PeerChannels<T> {
  /** Made at the first subscription: a follower, and an idle group's leader, never route anything. */
  private channels: Map<NodeId, Broadcast<T>> | null = null;

  /** The values for `peer` from subscription on; the channel goes when its last subscriber does. */
  of(peer: NodeId): Listenable<T> {
    return new PeerChannel(this, peer);
  }

  /** Takes `listener` in on the channel of `peer` (made if none); the handle lets it go, and the channel with its last listener. */
  listen(peer: NodeId, listener: Listener<T>): Unsubscribable | undefined {
    const channels = (this.channels ??= new Map());
    let channel = channels.get(peer);
    if (!channel) channels.set(peer, (channel = new Broadcast<T>()));
    return channel.listen(listener) && new PeerListening(this, peer, channel, listener);
  }

  /** Lets `listener` go from `channel`, and drops the channel of `peer` when nobody listens to it any more. */
  leave(peer: NodeId, channel: Broadcast<T>, listener: Listener<T>): void {
    channel.leave(listener);
    if (!channel.observed && this.channels?.get(peer) === channel) this.channels.delete(peer);
  }

  /** Hands `value` to the pipeline of `peer`; false when none listens (the value is dropped). */
  next(peer: NodeId, value: T): boolean {
    const channel = this.channels?.get(peer);
    if (!channel) return false;
    channel.next(value);
    return true;
  }

  /** Completes every channel (the node stops). */
  complete(): void {
    const channels = this.channels;
    this.channels = null;
    for (const channel of channels?.values() ?? []) channel.complete();
  }
}

/** `PeerChannels.of(peer)`: subscribing (or listening) joins the channel of `peer`. */
class PeerChannel<T> extends Listenable<T> {
  constructor(
    private readonly channels: PeerChannels<T>,
    private readonly peer: NodeId,
  ) {
    super();
  }

  listen(listener: Listener<T>): Unsubscribable | undefined {
    return this.channels.listen(this.peer, listener);
  }
}

/** What `PeerChannels.listen` hands back: unsubscribing lets the listener go, and its channel when it was the last. */
class PeerListening<T> implements Unsubscribable {
  constructor(
    private readonly channels: PeerChannels<T>,
    private readonly peer: NodeId,
    private readonly channel: Broadcast<T>,
    private readonly listener: Listener<T>,
  ) {}

  unsubscribe(): void {
    this.channels.leave(this.peer, this.channel, this.listener);
  }
}
