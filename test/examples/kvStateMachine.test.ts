import { BadCommandError, Command, decodeCommand, encodeCommand, Op } from '../../examples/kv/commands';
import { parseIdempotencyKey } from '../../examples/kv/http';
import { SNAPSHOT_CHUNK_BYTES } from '../../examples/kv/snapshotChunks';
import { KvStateMachine, LARGE_VALUE_BYTES, Outcome, OUTCOME_WINDOW, SNAPSHOT_SLICE_BYTES } from '../../examples/kv/stateMachine';

const b = (s: string) => Buffer.from(s);
const entry = (index: number, command: Command) => ({ index, term: 1, data: encodeCommand(command) });

describe('KV commands', () => {
  it.each<Command>([
    { op: Op.Put, key: 'x', value: b('1') },
    { op: Op.Put, key: 'ключ', value: b('') },
    { op: Op.Delete, key: 'x' },
    { op: Op.Cas, key: 'x', expected: b('old'), value: b('new') },
    { op: Op.Cas, key: 'x', expected: b(''), value: b('') },
    { op: Op.MemberHttp, key: 'n4', value: b('127.0.0.1:8004') },
  ])('round-trips %o', (command) => {
    // Values decode as views into the entry's bytes: compare them as plain buffers.
    const plain = (c: Command) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v) : v]));
    expect(plain(decodeCommand(encodeCommand(command)))).toEqual(plain(command));
  });

  it('is compact: a put of a 100-byte value under an 8-byte key takes 111 bytes', () => {
    expect(encodeCommand({ op: Op.Put, key: 'key00001', value: Buffer.alloc(100) }).length).toBe(111);
  });

  it.each([[[]], [[9, 0, 1, 0x78]], [[1, 0, 5, 0x78]], [[3, 0, 1, 0x78, 0, 0, 0, 9]], [[2, 0, 1, 0x78, 1]]])('refuses malformed bytes %j', (bytes) => {
    expect(() => decodeCommand(Uint8Array.from(bytes))).toThrow(BadCommandError);
  });

  it('refuses empty and oversized keys when encoding', () => {
    expect(() => encodeCommand({ op: Op.Delete, key: '' })).toThrow(RangeError);
    expect(() => encodeCommand({ op: Op.Delete, key: 'k'.repeat(1025) })).toThrow(RangeError);
  });
});

describe('KvStateMachine', () => {
  it('applies puts, deletes and compare-and-set, recording outcomes by index', () => {
    const kv = new KvStateMachine();
    expect(kv.apply(entry(1, { op: Op.Put, key: 'x', value: b('1') }))).toBe(Outcome.Stored);
    expect(kv.apply(entry(2, { op: Op.Cas, key: 'x', expected: b('2'), value: b('3') }))).toBe(Outcome.NotSwapped);
    expect(kv.apply(entry(3, { op: Op.Cas, key: 'x', expected: b('1'), value: b('3') }))).toBe(Outcome.Swapped);
    expect(kv.get('x')?.toString()).toBe('3');
    expect(kv.apply(entry(4, { op: Op.Cas, key: 'y', expected: b(''), value: b('3') }))).toBe(Outcome.NotSwapped);
    expect(kv.apply(entry(5, { op: Op.Delete, key: 'x' }))).toBe(Outcome.Deleted);
    expect(kv.apply(entry(6, { op: Op.Delete, key: 'x' }))).toBe(Outcome.Absent);
    expect([1, 2, 3, 4, 5, 6].map((i) => kv.outcomeAt(i))).toEqual([1, 5, 4, 5, 2, 3]);
    expect(kv.outcomeAt(7)).toBeUndefined();
    expect(kv.appliedIndex).toBe(6);
  });

  it('skips entries that are not its commands instead of throwing', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ index: 1, term: 1, data: b('set x 1') })).toBe(Outcome.Invalid);
    expect(kv.invalid).toBe(1);
  });

  it('forgets outcomes older than the window', () => {
    const kv = new KvStateMachine();
    kv.apply(entry(1, { op: Op.Put, key: 'x', value: b('1') }));
    kv.apply(entry(1 + OUTCOME_WINDOW, { op: Op.Delete, key: 'x' }));
    expect(kv.outcomeAt(1)).toBeUndefined();
    expect(kv.outcomeAt(1 + OUTCOME_WINDOW)).toBe(Outcome.Deleted);
  });

  it('copies values out of the entry bytes', () => {
    const kv = new KvStateMachine();
    const e = entry(1, { op: Op.Put, key: 'x', value: b('abc') });
    kv.apply(e);
    e.data.fill(0);
    expect(kv.get('x')?.toString()).toBe('abc');
  });

  it('keeps large values, and compares them in compare-and-set', () => {
    const kv = new KvStateMachine();
    const large = Buffer.alloc(LARGE_VALUE_BYTES, 5);
    kv.apply(entry(1, { op: Op.Put, key: 'x', value: large }));
    expect(kv.get('x')).toEqual(large);
    const changed = Buffer.alloc(LARGE_VALUE_BYTES, 6);
    kv.apply(entry(2, { op: Op.Cas, key: 'x', expected: changed, value: b('no') }));
    expect(kv.outcomeAt(2)).toBe(Outcome.NotSwapped);
    kv.apply(entry(3, { op: Op.Cas, key: 'x', expected: large, value: changed }));
    expect(kv.outcomeAt(3)).toBe(Outcome.Swapped);
    expect(kv.get('x')).toEqual(changed);
  });
});

describe('KV large values', () => {
  const MiB = 1 << 20;
  /** A received batch of 1 MiB holding `count` puts of 64 KiB values, keys `prefix0..`: each entry's data a view into it. */
  function batch(prefix: string, count: number, fill: number): { index: number; term: number; data: Buffer }[] {
    const block = Buffer.alloc(MiB);
    let at = 0;
    return Array.from({ length: count }, (_, i) => {
      const command = encodeCommand({ op: Op.Put, key: `${prefix}${i}`, value: Buffer.alloc(64 * 1024, fill) });
      command.copy(block, at);
      at += command.length;
      return { index: 0, term: 1, data: block.subarray(at - command.length, at) };
    });
  }
  let index = 0;
  const applyAll = (kv: KvStateMachine, entries: { term: number; data: Buffer }[]) => entries.forEach((e) => kv.apply({ ...e, index: ++index }));

  it('keeps a value as a view of the committed entry it came in, without copying it', () => {
    const kv = new KvStateMachine();
    const entries = batch('k', 15, 1);
    applyAll(kv, entries);
    expect(kv.get('k3')!.buffer).toBe(entries[3].data.buffer);
    expect(kv.get('k3')).toEqual(Buffer.alloc(64 * 1024, 1));
    expect(kv.largeValueBytes.heldBytes).toBe(MiB);
    expect(kv.largeValueBytes.relocatedBytes).toBe(0);
  });

  it('lets a batch go without copying when all its values are written again', () => {
    const kv = new KvStateMachine();
    applyAll(kv, batch('k', 15, 1));
    applyAll(kv, batch('k', 15, 2));
    applyAll(kv, batch('j', 1, 3)); // the store moves on from the second batch
    expect(kv.largeValueBytes).toEqual({ heldBytes: 2 * MiB, liveBytes: 16 * 64 * 1024, relocatedBytes: 0 });
    expect(kv.get('k0')).toEqual(Buffer.alloc(64 * 1024, 2));
  });

  it('copies out the values left in mostly dead batches once the batches held come to over three times the values', () => {
    const kv = new KvStateMachine();
    const batches = [];
    for (let round = 0; round < 10; round++) {
      // Each batch: 14 values of 'hot' keys written again by the next, and one of a key of its own.
      const entries = [...batch('hot', 14, round), ...batch(`own${round}-`, 1, round)];
      batches.push(entries);
      applyAll(kv, entries);
      const { heldBytes, liveBytes } = kv.largeValueBytes;
      expect(heldBytes).toBeLessThanOrEqual(3 * liveBytes + MiB);
    }
    expect(kv.largeValueBytes.relocatedBytes).toBeGreaterThan(0);
    expect(kv.get('own0-0')!.buffer).not.toBe(batches[0][14].data.buffer); // copied out: the first batches are let go
    for (let round = 0; round < 10; round++) expect(kv.get(`own${round}-0`)).toEqual(Buffer.alloc(64 * 1024, round));
    expect(kv.get('hot3')).toEqual(Buffer.alloc(64 * 1024, 9));
  });

  it('holds at most three times the bytes of its values, plus the batch being applied, whatever the order of writes', () => {
    const kv = new KvStateMachine();
    const keys = 64;
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    for (let round = 0; round < 40; round++) {
      const block = Buffer.alloc(MiB);
      let at = 0;
      for (let i = 0; i < 15; i++) {
        const command = encodeCommand({ op: Op.Put, key: `k${next() % keys}`, value: Buffer.alloc(64 * 1024, round) });
        command.copy(block, at);
        kv.apply({ index: ++index, term: 1, data: block.subarray(at, at + command.length) });
        at += command.length;
      }
      if (round % 5 === 4) kv.apply({ index: ++index, term: 1, data: encodeCommand({ op: Op.Delete, key: `k${next() % keys}` }) });
      const { heldBytes, liveBytes } = kv.largeValueBytes;
      expect(heldBytes).toBeLessThanOrEqual(3 * liveBytes + MiB);
    }
  });

  it('copies the values of a snapshot it restores (its chunks may be refilled by their reader)', async () => {
    const source = new KvStateMachine();
    source.apply({ index: 1, term: 1, data: encodeCommand({ op: Op.Put, key: 'x', value: Buffer.alloc(64 * 1024, 3) }) });
    const chunks: Buffer[] = [];
    for await (const chunk of source.snapshots().snapshot({ index: 1, term: 1 }) as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    const kv = new KvStateMachine();
    async function* refilled() {
      for (const chunk of chunks) {
        yield chunk;
        chunk.fill(0); // the reader refills its buffer for the next chunk
      }
    }
    await kv.snapshots().restore(refilled(), { index: 1, term: 1 });
    expect(kv.get('x')).toEqual(Buffer.alloc(64 * 1024, 3));
  });
});

describe('KV snapshots and retries', () => {
  it('a snapshot closed before its first chunk was read lets go of the store: later rewrites go in place', async () => {
    const kv = new KvStateMachine();
    kv.apply(entry(1, { op: Op.Put, key: 'k', value: b('first') }));
    const chunks = kv.snapshots().snapshot({ index: 1, term: 1 }) as AsyncIterable<Uint8Array>;
    await chunks[Symbol.asyncIterator]().return!(); // rxraft gave it up unread (a newer snapshot arrived)
    const used = kv.valueBytes.usedBytes;
    for (let i = 2; i < 5; i++) {
      kv.apply(entry(i, { op: Op.Put, key: 'k', value: b('again') }));
      expect(kv.valueBytes.usedBytes).toBe(used); // pinned, each rewrite would take a new record
    }
    expect(kv.get('k')).toEqual(b('again'));
  });

  it('restores every key and member address from its own snapshot, across chunks', async () => {
    const kv = new KvStateMachine();
    const big = Buffer.alloc(300 * 1024, 7); // several records per 1 MiB chunk, one spanning two
    for (let i = 1; i <= 8; i++) kv.apply(entry(i, { op: Op.Put, key: `k${i}`, value: big }));
    kv.apply(entry(9, { op: Op.MemberHttp, key: 'n1', value: b('127.0.0.1:8001') }));
    kv.apply(entry(10, { op: Op.Delete, key: 'k3' }));
    const chunks: Uint8Array[] = [];
    for await (const chunk of kv.snapshots().snapshot({ index: 10, term: 1 }) as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk)); // a copy: the store refills one buffer between two chunks
    expect(chunks.length).toBeGreaterThan(1);

    const restored = new KvStateMachine();
    restored.apply(entry(1, { op: Op.Put, key: 'stale', value: b('x') }));
    await restored.snapshots().restore((async function* () { yield* chunks; })(), { index: 10, term: 1 });
    expect(restored.size).toBe(7);
    expect(restored.get('stale')).toBeUndefined();
    expect(restored.get('k3')).toBeUndefined();
    expect(restored.get('k8')).toEqual(big);
    expect(restored.httpAddresses().get('n1')).toBe('127.0.0.1:8001');
    expect(restored.appliedIndex).toBe(10);
  });

  it('writes a large store in chunks of SNAPSHOT_CHUNK_BYTES (stored by rxraft as they are), letting the event loop run after every SNAPSHOT_SLICE_BYTES of records', async () => {
    const kv = new KvStateMachine();
    const count = 25_000;
    for (let i = 1; i <= count; i++) kv.apply(entry(i, { op: Op.Put, key: `κ-${i}`, value: Buffer.from([0xff, i & 0xff, ...Buffer.alloc(98, 0x61)]) }));
    const chunks: Uint8Array[] = [];
    let loopTurns = 0;
    let turnsBetween = 0;
    let allTurns = 0;
    // Counts the event loop's check phases (setImmediate runs once per loop iteration).
    let counting = setImmediate(function tick() {
      loopTurns++;
      allTurns++;
      counting = setImmediate(tick);
    });
    try {
      for await (const chunk of kv.snapshots().snapshot({ index: count, term: 1 }) as AsyncIterable<Uint8Array>) {
        if (chunks.length > 0 && loopTurns > 0) turnsBetween++;
        loopTurns = 0;
        chunks.push(Buffer.from(chunk)); // a copy: the store refills one buffer between two chunks
      }
    } finally {
      clearImmediate(counting);
    }
    const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
    expect(bytes).toBeGreaterThan(2.5 * SNAPSHOT_CHUNK_BYTES); // about 2.9 MB of records
    for (const chunk of chunks.slice(0, -1)) expect(chunk.byteLength).toBe(SNAPSHOT_CHUNK_BYTES);
    expect(turnsBetween).toBe(chunks.length - 1); // the loop ran between every two chunks
    expect(allTurns).toBeGreaterThanOrEqual(Math.floor(bytes / SNAPSHOT_SLICE_BYTES) - 1); // and within them, once a slice

    const restored = new KvStateMachine();
    await restored.snapshots().restore((async function* () { yield* chunks; })(), { index: count, term: 1 });
    expect(restored.size).toBe(count);
    for (const i of [1, 255, 256, count]) expect(restored.get(`κ-${i}`)).toEqual(kv.get(`κ-${i}`)); // UTF-8 keys, bytes over 0x7f in values
  });

  it('two snapshots read side by side, and one after them, each hold the store as it was when it began', async () => {
    const kv = new KvStateMachine();
    const read = async (chunks: AsyncIterable<Uint8Array>) => {
      const copies: Buffer[] = [];
      for await (const chunk of chunks) copies.push(Buffer.from(chunk));
      const restored = new KvStateMachine();
      await restored.snapshots().restore((async function* () { yield* copies; })(), { index: 1, term: 1 });
      return restored;
    };
    for (let i = 1; i <= 2000; i++) kv.apply(entry(i, { op: Op.Put, key: `k${i}`, value: Buffer.alloc(50, 1) }));
    const first = kv.snapshots().snapshot({ index: 2000, term: 1 }) as AsyncIterable<Uint8Array>;
    kv.apply(entry(2001, { op: Op.Delete, key: 'k1' }));
    kv.apply(entry(2002, { op: Op.Put, key: 'big', value: Buffer.alloc(5000, 2) }));
    const second = kv.snapshots().snapshot({ index: 2002, term: 1 }) as AsyncIterable<Uint8Array>;
    const [a, b2] = await Promise.all([read(first), read(second)]);
    kv.apply(entry(2003, { op: Op.Delete, key: 'big' }));
    const third = await read(kv.snapshots().snapshot({ index: 2003, term: 1 }) as AsyncIterable<Uint8Array>);
    expect([a.size, b2.size, third.size]).toEqual([2000, 2000, 1999]);
    expect([a.get('k1'), b2.get('k1'), third.get('k1')]).toEqual([Buffer.alloc(50, 1), undefined, undefined]);
    expect([a.get('big'), b2.get('big'), third.get('big')]).toEqual([undefined, Buffer.alloc(5000, 2), undefined]);
  });

  it('snapshots the values as they were when the snapshot began, though they are then overwritten in place', async () => {
    const kv = new KvStateMachine();
    const KEYS = 40_000; // over 4 MB of records: several chunks of SNAPSHOT_CHUNK_BYTES
    for (let i = 1; i <= KEYS; i++) kv.apply(entry(i, { op: Op.Put, key: `k${i}`, value: Buffer.alloc(100, 1) }));
    const chunks: Uint8Array[] = [];
    const snapshot = kv.snapshots().snapshot({ index: KEYS, term: 1 }) as AsyncIterable<Uint8Array>;
    let index = KEYS;
    for await (const chunk of snapshot) {
      chunks.push(Buffer.from(chunk)); // a copy: the store refills one buffer between two chunks
      // Between two chunks the store goes on applying: same-size values (in place), and longer ones (moved).
      for (let i = 1; i <= KEYS; i += 7) kv.apply(entry(++index, { op: Op.Put, key: `k${i}`, value: Buffer.alloc(i % 2 ? 100 : 200, 2) }));
    }
    expect(chunks.length).toBeGreaterThan(3);
    const restored = new KvStateMachine();
    await restored.snapshots().restore((async function* () { yield* chunks; })(), { index: KEYS, term: 1 });
    expect(restored.size).toBe(KEYS);
    const first = Buffer.alloc(100, 1);
    const changed = Array.from({ length: KEYS }, (_, i) => `k${i + 1}`).filter((key) => !restored.get(key)?.equals(first));
    expect(changed).toEqual([]);
  });

  it('keeps every value through many overwrites, growths and deletes (seeded, against a Map)', () => {
    const kv = new KvStateMachine();
    const model = new Map<string, Buffer>();
    let seed = 17;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let index = 1; index <= 20_000; index++) {
      const key = `k${next() % 500}`;
      if (next() % 5 === 0) {
        kv.apply(entry(index, { op: Op.Delete, key }));
        model.delete(key);
      } else {
        const value = Buffer.alloc(next() % 1500, index & 0xff); // small ones in the arena, some large (1,024 B and up)
        kv.apply(entry(index, { op: Op.Put, key, value }));
        model.set(key, value);
      }
    }
    expect(kv.size).toBe(model.size);
    for (const [key, value] of model) expect(kv.get(key)).toEqual(value);
  });

  it('tells the command applied at an index from another one (Idempotency-Key reuse)', () => {
    const kv = new KvStateMachine();
    const put = encodeCommand({ op: Op.Put, key: 'x', value: b('1') });
    kv.apply({ index: 5, term: 1, data: put, session: { clientId: 'c1', seq: 1 } });
    expect(kv.sameCommandAt(5, put)).toBe(true);
    expect(kv.sameCommandAt(5, encodeCommand({ op: Op.Put, key: 'x', value: b('2') }))).toBe(false);
    expect(kv.sameCommandAt(6, put)).toBeUndefined();
  });
});

describe('Idempotency-Key', () => {
  it('parses <clientId>:<seq>', () => {
    expect(parseIdempotencyKey('client:a:42')).toEqual({ clientId: 'client:a', seq: 42 });
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });
  it.each(['nocolon', ':1', 'c:', 'c:-1', 'c:1.5', 'c:99999999999999999'])('refuses %s', (header) => {
    expect(() => parseIdempotencyKey(header)).toThrow(/Idempotency-Key/);
  });
});
