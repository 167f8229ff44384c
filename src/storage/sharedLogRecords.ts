import { InvalidMessageError } from '../errors';
import type { Entry } from '../messages/entry';
import { decodeEntries } from '../messages/entryCodec';
import { groupIdProblem } from '../messages/groupId';
import type { HardState } from '../messages/persisted';
import type { StorageDamage } from './storage';

/**
 * The payload of a `RecordType.Group` record in a host's shared write-ahead log: one
 * record of one Raft group, tagged with the group's id.
 *
 *     u8 kind | u8 idLength | group id (ASCII, 1..64 bytes) | body
 *
 *     Entries    body: an entries block from `encodeEntries`; its first index cuts the
 *                group's log from there on (a conflict truncation and its append are one record)
 *     HardState  body: JSON {"term","votedFor"}; the group's latest one wins
 *     Damage     body: JSON StorageDamage, or null (cleared); the latest one wins
 *     Removed    body: empty; every earlier record of the group is dead
 *
 * @example
 * const payload = encodeGroupRecord(GroupRecordKind.HardState, 'g1', hardStateBody({ term: 2, votedFor: 'h1' }));
 * decodeGroupRecord(payload); // { kind: 2, group: 'g1', body: <Buffer ...> }
 */
export const GroupRecordKind = {
  Entries: 1,
  HardState: 2,
  Damage: 3,
  Removed: 4,
} as const;
export type GroupRecordKind = (typeof GroupRecordKind)[keyof typeof GroupRecordKind];

/** A decoded group record; `body` is a view into the payload. */
export interface GroupRecord {
  readonly kind: GroupRecordKind;
  readonly group: string;
  readonly body: Buffer;
}

/** The bytes in front of the body: kind, id length, id. */
export function groupRecordHeaderBytes(group: string): number {
  return 2 + group.length;
}

/** A group record not laid out yet: the shared log copies its body once, straight into the write that carries it. */
export interface GroupRecordParts {
  readonly kind: GroupRecordKind;
  readonly group: string;
  readonly body: Uint8Array;
}

/** The bytes of the payload of `record`. */
export function groupRecordBytes(record: GroupRecordParts): number {
  return groupRecordHeaderBytes(record.group) + record.body.length;
}

/**
 * Lays out the payload of `record` in `out` at `at` (`groupRecordBytes(record)` bytes).
 *
 * @example
 * const out = Buffer.allocUnsafe(groupRecordBytes(record));
 * writeGroupRecord(out, 0, record); // the bytes encodeGroupRecord returns
 */
export function writeGroupRecord(out: Buffer, at: number, record: GroupRecordParts): void {
  const { kind, group, body } = record;
  out[at] = kind;
  out[at + 1] = group.length;
  out.write(group, at + 2, 'latin1');
  out.set(body, at + 2 + group.length);
}

/** A group record's payload (copies `body`). */
export function encodeGroupRecord(kind: GroupRecordKind, group: string, body: Uint8Array): Buffer {
  const record = { kind, group, body };
  const out = Buffer.allocUnsafe(groupRecordBytes(record));
  writeGroupRecord(out, 0, record);
  return out;
}

/** Reads a group record's payload; throws `InvalidMessageError` saying what is wrong. */
export function decodeGroupRecord(payload: Buffer): GroupRecord {
  if (payload.length < 2) throw new InvalidMessageError('group record shorter than its header');
  const kind = payload[0];
  if (kind < GroupRecordKind.Entries || kind > GroupRecordKind.Removed) throw new InvalidMessageError(`unknown group record kind ${kind}`);
  const length = payload[1];
  if (payload.length < 2 + length) throw new InvalidMessageError('group id runs past the record');
  const group = payload.toString('latin1', 2, 2 + length);
  const problem = groupIdProblem(group);
  if (problem !== null) throw new InvalidMessageError(problem);
  return { kind: kind as GroupRecordKind, group, body: payload.subarray(2 + length) };
}

/** The body of a HardState record. */
export function hardStateBody(state: HardState): Buffer {
  return Buffer.from(JSON.stringify({ term: state.term, votedFor: state.votedFor }), 'utf8');
}

/** Reads a HardState body; throws `InvalidMessageError`. */
export function decodeHardStateBody(body: Buffer): HardState {
  const raw = parseJson(body, 'hard state') as { term?: unknown; votedFor?: unknown } | null;
  if (typeof raw !== 'object' || raw === null) throw new InvalidMessageError('hard state is not an object');
  const { term, votedFor } = raw;
  if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0) throw new InvalidMessageError(`hard state term must be a non-negative integer, got ${String(term)}`);
  if (votedFor !== null && typeof votedFor !== 'string') throw new InvalidMessageError('hard state vote must be a string or null');
  return { term, votedFor };
}

/** The body of a Damage record (null: cleared). */
export function damageBody(damage: StorageDamage | null): Buffer {
  return Buffer.from(JSON.stringify(damage), 'utf8');
}

/** Reads a Damage body; throws `InvalidMessageError`. */
export function decodeDamageBody(body: Buffer): StorageDamage | null {
  const raw = parseJson(body, 'damage') as StorageDamage | null;
  if (raw === null) return null;
  const tail = raw.truncatedTail;
  if (typeof raw.hardStateMissing !== 'boolean' || (tail !== null && !(Number.isSafeInteger(tail?.from) && typeof tail?.reason === 'string'))) {
    throw new InvalidMessageError('damage record has an unexpected shape');
  }
  return { hardStateMissing: raw.hardStateMissing, truncatedTail: tail === null ? null : { from: tail.from, reason: tail.reason } };
}

/** Reads an Entries body (non-empty, contiguous); throws `InvalidMessageError`. */
export function decodeEntriesBody(body: Buffer): Entry[] {
  const entries = decodeEntries(body);
  if (entries.length === 0) throw new InvalidMessageError('empty entries record');
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].index !== entries[0].index + i) throw new InvalidMessageError(`entry ${i} has index ${entries[i].index}, expected ${entries[0].index + i}`);
  }
  return entries;
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidMessageError(`${what} is not JSON`);
  }
}
