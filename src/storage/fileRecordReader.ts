import { CorruptLogError } from './fileErrors';
import { checkRecord, RECORD_HEADER_BYTES, readRecord, ScannedRecord } from './fileRecordFraming';
import { FileHandleLike } from './fileSystem';

/**
 * Reads framed records (see `fileRecordFraming.ts`) one at a time from an open file,
 * front to back, holding one record in memory at a time: two reads per record (its
 * header, then its payload). Every record's checksum, length and offset
 * field are checked; a bad one throws `CorruptLogError` naming the file and the record's
 * offset. Used for snapshot files, which may be far larger than memory.
 *
 * @example
 * const reader = new FileRecordReader(handle, file, FILE_HEADER_BYTES, (await handle.stat()).size);
 * for (let r = await reader.next(); r; r = await reader.next()) console.log(r.type, r.payload.length);
 */
export class FileRecordReader {
  /** Offset of the next record. */
  private position: number;

  constructor(
    private readonly handle: FileHandleLike,
    /** The file's path, for error messages. */
    readonly file: string,
    start: number,
    /** The file's size: the last record must end exactly here. */
    readonly size: number,
  ) {
    this.position = start;
  }

  /** Where the next record starts (the file's size once every record has been read). */
  get offset(): number {
    return this.position;
  }

  /** The next record, or null when the previous one ended exactly at the end of the file. */
  async next(): Promise<ScannedRecord | null> {
    const at = this.position;
    if (at === this.size) return null;
    if (this.size - at < RECORD_HEADER_BYTES) throw this.corrupt(at, `record header truncated (${this.size - at} bytes left)`);
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    await this.readInto(header, 0, at);
    const length = header.readUInt32BE(4);
    if (length > this.size - at - RECORD_HEADER_BYTES) throw this.corrupt(at, `record length ${length} runs past the end of the file`);
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
    header.copy(record, 0);
    await this.readInto(record, RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES);
    const checked = checkRecord(record, 0, at);
    if (typeof checked === 'string') throw this.corrupt(at, checked);
    this.position = at + RECORD_HEADER_BYTES + length;
    return { ...readRecord(record, 0, length), offset: at };
  }

  /** A `CorruptLogError` for this file at `offset`. */
  corrupt(offset: number, reason: string): CorruptLogError {
    return new CorruptLogError(this.file, offset, reason);
  }

  /** Fills `target` from `from` on with the file's bytes from `position` on. */
  private async readInto(target: Buffer, from: number, position: number): Promise<void> {
    let done = 0;
    const length = target.length - from;
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, from + done, length - done, position + done);
      if (bytesRead === 0) throw this.corrupt(position, `file ended at ${position + done} while reading ${length} bytes (it shrank)`);
      done += bytesRead;
    }
  }
}
