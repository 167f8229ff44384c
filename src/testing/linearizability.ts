/**
 * A linearizability checker for key-value histories (see `history.ts` for the format).
 *
 * The search is Wing & Gong's, with Lowe's improvements:
 *
 * - P-compositionality: a key-value store is linearizable iff each key's sub-history is,
 *   so every key is checked on its own (a few hundred operations instead of thousands).
 * - Memoization: a configuration is the set of operations linearized so far plus the
 *   resulting value of the key. Whether it can be extended to a full linearization does
 *   not depend on the order that led to it, so each configuration is explored once.
 * - Just-in-time linearization: call and return events sit in one time-ordered doubly
 *   linked list. The search only tries operations whose call precedes the first pending
 *   return, i.e. those that may take effect before that operation must have returned.
 *   Linearizing an operation unlinks its two events; backtracking relinks them (the
 *   undo happens in reverse order, so the unlinked nodes still point at their place).
 *
 * Times are closed intervals: an operation returning at t and another called at t are
 * concurrent.
 */

import { KvOperation, toOperation } from './history';

/** Options of `checkLinearizability`. */
export interface LinearizabilityOptions {
  /**
   * Maximum number of search steps per key (one step: try one operation, or undo one).
   * A key whose search needs more gets the verdict `'unknown'`. Default 1,000,000.
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
  /** For `'violation'`: the first key found not linearizable; for `'unknown'`: the first
   * key that ran out of budget. Keys are taken in order of first appearance. */
  readonly key?: string;
  /** Search steps taken, summed over the keys checked. */
  readonly steps: number;
}

/** Default search budget per key. */
export const DEFAULT_LINEARIZABILITY_BUDGET = 1_000_000;

/**
 * Decides whether a key-value history is linearizable: whether every operation can be
 * given one instant within its `[call, return]` interval such that, applied in that
 * order, each get reads and each cas reports what the history says.
 *
 * An indeterminate operation (`return: null`) may take effect at any instant after its
 * call, or never; an indeterminate get is ignored, and so is any output of an
 * indeterminate operation. An operation with a `return` but no `output` (the caller did
 * not look) must take effect, with any result.
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
 * // → { verdict: 'violation', key: 'x', steps: 3 }   (the put completed before the get)
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

  let steps = 0;
  let unknownKey: string | undefined;
  for (const [key, ops] of byKey) {
    const result = checkKey(ops, budget);
    steps += result.steps;
    if (result.verdict === 'violation') return { verdict: 'violation', key, steps };
    if (result.verdict === 'unknown' && unknownKey === undefined) unknownKey = key;
  }
  return unknownKey === undefined
    ? { verdict: 'ok', steps }
    : { verdict: 'unknown', key: unknownKey, steps };
}

/** The value of one key: a string, or `null` when absent. */
type KvValue = string | null;

/**
 * An operation of one key as the search sees it.
 *
 * Invariant: `definite === (returnTime !== Infinity)`.
 */
interface SearchOp {
  readonly op: KvOperation;
  readonly call: number;
  readonly returnTime: number;
  /** Must be linearized (it returned); otherwise it may be left out. */
  readonly definite: boolean;
  /** Whether the history's output constrains the result. */
  readonly checkOutput: boolean;
}

/**
 * Applies `op` to `value`: the new value, or `undefined` if the result would contradict
 * the output the history recorded.
 */
function apply(value: KvValue, s: SearchOp): KvValue | undefined {
  const op = s.op;
  switch (op.op) {
    case 'get':
      return !s.checkOutput || op.output === value ? value : undefined;
    case 'put':
      return op.value;
    case 'append':
      return (value ?? '') + op.value;
    case 'cas': {
      const swapped = value === op.expected;
      if (s.checkOutput && op.output !== swapped) return undefined;
      return swapped ? op.value : value;
    }
  }
}

/** Checks the sub-history of one key. */
function checkKey(
  history: readonly KvOperation[],
  budget: number,
): { verdict: 'ok' | 'violation' | 'unknown'; steps: number } {
  // A get that returned nothing observed neither constrains nor changes the value.
  const ops: SearchOp[] = history
    .filter((op) => !(op.op === 'get' && (op.return === null || op.output === undefined)))
    .map((op) => ({
      op,
      call: op.call,
      returnTime: op.return ?? Infinity,
      definite: op.return !== null,
      checkOutput: op.return !== null && 'output' in op && op.output !== undefined,
    }));
  const n = ops.length;
  let remaining = ops.filter((o) => o.definite).length;
  if (remaining === 0) return { verdict: 'ok', steps: 0 };

  // Events 2i (call of op i) and 2i+1 (return of op i), time-ordered; at equal times
  // calls come first, so touching intervals count as concurrent.
  const order = Array.from({ length: 2 * n }, (_, e) => e);
  const time = (e: number) => (e & 1 ? ops[e >> 1].returnTime : ops[e >> 1].call);
  order.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);

  // Doubly linked list over events, head sentinel at index 2n, -1 as the end.
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = head;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = -1;
  const unlink = (e: number) => {
    next[prev[e]] = next[e];
    if (next[e] !== -1) prev[next[e]] = prev[e];
  };
  const relink = (e: number) => {
    next[prev[e]] = e;
    if (next[e] !== -1) prev[next[e]] = e;
  };

  // Values are interned as small integers (0 is absent) and transitions memoized, so a
  // growing appended string is built once per (value, operation), not once per visit.
  const values: KvValue[] = [null];
  const valueIds = new Map<string, number>();
  const transitions = new Map<number, number>();
  const step = (valueId: number, i: number): number => {
    const key = valueId * n + i;
    let to = transitions.get(key);
    if (to === undefined) {
      const value = apply(values[valueId], ops[i]);
      if (value === undefined) to = -1;
      else if (value === null) to = 0;
      else {
        to = valueIds.get(value);
        if (to === undefined) {
          to = values.length;
          values.push(value);
          valueIds.set(value, to);
        }
      }
      transitions.set(key, to);
    }
    return to;
  };

  // Configurations seen: (linearized set, value). The set is a bitset with an
  // incrementally maintained Zobrist hash; colliding entries are compared in full.
  const words = (n + 31) >>> 5;
  const linearized = new Uint32Array(words);
  const zobrist = randomWords(n);
  let hash = 0;
  const seen = new Map<number, { bits: Uint32Array; valueId: number }[]>();
  /** Records the current configuration; false if it had been seen already. */
  const remember = (valueId: number): boolean => {
    const h = (hash ^ Math.imul(valueId + 1, 0x9e3779b1)) >>> 0;
    let bucket = seen.get(h);
    if (bucket === undefined) seen.set(h, (bucket = []));
    for (const c of bucket) {
      if (c.valueId === valueId && sameBits(c.bits, linearized)) return false;
    }
    bucket.push({ bits: linearized.slice(), valueId });
    return true;
  };
  const toggle = (i: number) => {
    linearized[i >>> 5] ^= 1 << (i & 31);
    hash ^= zobrist[i];
  };

  // Stack of linearized calls, with the value before each.
  const stackEvent = new Int32Array(n);
  const stackValue = new Int32Array(n);
  let depth = 0;
  let valueId = 0;
  let steps = 0;
  let entry = next[head];
  // Invariant: while remaining > 0 a definite return is still linked, so the scan meets a
  // return before it can run off the end of the list.
  while (entry !== -1) {
    if (steps >= budget) return { verdict: 'unknown', steps };
    steps++;
    const i = entry >> 1;
    if ((entry & 1) === 0) {
      // A call: try to linearize op i now.
      const to = step(valueId, i);
      if (to !== -1) {
        toggle(i);
        if (remember(to)) {
          stackEvent[depth] = entry;
          stackValue[depth] = valueId;
          depth++;
          valueId = to;
          unlink(entry);
          unlink(entry + 1);
          if (ops[i].definite && --remaining === 0) return { verdict: 'ok', steps };
          entry = next[head];
          continue;
        }
        toggle(i);
      }
      entry = next[entry];
    } else {
      // The first pending return: op i must come before everything after it, and every
      // candidate before it failed. Undo the last choice and try the next one.
      if (depth === 0) return { verdict: 'violation', steps };
      depth--;
      entry = stackEvent[depth];
      valueId = stackValue[depth];
      const j = entry >> 1;
      toggle(j);
      if (ops[j].definite) remaining++;
      relink(entry + 1);
      relink(entry);
      entry = next[entry];
    }
  }
  throw new Error('linearizability search ran off the event list (bug)');
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** `count` pseudo-random 32-bit words from a fixed seed (mulberry32), for Zobrist hashing. */
function randomWords(count: number): Int32Array {
  const out = new Int32Array(count);
  let s = 0x2545f491;
  for (let k = 0; k < count; k++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[k] = t ^ (t >>> 14);
  }
  return out;
}
