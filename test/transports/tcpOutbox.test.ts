import { EntryKind } from '../../src/messages/entry';
import type { AppendEntries, RaftMessage } from '../../src/messages/types';
import { jitteredBackoff } from '../../src/transports/backoff';
import { Outbox } from '../../src/transports/tcpOutbox';
import { payloadBytes } from '../../src/transports/tcpPeerLink';
import { seededRandom } from '../../src/random';

const control = (term: number): RaftMessage => ({ type: 'RequestVoteResponse', term, voteGranted: true });
const bulk = (term: number): RaftMessage => ({
  type: 'AppendEntries', term, leaderId: 'a', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, seq: term,
});

describe('Outbox', () => {
  it('takes messages in order, entries within a byte budget per batch (at least one)', () => {
    const outbox = new Outbox({ maxMessages: 100, maxBytes: 1 << 30 });
    for (let i = 1; i <= 3; i++) outbox.push(bulk(i), 100_000);
    expect(outbox.take(150_000).map((m) => m.term)).toEqual([1, 2]);
    outbox.push(bulk(4), 100_000);
    const sizes: number[] = [];
    expect(outbox.take(1, sizes).map((m) => m.term)).toEqual([3]);
    expect(sizes).toEqual([100_000]); // each message's payload bytes, as pushed, for the encoder
    expect(outbox.take(1).map((m) => m.term)).toEqual([4]);
    expect(outbox.size).toBe(0);
    expect(outbox.bytes).toBe(0);
  });

  it('takes every message without payload in one batch (a control lane)', () => {
    const outbox = new Outbox({ maxMessages: 100, maxBytes: 1 << 30 });
    for (let i = 1; i <= 50; i++) outbox.push(control(i), 0);
    const sizes: number[] = [];
    expect(outbox.take(1, sizes).map((m) => m.term)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(sizes).toEqual(new Array(50).fill(0));
    expect(outbox.bytes).toBe(0);
  });

  it('never holds more than its bounds: drops the oldest messages first, and counts', () => {
    const outbox = new Outbox({ maxMessages: 10, maxBytes: 1 << 30 });
    for (let i = 1; i <= 20; i++) outbox.push(control(i), 0);
    expect(outbox.size).toBe(10);
    expect(outbox.dropped).toBe(10);
    expect(outbox.take(1 << 30).map((m) => m.term)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);

    const bytes = new Outbox({ maxMessages: 1000, maxBytes: 10_000 });
    for (let i = 1; i <= 100; i++) bytes.push(bulk(i), 3000);
    expect(bytes.bytes).toBeLessThanOrEqual(10_000);
    expect(bytes.size).toBe(3);
    expect(bytes.push(bulk(101), 20_000)).toBe(1); // can never fit: dropped itself
    expect(bytes.dropped).toBe(98);
    expect(bytes.take(1 << 30).map((m) => m.term)).toEqual([98, 99, 100]);
  });

  it("hands back each message's encoded payload with it, and drops it with its message", () => {
    const outbox = new Outbox({ maxMessages: 3, maxBytes: 1 << 30 });
    const blocks = [1, 2, 3, 4].map((i) => Buffer.alloc(100, i));
    outbox.push(bulk(1), 100, blocks[0]);
    outbox.push(bulk(2), 100); // measured, not encoded
    outbox.push(bulk(3), 100, blocks[2]);
    outbox.push(bulk(4), 100, blocks[3]); // full: the oldest goes, with its block
    const sizes: number[] = [];
    const encoded: (Buffer | undefined)[] = [];
    expect(outbox.take(1 << 30, sizes, encoded).map((m) => m.term)).toEqual([2, 3, 4]);
    expect(sizes).toEqual([100, 100, 100]);
    expect(encoded).toEqual([undefined, blocks[2], blocks[3]]);
    expect(encoded[1]).toBe(blocks[2]);
  });

  it('stays bounded over a long outage', () => {
    const outbox = new Outbox({ maxMessages: 64, maxBytes: 1 << 20 });
    for (let i = 0; i < 100_000; i++) outbox.push(bulk(i), 5000);
    expect(outbox.size).toBe(64); // 64 × 5 KiB is under the byte bound: the count bounds it
    expect(outbox.bytes).toBeLessThanOrEqual(1 << 20);
    expect(outbox.dropped).toBe(100_000 - 64);
    expect(outbox.take(1 << 30).map((m) => m.term)).toEqual(Array.from({ length: 64 }, (_, i) => 100_000 - 64 + i)); // the newest
  });
});

describe('jitteredBackoff', () => {
  it('doubles up to the maximum, with jitter in the upper half', () => {
    const random = seededRandom(3);
    const range = { min: 50, max: 5000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(5000, 50 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const delay = jitteredBackoff(attempt, range, random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThan(ceiling);
      }
    }
    expect(jitteredBackoff(0, range, () => 0)).toBe(25);
  });
});

describe('payloadBytes', () => {
  it('puts entries and other byte fields in the bulk lane', () => {
    const entries = [{ index: 1, term: 1, kind: EntryKind.Command, data: new Uint8Array(1000) }];
    expect(payloadBytes(bulk(1))).toBe(0); // a heartbeat
    expect(payloadBytes({ ...(bulk(1) as AppendEntries), entries })).toBe(4 + 21 + 1000);
    expect(payloadBytes(control(1))).toBe(0);
    const propose: RaftMessage = {
      type: 'ProposeRequest', term: 1, requestId: 1,
      commands: [{ kind: EntryKind.Command, data: new Uint8Array(300) }, { kind: EntryKind.Command, data: new Uint8Array(200) }],
    };
    expect(payloadBytes(propose)).toBe(500);
  });
});
