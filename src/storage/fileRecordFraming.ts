import { crc32 } from 'zlib';

/**
 * How records are framed in the write-ahead log's segment files, the hard-state file and
 * snapshot files. Every file starts with a 16-byte file header, then holds records back to back:
 *
 *     file header (16 bytes): magic (8 ASCII bytes) | u32 version | u32 sequence
 *
 *     record header (20 bytes), then `length` payload bytes:
 *       0  u32 crc32     CRC-32 of bytes 4 .. end of payload (header rest + payload)
 *       4  u32 length    payload length
 *       8  u8  type      RecordType
 *       9  u8  flags     bit 0: last record of its write (RecordFlag.EndOfWrite)
 *      10  u16 reserved  0
 *      12  u32 write     sequence number of the write(2) call that stored the record
 *      16  u32 offset    the record's own byte offset in its file (mod 2^32)
 *
 * All integers are big-endian. The checksum covers the length, so a damaged length is
 * detected like damaged data. `write` and `offset` let recovery tell a torn last write
 * from damage to earlier, acknowledged data (see `scanRecords`).
 *
 * @example
 * const file = Buffer.alloc(FILE_HEADER_BYTES + RECORD_HEADER_BYTES + payload.length);
 * writeFileHeader(file, 'RXRAFTWL', 1);
 * payload.copy(file, FILE_HEADER_BYTES + RECORD_HEADER_BYTES);
 * writeRecordHeader(file, FILE_HEADER_BYTES, RecordType.Entries, RecordFlag.EndOfWrite, 7, FILE_HEADER_BYTES, payload.length);
 * scanRecords(file, FILE_HEADER_BYTES).records[0].write; // 7
 */
export const FILE_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 20;
export const FORMAT_VERSION = 1;

export const RecordType = {
  /** Payload: an entries block from `encodeEntries`. Its first index cuts any suffix from there on. */
  Entries: 1,
  /** Payload: a hard state (`fileHardState.ts`). */
  HardState: 2,
  /** Payload: a snapshot's description, first record of a snapshot file (`fileSnapshotFormat.ts`). */
  SnapshotMeta: 3,
  /** Payload: one chunk of snapshot data, as given to `SnapshotWriter.write`. */
  SnapshotChunk: 4,
  /** Payload: the end of a complete snapshot file and the log compaction it commits. */
  SnapshotEnd: 5,
  /** Payload: one Raft group's record in a host's shared write-ahead log (`sharedLogRecords.ts`). */
  Group: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const RecordFlag = {
  /** The record is the last one written by its write(2) call. */
  EndOfWrite: 1,
} as const;

const KNOWN_FLAGS = RecordFlag.EndOfWrite;
const TWO_32 = 0x1_0000_0000;

/** A record found by `scanRecords`: where it is and what it carries. */
export interface ScannedRecord {
  readonly offset: number;
  readonly type: RecordType;
  readonly flags: number;
  readonly write: number;
  /** A view into the scanned buffer (no copy). */
  readonly payload: Buffer;
}

/** Where and why scanning stopped before the end of the buffer. */
export interface BadRecord {
  readonly offset: number;
  readonly reason: string;
}

/** What `scanRecords` found: the valid records in order, then the first bad one if any. */
export interface ScanResult {
  readonly records: ScannedRecord[];
  /** The offset just after the last valid record. */
  readonly goodEnd: number;
  readonly bad: BadRecord | null;
}

/** Writes a file header with this magic (exactly 8 ASCII bytes). */
export function writeFileHeader(out: Buffer, magic: string, sequence: number): void {
  out.write(magic, 0, 8, 'latin1');
  out.writeUInt32BE(FORMAT_VERSION, 8);
  out.writeUInt32BE(sequence % TWO_32, 12);
}

/** Why a file header is not valid for this magic and sequence, or null when it is. */
export function checkFileHeader(buf: Buffer, magic: string, sequence: number): string | null {
  if (buf.length < FILE_HEADER_BYTES) return `file shorter than its ${FILE_HEADER_BYTES}-byte header`;
  if (buf.toString('latin1', 0, 8) !== magic) return `bad magic, expected ${JSON.stringify(magic)}`;
  const version = buf.readUInt32BE(8);
  if (version !== FORMAT_VERSION) return `unsupported format version ${version}`;
  const seq = buf.readUInt32BE(12);
  if (seq !== sequence % TWO_32) return `header names sequence ${seq}, file name says ${sequence}`;
  return null;
}

/**
 * Fills in the record header at `at` for a payload of `length` bytes already placed at
 * `at + RECORD_HEADER_BYTES` in `out`, including its checksum. `offset` is the record's
 * offset in its file.
 */
export function writeRecordHeader(
  out: Buffer,
  at: number,
  type: RecordType,
  flags: number,
  write: number,
  offset: number,
  length: number,
): void {
  writeHeaderFields(out, at, type, flags, write, offset, length);
  out.writeUInt32BE(crc32(out.subarray(at + 4, at + RECORD_HEADER_BYTES + length)), at);
}

/**
 * Fills in the record header at `at` for `payload`, which is written right after the
 * header but is not in `out` (it goes out as its own buffer, uncopied): the checksum runs
 * over the header's rest, then continues over the payload.
 *
 * @example
 * const header = Buffer.alloc(RECORD_HEADER_BYTES);
 * writeRecordHeaderFor(header, 0, RecordType.Entries, RecordFlag.EndOfWrite, 7, offset, block);
 * await handle.writev([header, block], offset); // the same bytes as writeRecordHeader's record
 */
export function writeRecordHeaderFor(
  out: Buffer,
  at: number,
  type: RecordType,
  flags: number,
  write: number,
  offset: number,
  payload: Uint8Array,
): void {
  writeHeaderFields(out, at, type, flags, write, offset, payload.byteLength);
  out.writeUInt32BE(crc32(payload, crc32(out.subarray(at + 4, at + RECORD_HEADER_BYTES))), at);
}

function writeHeaderFields(out: Buffer, at: number, type: RecordType, flags: number, write: number, offset: number, length: number): void {
  out.writeUInt32BE(length, at + 4);
  out[at + 8] = type;
  out[at + 9] = flags;
  out.writeUInt16BE(0, at + 10);
  out.writeUInt32BE(write >>> 0, at + 12);
  out.writeUInt32BE(offset % TWO_32, at + 16);
}

/**
 * Checks the record at `at`; returns its payload length, or why it is not a valid record.
 * Never reads beyond `buf`. `fileOffset` is where `at` lies in its file, when `buf`
 * holds only part of the file (default: `buf` starts at the file's start).
 */
export function checkRecord(buf: Buffer, at: number, fileOffset: number = at): number | string {
  if (buf.length - at < RECORD_HEADER_BYTES) return `record header truncated (${buf.length - at} bytes left)`;
  const length = buf.readUInt32BE(at + 4);
  const end = at + RECORD_HEADER_BYTES + length;
  if (end > buf.length) return `record length ${length} runs past the end of the file`;
  const type = buf[at + 8];
  if (type < RecordType.Entries || type > RecordType.Group) return `unknown record type ${type}`;
  if ((buf[at + 9] & ~KNOWN_FLAGS) !== 0 || buf.readUInt16BE(at + 10) !== 0) return 'reserved header bits set';
  if (buf.readUInt32BE(at + 16) !== fileOffset % TWO_32) return 'record offset field does not match its position';
  if (crc32(buf.subarray(at + 4, end)) !== buf.readUInt32BE(at)) return 'checksum mismatch';
  return length;
}

/** Reads the valid record at `at` (call `checkRecord` first). */
export function readRecord(buf: Buffer, at: number, length: number): ScannedRecord {
  return {
    offset: at,
    type: buf[at + 8] as RecordType,
    flags: buf[at + 9],
    write: buf.readUInt32BE(at + 12),
    payload: buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length),
  };
}

/** Reads records from `start` until the end of `buf` or the first invalid record. */
export function scanRecords(buf: Buffer, start: number): ScanResult {
  const records: ScannedRecord[] = [];
  let at = start;
  while (at < buf.length) {
    const checked = checkRecord(buf, at);
    if (typeof checked === 'string') return { records, goodEnd: at, bad: { offset: at, reason: checked } };
    records.push(readRecord(buf, at, checked));
    at += RECORD_HEADER_BYTES + checked;
  }
  return { records, goodEnd: at, bad: null };
}

/**
 * The valid records that start after `from` (exclusive), found by trying every byte
 * offset; used only in recovery, after a bad record, to learn whether anything valid was
 * written after it. A candidate must carry its own offset, so a stray match needs a
 * 32-bit coincidence and a checksum collision.
 */
export function findRecordsAfter(buf: Buffer, from: number): ScannedRecord[] {
  const found: ScannedRecord[] = [];
  let at = from + 1;
  while (at + RECORD_HEADER_BYTES <= buf.length) {
    if (buf.readUInt32BE(at + 16) === at % TWO_32) {
      const checked = checkRecord(buf, at);
      if (typeof checked === 'number') {
        found.push(readRecord(buf, at, checked));
        at += RECORD_HEADER_BYTES + checked;
        continue;
      }
    }
    at++;
  }
  return found;
}
