/**
 * Key-value histories: the operations a workload's clients issued, with the times they
 * were called and returned, in the JSON Lines format of `../shared/histories/README.md`.
 *
 * One operation per line:
 *
 * ```json
 * {"client":0,"call":100,"return":200,"op":"put","key":"x","value":"1"}
 * {"client":1,"call":150,"return":260,"op":"get","key":"x","output":"1"}
 * {"client":2,"call":120,"return":400,"op":"append","key":"y","value":"ab"}
 * {"client":3,"call":500,"return":650,"op":"cas","key":"x","expected":"1","value":"2","output":true}
 * {"client":4,"call":700,"return":null,"op":"put","key":"x","value":"9"}
 * ```
 */

import { RaftError } from '../errors';

/** Fields shared by every key-value operation. */
interface KvOperationBase {
  /** The sequential client that issued the operation. */
  readonly client: number;
  /** When the operation was invoked. */
  readonly call: number;
  /**
   * When the operation returned, or `null` if it is indeterminate (timed out, crashed):
   * it may or may not have taken effect.
   *
   * Invariant: `return === null || call <= return`.
   */
  readonly return: number | null;
  readonly key: string;
}

/** Reads `key`; `output` is the value read, or `null` if the key was absent. */
export interface KvGet extends KvOperationBase {
  readonly op: 'get';
  /** May be absent only when `return` is `null`; ignored then. */
  readonly output?: string | null;
}

/** Sets `key` to `value`. */
export interface KvPut extends KvOperationBase {
  readonly op: 'put';
  readonly value: string;
}

/** Appends `value` to `key`; appending to an absent key creates it. */
export interface KvAppend extends KvOperationBase {
  readonly op: 'append';
  readonly value: string;
}

/**
 * Compare-and-swap: if `key` currently holds `expected` (`null`: the key is absent), set
 * it to `value`. `output` says whether it swapped.
 */
export interface KvCas extends KvOperationBase {
  readonly op: 'cas';
  readonly expected: string | null;
  readonly value: string;
  /** May be absent only when `return` is `null`; ignored then. */
  readonly output?: boolean;
}

/** One operation of a key-value history. */
export type KvOperation = KvGet | KvPut | KvAppend | KvCas;

/** A history line (or operation) that does not follow the format. */
export class HistoryFormatError extends RaftError {
  override readonly name = 'HistoryFormatError';

  /**
   * @param line 1-based line number of the offending operation (for an array of
   *   operations: its index + 1, i.e. its line in `formatHistory(ops)`).
   * @param reason what is wrong with it.
   */
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/**
 * Parses a JSON Lines history. Blank lines are skipped (but still counted); fields not in
 * the format are ignored.
 *
 * @throws HistoryFormatError naming the first bad line.
 *
 * @example
 * parseHistory('{"client":0,"call":1,"return":2,"op":"get","key":"x","output":null}\n');
 * // → [{ client: 0, call: 1, return: 2, op: 'get', key: 'x', output: null }]
 */
export function parseHistory(text: string): KvOperation[] {
  const ops: KvOperation[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new HistoryFormatError(i + 1, `invalid JSON (${(e as Error).message})`);
    }
    ops.push(toOperation(value, i + 1));
  }
  return ops;
}

/**
 * Serializes operations as JSON Lines, one per line with fields in a fixed order, ending
 * with a newline. `parseHistory(formatHistory(ops))` gives back `ops`.
 *
 * @example
 * formatHistory([{ client: 0, call: 1, return: null, op: 'put', key: 'x', value: '1' }]);
 * // → '{"client":0,"call":1,"return":null,"op":"put","key":"x","value":"1"}\n'
 */
export function formatHistory(ops: readonly KvOperation[]): string {
  return ops.map((op) => JSON.stringify(canonical(op)) + '\n').join('');
}

/**
 * Checks that `value` is a well-formed operation and returns it as one, keeping only the
 * format's fields.
 *
 * @param line reported in the `HistoryFormatError` if it is not.
 *
 * @example
 * toOperation({ client: 0, call: 5, return: 3, op: 'put', key: 'x', value: '1' }, 7);
 * // throws HistoryFormatError: line 7: return (3) is before call (5)
 */
export function toOperation(value: unknown, line: number): KvOperation {
  const fail = (reason: string): never => {
    throw new HistoryFormatError(line, reason);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('expected a JSON object');
  }
  const o = value as Record<string, unknown>;
  const time = (field: string): number => {
    const t = o[field];
    if (typeof t !== 'number' || !Number.isFinite(t)) fail(`"${field}" must be a finite number`);
    return t as number;
  };
  const str = (field: string): string => {
    if (typeof o[field] !== 'string') fail(`"${field}" must be a string`);
    return o[field] as string;
  };
  const strOrNull = (field: string): string | null => {
    const v = o[field];
    if (v !== null && typeof v !== 'string') fail(`"${field}" must be a string or null`);
    return v as string | null;
  };

  if (!Number.isInteger(o.client)) fail('"client" must be an integer');
  const client = o.client as number;
  const call = time('call');
  if (!('return' in o)) fail('"return" is missing (use null for an indeterminate operation)');
  const ret = o.return === null ? null : time('return');
  if (ret !== null && ret < call) fail(`return (${ret}) is before call (${call})`);
  const key = str('key');
  const base = { client, call, return: ret, key };
  const hasOutput = 'output' in o && o.output !== undefined;
  const outputRequired = ret !== null;

  switch (o.op) {
    case 'get': {
      if (!hasOutput) {
        if (outputRequired) fail('"output" is missing (a string, or null for an absent key)');
        return { ...base, op: 'get' };
      }
      return { ...base, op: 'get', output: strOrNull('output') };
    }
    case 'put':
      return { ...base, op: 'put', value: str('value') };
    case 'append':
      return { ...base, op: 'append', value: str('value') };
    case 'cas': {
      if (!('expected' in o)) fail('"expected" is missing (a string, or null for "absent")');
      const cas = { ...base, op: 'cas' as const, expected: strOrNull('expected'), value: str('value') };
      if (!hasOutput) {
        if (outputRequired) fail('"output" is missing (a boolean)');
        return cas;
      }
      if (typeof o.output !== 'boolean') fail('"output" must be a boolean');
      return { ...cas, output: o.output as boolean };
    }
    default:
      return fail(`"op" must be one of get, put, append, cas (got ${JSON.stringify(o.op)})`);
  }
}

/** The operation's format fields, in the order the README shows them. */
function canonical(op: KvOperation): Record<string, unknown> {
  const base = { client: op.client, call: op.call, return: op.return, op: op.op, key: op.key };
  switch (op.op) {
    case 'get':
      return op.output === undefined ? base : { ...base, output: op.output };
    case 'put':
    case 'append':
      return { ...base, value: op.value };
    case 'cas': {
      const cas = { ...base, expected: op.expected, value: op.value };
      return op.output === undefined ? cas : { ...cas, output: op.output };
    }
  }
}
