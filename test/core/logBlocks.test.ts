/**
 * The in-memory log holds its entries as the encoded blocks they came in, not as objects
 * (`RaftLog`, `BlockSlots`; issue 17): what is read back is equal to what was appended,
 * made from the block when read, and a slice that is one whole block finds that block.
 */
import { BlockSlots } from '../../src/core/blockSlots';
import { RaftLog } from '../../src/core/log';
import { BlockEntry } from '../../src/messages/blockEntry';
import { allocBytes } from '../../src/messages/byteSlab';
import { entriesBlock } from '../../src/messages/entryBlocks';
import { decodeEntries, encodeEntries } from '../../src/messages/entryCodec';
import { Entry, EntryKind } from '../../src/messages/entry';

function batch(from: number, term: number, texts: readonly string[]): Entry[] {
  return texts.map((t, i) => ({ index: from + i, term, kind: i === 0 ? EntryKind.Noop : EntryKind.Command, data: Buffer.from(t) }));
}

const plain = (e: Entry | undefined) => e && { index: e.index, term: e.term, kind: e.kind, data: Buffer.from(e.data).toString() };

describe('RaftLog entries held as blocks', () => {
  test('gives back equal entries, made from its copy: the appended objects and the proposer buffers are not kept', () => {
    const log = new RaftLog();
    const appended = batch(1, 2, ['', 'alpha', 'beta']);
    log.append(appended);
    (appended[1].data as Buffer).write('ALPHA'); // a proposer reusing its buffer after propose()
    expect(log.entry(2)).not.toBe(appended[1]);
    expect(log.slice(1, 3).map(plain)).toEqual([
      { index: 1, term: 2, kind: EntryKind.Noop, data: '' },
      { index: 2, term: 2, kind: EntryKind.Command, data: 'alpha' },
      { index: 3, term: 2, kind: EntryKind.Command, data: 'beta' },
    ]);
    expect([log.termAt(3), log.sizeAt(2), log.sizeAt(4)]).toEqual([2, 5, undefined]);
  });

  test("holds a leader's batch block in memory of its own, not in the slabs of short-lived buffers (socket writes)", () => {
    const log = new RaftLog();
    log.append(batch(1, 1, ['a', 'b']));
    const shortLived = allocBytes(16);
    expect(log.entry(2)!.data.buffer).not.toBe(shortLived.buffer);
  });

  test('holds a long log read at start in blocks of a few hundred KiB, so evicting its start frees memory', () => {
    const loaded: Entry[] = Array.from({ length: 40 }, (_, i) => ({ index: i + 1, term: 1, kind: EntryKind.Command, data: Buffer.alloc(30_000, i) }));
    const log = new RaftLog(loaded);
    const buffers = new Set(log.slice(1, 40).map((e) => e.data.buffer));
    expect(buffers.size).toBeGreaterThanOrEqual(4); // 1.2 MB in blocks of about 256 KiB
    for (const b of buffers) expect(b.byteLength).toBeLessThanOrEqual(300_000);
    expect(log.slice(1, 40).every((e, i) => e.data.length === 30_000 && e.data[0] === i)).toBe(true);
  });

  test('keeps a received block as it came: the entries read back are views into it', () => {
    const block = encodeEntries(batch(1, 1, ['a', 'bb', 'ccc']));
    const log = new RaftLog();
    log.append(decodeEntries(block, { lazy: true }));
    const e = log.entry(3)!;
    expect(e).toBeInstanceOf(BlockEntry);
    expect(e.data.buffer).toBe(block.buffer);
    expect(Buffer.from(e.data).toString()).toBe('ccc');
  });

  test('a slice that is exactly one appended batch is sent and written as that batch block; a part of one is encoded anew', () => {
    const log = new RaftLog();
    const first = batch(1, 1, ['x', 'y']);
    const second = batch(3, 1, ['z', 'w', 'v']);
    log.append(first);
    log.append(second);
    const block = entriesBlock(second);
    expect(entriesBlock(log.slice(3, 5))).toBe(block);
    const part = entriesBlock(log.slice(4, 5));
    expect(part).not.toBe(block);
    expect(decodeEntries(part).map(plain)).toEqual(second.slice(1).map(plain));
  });

  test('stays right through truncation, eviction, compaction and appends after them', () => {
    const log = new RaftLog(batch(1, 1, ['a', 'b', 'c', 'd']));
    log.truncateFrom(3);
    log.append(batch(3, 2, ['C', 'D', 'E']));
    log.evictThrough(1);
    expect(log.entry(1)).toBeUndefined();
    expect([log.heldEntries, log.heldBytes]).toEqual([4, 4]);
    expect(log.slice(2, 5).map((e) => `${e.index}:${e.term}:${Buffer.from(e.data)}`)).toEqual(['2:1:b', '3:2:C', '4:2:D', '5:2:E']);
    log.compact({ index: 3, term: 2 }, 3);
    expect(log.slice(4, 9).map((e) => e.index)).toEqual([4, 5]);
    expect(log.termAt(2)).toBeUndefined();
  });
});

describe('BlockSlots', () => {
  test('reads terms and sizes from the entry headers, through drops at the front, cuts at the back and growth (seeded order)', () => {
    const slots = new BlockSlots();
    const blocks = Array.from({ length: 40 }, (_, b) => encodeEntries(batch(b * 3 + 1, b + 1, ['p'.repeat(b), 'q', 'rr'])));
    const expected: { term: number; size: number }[] = [];
    for (const [b, block] of blocks.entries()) {
      let at = 4;
      for (const size of [b, 1, 2]) {
        slots.push(block, at);
        expected.push({ term: b + 1, size });
        at += 21 + size;
      }
      if (b % 5 === 4) {
        slots.dropFront(7);
        expected.splice(0, 7);
      }
      if (b % 7 === 6) {
        slots.keepFront(slots.length - 2);
        expected.length -= 2;
      }
    }
    expect(slots.length).toBe(expected.length);
    expect(Array.from({ length: slots.length }, (_, i) => ({ term: slots.termAt(i), size: slots.sizeAt(i) }))).toEqual(expected);
    slots.clear();
    expect(slots.length).toBe(0);
  });
});
