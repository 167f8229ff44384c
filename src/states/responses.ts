import type { RaftMessage } from '../messages/types';
import type { InboundMessage } from './context';

/** The responses that answer a leader's messages to one follower (`replicateTo`). */
export type ReplicationResponse = 'AppendEntriesResponse' | 'InstallSnapshotResponse';

/** The responses that answer a campaign: the pre-candidate's and the candidate's. */
export type VoteResponse = 'PreVoteResponse' | 'RequestVoteResponse';

/**
 * Whether an inbound message is a response that a role pipeline takes (and so reaches
 * the loop only while the pipeline that asked is subscribed) rather than one the loop
 * steps directly. Requests, and the answers to client-side requests (reads, forwarded
 * proposals, term queries), are stepped whatever the role.
 *
 * @example
 * isRoutedResponse('AppendEntriesResponse'); // true: the leader's pipeline for that follower takes it
 * isRoutedResponse('AppendEntries'); // false
 */
export function isRoutedResponse(type: RaftMessage['type']): type is ReplicationResponse | VoteResponse {
  return isReplicationResponse(type) || type === 'RequestVoteResponse' || type === 'PreVoteResponse';
}

/** Whether a message answers the leader's AppendEntries or InstallSnapshot. */
export function isReplicationResponse(type: RaftMessage['type']): type is ReplicationResponse {
  return type === 'AppendEntriesResponse' || type === 'InstallSnapshotResponse';
}

/**
 * A filter for the responses of `responses$` that are `type`: built once per pipeline,
 * so nothing is allocated per message.
 *
 * @example
 * ctx.responses$.pipe(filter(isResponse('RequestVoteResponse')));
 */
export function isResponse(type: VoteResponse): (e: InboundMessage) => boolean {
  return (e) => e.message.type === type;
}
