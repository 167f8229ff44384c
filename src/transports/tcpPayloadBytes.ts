import { heldBlock } from '../messages/entryBlocks';
import { encodedSize } from '../messages/entryCodec';
import type { RaftMessage } from '../messages/types';
import type { Lane } from './tcpHandshake';
import { LAYOUT_BY_TYPE } from './tcpLayouts';

/**
 * The bytes a message carries beyond its few numbers and ids: its entries block, or the
 * byte fields of other messages (forwarded commands, and whatever later messages carry).
 * Messages with any go on the bulk lane (`laneOf`).
 *
 * @example
 * payloadBytes({ type: 'TermQuery', term: 3 }); // 0
 */
export function payloadBytes(message: RaftMessage): number {
  if (message.type === 'AppendEntries') return message.entries.length === 0 ? 0 : encodedSize(message.entries);
  return LAYOUT_BY_TYPE.has(message.type) ? 0 : byteFields(message, 0); // laid-out messages hold no bytes but entries
}

/**
 * The lane a message with `payload` bytes (`payloadBytes`) travels on: `bulk` when it
 * carries any (entries, snapshot chunks, forwarded commands), `control` otherwise. The
 * TCP transports (`PeerLanes`) and `MemoryHub`'s bandwidth model both route by it.
 *
 * @example
 * laneOf(payloadBytes(heartbeat)); // 'control'
 */
export function laneOf(payload: number): Lane {
  return payload > 0 ? 'bulk' : 'control';
}

/**
 * A message's payload already encoded, to keep with it while it is queued: an
 * AppendEntries' entries block when it is cached and its entries are views of it
 * (`heldBlock`: a leader's batch). The block cache holds the last few blocks only; a
 * message queued behind a full socket would otherwise find its block evicted and be laid
 * out again, entry by entry.
 *
 * @example
 * encodedPayload(appendEntries)?.length === payloadBytes(appendEntries); // true when defined
 */
export function encodedPayload(message: RaftMessage): Buffer | undefined {
  return message.type === 'AppendEntries' && message.entries.length > 0 ? heldBlock(message.entries) : undefined;
}

function byteFields(value: unknown, depth: number): number {
  if (value instanceof Uint8Array) return value.length;
  if (depth > 2 || typeof value !== 'object' || value === null) return 0;
  let bytes = 0;
  for (const field of Array.isArray(value) ? value : Object.values(value)) {
    if (typeof field === 'object' && field !== null) bytes += byteFields(field, depth + 1);
  }
  return bytes;
}
