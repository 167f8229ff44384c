/**
 * Length-prefixed framing: every frame is a big-endian u32 body length, then the body.
 *
 *     | u32 length | body (length bytes) | u32 length | body | ...
 *
 * @example
 * const bytes = joinFrames([Buffer.from('hi'), Buffer.from('there')]); // one write
 * const reader = new FrameReader(1024);
 * reader.push(bytes, body => { console.log(body.toString()); return true; }); // hi, there
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Thrown by `FrameReader.push` when a length prefix exceeds the reader's limit. */
export class FrameLimitExceeded extends Error {
  constructor(readonly length: number, readonly limit: number) {
    super(`frame of ${length} bytes exceeds ${limit}`);
  }
}

/** Lays out frames with their length prefixes in one buffer: one copy, one socket write. */
export function joinFrames(bodies: readonly Uint8Array[]): Buffer {
  const batch = new FrameBatch();
  for (const body of bodies) batch.add(body, undefined);
  return batch.toBuffer();
}

/**
 * Frames gathered for one socket write. A frame's body is a head and an optional tail
 * (an entries block), copied once, straight into the buffer that is written.
 *
 * @example
 * const batch = new FrameBatch();
 * batch.add(head, block);
 * socket.write(batch.toBuffer());
 */
export class FrameBatch {
  private readonly heads: Uint8Array[] = [];
  private readonly tails: (Uint8Array | undefined)[] = [];
  /** Body bytes so far, without length prefixes. */
  bodyBytes = 0;

  get frames(): number {
    return this.heads.length;
  }

  add(head: Uint8Array, tail: Uint8Array | undefined): void {
    this.heads.push(head);
    this.tails.push(tail);
    this.bodyBytes += head.byteLength + (tail === undefined ? 0 : tail.byteLength);
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.bodyBytes + FRAME_HEADER_BYTES * this.heads.length);
    let at = 0;
    for (let i = 0; i < this.heads.length; i++) {
      const head = this.heads[i];
      const tail = this.tails[i];
      const length = head.byteLength + (tail === undefined ? 0 : tail.byteLength);
      out[at] = length >>> 24;
      out[at + 1] = (length >>> 16) & 0xff;
      out[at + 2] = (length >>> 8) & 0xff;
      out[at + 3] = length & 0xff;
      out.set(head, at + FRAME_HEADER_BYTES);
      at += FRAME_HEADER_BYTES + head.byteLength;
      if (tail !== undefined) {
        out.set(tail, at);
        at += tail.byteLength;
      }
    }
    return out;
  }
}

/**
 * Cuts a byte stream into frame bodies. Bodies are views into the received chunks (no
 * copy) when a frame lies within one chunk; a frame spread over several chunks is copied
 * once, alone, when it is complete. A length prefix above `limit` throws
 * `FrameLimitExceeded` as soon as its 4 bytes arrive, before anything of that size is
 * allocated or buffered.
 *
 * Invariants: `pending` holds `bufferedBytes` bytes of one incomplete frame;
 * `nextLength` is its body length once its 4 header bytes are in, else -1.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private bufferedBytes = 0;
  private nextLength = -1;

  constructor(private limit: number) {}

  /** Changes the largest accepted body length (e.g. after a handshake). */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Bytes received that do not yet form a complete frame. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /**
   * Adds received bytes and calls `onFrame` for each complete frame, in order, until it
   * returns false (the caller stopped reading; the rest is discarded).
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): void {
    let at = 0;
    if (this.bufferedBytes > 0) {
      if (this.nextLength < 0) {
        at = Math.min(FRAME_HEADER_BYTES - this.bufferedBytes, chunk.length);
        this.hold(chunk.subarray(0, at));
        if (this.bufferedBytes < FRAME_HEADER_BYTES) return;
        this.nextLength = this.checked(Buffer.concat(this.pending, FRAME_HEADER_BYTES).readUInt32BE(0));
      }
      const frameBytes = FRAME_HEADER_BYTES + this.nextLength;
      const missing = frameBytes - this.bufferedBytes;
      if (chunk.length - at < missing) {
        this.hold(at === 0 ? chunk : chunk.subarray(at));
        return;
      }
      this.pending.push(chunk.subarray(at, at + missing));
      const frame = Buffer.concat(this.pending, frameBytes);
      this.pending = [];
      this.bufferedBytes = 0;
      this.nextLength = -1;
      at += missing;
      if (!onFrame(frame.subarray(FRAME_HEADER_BYTES))) return;
    }
    const end = chunk.length;
    while (end - at >= FRAME_HEADER_BYTES) {
      const length = this.checked(((chunk[at] << 24) | (chunk[at + 1] << 16) | (chunk[at + 2] << 8) | chunk[at + 3]) >>> 0);
      const start = at + FRAME_HEADER_BYTES;
      if (end - start < length) {
        this.nextLength = length;
        break;
      }
      at = start + length;
      if (!onFrame(chunk.subarray(start, at))) return;
    }
    if (at < end) this.hold(chunk.subarray(at));
  }

  private hold(bytes: Buffer): void {
    this.pending.push(bytes);
    this.bufferedBytes += bytes.length;
  }

  private checked(length: number): number {
    if (length > this.limit) throw new FrameLimitExceeded(length, this.limit);
    return length;
  }
}
