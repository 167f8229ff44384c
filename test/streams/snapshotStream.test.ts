import { rechunk } from '../../src/streams/snapshotStream';
import { randomInt, seededRandom } from '../../src/random';

/** Source chunks of random sizes, all cut from `bytes`; with `refill`, every chunk is the same buffer, refilled. */
async function* pieces(bytes: Buffer, sizes: number[], refill: boolean): AsyncGenerator<Uint8Array> {
  const one = Buffer.alloc(Math.max(...sizes));
  let at = 0;
  for (const size of sizes) {
    const piece = bytes.subarray(at, at + size);
    at += size;
    if (!refill) {
      yield piece;
      continue;
    }
    piece.copy(one);
    yield one.subarray(0, size);
    one.fill(0xee); // the consumer asked for the next chunk: it must be done with this one
  }
}

/** Reads every chunk, copying each before asking for the next (as storage does: `SnapshotWriter.write`). */
async function readCopies(chunks: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(Buffer.from(chunk));
  return out;
}

describe('rechunk', () => {
  const random = seededRandom(31);
  const sizes = Array.from({ length: 400 }, () => (random() < 0.2 ? randomInt(random, 0, 3_000) : randomInt(random, 0, 300)));
  const bytes = Buffer.from(Array.from({ length: sizes.reduce((a, b) => a + b, 0) }, () => randomInt(random, 0, 255)));

  it('cuts the stream into chunks of exactly the size but the last, the same bytes in order (seeded)', async () => {
    const out = await readCopies(rechunk(pieces(bytes, sizes, false), 1000));
    expect(out.slice(0, -1).every((c) => c.length === 1000)).toBe(true);
    expect(out[out.length - 1].length).toBeGreaterThan(0);
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it('keeps no view of a source chunk once it asks for the next: a source may refill one buffer (seeded)', async () => {
    const out = await readCopies(rechunk(pieces(bytes, sizes, true), 1000));
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it('yields nothing for an empty stream, and refuses a size that is not positive', async () => {
    expect(await readCopies(rechunk(pieces(Buffer.alloc(0), [0, 0], false), 4))).toEqual([]);
    await expect(readCopies(rechunk(pieces(bytes, sizes, false), 0))).rejects.toThrow(RangeError);
  });
});
