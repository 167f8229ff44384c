import { EntryKind } from '../../src/messages/entry';
import { blockFor } from '../../src/messages/entryBlocks';
import { decodeEntries, encodeEntries, ENTRY_HEADER_BYTES } from '../../src/messages/entryCodec';
import { randomInt, seededRandom } from '../../src/random';
import { FrameBatch, FrameLimitExceeded, FrameReader, joinFrames, UNCOPIED_PART_BYTES } from '../../src/transports/tcpFrames';
import { STAGING_BYTES } from '../../src/transports/tcpPartialBody';

function collect(reader: FrameReader, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) reader.push(chunk, (body) => (out.push(body.toString()), true));
  return out;
}

describe('FrameReader', () => {
  const bodies = ['a', '', 'hello world', 'x'.repeat(70_000)].map((s) => Buffer.from(s));
  const bytes = joinFrames(bodies);

  it('reads frames from one chunk', () => {
    expect(collect(new FrameReader(1 << 20), [bytes])).toEqual(bodies.map(String));
  });

  it('reads frames split at every possible byte boundary', () => {
    for (let cut = 1; cut < 40; cut++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += cut) chunks.push(bytes.subarray(at, at + cut));
      if (cut % 7 === 0) chunks.reverse().reverse(); // same order; just exercising many shapes
      expect(collect(new FrameReader(1 << 20), chunks)).toEqual(bodies.map(String));
    }
    const small = joinFrames([Buffer.from('ab'), Buffer.from('cde')]);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const chunks = [small.subarray(0, i), small.subarray(i, j), small.subarray(j)];
        expect(collect(new FrameReader(100), chunks)).toEqual(['ab', 'cde']);
      }
    }
  });

  it('reads random frames cut into random chunks (seeded)', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 50; round++) {
      const batch = new FrameBatch();
      const expected: string[] = [];
      for (let i = randomInt(random, 1, 30); i > 0; i--) {
        const head = Buffer.alloc(randomInt(random, 0, 3000), randomInt(random, 97, 122));
        const tail = random() < 0.5 ? Buffer.alloc(randomInt(random, 0, 5000), randomInt(random, 65, 90)) : undefined;
        batch.add(head, tail);
        expected.push(head.toString() + (tail?.toString() ?? ''));
      }
      const bytes = batch.toBuffer();
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = randomInt(random, 0, 6000);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(collect(new FrameReader(1 << 20), chunks)).toEqual(expected);
    }
  });

  it('writes large parts uncopied: toBuffers concatenated is toBuffer, and a large block is the very same bytes (seeded)', () => {
    const random = seededRandom(12);
    for (let round = 0; round < 50; round++) {
      const batch = new FrameBatch();
      const large: Buffer[] = [];
      for (let i = randomInt(random, 1, 12); i > 0; i--) {
        const head = Buffer.alloc(randomInt(random, 0, 200), randomInt(random, 97, 122));
        const tailBytes = random() < 0.5 ? randomInt(random, UNCOPIED_PART_BYTES - 2, UNCOPIED_PART_BYTES + 2) : randomInt(random, 0, 3000);
        const tail = random() < 0.8 ? Buffer.alloc(tailBytes, randomInt(random, 65, 90)) : undefined;
        if (tail && tail.length >= UNCOPIED_PART_BYTES) large.push(tail);
        batch.add(head, tail);
      }
      const buffers = batch.toBuffers();
      expect(Buffer.concat(buffers)).toEqual(batch.toBuffer());
      for (const block of large) expect(buffers.some((b) => b.buffer === block.buffer && b.byteOffset === block.byteOffset && b.length === block.length)).toBe(true);
      expect(buffers.length).toBeLessThanOrEqual(2 * large.length + 1);
    }
  });

  it("writes an unencoded block of views as the log's own bytes: no payload copied, toBuffers concatenated is still toBuffer", () => {
    // A follower's AppendEntries taking the end of one batch block and the start of the next, as a leader's log hands them out.
    const batch = (first: number) => encodeEntries(Array.from({ length: 4 }, (_, i) => ({ index: first + i, term: 3, kind: EntryKind.Command, data: Buffer.alloc(20_000, first + i) })));
    const blocks = [batch(1), batch(5)];
    const views = blocks.flatMap((block) => decodeEntries(block, { lazy: true })).slice(2, 6);
    const frames = new FrameBatch();
    frames.add(Buffer.from('head'), blockFor(views));
    const buffers = frames.toBuffers();
    expect(Buffer.concat(buffers).equals(frames.toBuffer())).toBe(true);
    const viewsInto = (block: Buffer) => buffers.filter((b) => b.buffer === block.buffer && b.byteOffset >= block.byteOffset && b.byteOffset + b.length <= block.byteOffset + block.length);
    expect(blocks.map((block) => viewsInto(block).reduce((n, b) => n + b.length, 0))).toEqual([2 * (ENTRY_HEADER_BYTES + 20_000), 2 * (ENTRY_HEADER_BYTES + 20_000)]);
  });

  it('rejects an oversized length prefix as soon as it arrives, before the body', () => {
    const reader = new FrameReader(1000);
    const header = Buffer.from([0x7f, 0xff, 0xff, 0xff]);
    expect(() => reader.push(header.subarray(0, 2), () => true)).not.toThrow();
    expect(() => reader.push(header.subarray(2), () => true)).toThrow(FrameLimitExceeded);
    expect(() => new FrameReader(1000).push(Buffer.concat([joinFrames([Buffer.from('ok')]), header]), () => true)).toThrow(
      FrameLimitExceeded,
    );
  });

  it('reports what it holds of an incomplete frame, and stops when told to', () => {
    const reader = new FrameReader(100);
    reader.push(bytes.subarray(0, 7), () => true);
    expect(reader.buffered).toBeGreaterThan(0);
    const seen: string[] = [];
    new FrameReader(1 << 20).push(bytes, (body) => (seen.push(body.toString()), false));
    expect(seen).toEqual(['a']);
  });

  it('holds memory in proportion to what arrived, never to the announced length, however small the chunks', () => {
    const reader = new FrameReader(16 << 20);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(16 << 20, 0);
    reader.push(prefix, () => true);
    expect(reader.held).toBe(4);
    let sent = 0;
    let worst = 0; // the most held beyond the bound, over every step
    for (let i = 0; i < 100_000; i++) {
      reader.push(Buffer.from([i & 0xff]), () => true); // one byte at a time
      sent++;
      worst = Math.max(worst, reader.held - (4 + Math.max(STAGING_BYTES, 2 * sent)));
    }
    expect(worst).toBeLessThanOrEqual(0);
    expect(reader.buffered).toBe(4 + sent);
    // The rest arrives: the frame comes out whole and nothing is held any more.
    const frames: Buffer[] = [];
    reader.push(Buffer.alloc((16 << 20) - sent, 7), (body) => (frames.push(body), true));
    expect(frames.map((f) => f.length)).toEqual([16 << 20]);
    expect(frames[0][99_999]).toBe(99_999 & 0xff);
    expect(frames[0][100_000]).toBe(7);
    expect(reader.held).toBe(0);
  });

  it('applies a new limit to the frames that follow', () => {
    const reader = new FrameReader(4);
    const seen: string[] = [];
    reader.push(joinFrames([Buffer.from('tiny'), Buffer.from('larger one')]), (body) => {
      seen.push(body.toString());
      reader.setLimit(100);
      return true;
    });
    expect(seen).toEqual(['tiny', 'larger one']);
  });
});
