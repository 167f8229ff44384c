import type { Entry } from './entry';
import { EntryRun } from './entryRun';
import type { AppendEntries, NodeId } from './types';

/**
 * An AppendEntries read from the wire with a block of entries: the entries stay a run
 * (`EntryRun`: the block and where each entry lies in it) until something reads
 * `entries`, which makes them then, once. A follower's rules read the run instead
 * (`entryRunOf`), so entries arriving this way cost no object each on their way to the
 * log and the write-ahead log.
 *
 * `entries` is an own enumerable property with a getter, so a copy (`{ ...m }`), a
 * `JSON.stringify` or an `Object.keys` sees it as on any other AppendEntries: it makes
 * the entries then. A transport wrapper that spreads messages still works; it only gives
 * up the saving.
 *
 * @example
 * const m = new ReceivedAppendEntries(fields, readEntryRun(block, fields));
 * entryRunOf(m)?.length; // 64, no entry made
 * m.entries[0].index;    // the entries, made now
 */
export class ReceivedAppendEntries implements AppendEntries {
  readonly type = 'AppendEntries';
  readonly term: number;
  readonly leaderId: NodeId;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly leaderCommit: number;
  readonly seq: number;
  declare readonly quiesce?: boolean;
  declare readonly entries: readonly Entry[];
  readonly #run: EntryRun;
  #entries: readonly Entry[] | undefined = undefined;

  /**
   * `entries` on each message, one descriptor for all: own and enumerable (a getter on the
   * prototype would be left out of a spread copy, which would then carry no entries).
   */
  static readonly #ENTRIES: PropertyDescriptor = {
    enumerable: true,
    get(this: ReceivedAppendEntries): readonly Entry[] {
      return (this.#entries ??= this.#run.entries());
    },
  };

  /** `fields` must be a valid AppendEntries and `run` its entries, read with its fields (`readEntryRun`). */
  constructor(fields: Omit<AppendEntries, 'entries' | 'type'>, run: EntryRun) {
    this.term = fields.term;
    this.leaderId = fields.leaderId;
    this.prevLogIndex = fields.prevLogIndex;
    this.prevLogTerm = fields.prevLogTerm;
    this.leaderCommit = fields.leaderCommit;
    this.seq = fields.seq;
    if (fields.quiesce) this.quiesce = true;
    this.#run = run;
    Object.defineProperty(this, 'entries', ReceivedAppendEntries.#ENTRIES);
  }

  /** The run of a message read from the wire, if it is one (see `entryRunOf`). */
  static runOf(m: AppendEntries): EntryRun | undefined {
    return m instanceof ReceivedAppendEntries ? m.#run : undefined;
  }
}

/**
 * The entries of `m` as a run when it was read from the wire with a block (no entry made
 * yet), else undefined: then its `entries` list is all there is.
 */
export function entryRunOf(m: AppendEntries): EntryRun | undefined {
  return ReceivedAppendEntries.runOf(m);
}
