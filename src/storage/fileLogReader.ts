import { EntryRangeError, InvalidMessageError } from '../errors';
import { entrySize } from '../messages/blockEntry';
import type { Entry } from '../messages/entry';
import { decodeEntries } from '../messages/entryCodec';
import { CorruptLogError } from './fileErrors';
import type { RecordLocation } from './fileLogIndex';
import type { RecentRecords } from './recentRecords';
import { checkRecord, RECORD_HEADER_BYTES } from './fileRecordFraming';
import { FileHandleLike, hasErrorCode } from './fileSystem';
import type { SegmentReadHandles } from './segmentReadHandles';

/** The request `readLocatedEntries` serves, for its checks and errors. */
export interface LocatedRange {
  readonly from: number;
  readonly to: number;
  readonly maxBytes: number;
  /** What the log held when the records were located. */
  readonly available: { readonly first: number; readonly last: number } | null;
}

/**
 * Reads entries `[from, to)` from the records `rows` (located beforehand, in log order,
 * covering the range), stopping once `maxBytes` of payload would be passed (the first
 * entry is always taken). Each record is read alone (header and payload, one pread) and
 * checked like at recovery, through `handles` (segment files kept open between reads).
 * `options.blockOf` finds the entries block in a record's payload (the payload itself,
 * unless the records wrap their blocks, as a shared log's group records do). A segment deleted meanwhile (compaction) rejects with `EntryRangeError` (`compacted`);
 * a record failing its check with `CorruptLogError`. The entries' data are views into
 * the buffer read for their record. With `options.recent`, a record read lately is taken from
 * there (no file opened, read or checked again), and a record read whose entries are not
 * all taken (the read stops inside it) is left there for the next read.
 *
 * @example
 * const rows = [index.locate(5)!];
 * await readLocatedEntries(handles, (s) => path.join(dir, segmentName(s)), rows, { from: 5, to: 7, maxBytes: 1 << 20, available }, { recent: new RecentRecords() });
 */
export async function readLocatedEntries(
  handles: SegmentReadHandles,
  fileOf: (sequence: number) => string,
  rows: readonly RecordLocation[],
  range: LocatedRange,
  options: { readonly blockOf?: (payload: Buffer, file: string, row: RecordLocation) => Buffer; readonly recent?: RecentRecords } = {},
): Promise<Entry[]> {
  const { blockOf = (payload: Buffer) => payload, recent } = options;
  const out: Entry[] = [];
  let bytes = 0;
  for (const row of rows) {
    const held = recent?.get(row.sequence, row.offset, row.length);
    let decoded = held;
    if (decoded === undefined) {
      const file = fileOf(row.sequence);
      decoded = decodeBlock(blockOf(await readRecordOf(handles, file, row, range), file, row), file, row);
    }
    const end = Math.min(row.last, range.to - 1);
    let index = Math.max(row.first, range.from);
    for (; index <= end; index++) {
      const entry = decoded[index - row.first];
      const size = entrySize(entry);
      if (out.length > 0 && bytes + size > range.maxBytes) break;
      out.push(entry);
      bytes += size;
    }
    // The read stops inside the record: hold it for the next read, which starts there.
    if (held === undefined && index <= row.last) recent?.put(row.sequence, row.offset, row.length, decoded);
    if (index <= end) return out;
  }
  return out;
}

/** Reads the record at `row` through a handle of its segment; a segment deleted meanwhile is `EntryRangeError` (compacted). */
async function readRecordOf(handles: SegmentReadHandles, file: string, row: RecordLocation, range: LocatedRange): Promise<Buffer> {
  try {
    return await handles.use(row.sequence, file, (handle) => readRecordPayload(handle, file, row));
  } catch (e) {
    if (!hasErrorCode(e, 'ENOENT')) throw e;
    throw new EntryRangeError(range.from, range.to, range.available, true, `its segment ${file} was deleted by a compaction meanwhile`);
  }
}

/** Reads and checks the record at `row` (one pread of header and payload); returns its payload. */
async function readRecordPayload(handle: FileHandleLike, file: string, row: RecordLocation): Promise<Buffer> {
  const size = RECORD_HEADER_BYTES + row.length;
  const buf = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buf, done, size - done, row.offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  const checked = checkRecord(buf.subarray(0, done), 0, row.offset);
  if (typeof checked === 'string') throw new CorruptLogError(file, row.offset, `on reading entries back: ${checked}`);
  if (checked !== row.length) throw new CorruptLogError(file, row.offset, `on reading entries back: record length ${checked}, indexed ${row.length}`);
  return buf.subarray(RECORD_HEADER_BYTES);
}

/** Decodes a record's entries block and checks it holds what the index says. */
function decodeBlock(block: Buffer, file: string, row: RecordLocation): Entry[] {
  let decoded: Entry[];
  try {
    decoded = decodeEntries(block, { lazy: true }); // views of the record: a leader sends them on as pieces of it (blockPieces), uncopied
  } catch (e) {
    if (e instanceof InvalidMessageError) throw new CorruptLogError(file, row.offset, `on reading entries back: ${e.reason}`);
    throw e;
  }
  const count = row.last - row.first + 1;
  if (decoded.length < count || decoded[0].index !== row.first) {
    throw new CorruptLogError(file, row.offset, `on reading entries back: the record does not hold entries ${row.first}..${row.last}`);
  }
  return decoded;
}
