import { encodeCommand, Op } from '../../examples/kv/commands';
import { SNAPSHOT_CHUNK_BYTES, snapshotChunks } from '../../examples/kv/snapshotChunks';
import { ValueArena } from '../../examples/kv/valueArena';
import { randomInt, seededRandom } from '../../src/random';

/** The snapshot stream as records built one by one: 4-byte length, then the command. */
function expectedStream(keys: string[], values: (string | Buffer)[], members: [string, string][]): Buffer {
  const records: Buffer[] = [];
  const add = (command: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(command.length);
    records.push(length, command);
  };
  for (const [id, address] of members) add(encodeCommand({ op: Op.MemberHttp, key: id, value: Buffer.from(address, 'utf8') }));
  keys.forEach((key, i) => {
    const v = values[i];
    add(encodeCommand({ op: Op.Put, key, value: typeof v === 'string' ? Buffer.from(v, 'latin1') : v }));
  });
  return Buffer.concat(records);
}

describe('KV snapshot chunks', () => {
  it('lays out every record as encodeCommand does, in chunks of exactly 1 MiB but the last (seeded)', () => {
    const random = seededRandom(23);
    const keys: string[] = [];
    const values: (string | Buffer)[] = [];
    for (let i = 0; i < 3_000; i++) {
      keys.push(`k${i}-${'é'.repeat(randomInt(random, 0, 3))}`);
      values.push(
        random() < 0.7
          ? String.fromCharCode(...Array.from({ length: randomInt(random, 0, 200) }, () => randomInt(random, 0, 255)))
          : Buffer.alloc(randomInt(random, 1024, 70_000), randomInt(random, 0, 255)),
      );
    }
    const members: [string, string][] = [['n1', '127.0.0.1:8001'], ['n2', '[::1]:8002']];
    const chunks = [...snapshotChunks(keys, values, members)];
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.slice(0, -1).every((c) => c.length === SNAPSHOT_CHUNK_BYTES)).toBe(true);
    expect(Buffer.concat(chunks).equals(expectedStream(keys, values, members))).toBe(true);
  });

  it('lays out values given as handles in an arena as it lays out their bytes, across chunk ends (seeded)', () => {
    const random = seededRandom(29);
    const arena = new ValueArena(() => undefined);
    const keys: string[] = [];
    const handles: number[] = [];
    const bytes: Buffer[] = [];
    for (let i = 0; i < 2_000; i++) {
      const value = Buffer.alloc(randomInt(random, 0, 1023), randomInt(random, 0, 255));
      keys.push(`key-${i}`);
      handles.push(arena.set(undefined, value, 0, value.length));
      bytes.push(value);
    }
    const chunks = [...snapshotChunks(keys, handles, [['n1', '127.0.0.1:8001']], { chunkBytes: 4096, arena: arena.pin() })];
    expect(chunks.length).toBeGreaterThan(200); // about 1 MB in 4 KiB chunks: many records span two
    expect(Buffer.concat(chunks).equals(expectedStream(keys, bytes, [['n1', '127.0.0.1:8001']]))).toBe(true);
    expect(() => [...snapshotChunks(['k'], [handles[0]], [])]).toThrow(/no arena/);
  });

  it('starts a new chunk when a record ends exactly where a chunk ends', () => {
    // One record of exactly 1 MiB (4 + 3 + 1 + value), then a small one.
    const value = Buffer.alloc(SNAPSHOT_CHUNK_BYTES - 8, 1);
    const chunks = [...snapshotChunks(['a', 'b'], [value, 'x'], [])];
    expect(chunks.map((c) => c.length)).toEqual([SNAPSHOT_CHUNK_BYTES, 9]);
    expect(Buffer.concat(chunks).equals(expectedStream(['a', 'b'], [value, 'x'], []))).toBe(true);
  });

  it('with reuse, refills the buffers it handed on once the next chunk is asked for: the same bytes, a few buffers (seeded)', () => {
    const random = seededRandom(37);
    const keys: string[] = [];
    const values: Buffer[] = [];
    for (let i = 0; i < 1_500; i++) {
      keys.push(`k${i}`);
      values.push(Buffer.alloc(random() < 0.01 ? randomInt(random, 5_000, 20_000) : randomInt(random, 0, 300), randomInt(random, 0, 255)));
    }
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (const chunk of snapshotChunks(keys, values, [], { chunkBytes: 4096, reuse: true })) {
      copies.push(Buffer.from(chunk)); // what storage does before rxraft asks for the next chunk
      buffers.add(chunk.buffer);
    }
    expect(copies.length).toBeGreaterThan(100);
    expect(Buffer.concat(copies).equals(expectedStream(keys, values, []))).toBe(true);
    expect(buffers.size).toBeLessThanOrEqual(8); // a value spanning several chunks fills several before they are handed on
  });

  it('yields nothing for an empty store', () => {
    expect([...snapshotChunks([], [], [])]).toEqual([]);
  });
});
