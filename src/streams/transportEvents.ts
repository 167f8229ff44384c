import { Observable } from 'rxjs';
import type { RaftEvent } from '../core/events';
import { UnknownPeerError } from '../errors';
import type { ConfigAt } from '../messages/config';
import type { NodeId } from '../messages/types';
import type { Transport } from '../transports/transport';
import { listenTo } from '../operators/listenTo';
import { PeerFilter } from './peerFilter';

/**
 * What a node takes from its transport, as events, in one subscriber per source (a host
 * runs one per group):
 * - the inbound messages of peers it takes messages from (see `PeerFilter`); another
 *   peer's message is dropped and reported as `UnknownPeerError`, and an event that
 *   `taken` takes (a response routed to a role pipeline, `RoleSwitch.take`) is not
 *   emitted;
 * - `messagesLost` for every peer the transport says may have missed messages
 *   (`Transport.lost$`, when it has one).
 *
 * @example
 * transportEvents(transport, 'n1', () => state.configs, (e) => errors.next(e), (e) => roles.take(e)).subscribe(dispatch);
 */
export function transportEvents(
  transport: Transport,
  self: NodeId,
  configs: () => readonly ConfigAt[],
  rejected: (error: UnknownPeerError) => void,
  taken: (event: RaftEvent) => boolean = () => false,
): Observable<RaftEvent> {
  const filter = new PeerFilter(self);
  return new Observable<RaftEvent>((subscriber) => {
    // Listeners, not subscribers, where the transport's streams are broadcasts (`listenTo`).
    const fail = (e: unknown) => subscriber.error(e);
    const inbound = listenTo(transport.inbound$, {
      next({ from, message }) {
        if (subscriber.closed) return;
        if (!filter.accepts(from, message.type, configs())) return rejected(new UnknownPeerError(from));
        const event: RaftEvent = { kind: 'message', from, message };
        if (!taken(event)) subscriber.next(event);
      },
      error: fail,
      complete: ignoreEnd,
    });
    const lost = transport.lost$ ? listenTo(transport.lost$, { next: (to) => subscriber.next({ kind: 'messagesLost', to }), error: fail, complete: ignoreEnd }) : undefined;
    return () => {
      inbound?.unsubscribe();
      lost?.unsubscribe();
    };
  });
}

/** A transport's stream that ends ends nothing here: the node stops its transport, not the other way round. */
function ignoreEnd(): void {}
