import { checkGroupId, GroupId } from '../messages/groupId';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { GroupEnvelope, HostTransport } from './hostTransport';
import { HubEndpointBase, isGrouped } from './memoryHubEndpoint';

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
export class MemoryHostTransport extends HubEndpointBase<GroupEnvelope> implements HostTransport {
  /** Throws `InvalidMessageError` for a group id that `groupIdProblem` refuses, as the TCP host transport does. */
  send(to: NodeId, group: GroupId, message: RaftMessage): void {
    checkGroupId(group);
    if (!this.closed) this.hub.route({ from: this.id, to, group, message } as GroupEnvelope);
  }

  protected accepts(envelope: Envelope): envelope is GroupEnvelope {
    return isGrouped(envelope);
  }
}
