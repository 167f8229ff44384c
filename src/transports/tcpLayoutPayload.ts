/**
 * The payload of a positional layout (`tcpLayouts.ts`), read and written directly: one
 * msgpack array of scalars (unsigned integers, float64, booleans, nil, strings, bin).
 * Both are fast paths beside msgpack-lite, not a second codec: what they do not handle,
 * msgpack-lite does, and the bytes are the same msgpack either way.
 */

/**
 * Reads a layout payload straight from a frame. msgpack-lite copies every bin it decodes
 * into a fresh buffer, which for an AppendEntries frame means allocating and copying the
 * whole entries block (about a tenth of the receiver's time). This reader returns bin
 * values as views into the frame instead.
 *
 * On anything it does not read (other types, nesting, bytes left over, a truncated
 * value) it returns `undefined`, and the caller decodes the payload with msgpack-lite,
 * which accepts or rejects it as before.
 *
 * A string whose bytes are those of `known` (the sending peer's id, which messages naming
 * their sender must carry) is returned as `known` itself, without decoding a new string.
 *
 * @example
 * readLayoutPayload(msgpack.encode([2, true]), 0); // [2, true]
 * readLayoutPayload(msgpack.encode([{ a: 1 }]), 0); // undefined: not a flat array
 * readLayoutPayload(msgpack.encode([3, 'n1']), 0, KnownString.of('n1')); // [3, 'n1']: that very string
 */
export function readLayoutPayload(body: Buffer, start: number, known?: KnownString): unknown[] | undefined {
  const end = body.length;
  if (start >= end) return undefined;
  const header = body[start];
  if (header < 0x90 || header > 0x9f) return undefined; // fixarray only: layouts hold at most 15 fields
  const count = header & 0x0f;
  const values: unknown[] = new Array(count);
  let at = start + 1;
  for (let i = 0; i < count; i++) {
    if (at >= end) return undefined;
    const type = body[at++];
    let length = -1; // for str and bin: the byte length that follows
    let isString = false;
    if (type < 0x80) {
      values[i] = type;
      continue;
    }
    if (type >= 0xa0 && type <= 0xbf) {
      length = type & 0x1f;
      isString = true;
    } else {
      switch (type) {
        case 0xc0:
          values[i] = null;
          continue;
        case 0xc2:
          values[i] = false;
          continue;
        case 0xc3:
          values[i] = true;
          continue;
        case 0xcc:
          if (at + 1 > end) return undefined;
          values[i] = body[at];
          at += 1;
          continue;
        case 0xcd:
          if (at + 2 > end) return undefined;
          values[i] = body.readUInt16BE(at);
          at += 2;
          continue;
        case 0xce:
          if (at + 4 > end) return undefined;
          values[i] = body.readUInt32BE(at);
          at += 4;
          continue;
        case 0xcb:
          if (at + 8 > end) return undefined;
          values[i] = body.readDoubleBE(at);
          at += 8;
          continue;
        case 0xd9:
        case 0xc4:
          if (at + 1 > end) return undefined;
          length = body[at];
          at += 1;
          break;
        case 0xda:
        case 0xc5:
          if (at + 2 > end) return undefined;
          length = body.readUInt16BE(at);
          at += 2;
          break;
        case 0xdb:
        case 0xc6:
          if (at + 4 > end) return undefined;
          length = body.readUInt32BE(at);
          at += 4;
          break;
        default:
          return undefined;
      }
      isString = type === 0xd9 || type === 0xda || type === 0xdb;
    }
    if (at + length > end) return undefined;
    if (!isString) values[i] = body.subarray(at, at + length);
    else values[i] = known !== undefined && known.isAt(body, at, length) ? known.value : body.toString('utf8', at, at + length);
    at += length;
  }
  return at === end ? values : undefined;
}

/** A string expected in payloads, with its UTF-8 bytes to recognize it by (`readLayoutPayload`). */
export class KnownString {
  private constructor(
    readonly value: string,
    private readonly bytes: Buffer,
  ) {}

  static of(value: string): KnownString {
    return new KnownString(value, Buffer.from(value, 'utf8'));
  }

  /** Whether msgpack writes it as a fixstr (at most 31 bytes), the form `writeAt` writes. */
  get isFixstr(): boolean {
    return this.bytes.length < 0x20;
  }

  /** Writes the string as a msgpack fixstr (`isFixstr`) at `at` in `out`; returns where it ends. */
  writeAt(out: Buffer, at: number): number {
    out[at] = 0xa0 | this.bytes.length;
    out.set(this.bytes, at + 1);
    return at + 1 + this.bytes.length;
  }

  /** Whether `body[at, at + length)` holds exactly this string's bytes. */
  isAt(body: Buffer, at: number, length: number): boolean {
    const bytes = this.bytes;
    if (length !== bytes.length) return false;
    for (let i = 0; i < length; i++) if (body[at + i] !== bytes[i]) return false;
    return true;
  }
}

/**
 * Room for any payload this writer accepts: a header, then at most 15 values of at most
 * 3 header bytes and 1024 characters of at most 3 UTF-8 bytes each.
 */
const scratch = Buffer.allocUnsafe(1 + 15 * (3 + 3 * 1024));

/**
 * Writes `values` as a msgpack array the way msgpack-lite would (the shortest encoding
 * of each unsigned integer, UTF-8 strings) and returns a view of the bytes, valid until
 * the next call; or `undefined` when a value is of a kind it leaves to msgpack-lite
 * (anything but integers in [0, 2^31), booleans, null and strings of up to 1024 chars).
 * Avoids msgpack-lite's per-value dispatch for the small messages of every RPC. The
 * string `known` (the sender's own id, in every message naming its sender) is copied from
 * its bytes instead of being encoded again.
 *
 * @example
 * writeLayoutPayload([2, true]); // <Buffer 92 02 c3>, as msgpack.encode([2, true])
 */
export function writeLayoutPayload(values: readonly unknown[], known?: KnownString): Buffer | undefined {
  const out = scratch;
  if (values.length > 15) return undefined;
  out[0] = 0x90 | values.length;
  let at = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) return undefined; // msgpack-lite writes float64 from 2^31
      if (v < 0x80) out[at++] = v;
      else if (v < 0x100) {
        out[at++] = 0xcc;
        out[at++] = v;
      } else if (v < 0x10000) {
        out[at++] = 0xcd;
        at = out.writeUInt16BE(v, at);
      } else {
        out[at++] = 0xce;
        at = out.writeUInt32BE(v, at);
      }
    } else if (typeof v === 'boolean') {
      out[at++] = v ? 0xc3 : 0xc2;
    } else if (v === null) {
      out[at++] = 0xc0;
    } else if (known !== undefined && v === known.value && known.isFixstr) {
      at = known.writeAt(out, at);
    } else if (typeof v === 'string' && v.length <= 1024) {
      const length = Buffer.byteLength(v);
      if (length < 0x20) out[at++] = 0xa0 | length;
      else if (length < 0x100) {
        out[at++] = 0xd9;
        out[at++] = length;
      } else {
        out[at++] = 0xda;
        at = out.writeUInt16BE(length, at);
      }
      at += out.write(v, at, 'utf8');
    } else {
      return undefined;
    }
  }
  return out.subarray(0, at);
}
