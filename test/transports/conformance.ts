import { filter, firstValueFrom, Observable, take, timeout, toArray } from 'rxjs';
import { Entry, EntryKind } from '../../src/messages/entry';
import type { AppendEntries, Envelope, MessageType, NodeId, RaftMessage } from '../../src/messages/types';
import { validateMessage } from '../../src/messages/validate';
import type { Transport } from '../../src/transports/transport';

/**
 * How the conformance suite drives one `Transport` implementation: a network of nodes
 * whose transports can be opened, closed and reopened.
 *
 * @example
 * describeTransportConformance('MemoryHub', () => {
 *   const hub = new MemoryHub({ scheduler: asyncScheduler });
 *   return { open: async (id) => hub.connect(id), dispose: async () => {} };
 * });
 */
export interface TransportHarness {
  /**
   * Opens the transport of node `id`, or reopens it after `close()` (same address), and
   * makes it reachable by the nodes opened so far and reach them.
   */
  open(id: NodeId): Promise<Transport>;
  /**
   * Optional: makes invalid input (as an attacker or a buggy peer would) arrive at `to`'s
   * edge, claiming to come from `from`. Transports that decode untrusted bytes provide it.
   */
  injectInvalid?(from: NodeId, to: NodeId): Promise<void>;
  /** Closes whatever the harness still holds. */
  dispose(): Promise<void>;
}

/** What sets a transport apart within the contract. */
export interface TransportTraits {
  /**
   * Whether closing a peer's transport closes the connection to it, which the sender
   * reports on `lost$`. Not for a group's view of a host transport: closing the view
   * detaches the group, the hosts stay connected, and the peer host drops the message.
   */
  readonly peerCloseIsLoss: boolean;
}

/** Longest wait for anything in this suite; tests are bounded in time. */
const WAIT_MS = 5000;

type Samples = { readonly [T in MessageType]: Extract<RaftMessage, { type: T }> };

/** One message of every type, with `from` as sender (a new message type must be added here). */
export function sampleMessages(from: NodeId, term = 3): RaftMessage[] {
  const samples: Samples = {
    RequestVote: { type: 'RequestVote', term, candidateId: from, lastLogIndex: 10, lastLogTerm: 2, leadershipTransfer: false },
    RequestVoteResponse: { type: 'RequestVoteResponse', term, voteGranted: true },
    PreVote: { type: 'PreVote', term, candidateId: from, lastLogIndex: 2 ** 53 - 1, lastLogTerm: 1 },
    PreVoteResponse: { type: 'PreVoteResponse', term, voteGranted: false },
    AppendEntries: {
      type: 'AppendEntries', term, leaderId: from, prevLogIndex: 10, prevLogTerm: 2, entries: [], leaderCommit: 9, seq: 77, quiesce: true,
    },
    AppendEntriesResponse: {
      type: 'AppendEntriesResponse', term, success: false, matchIndex: 0, rejectedIndex: 10, conflictIndex: 7,
      conflictTerm: 1, seq: 77,
    },
    TimeoutNow: { type: 'TimeoutNow', term },
    WakeUp: { type: 'WakeUp', term },
    InstallSnapshot: {
      type: 'InstallSnapshot', term, leaderId: from, lastIncludedIndex: 40, lastIncludedTerm: 2, chunk: 0,
      config: { voters: ['a', 'b', 'c'], learners: [], addresses: { a: '10.0.0.1:7000' } },
      data: new Uint8Array([9, 8, 7, 0, 255]), done: true,
    },
    InstallSnapshotResponse: {
      type: 'InstallSnapshotResponse', term, lastIncludedIndex: 40, chunk: 0, success: true, installed: false, installing: true,
    },
    ReadIndexRequest: { type: 'ReadIndexRequest', term, requestId: 5, lease: true },
    ReadIndexResponse: { type: 'ReadIndexResponse', term, requestId: 5, success: true, readIndex: 2 ** 40 },
    ProposeRequest: {
      type: 'ProposeRequest', term, requestId: 6,
      commands: [
        { kind: EntryKind.Command, data: new Uint8Array([0, 1, 255]) },
        { kind: EntryKind.Command, data: new Uint8Array(0) },
      ],
    },
    ProposeResponse: { type: 'ProposeResponse', term, requestId: 6, success: true, firstIndex: 11, overloaded: false },
    TermQuery: { type: 'TermQuery', term },
    TermReport: { type: 'TermReport', term: 2 ** 40 },
  };
  return Object.values(samples);
}

/** Entries with distinctive bytes: every value 0–255, an empty payload, a large one. */
export function testEntries(prevLogIndex: number, term: number, count: number, size = 100): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const length = i === 1 ? 0 : i === 2 ? 100_000 : size;
    const data = new Uint8Array(length);
    for (let j = 0; j < length; j++) data[j] = (j * 131 + i * 7) & 0xff;
    const kind = i === 0 ? EntryKind.Noop : i === 3 ? EntryKind.Config : EntryKind.Command;
    out.push({ index: prevLogIndex + 1 + i, term, kind, data });
  }
  return out;
}

/**
 * Messages comparable with `toEqual` (bytes as arrays). An entry's `data` and a message's
 * `entries` count even when they are getters, not own fields (read from a received block:
 * `BlockEntry`, `ReceivedAppendEntries`).
 */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value);
    // Getters a reader relies on: a BlockEntry's `data`, a ReceivedAppendEntries' `entries`.
    for (const getter of ['data', 'entries'] as const) {
      if (getter in value && !Object.prototype.hasOwnProperty.call(value, getter)) fields.push([getter, (value as Record<string, unknown>)[getter]]);
    }
    return Object.fromEntries(fields.map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function next<T>(source: Observable<T>, predicate: (value: T) => boolean = () => true): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), take(1), timeout(WAIT_MS)));
}

/**
 * The `Transport` contract (see `src/transports/transport.ts`), run against one
 * implementation. The in-memory hub and TCP run the same suite.
 */
export function describeTransportConformance(name: string, factory: () => TransportHarness, traits: TransportTraits = { peerCloseIsLoss: true }): void {
  const whenPeerCloseIsLoss = traits.peerCloseIsLoss ? it : it.skip;
  describe(`Transport conformance: ${name}`, () => {
    let harness: TransportHarness;
    let a: Transport;
    let b: Transport;
    let c: Transport;

    beforeEach(async () => {
      harness = factory();
      a = await harness.open('a');
      b = await harness.open('b');
      c = await harness.open('c');
    });

    afterEach(async () => {
      await harness.dispose();
    });

    it('delivers every message type with the right from and to', async () => {
      const samples = sampleMessages('a');
      const atB = firstValueFrom(b.inbound$.pipe(take(samples.length), toArray(), timeout(WAIT_MS)));
      const atC = next(c.inbound$);
      for (const message of samples) a.send('b', message);
      a.send('c', { type: 'RequestVoteResponse', term: 1, voteGranted: false });
      const received = await atB;
      expect(received.map((e) => [e.from, e.to])).toEqual(Array(samples.length).fill(['a', 'b']));
      expect(received.map((e) => plain(e.message)).sort(byType)).toEqual(sampleMessages('a').map(plain).sort(byType));
      expect(await atC).toMatchObject({ from: 'a', to: 'c', message: { type: 'RequestVoteResponse', term: 1 } });

      const back = next(a.inbound$);
      b.send('a', { type: 'RequestVoteResponse', term: 3, voteGranted: true });
      expect(await back).toMatchObject({ from: 'b', to: 'a' });
    });

    it('never delivers synchronously from send()', async () => {
      const seen: Envelope[] = [];
      const subscription = b.inbound$.subscribe((e) => seen.push(e));
      const arrived = next(b.inbound$);
      a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
      a.send('b', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
      expect(seen).toEqual([]);
      await arrived;
      subscription.unsubscribe();
    });

    it('delivers only valid messages, and reports invalid input', async () => {
      const delivered: Envelope[] = [];
      const subscription = b.inbound$.subscribe((e) => delivered.push(e));
      if (harness.injectInvalid) {
        const reported = next(b.errors$);
        await harness.injectInvalid('a', 'b');
        expect(await reported).toBeInstanceOf(Error);
      }
      // Valid traffic still flows afterwards.
      const arrived = next(b.inbound$, (e) => e.message.term === 42);
      for (const message of sampleMessages('a', 42)) a.send('b', message);
      await arrived;
      for (const envelope of delivered) {
        expect(() => validateMessage(envelope.message)).not.toThrow();
        expect(envelope.from).toBe('a');
        expect(envelope.to).toBe('b');
      }
      subscription.unsubscribe();
    });

    it('round-trips AppendEntries with entries, bytes intact', async () => {
      const entries = testEntries(10, 3, 64);
      const message: AppendEntries = {
        type: 'AppendEntries', term: 3, leaderId: 'a', prevLogIndex: 10, prevLogTerm: 2, entries, leaderCommit: 10, seq: 1,
      };
      const atB = next(b.inbound$);
      const atC = next(c.inbound$);
      a.send('b', message);
      a.send('c', message); // the same batch to two followers
      for (const received of [await atB, await atC]) {
        expect(received.message.type).toBe('AppendEntries');
        const got = received.message as AppendEntries;
        expect(got.entries).toHaveLength(64);
        got.entries.forEach((e) => expect(e.data).toBeInstanceOf(Uint8Array));
        expect(plain(got)).toEqual(plain(message));
      }
    });

    it('delivers a burst of messages without loss on a healthy network, and reports no loss', async () => {
      const count = 2000;
      const lost: NodeId[] = [];
      const watch = a.lost$!.subscribe((peer) => lost.push(peer));
      const all = firstValueFrom(b.inbound$.pipe(take(count), toArray(), timeout(WAIT_MS)));
      for (let i = 1; i <= count; i++) a.send('b', { type: 'RequestVoteResponse', term: i, voteGranted: i % 2 === 0 });
      const terms = (await all).map((e) => e.message.term).sort((x, y) => x - y);
      expect(terms).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      watch.unsubscribe();
      expect(lost).toEqual([]);
    });

    whenPeerCloseIsLoss('names on lost$ a peer that went away after messages were sent to it, never from within send()', async () => {
      const arrived = next(b.inbound$);
      a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
      await arrived; // a and b are connected
      const lost: NodeId[] = [];
      const watch = a.lost$!.subscribe((peer) => lost.push(peer));
      const reported = next(a.lost$!, (peer) => peer === 'b');
      await b.close();
      a.send('b', { type: 'RequestVoteResponse', term: 2, voteGranted: true }); // lost: b is down
      expect(lost).toEqual([]); // not from within send
      expect(await reported).toBe('b');
      watch.unsubscribe();
      expect(lost.every((peer) => peer === 'b')).toBe(true);
    });

    it('survives a peer being closed and reopened', async () => {
      await b.close();
      a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true }); // lost or delayed: b is down
      b = await harness.open('b');
      // Best effort: keep sending until one arrives (bounded in count and time).
      const arrived = next(b.inbound$, (e) => e.message.term === 7);
      let sends = 0;
      const pump = setInterval(() => {
        if (sends++ < 100) a.send('b', { type: 'RequestVoteResponse', term: 7, voteGranted: true });
      }, 50);
      try {
        expect(await arrived).toMatchObject({ from: 'a', to: 'b' });
      } finally {
        clearInterval(pump);
      }
      const back = next(a.inbound$);
      b.send('a', { type: 'RequestVoteResponse', term: 8, voteGranted: false });
      expect(await back).toMatchObject({ from: 'b', to: 'a' });
    });

    it('close() completes its streams, and send() afterwards is a harmless no-op', async () => {
      const inboundDone = new Promise<void>((resolve) => a.inbound$.subscribe({ complete: resolve }));
      const errorsDone = new Promise<void>((resolve) => a.errors$.subscribe({ complete: resolve }));
      await a.close();
      await inboundDone;
      await errorsDone;
      expect(() => a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true })).not.toThrow();
      await a.close(); // idempotent
      // Others keep working without it.
      const arrived = next(c.inbound$);
      b.send('c', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
      expect(await arrived).toMatchObject({ from: 'b' });
    });
  });
}

function byType(x: unknown, y: unknown): number {
  return String((x as RaftMessage).type).localeCompare(String((y as RaftMessage).type));
}
