import * as path from 'path';
import type { HardState } from '../messages/persisted';
import { CorruptLogError } from './fileErrors';
import { FileHandleLike, FileSystem, unlinkIfExists, writeFully } from './fileSystem';
import { FILE_HEADER_BYTES } from './fileRecordFraming';
import { encodeStateFile, readStateFile } from './fileStateRecord';

/** The file name of the hard state inside the storage directory. */
export const HARD_STATE_FILE = 'hardstate';
/** The spare file the next state is written into (held open between saves). */
const SPARE_SUFFIX = '.next';
/** The temp file of earlier versions, which wrote a new file for every save. */
const LEGACY_TEMP_SUFFIX = '.tmp';
/** A second name the current file takes for an instant during a save, so it can become the spare. */
const PREVIOUS_SUFFIX = '.prev';
const MAGIC = 'RXRAFTHS';
const NO_VOTE = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;

/**
 * The hard state (term, votedFor), replaced atomically without opening any file after
 * `open`: saving works when the process has no file descriptor left (issue 18,
 * finding 3: a node out of descriptors failed to create `hardstate.tmp` and stopped).
 *
 * Two files are held open: `hardstate` (the current state) and the spare
 * `hardstate.next`. A save writes the new state into the spare (truncate, write, fsync),
 * gives the current file a second name (`link hardstate hardstate.prev`), renames the
 * spare over `hardstate` (the commit point: atomic), renames `hardstate.prev` to
 * `hardstate.next` (the old file becomes the next spare, its descriptor still open) and
 * fsyncs the directory through a descriptor held for the storage's life. A crash at
 * any point leaves `hardstate` holding either the old or the new state, never a mix;
 * a leftover `hardstate.prev` is removed by `read` (the spare is truncated before use).
 *
 * File layout: a file header ("RXRAFTHS", version, 0), then one framed record of type
 * HardState whose payload is `u32 termHigh | u32 termLow | u32 voteLength | vote UTF-8`
 * (`voteLength` 0xffffffff means no vote).
 *
 * @example
 * const state = await HardStateFile.read(nodeFileSystem, dir); // null: none was ever saved
 * const file = state ? await HardStateFile.open(fs, dir, dirHandle) : await HardStateFile.create(fs, dir, dirHandle, INITIAL_HARD_STATE);
 * await file.save({ term: 3, votedFor: 'n2' });
 */
export class HardStateFile {
  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly directory: FileHandleLike,
    /** Open on the file named `hardstate`. */
    private current: FileHandleLike,
    /** Open on the file named `hardstate.next`; its content is irrelevant. */
    private spare: FileHandleLike,
  ) {}

  /**
   * Removes leftovers of an interrupted save and reads the hard state, or null when the
   * directory has none. Throws `CorruptLogError` when the file is damaged.
   */
  static async read(fs: FileSystem, dir: string): Promise<HardState | null> {
    const file = path.join(dir, HARD_STATE_FILE);
    await unlinkIfExists(fs, file + LEGACY_TEMP_SUFFIX);
    await unlinkIfExists(fs, file + PREVIOUS_SUFFIX);
    const payload = await readStateFile(fs, file, MAGIC);
    return payload === null ? null : decodeHardState(payload, file);
  }

  /** Creates `hardstate` holding `state` (durably: spare file, fsync, rename, fsync of the directory), then opens it. */
  static async create(fs: FileSystem, dir: string, directory: FileHandleLike, state: HardState): Promise<HardStateFile> {
    const file = path.join(dir, HARD_STATE_FILE);
    const handle = await fs.open(file + SPARE_SUFFIX, 'w', 0o644);
    try {
      await writeFully(handle, encodeHardStateFile(state), 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(file + SPARE_SUFFIX, file);
    await directory.sync();
    return HardStateFile.open(fs, dir, directory);
  }

  /** Opens an existing `hardstate` (after `read`) and creates the spare: every descriptor a save needs. */
  static async open(fs: FileSystem, dir: string, directory: FileHandleLike): Promise<HardStateFile> {
    const file = path.join(dir, HARD_STATE_FILE);
    const current = await fs.open(file, 'r+');
    try {
      const spare = await fs.open(file + SPARE_SUFFIX, 'w', 0o644);
      return new HardStateFile(fs, dir, directory, current, spare);
    } catch (e) {
      await current.close();
      throw e;
    }
  }

  /** Replaces the hard state durably (see the class); opens no file. */
  async save(state: HardState): Promise<void> {
    const bytes = encodeHardStateFile(state);
    const file = path.join(this.dir, HARD_STATE_FILE);
    const spare = this.spare;
    await spare.truncate(0);
    await writeFully(spare, bytes, 0);
    await spare.sync();
    await this.fs.link(file, file + PREVIOUS_SUFFIX);
    await this.fs.rename(file + SPARE_SUFFIX, file);
    await this.fs.rename(file + PREVIOUS_SUFFIX, file + SPARE_SUFFIX);
    this.spare = this.current;
    this.current = spare;
    await this.directory.sync();
  }

  /** Closes both files (the directory descriptor belongs to the caller). */
  async close(): Promise<void> {
    await Promise.allSettled([this.current.close(), this.spare.close()]);
  }
}

/** The bytes of a hard-state file holding `state`. */
export function encodeHardStateFile(state: HardState): Buffer {
  const vote = state.votedFor === null ? null : Buffer.from(state.votedFor, 'utf8');
  const payload = Buffer.alloc(12 + (vote ? vote.length : 0));
  payload.writeUInt32BE(Math.floor(state.term / TWO_32), 0);
  payload.writeUInt32BE(state.term >>> 0, 4);
  payload.writeUInt32BE(vote ? vote.length : NO_VOTE, 8);
  if (vote) vote.copy(payload, 12);
  return encodeStateFile(MAGIC, payload);
}

/** Reads a hard-state record's payload; throws `CorruptLogError` naming `file` when it is invalid. */
function decodeHardState(p: Buffer, file: string): HardState {
  const fail = (reason: string) => new CorruptLogError(file, FILE_HEADER_BYTES, reason);
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
