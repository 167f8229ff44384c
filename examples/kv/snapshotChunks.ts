import { Op } from './commands';
import type { ArenaReader } from './valueArena';

/**
 * The KV store's snapshot as a byte stream: one record per member address and per key,
 * each a 4-byte length and then the command that recreates it (`commands.ts` layout),
 * laid out straight into chunks of exactly `chunkBytes` (default `SNAPSHOT_CHUNK_BYTES`;
 * the last one shorter). A value is bytes, a latin1 string, or the handle of a value
 * in `arena` (a reader of the store's `ValueArena`, pinned as the snapshot began).
 *
 * A record may span two chunks; restore reads the stream, not the chunks. Writing into
 * fixed chunks allocates one buffer per MiB of state and nothing per key, and since the
 * default size is rxraft's default `chunkBytes`, rxraft stores each chunk without cutting
 * or joining it. (Building each record as a buffer of its own, then joining them per MiB,
 * allocated about four times the snapshot in short-lived buffers.) With `reuse`, each
 * chunk is valid only until the next one is asked for, and the chunks are the same one
 * or two buffers refilled: rxraft is done with a chunk by then (`StateMachine.snapshot`),
 * and a fresh buffer per chunk was memory outside the JavaScript heap that V8 reclaims
 * only with mark-compacts, several per snapshot (issue 17).
 *
 *     keys:    k1 = "v"   k2 = <64 KiB>   ...
 *     chunks:  [ len|Put k1 v | len|Put k2 <64 KiB ... ][ ... ] ...   (1 MiB each)
 *
 * With `pauseBytes` (Infinity: never), the stream also yields `PAUSE` each time about that many bytes of
 * records were laid out since the last chunk or pause: a point where the caller may let
 * the event loop run, without cutting a chunk smaller than `chunkBytes` (which rxraft
 * would join into its own, one more copy of the state).
 *
 * @example
 * [...snapshotChunks(['k'], ['v'], [['n1', '127.0.0.1:8001']])]; // one chunk: two records, 32 bytes
 */
export function snapshotChunks(
  keys: readonly string[],
  values: readonly (string | Buffer | number)[],
  members: readonly (readonly [string, string])[],
  options?: SnapshotChunkOptions & { readonly pauseBytes?: undefined },
): Generator<Uint8Array>;
export function snapshotChunks(
  keys: readonly string[],
  values: readonly (string | Buffer | number)[],
  members: readonly (readonly [string, string])[],
  options: SnapshotChunkOptions,
): Generator<Uint8Array | typeof PAUSE>;
export function* snapshotChunks(
  keys: readonly string[],
  values: readonly (string | Buffer | number)[],
  members: readonly (readonly [string, string])[],
  { chunkBytes = SNAPSHOT_CHUNK_BYTES, arena, pauseBytes = Infinity, reuse = false }: SnapshotChunkOptions = {},
): Generator<Uint8Array | typeof PAUSE> {
  const out = new ChunkWriter(chunkBytes, arena);
  let pausedAt = 0;
  for (const [id, address] of members) {
    out.record(Op.MemberHttp, id, address, 'utf8');
    if (out.hasFull) yield* out.handOn(reuse);
  }
  for (let i = 0; i < keys.length; i++) {
    out.record(Op.Put, keys[i], values[i], 'latin1');
    // Only when a chunk filled: a `yield*` makes an iterator and a result object, per record of a store of a million keys.
    if (out.hasFull) {
      yield* out.handOn(reuse);
      pausedAt = out.written;
    } else if (out.written - pausedAt >= pauseBytes) {
      yield PAUSE;
      pausedAt = out.written;
    }
  }
  const last = out.takeRest();
  if (last !== undefined) yield last;
}

/** How `snapshotChunks` cuts and hands on its chunks (see there). */
export interface SnapshotChunkOptions {
  /** Size of every chunk but the last (default `SNAPSHOT_CHUNK_BYTES`). */
  readonly chunkBytes?: number;
  /** The store's pinned arena, where values given as handles (numbers) are read. */
  readonly arena?: ArenaReader;
  /** Yield `PAUSE` after about this many bytes of records since the last chunk or pause (default: never). */
  readonly pauseBytes?: number;
  /** Refill the chunks handed on once the next is asked for, instead of fresh ones (default false). */
  readonly reuse?: boolean;
}

/** What `snapshotChunks` yields between chunks when told to pause (`pauseBytes`). */
export const PAUSE = null;

/** Size of a snapshot chunk: rxraft's default `chunkBytes`, so rxraft stores chunks as they are. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;

/** Bytes of a record's length, op and key length. */
const RECORD_HEAD_BYTES = 4 + 1 + 2;

/** Fills chunks with records, one after the other, splitting a record where a chunk ends. */
class ChunkWriter {
  private chunk: Buffer;
  private used = 0;
  /** Bytes of records laid out so far. */
  written = 0;
  private readonly full: Buffer[] = [];
  /** Chunks handed on and done with, to refill (see `handOn`). */
  private readonly spare: Buffer[] = [];
  /** For a record head and key that do not fit in what is left of a chunk. */
  private scratch = Buffer.allocUnsafe(256);

  constructor(
    private readonly size: number,
    private readonly arena: ArenaReader | undefined,
  ) {
    this.chunk = Buffer.allocUnsafeSlow(size);
  }

  /** Appends one record: `op`, `key` (UTF-8), and `value` (a string in `encoding`, bytes, or a handle in the arena). */
  record(op: Op, key: string, value: string | Buffer | number, encoding: 'utf8' | 'latin1'): void {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    const valueBytes = typeof value === 'string' ? Buffer.byteLength(value, encoding) : typeof value === 'number' ? this.inArena().byteLength(value) : value.length;
    const size = RECORD_HEAD_BYTES + keyBytes + valueBytes;
    this.written += size;
    if (this.size - this.used >= size) {
      this.used = this.head(this.chunk, this.used, op, key, keyBytes, size - 4);
      if (typeof value === 'string') this.used += this.chunk.write(value, this.used, encoding);
      else if (typeof value === 'number') this.used += this.inArena().copyTo(value, this.chunk, this.used);
      else this.used += value.copy(this.chunk, this.used);
      if (this.used === this.size) this.startChunk();
      return;
    }
    // Split across chunks (once per chunk): a handle's value as a view into the reader's bytes.
    if (typeof value === 'number') value = this.inArena().view(value);
    const headBytes = RECORD_HEAD_BYTES + keyBytes;
    if (this.scratch.length < headBytes + (typeof value === 'string' ? valueBytes : 0)) {
      this.scratch = Buffer.allocUnsafe(2 * (headBytes + (typeof value === 'string' ? valueBytes : 0)));
    }
    let end = this.head(this.scratch, 0, op, key, keyBytes, size - 4);
    if (typeof value === 'string') end += this.scratch.write(value, end, encoding);
    this.put(this.scratch.subarray(0, end));
    if (typeof value !== 'string') this.put(value);
  }

  private inArena(): ArenaReader {
    if (this.arena === undefined) throw new Error('a snapshot value is an arena handle, and no arena was given');
    return this.arena;
  }

  /** Whether a chunk filled since the last `takeFull`. */
  get hasFull(): boolean {
    return this.full.length > 0;
  }

  /** Hands on the chunks filled since the last call; with `reuse`, they are refilled once the consumer has asked for the next. */
  *handOn(reuse: boolean): Generator<Buffer> {
    const full = this.full.splice(0);
    yield* full;
    if (reuse) this.spare.push(...full);
  }

  /** The partly filled chunk, if any (the end of the snapshot). */
  takeRest(): Buffer | undefined {
    return this.used === 0 ? undefined : this.chunk.subarray(0, this.used);
  }

  /** Writes length, op, key length and key at `at`; returns where the value goes. */
  private head(out: Buffer, at: number, op: Op, key: string, keyBytes: number, length: number): number {
    out.writeUInt32BE(length, at);
    out[at + 4] = op;
    out.writeUInt16BE(keyBytes, at + 5);
    return at + RECORD_HEAD_BYTES + out.write(key, at + RECORD_HEAD_BYTES, 'utf8');
  }

  /** Copies `bytes` in, starting new chunks as they fill. */
  private put(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(bytes.length - at, this.size - this.used);
      this.chunk.set(bytes.subarray(at, at + take), this.used);
      this.used += take;
      at += take;
      if (this.used === this.size) this.startChunk();
    }
  }

  /** The current chunk is full: it is ready, and a new one begins. */
  private startChunk(): void {
    this.full.push(this.chunk);
    this.chunk = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.used = 0;
  }
}
