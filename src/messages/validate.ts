import { InvalidMessageError } from '../errors';
import { Entry, EntryKind } from './entry';
import type { RaftMessage } from './types';

/**
 * Checks that an untrusted value (decoded from the network) is a well-formed
 * `RaftMessage`, and returns it typed. Throws `InvalidMessageError` naming the first
 * problem. Beyond shapes it checks the protocol's own constraints: terms and indexes are
 * safe non-negative integers, entries are contiguous after `prevLogIndex` and no newer
 * than the message's term.
 *
 * @example
 * validateMessage({ type: 'RequestVoteResponse', term: 3, voteGranted: true }); // ok
 * validateMessage({ type: 'RequestVote', term: -1 }); // throws InvalidMessageError
 */
export function validateMessage(raw: unknown): RaftMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not an object');
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'RequestVote':
      nat(m, 'term');
      id(m, 'candidateId');
      nat(m, 'lastLogIndex');
      nat(m, 'lastLogTerm');
      if ((m.lastLogTerm as number) > (m.term as number)) fail('lastLogTerm is newer than term');
      break;
    case 'RequestVoteResponse':
      nat(m, 'term');
      bool(m, 'voteGranted');
      break;
    case 'AppendEntries':
      nat(m, 'term');
      id(m, 'leaderId');
      nat(m, 'prevLogIndex');
      nat(m, 'prevLogTerm');
      nat(m, 'leaderCommit');
      entries(m);
      break;
    case 'AppendEntriesResponse':
      nat(m, 'term');
      bool(m, 'success');
      nat(m, 'matchIndex');
      nat(m, 'rejectedIndex');
      nat(m, 'conflictIndex');
      nat(m, 'conflictTerm');
      break;
    default:
      fail(`unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}`);
  }
  return raw as RaftMessage;
}

function fail(reason: string): never {
  throw new InvalidMessageError(reason);
}

function nat(m: Record<string, unknown>, field: string): void {
  const v = m[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${field} must be a non-negative integer`);
}

function bool(m: Record<string, unknown>, field: string): void {
  if (typeof m[field] !== 'boolean') fail(`${field} must be a boolean`);
}

function id(m: Record<string, unknown>, field: string): void {
  const v = m[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) fail(`${field} must be a non-empty string`);
}

function entries(m: Record<string, unknown>): void {
  const list = m.entries;
  if (!Array.isArray(list)) fail('entries must be an array');
  let expected = (m.prevLogIndex as number) + 1;
  let lastTerm = m.prevLogTerm as number;
  for (const e of list as unknown[]) {
    if (typeof e !== 'object' || e === null) fail('entry must be an object');
    const entry = e as Record<string, unknown>;
    nat(entry, 'index');
    nat(entry, 'term');
    const { index, term, kind, data } = entry as unknown as Entry;
    if (index !== expected) fail(`entry index ${index} where ${expected} was expected`);
    if (term < lastTerm || term > (m.term as number)) fail(`entry term ${term} out of order`);
    if (kind !== EntryKind.Command && kind !== EntryKind.Noop && kind !== EntryKind.Config) fail(`unknown entry kind`);
    if (!(data instanceof Uint8Array)) fail('entry data must be bytes');
    expected++;
    lastTerm = term;
  }
}
