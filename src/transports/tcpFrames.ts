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

import { entriesBlock, UnencodedBlock, writeBlock } from '../messages/entryBlocks';
import { blockPieces } from '../messages/entryCodec';
import { PartialBody } from './tcpPartialBody';

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
 * A piece of a frame body: bytes, or entries whose block is laid out when the frame is
 * (`writeBlock`: straight into the buffer that is written, each payload copied once).
 */
export type BodyPart = Uint8Array | UnencodedBlock;

/**
 * Frames gathered for one socket write. A frame's body is a head and an optional tail
 * (an entries block), or a list of parts (`addParts`: a host's frame carrying several
 * messages), copied once, straight into the buffer that is written; an unencoded block
 * is encoded there.
 *
 * @example
 * const batch = new FrameBatch();
 * batch.add(head, block);
 * socket.write(batch.toBuffer());
 */
export class FrameBatch {
  /** Every part of every frame, in order. */
  private readonly parts: BodyPart[] = [];
  /** Per frame: its body length and how many of `parts` it takes. */
  private readonly lengths: number[] = [];
  private readonly partCounts: number[] = [];
  /** Body bytes so far, without length prefixes. */
  bodyBytes = 0;

  get frames(): number {
    return this.lengths.length;
  }

  add(head: Uint8Array, tail: BodyPart | undefined): void {
    this.parts.push(head);
    if (tail !== undefined) this.parts.push(tail);
    this.close(head.byteLength + (tail === undefined ? 0 : tail.byteLength), tail === undefined ? 1 : 2);
  }

  /** Adds one frame whose body is `parts` back to back. */
  addParts(parts: readonly BodyPart[]): void {
    let length = 0;
    for (const part of parts) {
      this.parts.push(part);
      length += part.byteLength;
    }
    this.close(length, parts.length);
  }

  /**
   * The frames as buffers to write back to back (`Connection.write`: one corked write):
   * a part of `UNCOPIED_PART_BYTES` or more (a large entries block) goes as it is, not
   * copied. An unencoded one goes as the pieces of the blocks its entries are views of
   * (`blockPieces`: a leader's log blocks), each large piece as it is, else it is encoded
   * on its own (`entriesBlock`); the prefixes, heads and small parts or pieces between
   * such parts are copied into one buffer per run. Concatenated, they are `toBuffer()`. A
   * part must not change until its write is done (entries blocks never change).
   *
   * @example
   * batch.add(head, block);   // block: 64 KiB
   * batch.toBuffers();        // [prefix + head, block]
   */
  toBuffers(): Buffer[] {
    if (!this.parts.some((p) => p.byteLength >= UNCOPIED_PART_BYTES)) return [this.toBuffer()]; // the common case: small messages
    const out: Buffer[] = [];
    /** The current run: a number is a length prefix, else a part, both copied. */
    let run: (number | BodyPart)[] = [];
    let runBytes = 0;
    const endRun = () => {
      if (run.length > 0) out.push(copyRun(run, runBytes));
      run = [];
      runBytes = 0;
    };
    let part = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      run.push(this.lengths[i]);
      runBytes += FRAME_HEADER_BYTES;
      for (const end = part + this.partCounts[i]; part < end; part++) {
        const p = this.parts[part];
        const pieces = p.byteLength < UNCOPIED_PART_BYTES || p instanceof Uint8Array ? undefined : blockPieces(p.entries);
        if (pieces !== undefined) checkPieces(pieces, p.byteLength);
        for (const piece of pieces ?? [p]) {
          if (piece.byteLength < UNCOPIED_PART_BYTES) {
            run.push(piece);
            runBytes += piece.byteLength;
          } else {
            endRun();
            const bytes = piece instanceof Uint8Array ? piece : entriesBlock(piece.entries);
            out.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          }
        }
      }
    }
    endRun();
    return out;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.bodyBytes + FRAME_HEADER_BYTES * this.lengths.length);
    let at = 0;
    let part = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      const length = this.lengths[i];
      writeLength(out, at, length);
      at += FRAME_HEADER_BYTES;
      for (const end = part + this.partCounts[i]; part < end; part++) at = writePart(out, at, this.parts[part]);
    }
    return out;
  }

  private close(length: number, parts: number): void {
    this.lengths.push(length);
    this.partCounts.push(parts);
    this.bodyBytes += length;
  }
}

/**
 * Parts at least this large are written as they are rather than copied into the batch's
 * buffer (`FrameBatch.toBuffers`): below it a copy costs less than a separate buffer in
 * the socket's write.
 */
export const UNCOPIED_PART_BYTES = 16 * 1024;

/** Pieces of a block whose length is not the block's would shift every frame after it: fail loudly (a bug, never the peer's doing). */
function checkPieces(pieces: readonly Uint8Array[], byteLength: number): void {
  let bytes = 0;
  for (const piece of pieces) bytes += piece.byteLength;
  if (bytes !== byteLength) throw new Error(`entries block of ${bytes} bytes in pieces where ${byteLength} were reserved`);
}

/** Writes a frame's big-endian u32 length prefix at `at`. */
function writeLength(out: Buffer, at: number, length: number): void {
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
}

/** Writes `part` at `at` in `out`; returns where it ends. */
function writePart(out: Buffer, at: number, part: BodyPart): number {
  if (!(part instanceof Uint8Array)) return writeBlock(part, out, at);
  out.set(part, at);
  return at + part.byteLength;
}

/** One buffer holding a run of `toBuffers`: prefixes (numbers) and parts, `bytes` in all. */
function copyRun(run: readonly (number | BodyPart)[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const piece of run) {
    if (typeof piece === 'number') {
      writeLength(out, at, piece);
      at += FRAME_HEADER_BYTES;
    } else {
      at = writePart(out, at, piece);
    }
  }
  return out;
}

/**
 * Cuts a byte stream into frame bodies. A frame that lies within one received chunk is
 * handed out as a view into it (no copy). A frame spread over several chunks is gathered
 * by a `PartialBody` as its bytes arrive and joined once, when it is whole: memory in
 * proportion to what arrived, never to the announced length (a peer announcing 16 MiB and
 * sending 1 KiB costs 64 KiB), and many small chunks cost no more than their bytes.
 * `held` is what the partial frame keeps allocated, what a memory budget counts. A length
 * prefix above `limit` throws `FrameLimitExceeded` as soon as its 4 bytes arrive, before
 * anything is allocated for the body.
 *
 * Invariants: `headerBytes` (0–4) bytes of the current frame's prefix are in `header`;
 * `nextLength` is its body length once all 4 are in, else -1; then `body` (null until
 * the first body byte) holds `body.filled < nextLength` bytes of it.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerBytes = 0;
  private nextLength = -1;
  private body: PartialBody | null = null;

  constructor(private limit: number) {}

  /** Changes the largest accepted body length (e.g. after a handshake). */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Bytes received that do not yet form a complete frame. */
  get buffered(): number {
    return this.headerBytes + (this.body === null ? 0 : this.body.filled);
  }

  /** Bytes allocated for the incomplete frame: at most `STAGING_BYTES` plus twice `buffered`. */
  get held(): number {
    return this.headerBytes + (this.body === null ? 0 : this.body.held);
  }

  /**
   * Adds received bytes and calls `onFrame` for each complete frame, in order, until it
   * returns false (the caller stopped reading; the rest is discarded).
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): void {
    let at = 0;
    const end = chunk.length;
    if (this.headerBytes > 0) {
      if (this.nextLength < 0) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerBytes, end);
        chunk.copy(this.header, this.headerBytes, 0, take);
        this.headerBytes += take;
        at = take;
        if (this.headerBytes < FRAME_HEADER_BYTES) return;
        this.nextLength = this.checked(this.header.readUInt32BE(0));
      }
      const missing = this.nextLength - (this.body === null ? 0 : this.body.filled);
      if (end - at < missing) {
        this.append(chunk, at, end);
        return;
      }
      let frame: Buffer;
      if (this.body === null) {
        frame = chunk.subarray(at, at + missing);
      } else {
        this.body.append(chunk, at, at + missing);
        frame = this.body.take();
      }
      at += missing;
      this.reset();
      if (!onFrame(frame)) return;
    }
    while (end - at >= FRAME_HEADER_BYTES) {
      const length = this.checked(((chunk[at] << 24) | (chunk[at + 1] << 16) | (chunk[at + 2] << 8) | chunk[at + 3]) >>> 0);
      const start = at + FRAME_HEADER_BYTES;
      if (end - start < length) {
        this.headerBytes = FRAME_HEADER_BYTES;
        this.nextLength = length;
        this.append(chunk, start, end);
        return;
      }
      at = start + length;
      if (!onFrame(chunk.subarray(start, at))) return;
    }
    if (at < end) {
      chunk.copy(this.header, 0, at, end);
      this.headerBytes = end - at;
    }
  }

  /** Adds `chunk[from, to)` to the partial frame's body. */
  private append(chunk: Buffer, from: number, to: number): void {
    if (to === from) return;
    if (this.body === null) this.body = new PartialBody(this.nextLength);
    this.body.append(chunk, from, to);
  }

  private reset(): void {
    this.headerBytes = 0;
    this.nextLength = -1;
    this.body = null;
  }

  private checked(length: number): number {
    if (length > this.limit) throw new FrameLimitExceeded(length, this.limit);
    return length;
  }
}
