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
  const key = Buffer.from(command.key, 'utf8');
  if (key.length === 0 || key.length > MAX_KEY_BYTES) throw new RangeError(`key must be 1..${MAX_KEY_BYTES} bytes`);
  const operands = command.op === Op.Delete ? 0 : command.op === Op.Cas ? 4 + command.expected.byteLength + command.value.byteLength : command.value.byteLength;
  const out = Buffer.allocUnsafe(HEADER_BYTES + key.length + operands);
  out[0] = command.op;
  out.writeUInt16BE(key.length, 1);
  key.copy(out, HEADER_BYTES);
  let at = HEADER_BYTES + key.length;
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

/** As `decodeCommand`, but answers offsets into `buf` instead of views. Throws `BadCommandError`. */
export function commandLayout(buf: Buffer): CommandLayout {
  if (buf.length < HEADER_BYTES) throw new BadCommandError(`${buf.length} bytes`);
  const op = buf[0];
  const keyEnd = HEADER_BYTES + buf.readUInt16BE(1);
  if (keyEnd > buf.length) throw new BadCommandError('key runs past the end');
  const key = buf.toString('utf8', HEADER_BYTES, keyEnd);
  switch (op) {
    case Op.Put:
    case Op.MemberHttp:
      return { op, key, valueStart: keyEnd, valueEnd: buf.length, expectedStart: keyEnd, expectedEnd: keyEnd };
    case Op.Delete:
      if (keyEnd !== buf.length) throw new BadCommandError('delete with operands');
      return { op, key, valueStart: keyEnd, valueEnd: keyEnd, expectedStart: keyEnd, expectedEnd: keyEnd };
    case Op.Cas: {
      if (keyEnd + 4 > buf.length) throw new BadCommandError('cas without expected value');
      const expectedEnd = keyEnd + 4 + buf.readUInt32BE(keyEnd);
      if (expectedEnd > buf.length) throw new BadCommandError('expected value runs past the end');
      return { op, key, valueStart: expectedEnd, valueEnd: buf.length, expectedStart: keyEnd + 4, expectedEnd };
    }
    default:
      throw new BadCommandError(`unknown op ${op}`);
  }
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
