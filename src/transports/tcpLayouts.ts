import type { MessageType, RaftMessage } from '../messages/types';

/**
 * The positional layouts of the wire format: which fields a message's payload array holds,
 * in which order, under which code. Codes are part of the wire format: never reuse or
 * renumber one. A message type without a layout travels as a map (code 0).
 *
 * @example
 * LAYOUT_BY_TYPE.get('RequestVoteResponse'); // { code: 2, fields: ['term', 'voteGranted'] }
 */
export interface Layout {
  readonly code: number;
  readonly type: MessageType;
  readonly fields: readonly string[];
}

type MessageOf<T extends MessageType> = Extract<RaftMessage, { type: T }>;
type FieldOf<T extends MessageType> = Exclude<keyof MessageOf<T>, 'type'> & string;

/**
 * A positional layout. It must list every field of the message type: adding a field to
 * a message without adding it here is a compile error (`missingFields`), not a field
 * silently lost on the wire.
 */
function layout<T extends MessageType, const F extends readonly FieldOf<T>[]>(
  code: number,
  type: T,
  fields: F & ([Exclude<FieldOf<T>, F[number]>] extends [never] ? unknown : { missingFields: Exclude<FieldOf<T>, F[number]> }),
): Layout {
  // Payloads are msgpack fixarrays (at most 15 elements) and codes positive fixints.
  if (fields.length > 15 || code < 1 || code > 127) throw new Error(`layout of ${type} does not fit the wire format`);
  return { code, type, fields };
}

/** The code of a message that travels as a map. */
export const MAP_CODE = 0;

/** `entries`, when a layout has it, is its last field (the frame then ends with the block). */
const LAYOUTS: readonly Layout[] = [
  layout(1, 'RequestVote', ['term', 'candidateId', 'lastLogIndex', 'lastLogTerm', 'leadershipTransfer']),
  layout(2, 'RequestVoteResponse', ['term', 'voteGranted']),
  layout(3, 'AppendEntries', ['term', 'leaderId', 'prevLogIndex', 'prevLogTerm', 'leaderCommit', 'seq', 'quiesce', 'entries']),
  layout(4, 'AppendEntriesResponse', ['term', 'success', 'matchIndex', 'rejectedIndex', 'conflictIndex', 'conflictTerm', 'seq']),
  layout(5, 'PreVote', ['term', 'candidateId', 'lastLogIndex', 'lastLogTerm']),
  layout(6, 'PreVoteResponse', ['term', 'voteGranted']),
  layout(7, 'ReadIndexRequest', ['term', 'requestId', 'lease']),
  layout(8, 'ReadIndexResponse', ['term', 'requestId', 'success', 'readIndex']),
  layout(9, 'ProposeResponse', ['term', 'requestId', 'success', 'firstIndex', 'overloaded']),
  layout(10, 'TermQuery', ['term']),
  layout(11, 'TermReport', ['term']),
  layout(12, 'WakeUp', ['term']),
];

export const LAYOUT_BY_TYPE: ReadonlyMap<string, Layout> = new Map(LAYOUTS.map((l) => [l.type, l]));
export const LAYOUT_BY_CODE: ReadonlyMap<unknown, Layout> = new Map(LAYOUTS.map((l) => [l.code, l]));

/** Fields naming the sender: they must name the authenticated peer. */
export const SENDER_FIELD: Partial<Record<MessageType, string>> = {
  RequestVote: 'candidateId',
  PreVote: 'candidateId',
  AppendEntries: 'leaderId',
  InstallSnapshot: 'leaderId',
};
