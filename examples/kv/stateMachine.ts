import { crc32 } from 'node:zlib';
import type { CommittedEntry, StateMachine } from '../../src';
import { BadCommandError, commandLayout, layoutSlot, Op } from './commands';
import { OutcomeRing } from './outcomeRing';
import { PAUSE, snapshotChunks } from './snapshotChunks';
import { copyValue, LargeValues } from './largeValues';
import { ValueArena } from './valueArena';

/** What applying a command did. */
export const Outcome = {
  /** Put, or the HTTP address of a member recorded. */
  Stored: 1,
  /** Delete of a key that existed. */
  Deleted: 2,
  /** Delete of a key that did not exist. */
  Absent: 3,
  /** Compare-and-set found the expected value and replaced it. */
  Swapped: 4,
  /** Compare-and-set found something else (or nothing) and changed nothing. */
  NotSwapped: 5,
  /** The entry was not a command of this store; it was skipped. */
  Invalid: 6,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** How many recent outcomes are kept for proposers to pick up (see `outcomeAt`). */
export const OUTCOME_WINDOW = 1 << 16;

/** What `httpAddresses` returns before any member's address was recorded: empty, shared. */
const NO_MEMBERS: ReadonlyMap<string, string> = new Map();

/**
 * The replicated key-value map: committed commands applied in log order.
 *
 * Every node applies the same commands in the same order, so every node holds the same
 * map. After a restart rxraft replays the log on `committed$`, which rebuilds the map.
 *
 * The outcome of each applied entry (did the compare-and-set swap?) is kept by log
 * index in a ring of the last `OUTCOME_WINDOW` entries (`OutcomeRing`: it starts small
 * and grows to that as entries are applied): the proposer, whose
 * `propose()` resolves with the entry's index right after it is applied, reads it
 * there. A ring rather than a map of "entries proposed here" because it needs no
 * cleanup when a proposal's caller gives up, never grows, and also answers a client
 * retry that rxraft's session table resolves with the original entry's index, even
 * when that entry was proposed through another node.
 *
 * @example
 * const kv = new KvStateMachine();
 * node.committed$.subscribe((e) => kv.apply(e));
 * const { index } = await node.propose(encodeCommand({ op: Op.Put, key: 'x', value }));
 * kv.outcomeAt(index); // Outcome.Stored
 */
export class KvStateMachine {
  /**
   * Small values are kept in `values`, a buffer outside the JavaScript heap, and the map
   * holds each one's handle (a number): a value lives until its key is written again,
   * seconds later under load, and as a heap object (a string, as it was) every write's
   * value survived the young generation and was copied and promoted by the collector
   * (issue 17). Values of `LARGE_VALUE_BYTES` or more are kept as Buffers: views of the
   * committed entries they came in (`largeValues` bounds what those views hold), or copies.
   * Kept as heap strings, 64 KiB values filled the heap, and its pauses to copy them
   * (scavenges up to 110 ms, compactions up to 83 ms with 256 writers) outlasted election
   * timeouts.
   */
  private readonly data = new Map<string, StoredValue>();
  private readonly values = new ValueArena((move) => this.data.forEach((v, k) => typeof v === 'number' && this.data.set(k, move(v))));
  /** What the large values' views hold, and the values copied out when that grew past twice them. */
  private readonly largeValues = new LargeValues((key, buffer) => this.relocate(key, buffer));
  /** Made at the first `MemberHttp` command (a sharded server's store per group may never see one). */
  private memberHttp: Map<string, string> | null = null;
  /**
   * The arrays a snapshot copies the keys and values into, kept from one snapshot to the
   * next (null before the first snapshot and while a snapshot holds them). Two new arrays of a slot per key, made at
   * every snapshot (2 MB each with 262,144 keys, every few seconds under load), went
   * straight to the old generation and set off mark-compacts (issue 17).
   */
  private spareEntries: SnapshotEntries | null = null;
  /** Each recent entry's outcome, and a hash of its command bytes (to tell a retry from another command under the same Idempotency-Key). */
  private readonly outcomes = new OutcomeRing(OUTCOME_WINDOW);
  /** Where `execute` reads each command's layout: one slot, reused, instead of an object per command. */
  private readonly layout = layoutSlot();
  /** Index of the last entry applied. */
  appliedIndex = 0;
  /** Entries skipped because they did not decode. */
  invalid = 0;

  /** Applies one committed entry and returns what it did. Never throws. */
  apply(entry: CommittedEntry): Outcome {
    let outcome: Outcome;
    try {
      outcome = this.execute(entry.data, true);
    } catch (e) {
      if (!(e instanceof BadCommandError)) throw e;
      this.invalid++;
      outcome = Outcome.Invalid;
    }
    // Only a retry in a session asks `sameCommandAt`: hashing every command cost as much CPU
    // as the log's own checksums with 64 KiB values (docs/notes/big-entries.md).
    this.outcomes.record(entry.index, outcome, entry.session ? commandHash(entry.data) : 0);
    this.appliedIndex = entry.index;
    return outcome;
  }

  /**
   * Whether the entry applied at `index`, proposed in a client session, holds exactly
   * `command` (by a 32-bit hash); undefined when that entry is no longer in the window.
   * A retry with an Idempotency-Key resolves with the original entry's index (proposed in
   * the same session): a different command there means the key was reused for another
   * request. Not meaningful for an entry proposed without a session (nothing is hashed).
   */
  sameCommandAt(index: number, command: Uint8Array): boolean | undefined {
    const hash = this.outcomes.hashAt(index);
    return hash === undefined ? undefined : hash === commandHash(command);
  }

  /**
   * The snapshot hooks rxraft calls (`stateMachine` option): a snapshot is every key and
   * member address as a sequence of length-prefixed commands; restoring replaces the map.
   */
  snapshots(): Required<Pick<StateMachine, 'snapshot' | 'restore'>> {
    return {
      snapshot: () => {
        // A copy now: entries applied while rxraft reads the chunks must not leak in. Two
        // flat arrays, not one [key, value] pair per key: with a million keys the pairs
        // took tens of milliseconds to make and as many to collect.
        // The arena is pinned, not copied: until the snapshot is read, nothing in it is written over.
        // The chunks are one buffer refilled (rxraft is done with each when it asks for the next).
        const copy = this.copyEntries();
        const reader = this.values.pin();
        return withTurns(snapshotChunks(copy.keys, copy.values, [...(this.memberHttp ?? NO_MEMBERS)], { arena: reader, pauseBytes: SNAPSHOT_SLICE_BYTES, reuse: true }), () => {
          reader.release();
          this.returnEntries(copy);
        });
      },
      restore: async (chunks, at) => {
        this.data.clear();
        this.values.clear();
        this.largeValues.clear();
        this.memberHttp?.clear();
        this.outcomes.clear();
        let pending: Buffer = Buffer.alloc(0);
        for await (const chunk of chunks) {
          pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          let at0 = 0;
          while (pending.length - at0 >= 4) {
            const length = pending.readUInt32BE(at0);
            if (pending.length - at0 - 4 < length) break;
            // Not an entry's bytes: the chunk may be refilled by its reader, so large values are copied.
            this.execute(pending.subarray(at0 + 4, at0 + 4 + length), false);
            at0 += 4 + length;
          }
          pending = Buffer.from(pending.subarray(at0));
        }
        if (pending.length) throw new BadCommandError(`snapshot ends inside a record (${pending.length} bytes)`);
        this.appliedIndex = at.index;
      },
    };
  }

  /** The outcome of the entry at `index` if it was applied here and is among the last `OUTCOME_WINDOW`. */
  outcomeAt(index: number): Outcome | undefined {
    return this.outcomes.outcomeAt(index) as Outcome | undefined;
  }

  /** The value under `key`; the caller reads it and must not modify it (large values are the store's own bytes). */
  get(key: string): Buffer | undefined {
    const value = this.data.get(key);
    return typeof value === 'number' ? this.values.read(value) : value;
  }

  get size(): number {
    return this.data.size;
  }

  /** The buffer holding the small values: its size, the bytes of records in it, and of those the freed ones. */
  get valueBytes(): { readonly capacityBytes: number; readonly usedBytes: number; readonly garbageBytes: number } {
    return this.values.stats;
  }

  /** HTTP addresses of members, as recorded by `MemberHttp` commands. */
  httpAddresses(): ReadonlyMap<string, string> {
    return this.memberHttp ?? NO_MEMBERS;
  }

  /** Applies one command; `stable`: `bytes` never change (a committed entry's), so large values may be kept as views of them. */
  private execute(bytes: Uint8Array, stable: boolean): Outcome {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const c = commandLayout(buf, this.layout);
    switch (c.op) {
      case Op.Put:
        this.put(c.key, this.data.get(c.key), buf, c.valueStart, c.valueEnd, stable);
        return Outcome.Stored;
      case Op.Delete: {
        const current = this.data.get(c.key);
        if (current === undefined) return Outcome.Absent;
        this.data.delete(c.key);
        if (typeof current === 'number') this.values.free(current);
        else this.largeValues.release(current);
        return Outcome.Deleted;
      }
      case Op.Cas: {
        const current = this.data.get(c.key);
        if (current === undefined || !this.sameValue(current, buf, c.expectedStart, c.expectedEnd)) return Outcome.NotSwapped;
        this.put(c.key, current, buf, c.valueStart, c.valueEnd, stable);
        return Outcome.Swapped;
      }
      case Op.MemberHttp:
        (this.memberHttp ??= new Map()).set(c.key, buf.toString('utf8', c.valueStart, c.valueEnd));
        return Outcome.Stored;
    }
  }

  /** The keys and values now, in the spare arrays (new ones if a snapshot still holds those): no object per key. */
  private copyEntries(): SnapshotEntries {
    const copy = this.spareEntries ?? { keys: [], values: [] };
    this.spareEntries = null;
    const { keys, values } = copy;
    let i = 0;
    this.data.forEach((value, key) => {
      keys[i] = key;
      values[i] = value;
      i++;
    });
    keys.length = values.length = i;
    return copy;
  }

  /** A snapshot is done with `copy`: it is emptied of references (a large value must not outlive its key) and kept for the next. */
  private returnEntries(copy: SnapshotEntries): void {
    copy.keys.fill('');
    copy.values.fill(0);
    this.spareEntries = copy;
  }

  /**
   * Stores `buf[start, end)` under `key`, whose value is `current`: in the arena (in place
   * when it fits), or as a Buffer when large — a view when `buf` is `stable`, else a copy.
   */
  private put(key: string, current: StoredValue | undefined, buf: Buffer, start: number, end: number, stable: boolean): void {
    const previous = typeof current === 'number' ? current : undefined;
    if (end - start < LARGE_VALUE_BYTES) {
      this.data.set(key, this.values.set(previous, buf, start, end));
      if (current !== undefined && previous === undefined) this.largeValues.release(current as Buffer);
      return;
    }
    if (previous !== undefined) this.values.free(previous);
    if (stable) {
      const view = buf.subarray(start, end);
      this.data.set(key, view);
      this.largeValues.kept(key, view);
    } else {
      this.data.set(key, copyValue(buf, start, end));
    }
    if (current !== undefined && previous === undefined) this.largeValues.release(current as Buffer);
  }

  /** `LargeValues` lets `buffer` go: `key`'s value, if it still lies there, becomes a copy. Returns the bytes copied. */
  private relocate(key: string, buffer: ArrayBufferLike): number {
    const value = this.data.get(key);
    if (value === undefined || typeof value === 'number' || value.buffer !== buffer) return 0;
    this.data.set(key, copyValue(value, 0, value.length));
    return value.length;
  }

  /** Bytes of buffers the large values' views hold, bytes of those values, and bytes copied out of buffers let go. */
  get largeValueBytes(): { readonly heldBytes: number; readonly liveBytes: number; readonly relocatedBytes: number } {
    return this.largeValues.stats;
  }

  /** Whether a stored value has the bytes `buf[start, end)`. */
  private sameValue(value: StoredValue, buf: Buffer, start: number, end: number): boolean {
    return typeof value === 'number' ? this.values.equals(value, buf, start, end) : value.equals(buf.subarray(start, end));
  }
}

/** Values at least this long are kept as Buffers, outside the JavaScript heap (see `KvStateMachine.data`). */
export const LARGE_VALUE_BYTES = 1024;

/** The keys and values a snapshot writes, as they were when it began: `values[i]` is `keys[i]`'s. */
interface SnapshotEntries {
  readonly keys: string[];
  readonly values: StoredValue[];
}

/** A value as the store keeps it: the handle of a small value in its `ValueArena`, or a Buffer of its own when large. */
export type StoredValue = number | Buffer;

/**
 * CRC-32 of the command (zlib's, native): cheap enough to run on every applied entry —
 * 0.4 µs for a 100-byte command and 27 µs for 64 KiB, where a JavaScript FNV-1a loop took
 * 2 µs and 307 µs.
 */
function commandHash(bytes: Uint8Array): number {
  return crc32(bytes);
}

/**
 * Bytes of snapshot records made in one go, between two turns of the event loop. Why:
 * the whole store is written at every snapshot, and 1 MiB of 100-byte records (about
 * 10,000) took 50-135 ms to encode on the loaded 2-core machine — time in which the
 * node answered no heartbeat (issue 17). 64 KiB is about 600 records. The chunks handed
 * to rxraft are still of `SNAPSHOT_CHUNK_BYTES`, rxraft's default `chunkBytes`: slices of
 * 64 KiB were joined by rxraft as it stored them, one more copy of the whole state (with
 * 64 KiB values, 3-4% of a follower's CPU).
 */
export const SNAPSHOT_SLICE_BYTES = 64 * 1024;

/**
 * Hands on each chunk, with a turn of the event loop (`setImmediate`) before making more
 * records after a chunk or a `PAUSE`, so a large store is written without holding the
 * loop; `done` runs once, when the chunks are read or given up — also when rxraft closes
 * them before reading the first (a generator's `finally` would not run then, and the
 * arena would stay pinned).
 */
function withTurns(chunks: Iterable<Uint8Array | typeof PAUSE>, done: () => void): AsyncIterableIterator<Uint8Array> {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const inner = chunksWithTurns(chunks, finish);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => inner.next(),
    return: async (value?: unknown) => {
      try {
        return await inner.return(value);
      } finally {
        finish();
      }
    },
  };
}

async function* chunksWithTurns(chunks: Iterable<Uint8Array | typeof PAUSE>, finish: () => void): AsyncGenerator<Uint8Array> {
  try {
    for (const chunk of chunks) {
      if (chunk !== PAUSE) yield chunk;
      await nextTurn();
    }
  } finally {
    finish();
  }
}

/** Resolves after the I/O that is ready now has been handled. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
