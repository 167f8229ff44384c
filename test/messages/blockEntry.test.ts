import { InvalidMessageError } from '../../src/errors';
import { BlockEntry, entrySize, payloadOnce } from '../../src/messages/blockEntry';
import { Entry, EntryKind } from '../../src/messages/entry';
import { blockPieces, decodeEntries, encodeEntries, ENTRY_HEADER_BYTES, writeEntries } from '../../src/messages/entryCodec';
import { readEntryRun } from '../../src/messages/entryRun';
import { validateMessage } from '../../src/messages/validate';
import { randomInt, seededRandom } from '../../src/random';

/** Entries of random kinds and sizes (0 to 3,000 bytes), indexes from `first`, terms never decreasing. */
function randomEntries(seed: number, first: number, count: number): Entry[] {
  const random = seededRandom(seed);
  let term = randomInt(random, 1, 5);
  return Array.from({ length: count }, (_, i) => {
    if (random() < 0.1) term += 1;
    const data = Uint8Array.from({ length: random() < 0.2 ? 0 : randomInt(random, 1, 3_000) }, () => randomInt(random, 0, 255));
    return { index: first + i, term, kind: randomInt(random, 0, 3) as EntryKind, data };
  });
}

/** The bytes at the same offset of a copy: a view into the block itself, or a copy of it, differ here. */
function inBlock(view: Uint8Array, block: Uint8Array): boolean {
  return view.buffer === block.buffer && view.byteOffset >= block.byteOffset && view.byteOffset + view.length <= block.byteOffset + block.length;
}

describe('entries decoded lazily from a block (BlockEntry)', () => {
  it('give the same index, term, kind and bytes as the entries encoded, as views into the block (seeded)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const entries = randomEntries(seed, 1 + seed * 1_000, 1 + (seed % 64));
      const block = encodeEntries(entries);
      const lazy = decodeEntries(block, { lazy: true });
      expect(lazy.every((e) => e instanceof BlockEntry)).toBe(true);
      expect(lazy.map(entrySize)).toEqual(entries.map((e) => e.data.length));
      expect(lazy.map((e) => [e.index, e.term, e.kind])).toEqual(entries.map((e) => [e.index, e.term, e.kind]));
      lazy.forEach((e, i) => {
        expect(Buffer.from(e.data).equals(Buffer.from(entries[i].data))).toBe(true);
        expect(inBlock(e.data, block)).toBe(true);
      });
      // Encoding them again gives the block back, byte for byte.
      expect(encodeEntries(lazy).equals(block)).toBe(true);
    }
  });

  it('are read and written at any offset of a larger buffer, with indexes and terms beyond 2^32', () => {
    const big = 2 ** 40 + 3;
    const entries = randomEntries(13, big, 5).map((e, i) => ({ ...e, term: 2 ** 33 + i }));
    const block = encodeEntries(entries);
    for (const offset of [1, 3, 7]) {
      // Written and read where the block is not 4-byte aligned in its memory (a socket write, a received chunk).
      const out = Buffer.alloc(offset + block.length + 2, 0xee);
      expect(writeEntries(entries, out.subarray(offset), 0)).toBe(block.length);
      expect(writeEntries(entries, out, offset)).toBe(offset + block.length);
      const inPlace = out.subarray(offset, offset + block.length);
      expect(inPlace.equals(block)).toBe(true);
      expect(out[offset + block.length]).toBe(0xee); // nothing written past the block
      const read = readEntryRun(inPlace, { prevLogIndex: big - 1, prevLogTerm: 2 ** 33, term: 2 ** 33 + 4 }).entries();
      expect(read.map((e) => [e.index, e.term, e.kind])).toEqual(entries.map((e) => [e.index, e.term, e.kind]));
      read.forEach((e, i) => expect(Buffer.from(e.data).equals(Buffer.from(entries[i].data))).toBe(true));
      // An index's high word beyond 2^53 is refused where it lies, however the block is placed.
      const bent = Buffer.from(out);
      bent.writeUInt32BE(0x20_0000, offset + 4 + ENTRY_HEADER_BYTES + entries[0].data.length);
      expect(() => decodeEntries(bent.subarray(offset, offset + block.length), { lazy: true })).toThrow(/beyond 2\^53/);
    }
  });

  it('return the same view on every read of data, a Buffer (no second view to read it as one)', () => {
    const [e] = decodeEntries(encodeEntries(randomEntries(3, 1, 1)), { lazy: true });
    expect(e.data).toBe(e.data);
    expect(Buffer.isBuffer(e.data)).toBe(true);
  });

  it('read once (payloadOnce), give the same bytes in a view into the block that the entry does not keep, or the view data already made', () => {
    const entries = randomEntries(5, 1, 3);
    const block = encodeEntries(entries);
    const [a, b] = decodeEntries(block, { lazy: true });
    const once = payloadOnce(a);
    expect(Buffer.isBuffer(once)).toBe(true);
    expect(inBlock(once, block)).toBe(true);
    expect(Buffer.from(once).equals(Buffer.from(entries[0].data))).toBe(true);
    expect(payloadOnce(a)).not.toBe(once); // not kept: the entry holds no view after a read once
    expect(a.data).not.toBe(once);
    expect(payloadOnce(a)).toBe(a.data); // once data made its view, that one is read
    expect(Buffer.from(payloadOnce(b)).equals(Buffer.from(entries[1].data))).toBe(true);
    expect(payloadOnce(entries[2])).toBe(entries[2].data); // a plain entry: its own data
  });

  it('reject a corrupt block as a whole, with InvalidMessageError, whichever byte is cut or bent', () => {
    const block = encodeEntries(randomEntries(7, 1, 3));
    const place = { prevLogIndex: 0, prevLogTerm: 0, term: Number.MAX_SAFE_INTEGER };
    for (let cut = 0; cut < block.length; cut++) {
      expect(() => decodeEntries(block.subarray(0, cut), { lazy: true })).toThrow(InvalidMessageError);
      expect(() => readEntryRun(block.subarray(0, cut), place)).toThrow(InvalidMessageError);
    }
    const badKind = Buffer.from(block);
    badKind[4 + 16] = 9; // the first entry's kind
    expect(() => decodeEntries(badKind, { lazy: true })).toThrow(/unknown entry kind/);
    const longer = Buffer.from(block);
    longer.writeUInt32BE(longer.readUInt32BE(4 + 17) + 1, 4 + 17); // the first entry's length, one too many
    expect(() => decodeEntries(longer, { lazy: true })).toThrow(InvalidMessageError);
    expect(() => decodeEntries(Buffer.concat([block, Buffer.from([0])]), { lazy: true })).toThrow(/trailing bytes/);
    expect(() => readEntryRun(badKind, place)).toThrow(/unknown entry kind/);
    expect(() => readEntryRun(longer, place)).toThrow(InvalidMessageError);
    expect(() => readEntryRun(Buffer.concat([block, Buffer.from([0])]), place)).toThrow(/trailing bytes/);
    expect(ENTRY_HEADER_BYTES).toBe(21);
  });

  it('are checked where an AppendEntries puts them as the block is read, by the rules of validateMessage (seeded)', () => {
    const message = { type: 'AppendEntries', leaderId: 'a', leaderCommit: 0, seq: 0 };
    // Places and entries: each pair both decoders must judge alike.
    const cases: { prevLogIndex: number; prevLogTerm: number; term: number; entries: Entry[] }[] = [];
    const random = seededRandom(21);
    for (let round = 0; round < 200; round++) {
      const entries = randomEntries(100 + round, randomInt(random, 1, 50), randomInt(random, 1, 6));
      if (random() < 0.3) entries[randomInt(random, 0, entries.length - 1)] = { ...entries[0], index: randomInt(random, 0, 60) }; // a gap or a repeat
      const last = entries[entries.length - 1].term;
      cases.push({
        prevLogIndex: Math.max(0, entries[0].index - 1 + (random() < 0.2 ? randomInt(random, -1, 1) : 0)),
        prevLogTerm: randomInt(random, 0, entries[0].term + 1), // sometimes newer than the first entry
        term: last + randomInt(random, -1, 2), // sometimes older than the last entry
        entries,
      });
    }
    let refused = 0;
    for (const place of cases) {
      const literal = (() => {
        try {
          validateMessage({ ...message, ...place });
          return 'ok';
        } catch (e) {
          return (e as Error).message;
        }
      })();
      const run = (() => {
        try {
          readEntryRun(encodeEntries(place.entries), place);
          return 'ok';
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidMessageError);
          return (e as Error).message;
        }
      })();
      expect(run).toBe(literal);
      if (literal !== 'ok') refused++;
    }
    expect(refused).toBeGreaterThan(50); // both kinds of case were tried
    expect(refused).toBeLessThan(190);
    const beyond = encodeEntries([{ index: 2 ** 53 - 1, term: 1, kind: EntryKind.Command, data: new Uint8Array(0) }, { index: 2 ** 53, term: 1, kind: EntryKind.Command, data: new Uint8Array(0) }]);
    expect(() => readEntryRun(beyond, { prevLogIndex: 2 ** 53 - 2, prevLogTerm: 1, term: 1 })).toThrow(/beyond 2\^53/);
  });

  it('pass AppendEntries validation like entry literals, which must still carry bytes', () => {
    const entries = randomEntries(11, 5, 4).map((e) => ({ ...e, term: 2 }));
    const message = { type: 'AppendEntries', term: 2, leaderId: 'a', prevLogIndex: 4, prevLogTerm: 1, leaderCommit: 0, seq: 0 };
    expect(() => validateMessage({ ...message, entries: decodeEntries(encodeEntries(entries), { lazy: true }) })).not.toThrow();
    expect(() => validateMessage({ ...message, entries })).not.toThrow();
    const notBytes = entries.map((e, i) => (i === 2 ? { ...e, data: 'text' } : e));
    expect(() => validateMessage({ ...message, entries: notBytes })).toThrow(/entry data must be bytes/);
  });
});

describe('an entries block as pieces of the blocks its entries lie in (blockPieces)', () => {
  it('is the block encodeEntries makes, with every payload a view into its own block, one piece per run (seeded)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      // Three blocks back to back in the log, as a leader's batches are; a follower's message takes any range of them.
      const entries = randomEntries(seed, 1, 3 + (seed % 40));
      const cuts = [Math.floor(entries.length / 3), Math.floor((2 * entries.length) / 3)];
      const blocks = [entries.slice(0, cuts[0]), entries.slice(cuts[0], cuts[1]), entries.slice(cuts[1])].map((part) => encodeEntries(part));
      const views = blocks.flatMap((block) => decodeEntries(block, { lazy: true }));
      const random = seededRandom(seed + 100);
      const from = randomInt(random, 0, views.length - 1);
      const range = views.slice(from, randomInt(random, from + 1, views.length));
      const pieces = blockPieces(range)!;
      expect(Buffer.concat(pieces).equals(encodeEntries(range))).toBe(true);
      const runs = new Set(range.map((e) => (e as BlockEntry).block)).size;
      expect(pieces).toHaveLength(1 + runs);
      for (const piece of pieces.slice(1)) expect(blocks.some((block) => inBlock(piece, block))).toBe(true);
    }
  });

  it('is undefined for entries that are not views, or whose header in the block says otherwise (the caller then encodes)', () => {
    const entries = randomEntries(3, 10, 4);
    expect(blockPieces(entries)).toBeUndefined();
    const block = encodeEntries(entries);
    const [first] = decodeEntries(block, { lazy: true }) as BlockEntry[];
    const misnamed = new BlockEntry(first.index + 1, first.term, first.kind, block, first.at, first.size);
    expect(blockPieces([misnamed])).toBeUndefined();
    expect(blockPieces([first])).toBeDefined();
  });
});

describe('a block laid out from views of other blocks (writeEntries)', () => {
  it('is the block of their plain copies, copied run by run from the blocks without making a data view (seeded)', () => {
    const dataRead = jest.spyOn(BlockEntry.prototype, 'data', 'get');
    try {
      for (let seed = 1; seed <= 20; seed++) {
        // Two blocks back to back in a leader's log; a follower's message spans both.
        const entries = randomEntries(seed, 1, 4 + (seed % 40));
        const cut = Math.floor(entries.length / 2);
        const views = [encodeEntries(entries.slice(0, cut)), encodeEntries(entries.slice(cut))].flatMap((block) => decodeEntries(block, { lazy: true }));
        const from = seed % cut;
        const range = views.slice(from);
        const expected = encodeEntries(entries.slice(from));
        dataRead.mockClear();
        const out = Buffer.alloc(expected.length + 3);
        expect(writeEntries(range, out, 3)).toBe(out.length);
        expect(out.subarray(3).equals(expected)).toBe(true);
        expect(dataRead).not.toHaveBeenCalled();
      }
    } finally {
      dataRead.mockRestore();
    }
  });

  it('mixes views, plain entries and views whose header says otherwise, each written as what the entry says', () => {
    const entries = randomEntries(9, 20, 6);
    const block = encodeEntries(entries);
    const views = decodeEntries(block, { lazy: true }) as BlockEntry[];
    // A view of entry 22's bytes that calls itself entry 22 at another term: its header in the block does not hold.
    const renamed = new BlockEntry(views[2].index, views[2].term + 1, views[2].kind, block, views[2].at, views[2].size);
    const plainLater = { ...entries[4], index: 24, term: entries[4].term + 1 };
    const mixed: Entry[] = [views[0], views[1], renamed, entries[3], plainLater, views[5]];
    const copies = mixed.map((e) => ({ index: e.index, term: e.term, kind: e.kind, data: Buffer.from(e.data) }));
    const out = Buffer.alloc(encodeEntries(copies).length);
    expect(writeEntries(mixed, out, 0)).toBe(out.length);
    expect(out.equals(encodeEntries(copies))).toBe(true);
  });
});
