import { BlockEntry } from '../../src/messages/blockEntry';
import { EntryKind, type Entry } from '../../src/messages/entry';
import { entriesBlock } from '../../src/messages/entryBlocks';
import { decodeEntries, encodeEntries } from '../../src/messages/entryCodec';
import { firstIndexOf, readEntryRun } from '../../src/messages/entryRun';
import { entryRunOf, ReceivedAppendEntries } from '../../src/messages/receivedAppendEntries';

const entries: Entry[] = [
  { index: 5, term: 2, kind: EntryKind.Command, data: Buffer.from('five') },
  { index: 6, term: 3, kind: EntryKind.Noop, data: new Uint8Array(0) },
  { index: 7, term: 3, kind: EntryKind.SessionCommand, data: Buffer.alloc(300, 7) },
];
const place = { prevLogIndex: 4, prevLogTerm: 2, term: 3 };
const plain = (list: readonly Entry[]) => list.map(({ index, term, kind, data }) => ({ index, term, kind, data: Array.from(data) }));

describe('a received entries block read as a run (EntryRun)', () => {
  it('answers index, term, kind and size of each entry from the block, as decodeEntries reads them', () => {
    const block = encodeEntries(entries);
    const run = readEntryRun(block, place);
    expect([run.length, run.firstIndex, run.lastIndex, run.lastTerm]).toEqual([3, 5, 7, 3]);
    expect([0, 1, 2].map((i) => [run.termAt(i), run.kindAt(i), run.sizeAt(i)])).toEqual(entries.map((e) => [e.term, e.kind, e.data.length]));
    expect(run.block).toBe(block);
    expect(plain(run.entries())).toEqual(plain(decodeEntries(block)));
    expect(plain(run.entries(2))).toEqual(plain(entries.slice(2)));
    expect(run.entry(1)).toBeInstanceOf(BlockEntry);
    expect(firstIndexOf(run)).toBe(5);
    expect(firstIndexOf(entries)).toBe(5);
  });

  it('made whole, its entries find the block as it came (the write-ahead log writes it, not a copy)', () => {
    const block = encodeEntries(entries);
    const made = readEntryRun(block, place).entries();
    expect(entriesBlock(made)).toBe(block);
  });

  it('reads a block inside a larger buffer (a socket read) in place', () => {
    const block = encodeEntries(entries);
    const chunk = Buffer.concat([Buffer.alloc(13, 9), block, Buffer.alloc(5)]);
    const run = readEntryRun(chunk.subarray(13, 13 + block.length), place);
    expect(plain(run.entries())).toEqual(plain(entries));
    expect(run.entry(2).data.buffer).toBe(chunk.buffer);
  });
});

describe('an AppendEntries received with a block (ReceivedAppendEntries)', () => {
  const fields = { term: 3, leaderId: 'n1', prevLogIndex: 4, prevLogTerm: 2, leaderCommit: 4, seq: 9 };

  it('keeps its entries as a run until they are read, then makes them once', () => {
    const m = new ReceivedAppendEntries(fields, readEntryRun(encodeEntries(entries), place));
    expect(entryRunOf(m)?.length).toBe(3);
    const first = m.entries;
    expect(plain(first)).toEqual(plain(entries));
    expect(m.entries).toBe(first);
  });

  it('has its entries in a spread copy, in JSON and among its keys, as any AppendEntries does (a transport wrapper may copy it)', () => {
    const m = new ReceivedAppendEntries(fields, readEntryRun(encodeEntries(entries), place));
    const copy = { ...m, quiesce: true };
    expect(plain(copy.entries)).toEqual(plain(entries));
    expect(Object.keys(m)).toContain('entries');
    expect(JSON.parse(JSON.stringify(m)).entries).toHaveLength(3);
    expect(entryRunOf(copy)).toBeUndefined(); // a copy is a plain message: its entries are all there is
  });
});
