import { CorruptLogError } from './fileErrors';
import { FileSystem, hasErrorCode } from './fileSystem';
import {
  checkFileHeader,
  checkRecord,
  FILE_HEADER_BYTES,
  readRecord,
  RECORD_HEADER_BYTES,
  RecordFlag,
  RecordType,
  writeFileHeader,
  writeRecordHeader,
} from './fileRecordFraming';

/**
 * The layout of a small state file (the hard state, the damage record): a file header
 * naming what the file is (`magic`), then exactly one framed, checksummed record holding
 * the state.
 *
 * @example
 * const bytes = encodeStateFile('RXRAFTHS', payload);
 * decodeStateFile(bytes, 'RXRAFTHS', '/data/n1/hardstate'); // payload again, or CorruptLogError
 */
export function encodeStateFile(magic: string, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(FILE_HEADER_BYTES + RECORD_HEADER_BYTES + payload.length);
  writeFileHeader(out, magic, 0);
  out.set(payload, FILE_HEADER_BYTES + RECORD_HEADER_BYTES);
  writeRecordHeader(out, FILE_HEADER_BYTES, RecordType.HardState, RecordFlag.EndOfWrite, 0, FILE_HEADER_BYTES, payload.length);
  return out;
}

/** The payload of a state file's bytes; throws `CorruptLogError` naming `file` when they are not one. */
export function decodeStateFile(buf: Buffer, magic: string, file: string): Buffer {
  const headerProblem = checkFileHeader(buf, magic, 0);
  if (headerProblem) throw new CorruptLogError(file, 0, headerProblem);
  const checked = checkRecord(buf, FILE_HEADER_BYTES);
  if (typeof checked === 'string') throw new CorruptLogError(file, FILE_HEADER_BYTES, checked);
  const record = readRecord(buf, FILE_HEADER_BYTES, checked);
  if (record.type !== RecordType.HardState) throw new CorruptLogError(file, FILE_HEADER_BYTES, `record type ${record.type} is not a state record`);
  if (FILE_HEADER_BYTES + RECORD_HEADER_BYTES + checked !== buf.length) throw new CorruptLogError(file, FILE_HEADER_BYTES, 'trailing bytes after the state record');
  return record.payload;
}

/** The payload of the state file `file`, or null when there is none; `CorruptLogError` when it is not one. */
export async function readStateFile(fs: FileSystem, file: string, magic: string): Promise<Buffer | null> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    if (hasErrorCode(e, 'ENOENT')) return null;
    throw e;
  }
  return decodeStateFile(buf, magic, file);
}
