/**
 * Reads the payload of a positional layout (`tcpLayouts.ts`) straight from a frame: one
 * msgpack array of scalars (unsigned integers, float64, booleans, nil, strings, bin).
 *
 * msgpack-lite copies every bin it decodes into a fresh buffer, which for an
 * AppendEntries frame means allocating and copying the whole entries block (about a
 * tenth of the receiver's time). This reader returns bin values as views into the frame
 * instead, and reads the scalars the transport's own encoder writes.
 *
 * It is a fast path, not a second decoder: on anything it does not read (other types,
 * nesting, bytes left over, a truncated value) it returns `undefined`, and the caller
 * decodes the payload with msgpack-lite, which accepts or rejects it as before.
 *
 * @example
 * readLayoutPayload(msgpack.encode([2, true]), 0); // [2, true]
 * readLayoutPayload(msgpack.encode([{ a: 1 }]), 0); // undefined: not a flat array
 */
export function readLayoutPayload(body: Buffer, start: number): unknown[] | undefined {
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
    values[i] = isString ? body.toString('utf8', at, at + length) : body.subarray(at, at + length);
    at += length;
  }
  return at === end ? values : undefined;
}
