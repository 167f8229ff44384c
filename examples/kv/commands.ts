/**
 * The commands of the replicated key-value store, as the bytes that go into the Raft log.
 *
 * One entry holds one command, laid out flat (no JSON, no per-entry object encoding):
 *
 *     u8 op | u16 key length | key (UTF-8) | operands
 *
 *     Put        operands: value (the rest of the entry)
 *     Delete     operands: none
 *     Cas        operands: u32 expected length | expected | new value (the rest)
 *     MemberHttp operands: the member's HTTP address (UTF-8); `key` is the member id
 *
 * `MemberHttp` is bookkeeping of the example itself: the HTTP address of a member added at
 * run time, replicated so every node can point clients at the leader's HTTP endpoint.
 */

export const Op = {
  Put: 1,
  Delete: 2,
  Cas: 3,
  MemberHttp: 4,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export type Command =
  | { readonly op: typeof Op.Put; readonly key: string; readonly value: Uint8Array }
  | { readonly op: typeof Op.Delete; readonly key: string }
  | { readonly op: typeof Op.Cas; readonly key: string; readonly expected: Uint8Array; readonly value: Uint8Array }
  | { readonly op: typeof Op.MemberHttp; readonly key: string; readonly value: Uint8Array };

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

const HEADER_BYTES = 3;

/** A command that could not be decoded (a log written by something else, or a bug). */
export class BadCommandError extends Error {
  constructor(reason: string) {
    super(`bad command: ${reason}`);
    this.name = 'BadCommandError';
  }
}

/**
 * Lays out a command as bytes.
 *
 * @example
 * encodeCommand({ op: Op.Put, key: 'x', value: Buffer.from('1') }); // <01 00 01 78 31>
 */
export function encodeCommand(command: Command): Buffer {
  // The key is written straight into the command: no Buffer of its own per command.
  const keyBytes = Buffer.byteLength(command.key, 'utf8');
  if (keyBytes === 0 || keyBytes > MAX_KEY_BYTES) throw new RangeError(`key must be 1..${MAX_KEY_BYTES} bytes`);
  const operands = command.op === Op.Delete ? 0 : command.op === Op.Cas ? 4 + command.expected.byteLength + command.value.byteLength : command.value.byteLength;
  const out = Buffer.allocUnsafe(HEADER_BYTES + keyBytes + operands);
  out[0] = command.op;
  out.writeUInt16BE(keyBytes, 1);
  out.write(command.key, HEADER_BYTES, keyBytes, 'utf8');
  let at = HEADER_BYTES + keyBytes;
  switch (command.op) {
    case Op.Put:
    case Op.MemberHttp:
      out.set(command.value, at);
      break;
    case Op.Cas:
      out.writeUInt32BE(command.expected.byteLength, at);
      at += 4;
      out.set(command.expected, at);
      out.set(command.value, at + command.expected.byteLength);
      break;
    case Op.Delete:
      break;
  }
  return out;
}

/**
 * Where the parts of a command lie in its bytes (no copies, no views): what the state
 * machine reads on its hot path. `expected` is empty unless the op is `Cas`.
 */
export interface CommandLayout {
  readonly op: Op;
  readonly key: string;
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly expectedStart: number;
  readonly expectedEnd: number;
}

/** A `CommandLayout` that `commandLayout` may fill in place (see its `into`). */
export type CommandLayoutSlot = { -readonly [K in keyof CommandLayout]: CommandLayout[K] };

/** A blank slot for `commandLayout`'s `into`. */
export function layoutSlot(): CommandLayoutSlot {
  return { op: Op.Put, key: '', valueStart: 0, valueEnd: 0, expectedStart: 0, expectedEnd: 0 };
}

/**
 * As `decodeCommand`, but answers offsets into `buf` instead of views. Throws
 * `BadCommandError`. With `into`, fills and returns that slot instead of a new object:
 * the state machine applies tens of thousands of commands a second through one slot.
 *
 * @example
 * const slot = layoutSlot();
 * commandLayout(encodeCommand({ op: Op.Put, key: 'x', value }), slot) === slot; // true; slot.key === 'x'
 */
export function commandLayout(buf: Buffer, into: CommandLayoutSlot = layoutSlot()): CommandLayout {
  if (buf.length < HEADER_BYTES) throw new BadCommandError(`${buf.length} bytes`);
  const op = buf[0];
  const keyEnd = HEADER_BYTES + buf.readUInt16BE(1);
  if (keyEnd > buf.length) throw new BadCommandError('key runs past the end');
  let valueStart = keyEnd;
  let valueEnd = buf.length;
  let expectedStart = keyEnd;
  let expectedEnd = keyEnd;
  switch (op) {
    case Op.Put:
    case Op.MemberHttp:
      break;
    case Op.Delete:
      if (keyEnd !== buf.length) throw new BadCommandError('delete with operands');
      valueEnd = keyEnd;
      break;
    case Op.Cas:
      if (keyEnd + 4 > buf.length) throw new BadCommandError('cas without expected value');
      expectedStart = keyEnd + 4;
      expectedEnd = expectedStart + buf.readUInt32BE(keyEnd);
      if (expectedEnd > buf.length) throw new BadCommandError('expected value runs past the end');
      valueStart = expectedEnd;
      break;
    default:
      throw new BadCommandError(`unknown op ${op}`);
  }
  into.op = op as Op;
  into.key = buf.toString('utf8', HEADER_BYTES, keyEnd);
  into.valueStart = valueStart;
  into.valueEnd = valueEnd;
  into.expectedStart = expectedStart;
  into.expectedEnd = expectedEnd;
  return into;
}

/**
 * Reads a command laid out by `encodeCommand`. Values are views into `bytes` (no copy).
 * Throws `BadCommandError` for anything else.
 */
export function decodeCommand(bytes: Uint8Array): Command {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = commandLayout(buf);
  const value = buf.subarray(c.valueStart, c.valueEnd);
  switch (c.op) {
    case Op.Delete:
      return { op: c.op, key: c.key };
    case Op.Cas:
      return { op: c.op, key: c.key, expected: buf.subarray(c.expectedStart, c.expectedEnd), value };
    default:
      return { op: c.op as typeof Op.Put | typeof Op.MemberHttp, key: c.key, value };
  }
}
