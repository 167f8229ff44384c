import { Observable } from 'rxjs';
import { Broadcast } from '../operators/broadcast';
import type { NodeId } from '../messages/types';

/**
 * Values addressed to one peer's pipeline, routed by a map lookup: each value goes to the
 * one pipeline that listens for its peer, instead of every follower's pipeline filtering
 * every value (the leader's AppendEntries and their answers pass here once per message).
 * A value for a peer no pipeline listens to is dropped, as a filtered stream would drop it.
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
  of(peer: NodeId): Observable<T> {
    return new Observable<T>((subscriber) => {
      const channels = (this.channels ??= new Map());
      let channel = channels.get(peer);
      if (!channel) channels.set(peer, (channel = new Broadcast<T>()));
      const subscription = channel.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        if (!channel.observed && channels.get(peer) === channel) channels.delete(peer);
      };
    });
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
