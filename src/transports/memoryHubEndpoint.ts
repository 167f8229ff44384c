import { Observable, Subject } from 'rxjs';
import type { Envelope, NodeId } from '../messages/types';
import type { GroupEnvelope } from './hostTransport';
import { Broadcast } from '../operators/broadcast';

/** What an endpoint of the in-memory network needs from its hub. */
export interface HubRoutes {
  route(envelope: Envelope): void;
  release(endpoint: HubEndpoint): void;
}

/** One attachment to the in-memory network: a node's transport or a host's. */
export interface HubEndpoint {
  readonly id: NodeId;
  /** Takes a delivery; false when refused (closed, or the other kind of endpoint's message). */
  receive(envelope: Envelope): boolean;
  /** A message this endpoint sent to `to` was lost (the hub calls it later, never from `send`). */
  lost(to: NodeId): void;
  detach(): void;
}

/** Whether an envelope carries a group id (a host's message). */
export function isGrouped(envelope: Envelope): envelope is GroupEnvelope {
  return typeof (envelope as Partial<GroupEnvelope>).group === 'string';
}

/**
 * What a node's and a host's endpoints on a `MemoryHub` share: the inbound and error
 * streams, and closing. Each kind takes only its own envelopes (`accepts`): a node's
 * endpoint refuses a host's grouped messages and the reverse, as over TCP.
 *
 * @example
 * class NodeEndpoint extends HubEndpointBase<Envelope> {
 *   protected accepts(e: Envelope): e is Envelope { return !isGrouped(e); }
 * }
 */
export abstract class HubEndpointBase<E extends Envelope> implements HubEndpoint {
  private readonly inbound = new Broadcast<E>();
  private readonly lostTo = new Broadcast<NodeId>();
  protected readonly errors = new Subject<Error>();
  readonly inbound$: Observable<E> = this.inbound.asObservable();
  /** Peers a message to was lost (dropped, cut off, refused): as a TCP transport reports a closed connection. */
  readonly lost$: Observable<NodeId> = this.lostTo.asObservable();
  readonly errors$: Observable<Error> = this.errors.asObservable();
  protected closed = false;

  constructor(
    readonly id: NodeId,
    protected readonly hub: HubRoutes,
  ) {}

  /** Whether this kind of endpoint takes `envelope`. */
  protected abstract accepts(envelope: Envelope): envelope is E;

  receive(envelope: Envelope): boolean {
    if (this.closed || !this.accepts(envelope)) return false;
    this.inbound.next(envelope);
    return true;
  }

  lost(to: NodeId): void {
    if (!this.closed) this.lostTo.next(to);
  }

  detach(): void {
    this.closed = true;
    this.inbound.complete();
    this.lostTo.complete();
    this.errors.complete();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.detach();
    this.hub.release(this);
  }
}
