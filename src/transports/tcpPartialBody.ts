/**
 * The body of a frame that arrives over several socket chunks, gathered with one copy
 * and, for a large frame, one allocation of its exact size.
 *
 * Growing one buffer by doubling as bytes arrive (what `FrameReader` did) allocates about
 * twice a large frame and copies it about twice: a 1 MiB AppendEntries of 64 KiB entries
 * cost 64 + 128 + 256 + 512 + 1024 KiB of short-lived external memory, which the garbage
 * collector pays for in mark-compacts. Here a part of `VIEW_PART_BYTES` or more is kept as
 * a view into the chunk that brought it (socket chunks are buffers of their own), smaller
 * parts are copied into staging buffers of at most `STAGING_BYTES`, and the pieces are
 * joined once, when the last byte arrives. A frame that fits one staging buffer (most
 * frames) is that buffer: one allocation, one copy, as before.
 *
 * Memory is bounded by what arrived, never by the announced length: `held` counts the
 * staging buffers and the whole of every chunk a view keeps alive (a view is kept only
 * when its chunk is at most twice the part), so `held <= STAGING_BYTES + 2 × filled`.
 *
 *     chunks:  [ 64 KiB ][ 64 KiB ][ 3 B ][ 5 B ][ 64 KiB ] ...   (a 1 MiB frame)
 *     pieces:  [ view   ][ view   ][ staging  ][ view   ] ...
 *     take():  one 1 MiB buffer, each piece copied once
 *
 * @example
 * const body = new PartialBody(1 << 20);
 * body.append(chunk, 0, chunk.length); // ... until body.filled === 1 << 20
 * const frame = body.take();
 */
export class PartialBody {
  /** Received pieces in order: views of chunks and full staging buffers. */
  private readonly pieces: Buffer[] = [];
  /** Bytes kept alive by `pieces` (a view counts its whole chunk). */
  private piecesHeld = 0;
  /** The staging buffer being filled, `staged` bytes of it so far. */
  private staging: Buffer | null = null;
  private staged = 0;
  /** Body bytes received. Invariant: filled <= length. */
  filled = 0;

  constructor(readonly length: number) {}

  /** Bytes allocated or kept alive for this body. */
  get held(): number {
    return this.piecesHeld + (this.staging === null ? 0 : this.staging.length);
  }

  /** Adds `chunk[from, to)`, which must not take the body past its length. */
  append(chunk: Buffer, from: number, to: number): void {
    let at = from;
    if (this.staging !== null) at = this.stage(chunk, at, to);
    if (to - at >= VIEW_PART_BYTES && chunk.buffer.byteLength <= 2 * (to - at)) {
      this.pieces.push(chunk.subarray(at, to));
      this.piecesHeld += chunk.buffer.byteLength;
      this.filled += to - at;
      return;
    }
    while (at < to) at = this.stage(chunk, at, to);
  }

  /**
   * The whole body, once `filled === length`. (A staging buffer is never larger than
   * what is left of the body, so by then every byte is in `pieces`.)
   */
  take(): Buffer {
    if (this.pieces.length === 1) return this.pieces[0];
    const out = Buffer.allocUnsafeSlow(this.length);
    let at = 0;
    for (const piece of this.pieces) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /** Copies as much of `chunk[at, to)` as the staging buffer takes (starting one if needed); returns where it stopped. */
  private stage(chunk: Buffer, at: number, to: number): number {
    if (this.staging === null) {
      this.staging = Buffer.allocUnsafe(Math.min(STAGING_BYTES, this.length - this.filled));
      this.staged = 0;
    }
    const take = Math.min(to - at, this.staging.length - this.staged);
    chunk.copy(this.staging, this.staged, at, at + take);
    this.staged += take;
    this.filled += take;
    if (this.staged === this.staging.length) {
      this.pieces.push(this.staging);
      this.piecesHeld += this.staging.length;
      this.staging = null;
    }
    return at + take;
  }
}

/** Parts of a chunk at least this large are kept as views, not copied, until the frame is whole. */
export const VIEW_PART_BYTES = 16 * 1024;

/** The most a staging buffer takes: a frame up to this size is gathered in one buffer. */
export const STAGING_BYTES = 64 * 1024;
