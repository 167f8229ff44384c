import type { CommittedEntry } from '../../src';
import { BadCommandError, decodeCommand, Op } from './commands';

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

/**
 * The replicated key-value map: committed commands applied in log order.
 *
 * Every node applies the same commands in the same order, so every node holds the same
 * map. After a restart rxraft replays the log on `committed$`, which rebuilds the map.
 *
 * The outcome of each applied entry (did the compare-and-set swap?) is kept by log
 * index in a fixed ring of the last `OUTCOME_WINDOW` entries: the proposer, whose
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
  private readonly data = new Map<string, Buffer>();
  private readonly memberHttp = new Map<string, string>();
  private readonly ringIndex = new Float64Array(OUTCOME_WINDOW);
  private readonly ringOutcome = new Uint8Array(OUTCOME_WINDOW);
  /** Index of the last entry applied. */
  appliedIndex = 0;
  /** Entries skipped because they did not decode. */
  invalid = 0;

  /** Applies one committed entry and returns what it did. Never throws. */
  apply(entry: CommittedEntry): Outcome {
    let outcome: Outcome;
    try {
      outcome = this.execute(entry.data);
    } catch (e) {
      if (!(e instanceof BadCommandError)) throw e;
      this.invalid++;
      outcome = Outcome.Invalid;
    }
    const slot = entry.index % OUTCOME_WINDOW;
    this.ringIndex[slot] = entry.index;
    this.ringOutcome[slot] = outcome;
    this.appliedIndex = entry.index;
    return outcome;
  }

  /** The outcome of the entry at `index` if it was applied here and is among the last `OUTCOME_WINDOW`. */
  outcomeAt(index: number): Outcome | undefined {
    const slot = index % OUTCOME_WINDOW;
    return this.ringIndex[slot] === index ? (this.ringOutcome[slot] as Outcome) : undefined;
  }

  get(key: string): Buffer | undefined {
    return this.data.get(key);
  }

  get size(): number {
    return this.data.size;
  }

  /** HTTP addresses of members, as recorded by `MemberHttp` commands. */
  httpAddresses(): ReadonlyMap<string, string> {
    return this.memberHttp;
  }

  private execute(bytes: Uint8Array): Outcome {
    const command = decodeCommand(bytes);
    switch (command.op) {
      case Op.Put:
        // Copy: the entry's bytes are a view into a whole replicated batch; keep only the value alive.
        this.data.set(command.key, Buffer.from(command.value));
        return Outcome.Stored;
      case Op.Delete:
        return this.data.delete(command.key) ? Outcome.Deleted : Outcome.Absent;
      case Op.Cas: {
        const current = this.data.get(command.key);
        if (!current || !current.equals(command.expected)) return Outcome.NotSwapped;
        this.data.set(command.key, Buffer.from(command.value));
        return Outcome.Swapped;
      }
      case Op.MemberHttp:
        this.memberHttp.set(command.key, Buffer.from(command.value).toString('utf8'));
        return Outcome.Stored;
    }
  }
}
