import { allocBytes, slabAllocator } from '../../src/messages/byteSlab';
import { EntryKind, type Entry } from '../../src/messages/entry';
import { entriesBlock, rememberBlock } from '../../src/messages/entryBlocks';
import { decodeEntries, encodeEntries } from '../../src/messages/entryCodec';

const entry = (index: number, term: number, text: string): Entry => ({
  index, term, kind: EntryKind.Command, data: Buffer.from(text),
});

describe('entriesBlock', () => {
  it('encodes a batch once for every list of the same entry objects', () => {
    const log = [entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')];
    const forStorage = entriesBlock(log.slice(0, 3));
    expect(entriesBlock(log.slice(0, 3))).toBe(forStorage); // another follower's slice
    expect(entriesBlock(log.slice(1, 3))).not.toBe(forStorage); // another range
    expect(decodeEntries(forStorage).map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('never answers for equal-looking lists holding other entries', () => {
    const old = [entry(1, 1, 'a'), entry(2, 1, 'b'), entry(3, 1, 'c')];
    const first = entriesBlock(old);
    // Same first and last objects, a different entry in the middle (a truncated and rewritten log).
    const rewritten = [old[0], entry(2, 2, 'B'), old[2]];
    const second = entriesBlock(rewritten);
    expect(second).not.toBe(first);
    expect(decodeEntries(second)[1].data).toEqual(Buffer.from('B'));
  });

  it('hands back a remembered block for the entries decoded from it', () => {
    const block = encodeEntries([entry(7, 3, 'x'), entry(8, 3, 'y')]);
    const decoded = decodeEntries(block);
    rememberBlock(decoded, block);
    expect(entriesBlock(decoded)).toBe(block);
  });
});

describe('slabAllocator', () => {
  it('carves from slabs of its own: bytes kept from one never pin the slabs of another', () => {
    const kept = slabAllocator();
    const a = kept(100);
    const b = allocBytes(100);
    const c = kept(100);
    expect(a.buffer).toBe(c.buffer);
    expect(a.buffer).not.toBe(b.buffer);
    expect(c.byteOffset).toBe(a.byteOffset + 104); // 8-byte aligned
  });
});

describe('allocBytes', () => {
  it('hands out buffers that never overlap, small and large', () => {
    const sizes = [1, 7_748, 100, 65_536, 300_000, 3, 200_000];
    const buffers = Array.from({ length: 40 }, (_, i) => allocBytes(sizes[i % sizes.length]));
    buffers.forEach((b, i) => b.fill(i));
    buffers.forEach((b, i) => {
      expect(b.length).toBe(sizes[i % sizes.length]);
      expect(b.every((byte) => byte === i)).toBe(true);
    });
  });
});
