/**
 * A follower whose received snapshot is being committed takes no entries until storage
 * says it is installed: an entry appended meanwhile would reach storage behind a commit
 * whose `discardLog` was decided without it (found by the simulator, seed 5588 at 5 nodes).
 */
import { step } from '../../src/core/step';
import type { AppendEntries } from '../../src/messages/types';
import { entriesAt, makeState, msg, sent, types } from './helpers';

const config = { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} };
const lastChunk = { type: 'InstallSnapshot' as const, term: 1, leaderId: 'n2', lastIncludedIndex: 10, lastIncludedTerm: 1, config, chunk: 0, data: new Uint8Array(0), done: true };
const append = (prevLogIndex: number, entries = entriesAt(prevLogIndex + 1, [1, 1])): AppendEntries => ({
  type: 'AppendEntries', term: 1, leaderId: 'n2', prevLogIndex, prevLogTerm: 1, entries, leaderCommit: 0, seq: 0,
});

test('entries that arrive while the last chunk is being stored are not taken; the request is still answered', () => {
  const s = makeState({ term: 1, log: [1, 1, 1] });
  expect(types(msg(s, 'n2', lastChunk))).toContain('storeSnapshotChunk');
  const fx = msg(s, 'n2', append(3));
  expect(types(fx)).not.toContain('persistEntries');
  expect(s.log.lastIndex).toBe(3);
  expect(sent(fx)[0].message).toMatchObject({ type: 'AppendEntriesResponse', success: true, matchIndex: 3 });
});

test('once the snapshot is installed, entries after it are taken again', () => {
  const s = makeState({ term: 1, log: [1, 1, 1] });
  msg(s, 'n2', lastChunk);
  step(s, { kind: 'snapshotChunkStored', from: 'n2', meta: { index: 10, term: 1, config }, chunk: 0, done: true });
  expect(s.log.lastIndex).toBe(10);
  const fx = msg(s, 'n2', append(10));
  expect(types(fx)).toContain('persistEntries');
  expect(s.log.lastIndex).toBe(12);
});

test('a chunk of the snapshot being installed, sent again meanwhile, is not acknowledged but answered `installing` (the leader must not give the transfer up); the install answers "installed" once done (an acknowledgement would send the leader past the last chunk, and its transfer would start over)', () => {
  const s = makeState({ term: 1, log: [1, 1, 1] });
  const chunk = (n: number, done: boolean) => ({ ...lastChunk, chunk: n, done });
  const stored = (n: number, done: boolean) => step(s, { kind: 'snapshotChunkStored', from: 'n2', meta: { index: 10, term: 1, config }, chunk: n, done }).list;
  msg(s, 'n2', chunk(0, false));
  stored(0, false);
  msg(s, 'n2', chunk(1, false));
  stored(1, false);
  expect(sent(msg(s, 'n2', chunk(1, false))).map((m) => m.message)).toEqual([expect.objectContaining({ type: 'InstallSnapshotResponse', chunk: 1, success: true, installed: false })]); // a repeat before the last chunk: acknowledged again
  msg(s, 'n2', chunk(2, true)); // the last chunk: stored and installed from now on
  const installing = (n: number) => [{ type: 'InstallSnapshotResponse', term: 1, lastIncludedIndex: 10, chunk: n, success: true, installed: false, installing: true }];
  expect(sent(msg(s, 'n2', chunk(2, true))).map((m) => m.message)).toEqual(installing(2));
  expect(sent(msg(s, 'n2', chunk(1, false))).map((m) => m.message)).toEqual(installing(1));
  expect(sent(msg(s, 'n2', chunk(0, false))).map((m) => m.message)).toEqual(installing(0)); // chunk 0 too: not a new transfer of the snapshot being installed
  expect(types(msg(s, 'n2', chunk(0, false)))).not.toContain('storeSnapshotChunk');
  expect(sent(stored(2, true)).map((m) => m.message)).toEqual([expect.objectContaining({ type: 'InstallSnapshotResponse', chunk: 2, success: true, installed: true })]);
  expect(sent(msg(s, 'n2', chunk(2, true))).map((m) => m.message)).toEqual([expect.objectContaining({ installed: true })]); // a repeat after it: installed
});
