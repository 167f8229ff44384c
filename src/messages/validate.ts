import { InvalidMessageError } from './errors';
import { BlockEntry } from './blockEntry';
import { Entry, EntryKind, isEntryKind } from './entry';
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
      voteRequest(m);
      bool(m, 'leadershipTransfer');
      break;
    case 'PreVote':
      voteRequest(m);
      break;
    case 'RequestVoteResponse':
    case 'PreVoteResponse':
      nat(m, 'term');
      bool(m, 'voteGranted');
      break;
    case 'AppendEntries':
      nat(m, 'term');
      id(m, 'leaderId');
      nat(m, 'prevLogIndex');
      nat(m, 'prevLogTerm');
      nat(m, 'leaderCommit');
      nat(m, 'seq');
      if (m.quiesce !== undefined) bool(m, 'quiesce');
      entries(m);
      break;
    case 'AppendEntriesResponse':
      nat(m, 'term');
      bool(m, 'success');
      nat(m, 'matchIndex');
      nat(m, 'rejectedIndex');
      nat(m, 'conflictIndex');
      nat(m, 'conflictTerm');
      nat(m, 'seq');
      break;
    case 'InstallSnapshot':
      nat(m, 'term');
      id(m, 'leaderId');
      nat(m, 'lastIncludedIndex');
      nat(m, 'lastIncludedTerm');
      nat(m, 'chunk');
      bool(m, 'done');
      if (!(m.data instanceof Uint8Array)) fail('data must be bytes');
      if ((m.lastIncludedTerm as number) > (m.term as number)) fail('lastIncludedTerm is newer than term');
      config(m.config);
      break;
    case 'InstallSnapshotResponse':
      nat(m, 'term');
      nat(m, 'lastIncludedIndex');
      nat(m, 'chunk');
      bool(m, 'success');
      bool(m, 'installed');
      if (m.installing !== undefined) bool(m, 'installing');
      break;
    case 'TimeoutNow':
    case 'TermQuery':
    case 'TermReport':
    case 'WakeUp':
      nat(m, 'term');
      break;
    case 'ReadIndexRequest':
      nat(m, 'term');
      nat(m, 'requestId');
      bool(m, 'lease');
      break;
    case 'ReadIndexResponse':
      nat(m, 'term');
      nat(m, 'requestId');
      bool(m, 'success');
      nat(m, 'readIndex');
      break;
    case 'ProposeRequest':
      nat(m, 'term');
      nat(m, 'requestId');
      commands(m);
      break;
    case 'ProposeResponse':
      nat(m, 'term');
      nat(m, 'requestId');
      bool(m, 'success');
      nat(m, 'firstIndex');
      bool(m, 'overloaded');
      break;
    default:
      fail(`unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}`);
  }
  return raw as RaftMessage;
}

function fail(reason: string): never {
  throw new InvalidMessageError(reason);
}

/** The fields RequestVote and PreVote share. */
function voteRequest(m: Record<string, unknown>): void {
  nat(m, 'term');
  id(m, 'candidateId');
  nat(m, 'lastLogIndex');
  nat(m, 'lastLogTerm');
  if ((m.lastLogTerm as number) > (m.term as number)) fail('lastLogTerm is newer than term');
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

function config(raw: unknown): void {
  if (typeof raw !== 'object' || raw === null) fail('config must be an object');
  const c = raw as Record<string, unknown>;
  const ids = (v: unknown) => Array.isArray(v) && v.length <= 10_000 && v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 256);
  if (!ids(c.voters) || !ids(c.learners)) fail('config must list voters and learners');
  if (c.oldVoters !== undefined && !ids(c.oldVoters)) fail('config oldVoters must be a list of ids');
  const addresses = c.addresses;
  if (typeof addresses !== 'object' || addresses === null || Object.values(addresses).some((a) => typeof a !== 'string')) {
    fail('config addresses must map ids to strings');
  }
}

function commands(m: Record<string, unknown>): void {
  const list = m.commands;
  if (!Array.isArray(list) || list.length === 0 || list.length > 65536) fail('commands must be a non-empty array');
  for (const c of list as unknown[]) {
    if (typeof c !== 'object' || c === null) fail('command must be an object');
    const { kind, data } = c as Record<string, unknown>;
    // A no-op is the repair marker of a node whose storage lost writes (see RaftState.repair).
    if (kind !== EntryKind.Command && kind !== EntryKind.SessionCommand && kind !== EntryKind.Noop) fail('command kind must be a user command or a no-op');
    if (!(data instanceof Uint8Array)) fail('command data must be bytes');
    if (kind === EntryKind.Noop && data.length !== 0) fail('a no-op command carries no data');
  }
}

function entries(m: Record<string, unknown>): void {
  const list = m.entries;
  if (!Array.isArray(list)) fail('entries must be an array');
  // Runs for every entry received: plain property reads, no per-field helper calls. The
  // decoder of entry blocks checks the same rules as it reads a block (`decodeEntries`'
  // `after`), so a change here belongs there too.
  const maxTerm = m.term as number;
  let expected = (m.prevLogIndex as number) + 1;
  let lastTerm = m.prevLogTerm as number;
  if (list.length > 0 && !Number.isSafeInteger(expected + list.length)) fail('entry index beyond 2^53');
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as Entry | null;
    if (typeof e !== 'object' || e === null) fail('entry must be an object');
    const { index, term, kind } = e;
    if (index !== expected) fail(`entry index ${String(index).slice(0, 20)} where ${expected} was expected`);
    if (typeof term !== 'number' || !Number.isInteger(term) || term < lastTerm || term > maxTerm) {
      fail(`entry term ${String(term).slice(0, 20)} out of order`);
    }
    if (!isEntryKind(kind)) fail(`unknown entry kind`);
    // A BlockEntry's bytes were checked against its block when it was decoded; reading `data` would make its view.
    if (!(e instanceof BlockEntry) && !(e.data instanceof Uint8Array)) fail('entry data must be bytes');
    expected++;
    lastTerm = term;
  }
}
