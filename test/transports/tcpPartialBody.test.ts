import { randomInt, seededRandom } from '../../src/random';
import { FrameReader, joinFrames } from '../../src/transports/tcpFrames';
import { PartialBody, STAGING_BYTES, VIEW_PART_BYTES } from '../../src/transports/tcpPartialBody';

/** Random bytes from a seeded generator. */
function bytesOf(random: () => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** `bytes` cut into chunks as a socket hands them out: each a buffer of its own, tiny ones and large ones mixed. */
function socketChunks(random: () => number, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = random() < 0.3 ? randomInt(random, 1, 300) : randomInt(random, VIEW_PART_BYTES, 70_000);
    const end = Math.min(bytes.length, at + size);
    const own = Buffer.allocUnsafeSlow(end - at);
    bytes.copy(own, 0, at, end);
    chunks.push(own);
    at = end;
  }
  return chunks;
}

describe('PartialBody', () => {
  it('joins large frames that arrive as mixed socket chunks into the same bytes, holding at most its bound (seeded)', () => {
    const random = seededRandom(17);
    for (let round = 0; round < 12; round++) {
      const bodies = [bytesOf(random, randomInt(random, 100_000, 1_300_000)), bytesOf(random, randomInt(random, 1, 2_000))];
      const reader = new FrameReader(4 << 20);
      const frames: Buffer[] = [];
      let worst = -Infinity; // the most held beyond the bound, over every chunk
      for (const chunk of socketChunks(random, joinFrames(bodies))) {
        reader.push(chunk, (body) => (frames.push(Buffer.from(body)), true));
        worst = Math.max(worst, reader.held - (4 + STAGING_BYTES + 2 * reader.buffered));
      }
      expect(frames.length).toBe(2);
      expect(frames[0].equals(bodies[0])).toBe(true);
      expect(frames[1].equals(bodies[1])).toBe(true);
      expect(worst).toBeLessThanOrEqual(0);
      expect(reader.held).toBe(0);
    }
  });

  it('keeps large parts as views and joins them once, into a buffer of exactly the frame', () => {
    const random = seededRandom(5);
    const whole = bytesOf(random, 3 * 40_000 + 10);
    const body = new PartialBody(whole.length);
    const parts = [whole.subarray(0, 40_000), whole.subarray(40_000, 40_005), whole.subarray(40_005, 80_005), whole.subarray(80_005)].map((p) =>
      Buffer.from(p),
    );
    for (const p of parts) body.append(p, 0, p.length);
    expect(body.filled).toBe(whole.length);
    // Two views (40,000 B each, chunks of their own) and staging for the rest.
    expect(body.held).toBe(40_000 + 40_000 + Math.min(STAGING_BYTES, whole.length - 80_000));
    const out = body.take();
    expect(out.equals(whole)).toBe(true);
    expect(out.buffer.byteLength).toBe(whole.length);
  });

  it('copies a large part that shares a much larger buffer (a view would keep the rest alive)', () => {
    const shared = Buffer.allocUnsafeSlow(1 << 20).fill(9);
    const body = new PartialBody(20_000);
    body.append(shared, 100, 20_100);
    expect(body.held).toBe(20_000);
    const out = body.take();
    expect(out.buffer).not.toBe(shared.buffer);
    expect(out.equals(shared.subarray(100, 20_100))).toBe(true);
  });

  it('hands out a frame that arrived whole in one large part as that part (no copy)', () => {
    const chunk = Buffer.allocUnsafeSlow(50_000).fill(3);
    const body = new PartialBody(50_000);
    body.append(chunk, 0, 50_000);
    expect(body.take().buffer).toBe(chunk.buffer);
  });
});
