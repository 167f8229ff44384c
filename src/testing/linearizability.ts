/**
 * A linearizability checker for key-value histories (see `history.ts` for the format).
 *
 * The search is Wing & Gong's, with Lowe's improvements:
 *
 * - P-compositionality: a key-value store is linearizable iff each key's sub-history is,
 *   so every key is searched on its own (a few hundred operations instead of thousands).
 *   The keys' searches take turns with growing slices of steps, so a violation in any
 *   key is found without first exhausting a hard key before it.
 * - Memoization: a configuration is the set of operations linearized so far plus the
 *   resulting value of the key. Whether it can be extended to a full linearization does
 *   not depend on the order that led to it, so each configuration is explored once.
 * - Just-in-time linearization: call and return events sit in one time-ordered doubly
 *   linked list. The search only tries operations whose call precedes the first pending
 *   return, i.e. those that may take effect before that operation must have returned.
 *   Linearizing an operation unlinks its two events; backtracking relinks them (the
 *   undo happens in reverse order, so the unlinked nodes still point at their place).
 *
 * Two further sound prunings keep 50-client histories fast:
 *
 * - Read-only operations first: a candidate that can never change the value (a get, a cas
 *   known to have failed) and that succeeds now is linearized at once, and alone. Every
 *   pending operation returns at or after the first pending return, so not before this
 *   candidate's call; moving the candidate forward to now keeps real-time order, and as
 *   it reads the same value wherever it succeeds, it changes nothing for the operations
 *   it moves past. So if any linearization exists, one starts with it, and no other
 *   candidate needs trying in that configuration. (A put of the current value is not
 *   read-only: later, it might overwrite something.)
 * - Values only grow: no operation deletes a key, and only put and cas replace a value,
 *   so a pending get must read an extension (a string starting with it) of the current
 *   value, or of the value of a pending put or cas that may come before the get. A
 *   value change that breaks this for some pending get is not tried. This prunes wrong
 *   orders of concurrent appends as soon as they are made, not when a get that sees
 *   them is reached.
 *
 * Times are closed intervals: an operation returning at t and another called at t are
 * concurrent.
 */

import { seededRandom } from '../random';
import { KvOperation, toOperation } from './history';

/** Options of `checkLinearizability`. */
export interface LinearizabilityOptions {
  /**
   * Maximum number of search steps per key (a step looks at one event of the list:
   * tries a call, or backtracks at a return). A key whose search needs more gets the
   * verdict `'unknown'`. Default `DEFAULT_LINEARIZABILITY_BUDGET`.
   */
  readonly budget?: number;
}

/** The outcome of `checkLinearizability`. */
export interface LinearizabilityResult {
  /**
   * `'ok'`: linearizable. `'violation'`: not linearizable. `'unknown'`: no violation was
   * found, but some key ran out of budget before its search finished.
   */
  readonly verdict: 'ok' | 'violation' | 'unknown';
  /**
   * For `'violation'`: the key found not linearizable (if several are found in the same
   * round, the first to appear in the history). For `'unknown'`: the first key, in order
   * of appearance, that ran out of budget.
   */
  readonly key?: string;
  /** Search steps taken, summed over the keys. */
  readonly steps: number;
}

/** Default search budget per key: 1,000,000 steps. */
export const DEFAULT_LINEARIZABILITY_BUDGET = 1_000_000;

/** Steps each key's search gets in the first round; the slice doubles every round. */
const FIRST_SLICE = 1024;

/**
 * Decides whether a key-value history is linearizable: whether every operation can be
 * given one instant within its `[call, return]` interval such that, applied in that
 * order, each get reads and each cas reports what the history says.
 *
 * An indeterminate operation (`return: null`) may take effect at any instant after its
 * call, or never; an indeterminate get is ignored, and so is any output of an
 * indeterminate operation.
 *
 * A violation in any key makes the verdict `'violation'` even if other keys ran out of
 * budget; a search that runs out of budget never yields `'ok'`.
 *
 * @throws HistoryFormatError if an operation is malformed (`line` is its index + 1).
 *
 * @example
 * checkLinearizability([
 *   { client: 0, call: 0, return: 10, op: 'put', key: 'x', value: '1' },
 *   { client: 1, call: 20, return: 30, op: 'get', key: 'x', output: null },
 * ]);
 * // → { verdict: 'violation', key: 'x', steps: 4 }   (the put completed before the get)
 */
export function checkLinearizability(
  history: readonly KvOperation[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const budget = options.budget ?? DEFAULT_LINEARIZABILITY_BUDGET;
  const byKey = new Map<string, KvOperation[]>();
  history.forEach((raw, i) => {
    const op = toOperation(raw, i + 1);
    let ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, (ops = []));
    ops.push(op);
  });

  const searches = [...byKey].map(([key, ops]) => ({ key, search: new KeySearch(ops) }));
  const totalSteps = () => searches.reduce((sum, s) => sum + s.search.steps, 0);
  let running = searches;
  let unknownKey: string | undefined;
  for (let slice = FIRST_SLICE; running.length > 0; slice *= 2) {
    const stillRunning: typeof searches = [];
    for (const s of running) {
      const outcome = s.search.run(Math.min(slice, budget - s.search.steps));
      if (outcome === 'violation') return { verdict: 'violation', key: s.key, steps: totalSteps() };
      if (outcome === 'paused') {
        if (s.search.steps < budget) stillRunning.push(s);
        else if (unknownKey === undefined || keyOrder(searches, s.key) < keyOrder(searches, unknownKey)) {
          unknownKey = s.key;
        }
      }
    }
    running = stillRunning;
  }
  return unknownKey === undefined
    ? { verdict: 'ok', steps: totalSteps() }
    : { verdict: 'unknown', key: unknownKey, steps: totalSteps() };
}

function keyOrder(searches: readonly { key: string }[], key: string): number {
  return searches.findIndex((s) => s.key === key);
}

/** An operation of one key as the search sees it, with its values interned. */
interface SearchOp {
  readonly kind: KvOperation['op'];
  readonly call: number;
  /** `Infinity` for an indeterminate operation. */
  readonly returnTime: number;
  /** Must be linearized (it returned); otherwise it may be left out. */
  readonly definite: boolean;
  /** Leaves the value unchanged wherever it succeeds: a get, or a cas known to fail. */
  readonly readOnly: boolean;
  /** put, append, cas: the value written. */
  readonly value: string;
  /** put, cas: the id of `value`; get: the id of the output; otherwise -1. */
  readonly valueId: number;
  /** cas: the id of `expected` (0: absent). */
  readonly expectedId: number;
  /** get: the value read; cas: whether it swapped; `undefined` if not to be checked. */
  readonly output: string | null | boolean | undefined;
  /** get with a string output: `prefixHashes[k]` is the hash of its first k characters. */
  readonly prefixHashes: Int32Array | undefined;
  /** get: the puts and cases that may come before it and write a prefix of its output. */
  rescuers: readonly number[];
}

/**
 * The resumable search over one key's sub-history.
 *
 * Values are interned as small integers (0: absent), so configurations and transitions
 * are compared as numbers and a growing appended string is built once per (value,
 * append), not once per visit.
 */
class KeySearch {
  /** Steps taken so far. */
  steps = 0;

  private readonly ops: SearchOp[];
  private readonly n: number;
  /** Definite operations not linearized yet; the search succeeds when it reaches 0. */
  private remaining: number;

  // Events 2i (call of op i) and 2i+1 (return of op i) in a doubly linked list ordered by
  // time, calls first at equal times (touching intervals are concurrent). Head sentinel
  // at 2n; -1 ends the list. Invariant: the linked events are those of the ops not
  // linearized, in time order.
  private readonly head: number;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  // Pending definite gets in order of return time: a second linked list over op
  // indices, sentinel at n, -1 ends it. Used by `extensible`.
  private readonly getNext: Int32Array;
  private readonly getPrev: Int32Array;

  private readonly values: (string | null)[] = [null];
  /** `stringHash` of each value (0 for absent). */
  private readonly valueHashes: number[] = [0];
  private readonly valueIds = new Map<string, number>();
  /** (value id * n + append op index) → resulting value id. */
  private readonly appended = new Map<number, number>();

  // Configurations seen: (linearized set, value id). The set is a bitset with an
  // incrementally maintained Zobrist hash; colliding entries are compared in full.
  // Invariant: every configuration in `seen` that is not on the stack has no
  // completion, so meeting it again needs no search.
  private readonly linearized: Uint32Array;
  private readonly zobrist: Int32Array;
  private hash = 0;
  private readonly seen = new Map<number, { bits: Uint32Array; valueId: number }[]>();

  // The stack of linearized calls, with the value before each and whether it was a
  // forced (read-only) choice. Invariant: depth <= n.
  private readonly stackEvent: Int32Array;
  private readonly stackValue: Int32Array;
  private readonly stackForced: Uint8Array;
  private depth = 0;

  // Where the search stands between calls of `run`.
  private valueId = 0;
  private entry: number;
  /** Whether the scan of the current configuration is looking for read-only ops. */
  private readOnlyPass = true;
  private outcome: 'ok' | 'violation' | undefined;

  constructor(history: readonly KvOperation[]) {
    // An indeterminate get neither constrains nor changes the value.
    const relevant = history.filter((op) => op.op !== 'get' || op.return !== null);
    this.ops = relevant.map((op) => this.toSearchOp(op));
    const n = (this.n = this.ops.length);
    this.remaining = this.ops.filter((o) => o.definite).length;
    if (this.remaining === 0) this.outcome = 'ok';

    const time = (e: number) => (e & 1 ? this.ops[e >> 1].returnTime : this.ops[e >> 1].call);
    const events = Array.from({ length: 2 * n }, (_, e) => e);
    events.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
    this.head = 2 * n;
    this.next = new Int32Array(2 * n + 1);
    this.prev = new Int32Array(2 * n + 1);
    linkInOrder(events, this.head, this.next, this.prev);
    this.entry = this.next[this.head];

    const gets = this.ops.flatMap((o, i) => (o.kind === 'get' ? [i] : []));
    gets.sort((a, b) => this.ops[a].returnTime - this.ops[b].returnTime || a - b);
    this.getNext = new Int32Array(n + 1);
    this.getPrev = new Int32Array(n + 1);
    linkInOrder(gets, n, this.getNext, this.getPrev);
    const resets = this.ops.flatMap((o, i) =>
      o.kind === 'put' || (o.kind === 'cas' && o.output !== false) ? [i] : [],
    );
    for (const get of this.ops) {
      const output = get.output;
      if (get.kind !== 'get' || typeof output !== 'string') continue;
      get.rescuers = resets.filter(
        (r) => this.ops[r].call <= get.returnTime && output.startsWith(this.ops[r].value),
      );
    }

    this.linearized = new Uint32Array((n + 31) >>> 5);
    const random = seededRandom(0x2545f491);
    this.zobrist = Int32Array.from({ length: n }, () => (random() * 2 ** 32) | 0);
    this.stackEvent = new Int32Array(n);
    this.stackValue = new Int32Array(n);
    this.stackForced = new Uint8Array(n);
  }

  /**
   * Searches for at most `maxSteps` more steps: `'ok'` or `'violation'` once decided
   * (and from then on), `'paused'` if undecided.
   */
  run(maxSteps: number): 'ok' | 'violation' | 'paused' {
    if (this.outcome !== undefined) return this.outcome;
    const { next, ops, head } = this;
    const stepLimit = this.steps + Math.max(0, maxSteps);
    let { entry, valueId, readOnlyPass, steps } = this;
    try {
      // Invariant: while remaining > 0 a definite return is still linked, so a scan
      // meets a return before it can run off the end of the list.
      while (steps < stepLimit) {
        steps++;
        let dead = false;
        if ((entry & 1) === 0) {
          // A call: try to linearize op i now, if this pass is for its kind.
          const i = entry >> 1;
          const to = this.transition(valueId, i);
          if (to !== -1 && ops[i].readOnly === readOnlyPass) {
            this.toggle(i);
            if ((readOnlyPass || this.extensible(to)) && this.remember(to)) {
              this.push(entry, valueId, readOnlyPass);
              valueId = to;
              if (ops[i].definite && --this.remaining === 0) {
                this.outcome = 'ok';
                return 'ok';
              }
              readOnlyPass = true;
              entry = next[head];
              continue;
            }
            this.toggle(i);
            // A forced op leading nowhere: the configuration leads nowhere either.
            dead = readOnlyPass;
          }
          if (!dead) {
            entry = next[entry];
            continue;
          }
        } else if (readOnlyPass) {
          // The first pending return ends the candidates; none was read-only.
          readOnlyPass = false;
          entry = next[head];
          continue;
        }
        // Dead end: every candidate before the first pending return failed, or a forced
        // op did. Undo choices up to the last unforced one; try the candidate after it.
        let forced: boolean;
        do {
          if (this.depth === 0) {
            this.outcome = 'violation';
            return 'violation';
          }
          ({ entry, valueId, forced } = this.pop());
        } while (forced);
        readOnlyPass = false;
        entry = next[entry];
      }
      return 'paused';
    } finally {
      Object.assign(this, { entry, valueId, readOnlyPass, steps });
    }
  }

  private toSearchOp(op: KvOperation): SearchOp {
    const definite = op.return !== null;
    const searchOp = {
      kind: op.op,
      call: op.call,
      returnTime: op.return ?? Infinity,
      definite,
      readOnly: op.op === 'get' || (op.op === 'cas' && definite && op.output === false),
      value: '',
      valueId: -1,
      expectedId: -1,
      output: undefined as string | null | boolean | undefined,
      prefixHashes: undefined as Int32Array | undefined,
      rescuers: [] as number[],
    };
    switch (op.op) {
      case 'get':
        searchOp.valueId = this.intern(op.output ?? null);
        searchOp.output = op.output;
        if (typeof op.output === 'string') searchOp.prefixHashes = prefixHashes(op.output);
        break;
      case 'put':
        searchOp.value = op.value;
        searchOp.valueId = this.intern(op.value);
        break;
      case 'append':
        searchOp.value = op.value;
        break;
      case 'cas':
        searchOp.value = op.value;
        searchOp.valueId = this.intern(op.value);
        searchOp.expectedId = this.intern(op.expected);
        searchOp.output = definite ? op.output : undefined;
        break;
    }
    return searchOp;
  }

  private intern(value: string | null, hash = value === null ? 0 : stringHash(0, value)): number {
    if (value === null) return 0;
    let id = this.valueIds.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.valueHashes.push(hash);
      this.valueIds.set(value, id);
    }
    return id;
  }

  /** The value id after applying op i to `valueId`, or -1 if its output contradicts. */
  private transition(valueId: number, i: number): number {
    const op = this.ops[i];
    switch (op.kind) {
      case 'get':
        return op.valueId === valueId ? valueId : -1;
      case 'put':
        return op.valueId;
      case 'append': {
        const key = valueId * this.n + i;
        let to = this.appended.get(key);
        if (to === undefined) {
          const value = (this.values[valueId] ?? '') + op.value;
          to = this.intern(value, stringHash(this.valueHashes[valueId], op.value));
          this.appended.set(key, to);
        }
        return to;
      }
      case 'cas': {
        const swapped = valueId === op.expectedId;
        if (op.output !== undefined && op.output !== swapped) return -1;
        return swapped ? op.valueId : valueId;
      }
    }
  }

  /**
   * False if the value `valueId` (just written) can no longer satisfy some pending get.
   * The value a get reads is this one or the value of the last put or successful cas
   * before it, extended by appends; so it must start with this value or with that of a
   * pending put or cas that may come before the get. Call with the op that wrote the
   * value already marked linearized.
   */
  private extensible(valueId: number): boolean {
    const value = this.values[valueId];
    if (value === null) return true;
    const length = value.length;
    const hash = this.valueHashes[valueId];
    for (let g = this.getNext[this.n]; g !== -1; g = this.getNext[g]) {
      const get = this.ops[g];
      const prefixes = get.prefixHashes;
      if (prefixes === undefined) return false; // it reads absent: too late for that
      // Equal hashes may be a collision, which only weakens the pruning; unequal hashes
      // prove that the output does not start with the value.
      if (length < prefixes.length && prefixes[length] === hash) continue;
      if (!this.rescuable(get)) return false;
    }
    return true;
  }

  /** Whether a pending put or cas that may come before `get` writes a prefix of its output. */
  private rescuable(get: SearchOp): boolean {
    for (const r of get.rescuers) if (!this.isLinearized(r)) return true;
    return false;
  }

  private isLinearized(i: number): boolean {
    return (this.linearized[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  private toggle(i: number): void {
    this.linearized[i >>> 5] ^= 1 << (i & 31);
    this.hash ^= this.zobrist[i];
  }

  /** Records the current configuration with `valueId`; false if it was seen before. */
  private remember(valueId: number): boolean {
    const h = (this.hash ^ Math.imul(valueId + 1, 0x9e3779b1)) >>> 0;
    let bucket = this.seen.get(h);
    if (bucket === undefined) this.seen.set(h, (bucket = []));
    for (const c of bucket) {
      if (c.valueId === valueId && sameBits(c.bits, this.linearized)) return false;
    }
    bucket.push({ bits: this.linearized.slice(), valueId });
    return true;
  }

  /** Linearizes the call `entry` (already marked in the bitset). */
  private push(entry: number, valueBefore: number, forced: boolean): void {
    const d = this.depth++;
    this.stackEvent[d] = entry;
    this.stackValue[d] = valueBefore;
    this.stackForced[d] = forced ? 1 : 0;
    const i = entry >> 1;
    unlink(entry, this.next, this.prev);
    unlink(entry + 1, this.next, this.prev);
    if (this.ops[i].kind === 'get') unlink(i, this.getNext, this.getPrev);
  }

  /** Undoes the last linearization. */
  private pop(): { entry: number; valueId: number; forced: boolean } {
    const d = --this.depth;
    const entry = this.stackEvent[d];
    const i = entry >> 1;
    this.toggle(i);
    if (this.ops[i].definite) this.remaining++;
    if (this.ops[i].kind === 'get') relink(i, this.getNext, this.getPrev);
    relink(entry + 1, this.next, this.prev);
    relink(entry, this.next, this.prev);
    return { entry, valueId: this.stackValue[d], forced: this.stackForced[d] === 1 };
  }
}

/** Links `items` after the sentinel `head`, in order; -1 ends the list. */
function linkInOrder(items: readonly number[], head: number, next: Int32Array, prev: Int32Array): void {
  let last = head;
  for (const item of items) {
    next[last] = item;
    prev[item] = last;
    last = item;
  }
  next[last] = -1;
}

function unlink(e: number, next: Int32Array, prev: Int32Array): void {
  next[prev[e]] = next[e];
  if (next[e] !== -1) prev[next[e]] = prev[e];
}

/** Undoes `unlink(e)`; undo in reverse order of unlinking. */
function relink(e: number, next: Int32Array, prev: Int32Array): void {
  next[prev[e]] = e;
  if (next[e] !== -1) prev[next[e]] = e;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** Polynomial hash of `hash`'s string followed by `suffix` (32 bits, wrapping). */
function stringHash(hash: number, suffix: string): number {
  let h = hash;
  for (let k = 0; k < suffix.length; k++) h = (Math.imul(h, 31) + suffix.charCodeAt(k)) | 0;
  return h;
}

/** `stringHash` of every prefix of `s`, by length. */
function prefixHashes(s: string): Int32Array {
  const hashes = new Int32Array(s.length + 1);
  for (let k = 0; k < s.length; k++) hashes[k + 1] = Math.imul(hashes[k], 31) + s.charCodeAt(k);
  return hashes;
}
