import { Observable, Subject } from 'rxjs';
import { checkGroupId, GroupId } from '../messages/groupId';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { GroupEnvelope, HostTransport } from './hostTransport';

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
  detach(): void;
}

/** Whether an envelope carries a group id (a host's message). */
export function isGrouped(envelope: Envelope): envelope is GroupEnvelope {
  return typeof (envelope as Partial<GroupEnvelope>).group === 'string';
}

/**
 * A host's endpoint on a `MemoryHub` (see `MemoryHub.connectHost`): each message travels
 * as an envelope tagged with its group, through the same cut links, rules and faults as
 * a node's messages. An envelope without a group (sent by a plain node) is refused and
 * counted as dropped in the hub's stats, as a TCP host refuses a node at the handshake.
 *
 * @example
 * const h1 = hub.connectHost('h1');
 * h1.send('h2', 'g1', { type: 'TermQuery', term: 1 });
 */
export class MemoryHostTransport implements HostTransport {
  private readonly inbound = new Subject<GroupEnvelope>();
  private readonly errors = new Subject<Error>();
  readonly inbound$: Observable<GroupEnvelope> = this.inbound.asObservable();
  readonly errors$: Observable<Error> = this.errors.asObservable();
  private closed = false;

  constructor(readonly id: NodeId, private readonly hub: HubRoutes) {}

  /** Throws `InvalidMessageError` for a group id that `groupIdProblem` refuses, as the TCP host transport does. */
  send(to: NodeId, group: GroupId, message: RaftMessage): void {
    checkGroupId(group);
    if (!this.closed) this.hub.route({ from: this.id, to, group, message } as GroupEnvelope);
  }

  receive(envelope: Envelope): boolean {
    if (this.closed || !isGrouped(envelope)) return false;
    this.inbound.next(envelope);
    return true;
  }

  detach(): void {
    this.closed = true;
    this.inbound.complete();
    this.errors.complete();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.detach();
    this.hub.release(this);
  }
}
