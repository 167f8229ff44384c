import * as path from 'path';
import { INITIAL_HARD_STATE, HardState } from './storage';
import { CorruptLogError } from './fileErrors';
import { FileSystem, hasErrorCode, syncDirectory, writeFully } from './fileSystem';
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

/** The file name of the hard state inside the storage directory. */
export const HARD_STATE_FILE = 'hardstate';
const TEMP_SUFFIX = '.tmp';
const MAGIC = 'RXRAFTHS';
const NO_VOTE = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;

/**
 * The hard state (term, votedFor), replaced atomically: the new state is written to
 * `hardstate.tmp`, fsynced, renamed over `hardstate`, and the directory is fsynced. A
 * crash leaves either the old or the new file, never a mix; a leftover temp file was
 * never acknowledged and is removed on open.
 *
 * File layout: a file header ("RXRAFTHS", version, 0), then one framed record of type
 * HardState whose payload is `u32 termHigh | u32 termLow | u32 voteLength | vote UTF-8`
 * (`voteLength` 0xffffffff means no vote).
 *
 * @example
 * const file = new HardStateFile(nodeFileSystem, dir);
 * await file.save({ term: 3, votedFor: 'n2' });
 * (await file.load()).term; // 3
 */
export class HardStateFile {
  private readonly file: string;
  private readonly temp: string;

  constructor(private readonly fs: FileSystem, private readonly dir: string) {
    this.file = path.join(dir, HARD_STATE_FILE);
    this.temp = this.file + TEMP_SUFFIX;
  }

  /**
   * Reads the hard state (the initial one if none was ever saved) and removes a leftover
   * temp file. Throws `CorruptLogError` when the file is damaged.
   */
  async load(): Promise<HardState> {
    try {
      await this.fs.unlink(this.temp);
    } catch (e) {
      if (!hasErrorCode(e, 'ENOENT')) throw e;
    }
    let buf: Buffer;
    try {
      buf = await this.fs.readFile(this.file);
    } catch (e) {
      if (hasErrorCode(e, 'ENOENT')) return INITIAL_HARD_STATE;
      throw e;
    }
    return decodeHardStateFile(buf, this.file);
  }

  /** Replaces the hard state durably (temp file, fsync, rename, fsync of the directory). */
  async save(state: HardState): Promise<void> {
    const bytes = encodeHardStateFile(state);
    const handle = await this.fs.open(this.temp, 'w', 0o644);
    try {
      await writeFully(handle, bytes, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(this.temp, this.file);
    await syncDirectory(this.fs, this.dir);
  }
}

/** The bytes of a hard-state file holding `state`. */
export function encodeHardStateFile(state: HardState): Buffer {
  const vote = state.votedFor === null ? null : Buffer.from(state.votedFor, 'utf8');
  const payloadLength = 12 + (vote ? vote.length : 0);
  const out = Buffer.alloc(FILE_HEADER_BYTES + RECORD_HEADER_BYTES + payloadLength);
  writeFileHeader(out, MAGIC, 0);
  const at = FILE_HEADER_BYTES + RECORD_HEADER_BYTES;
  out.writeUInt32BE(Math.floor(state.term / TWO_32), at);
  out.writeUInt32BE(state.term >>> 0, at + 4);
  out.writeUInt32BE(vote ? vote.length : NO_VOTE, at + 8);
  if (vote) vote.copy(out, at + 12);
  writeRecordHeader(out, FILE_HEADER_BYTES, RecordType.HardState, RecordFlag.EndOfWrite, 0, FILE_HEADER_BYTES, payloadLength);
  return out;
}

/** Reads a hard-state file's bytes; throws `CorruptLogError` naming `file` when they are invalid. */
export function decodeHardStateFile(buf: Buffer, file: string): HardState {
  const headerProblem = checkFileHeader(buf, MAGIC, 0);
  if (headerProblem) throw new CorruptLogError(file, 0, headerProblem);
  const checked = checkRecord(buf, FILE_HEADER_BYTES);
  if (typeof checked === 'string') throw new CorruptLogError(file, FILE_HEADER_BYTES, checked);
  const record = readRecord(buf, FILE_HEADER_BYTES, checked);
  const p = record.payload;
  const fail = (reason: string) => new CorruptLogError(file, FILE_HEADER_BYTES, reason);
  if (record.type !== RecordType.HardState) throw fail(`record type ${record.type} is not a hard state`);
  if (FILE_HEADER_BYTES + RECORD_HEADER_BYTES + checked !== buf.length) throw fail('trailing bytes after the hard state');
  if (p.length < 12) throw fail('hard state payload too short');
  const high = p.readUInt32BE(0);
  if (high > 0x1f_ffff) throw fail('term beyond 2^53');
  const term = high * TWO_32 + p.readUInt32BE(4);
  const voteLength = p.readUInt32BE(8);
  if (voteLength === NO_VOTE) {
    if (p.length !== 12) throw fail('bytes after an empty vote');
    return { term, votedFor: null };
  }
  if (p.length !== 12 + voteLength) throw fail('vote length does not match the payload');
  return { term, votedFor: p.toString('utf8', 12) };
}
