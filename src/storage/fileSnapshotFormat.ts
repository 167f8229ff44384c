import { decodeConfig } from '../messages/config';
import { InvalidMessageError } from '../errors';
import { FILE_HEADER_BYTES, RECORD_HEADER_BYTES, RecordType, writeFileHeader, writeRecordHeader, writeRecordHeaderFor } from './fileRecordFraming';
import type { SnapshotMeta } from '../messages/persisted';

/**
 * The layout of a snapshot file. Each snapshot is one file `snapshot-<16-digit
 * sequence>.snap` (sequence numbers grow with every commit; the highest is current),
 * written as `snapshot-<sequence>.snap.tmp` and renamed once complete and synced:
 *
 *     file header   "RXRAFTSN" | version | sequence          (16 bytes)
 *     record SnapshotMeta    JSON {"index","term","config"}
 *     record SnapshotChunk   chunk bytes, one record per `write(chunk)`, in order
 *     ...
 *     record SnapshotEnd     JSON {"chunks","bytes","compactedThrough","firstLiveSegment"}
 *
 * Records use the framing of `fileRecordFraming.ts` (length and CRC-32 each, own offset
 * inside). SnapshotEnd marks the file complete; nothing may follow it. It also carries
 * the log compaction the snapshot commits (see `LogCompaction`), so that making the
 * snapshot current and compacting the log are one atomic step: the rename.
 *
 * @example
 * snapshotFileName(3);             // 'snapshot-0000000000000003.snap'
 * parseSnapshotFileName('snapshot-0000000000000003.snap.tmp'); // { sequence: 3, temp: true }
 */
export const SNAPSHOT_MAGIC = 'RXRAFTSN';

/**
 * What a durable snapshot says about the log. Cumulative: each commit carries the
 * previous one's values forward (they only grow).
 */
export interface LogCompaction {
  /** Entries at or below this index are gone from the log (covered by snapshots). */
  readonly compactedThrough: number;
  /**
   * Segments before this one hold only records discarded by a `discardLog` commit (which
   * starts a fresh segment); recovery ignores them and deletes them.
   */
  readonly firstLiveSegment: number;
}

/** The log before any compaction. */
export const NO_COMPACTION: LogCompaction = { compactedThrough: 0, firstLiveSegment: 1 };

/** The SnapshotEnd record's payload. */
export interface SnapshotEnd extends LogCompaction {
  /** How many SnapshotChunk records precede it. */
  readonly chunks: number;
  /** Their total payload bytes. */
  readonly bytes: number;
}

const NAME = /^snapshot-(\d{16})\.snap(\.tmp)?$/;

/** The final name of snapshot `sequence`. */
export function snapshotFileName(sequence: number): string {
  return `snapshot-${String(sequence).padStart(16, '0')}.snap`;
}

/** The name snapshot `sequence` is written under until it is complete. */
export function snapshotTempName(sequence: number): string {
  return `${snapshotFileName(sequence)}.tmp`;
}

/** The sequence of a snapshot file name and whether it is a temp file; null for other names. */
export function parseSnapshotFileName(name: string): { readonly sequence: number; readonly temp: boolean } | null {
  const match = NAME.exec(name);
  return match ? { sequence: Number(match[1]), temp: match[2] !== undefined } : null;
}

/** The file header followed by the SnapshotMeta record: the first bytes of a snapshot file. */
export function encodeSnapshotStart(sequence: number, meta: SnapshotMeta): Buffer {
  const json = Buffer.from(JSON.stringify({ index: meta.index, term: meta.term, config: meta.config }), 'utf8');
  const out = Buffer.allocUnsafe(FILE_HEADER_BYTES + RECORD_HEADER_BYTES + json.length);
  writeFileHeader(out, SNAPSHOT_MAGIC, sequence);
  json.copy(out, FILE_HEADER_BYTES + RECORD_HEADER_BYTES);
  writeRecordHeader(out, FILE_HEADER_BYTES, RecordType.SnapshotMeta, 0, 0, FILE_HEADER_BYTES, json.length);
  return out;
}

/**
 * The header of the SnapshotChunk record of `chunk` at `offset`: written right before the
 * chunk itself, which is not copied (a snapshot of 64 KiB values copied every byte of the
 * state once more here, about 7% of a follower's CPU).
 *
 * @example
 * await writeAllFully(handle, [snapshotChunkHeader(chunk, offset), chunk], offset);
 */
export function snapshotChunkHeader(chunk: Uint8Array, offset: number): Buffer {
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  writeRecordHeaderFor(header, 0, RecordType.SnapshotChunk, 0, 0, offset, chunk);
  return header;
}

/** The framed SnapshotEnd record, to be written at `offset`. */
export function encodeSnapshotEnd(end: SnapshotEnd, offset: number): Buffer {
  const json = Buffer.from(
    JSON.stringify({ chunks: end.chunks, bytes: end.bytes, compactedThrough: end.compactedThrough, firstLiveSegment: end.firstLiveSegment }),
    'utf8',
  );
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + json.length);
  json.copy(out, RECORD_HEADER_BYTES);
  writeRecordHeader(out, 0, RecordType.SnapshotEnd, 0, 0, offset, json.length);
  return out;
}

/** The SnapshotMeta payload's meta; throws `InvalidMessageError` saying what is wrong. */
export function decodeSnapshotMeta(payload: Buffer): SnapshotMeta {
  const raw = parseObject(payload, 'snapshot meta');
  const index = count(raw.index, 'index');
  const term = count(raw.term, 'term');
  const config = decodeConfig(Buffer.from(JSON.stringify(raw.config ?? null), 'utf8'));
  return { index, term, config };
}

/** The SnapshotEnd payload; throws `InvalidMessageError` saying what is wrong. */
export function decodeSnapshotEnd(payload: Buffer): SnapshotEnd {
  const raw = parseObject(payload, 'snapshot end');
  const firstLiveSegment = count(raw.firstLiveSegment, 'firstLiveSegment');
  if (firstLiveSegment < 1) throw new InvalidMessageError('firstLiveSegment must be at least 1');
  return {
    chunks: count(raw.chunks, 'chunks'),
    bytes: count(raw.bytes, 'bytes'),
    compactedThrough: count(raw.compactedThrough, 'compactedThrough'),
    firstLiveSegment,
  };
}

function parseObject(payload: Buffer, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new InvalidMessageError(`${what} is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidMessageError(`${what} is not an object`);
  return raw as Record<string, unknown>;
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidMessageError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}
