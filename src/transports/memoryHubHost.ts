import { Observable, Subject } from 'rxjs';
import { checkGroupId, GroupId } from '../messages/groupId';
import { HostAlive, HostAliveEnvelope, validateHostAlive } from '../messages/liveness';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { GroupEnvelope, HostTransport } from './hostTransport';
import { HubEndpointBase, isGrouped } from './memoryHubEndpoint';

/**
 * A host's endpoint on a `MemoryHub` (see `MemoryHub.connectHost`): each message travels
 * as an envelope tagged with its group, through the same cut links, rules and faults as
 * a node's messages. An envelope without a group (sent by a plain node) is refused and
 * counted as dropped in the hub's stats, as a TCP host refuses a node at the handshake.
 * Host liveness messages (`sendAlive`) take the same path, without a group.
 *
 * @example
 * const h1 = hub.connectHost('h1');
 * h1.send('h2', 'g1', { type: 'TermQuery', term: 1 });
 */
export class MemoryHostTransport extends HubEndpointBase<GroupEnvelope> implements HostTransport {
  private readonly alive = new Subject<HostAliveEnvelope>();
  readonly alive$: Observable<HostAliveEnvelope> = this.alive.asObservable();

  /** Throws `InvalidMessageError` for a group id that `groupIdProblem` refuses, as the TCP host transport does. */
  send(to: NodeId, group: GroupId, message: RaftMessage): void {
    checkGroupId(group);
    if (!this.closed) this.hub.route({ from: this.id, to, group, message } as GroupEnvelope);
  }

  /** Sends a host liveness message through the hub (cut links, rules and faults apply). */
  sendAlive(to: NodeId, message: HostAlive): void {
    // The hub carries envelopes of any message; this one has no group and is told apart by its type.
    if (!this.closed) this.hub.route({ from: this.id, to, message } as unknown as Envelope);
  }

  /** A liveness message goes to `alive$` (validated: a bad one is dropped and reported on `errors$`); a group's to `inbound$`. */
  override receive(envelope: Envelope): boolean {
    if ((envelope.message as { type: string }).type !== 'HostAlive') return super.receive(envelope);
    if (this.closed) return false;
    try {
      this.alive.next({ from: envelope.from, to: envelope.to, message: validateHostAlive(envelope.message as unknown as HostAlive) });
    } catch (e) {
      this.errors.next(e as Error);
    }
    return true;
  }

  override detach(): void {
    this.alive.complete();
    super.detach();
  }

  protected accepts(envelope: Envelope): envelope is GroupEnvelope {
    return isGrouped(envelope);
  }
}
