/**
 * The leader's role pipeline: heartbeat ticks every interval, and one `replicateTo`
 * pipeline per follower, keyed off the configuration, that carries that follower's
 * snapshot transfer — and that closes its snapshot reader when the follower is removed or
 * the role ends.
 */
import { BehaviorSubject, filter, merge, NEVER, Observable, of, Subject, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { RaftEvent } from '../../src/core/events';
import type { AppendEntries, NodeId, RaftMessage } from '../../src/messages/types';
import { step } from '../../src/core/step';
import type { InboundMessage, LeaderSend, RoleContext, SnapshotChunkRequest, SnapshotTransferRequest } from '../../src/states';
import { leader } from '../../src/states/leader';
import { RoleSwitch } from '../../src/states/roleSwitch';
import type { SnapshotMeta } from '../../src/messages/persisted';
import { elect, makeState, ok } from '../core/helpers';
import { routeByPeer } from './routeByPeer';

const config = { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} };
const CHUNKS = [new Uint8Array([10]), new Uint8Array([11]), new Uint8Array([12])];

/** One `next()` of a fake snapshot reader, answered when the test releases it. */
interface PendingRead {
  readonly release: () => void;
}

/** An opened reader of the fake snapshot: how far it was pulled and whether it was closed. */
interface FakeReader {
  readonly meta: SnapshotMeta;
  pulls: number;
  closed: boolean;
}

/**
 * Storage with one snapshot (replaceable), read as an async iterable. Reads are answered
 * one microtask later, or — with `holdReads` — only when the test calls `releaseReads()`.
 */
class FakeSnapshotStorage {
  readonly readers: FakeReader[] = [];
  holdReads = false;
  private readonly held: PendingRead[] = [];

  constructor(public snapshot: { meta: SnapshotMeta; chunks: readonly Uint8Array[] } | null) {}

  readSnapshot(): { meta: SnapshotMeta; chunks: AsyncIterable<Uint8Array> } | null {
    const snapshot = this.snapshot;
    if (!snapshot) return null;
    return { meta: snapshot.meta, chunks: { [Symbol.asyncIterator]: () => this.iterator(snapshot) } };
  }

  releaseReads(): void {
    for (const read of this.held.splice(0)) read.release();
  }

  private iterator(snapshot: { meta: SnapshotMeta; chunks: readonly Uint8Array[] }): AsyncIterator<Uint8Array> {
    const reader: FakeReader = { meta: snapshot.meta, pulls: 0, closed: false };
    this.readers.push(reader);
    return {
      next: () => {
        const i = reader.pulls++;
        const result: IteratorResult<Uint8Array> = i < snapshot.chunks.length ? { value: snapshot.chunks[i], done: false } : { value: undefined, done: true };
        if (!this.holdReads) return Promise.resolve(result);
        return new Promise((resolve) => this.held.push({ release: () => resolve(result) }));
      },
      return: () => {
        reader.closed = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** A transport that records what is sent. */
class RecordingTransport {
  readonly sent: { to: NodeId; message: RaftMessage }[] = [];
  send(to: NodeId, message: RaftMessage): void {
    this.sent.push({ to, message });
  }
}

function context(parts: {
  scheduler?: RoleContext['scheduler'];
  followers$?: Observable<readonly NodeId[]>;
  snapshotChunks$?: Observable<SnapshotTransferRequest>;
  sends$?: Observable<LeaderSend>;
  responses$?: Observable<InboundMessage>;
  storage?: FakeSnapshotStorage;
  transport?: RecordingTransport;
}): RoleContext {
  return {
    scheduler: parts.scheduler ?? new VirtualTimeScheduler(),
    heartbeatInterval: 10,
    electionDeadline$: NEVER, // the leader has none
    quiet$: of(false),
    id: 'n1',
    followers$: parts.followers$ ?? new BehaviorSubject<readonly NodeId[]>([]),
    requestsTo: (peer: NodeId) => (parts.snapshotChunks$ ?? NEVER).pipe(filter((r) => r.to === peer)),
    entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) },
    ...routeByPeer(parts.sends$ ?? NEVER, parts.responses$ ?? NEVER),
    snapshotSource: parts.storage ?? new FakeSnapshotStorage(null),
    transport: parts.transport ?? new RecordingTransport(),
  };
}

/** A chunk request; chunk 0 is a `start` unless said otherwise (a resend of chunk 0 is not). */
const request = (to: NodeId, chunk: number, index = 5, start = chunk === 0): SnapshotChunkRequest => ({ type: 'sendSnapshotChunk', to, index, term: 2, chunk, leaderTerm: 3, start });

const installSnapshot = (chunk: number, done: boolean) => ({
  type: 'InstallSnapshot',
  term: 3,
  leaderId: 'n1',
  lastIncludedIndex: 5,
  lastIncludedTerm: 2,
  config,
  chunk,
  data: CHUNKS[chunk],
  done,
});

/** Lets every pending promise callback run (reads, sends, deferred events). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A leader (epoch 7) of n2 and n3 with a 3-chunk snapshot at index 5, recording events and sends. */
function runningLeader() {
  const followers = new BehaviorSubject<readonly NodeId[]>(['n2', 'n3']);
  const chunks = new Subject<SnapshotTransferRequest>();
  const storage = new FakeSnapshotStorage({ meta: { index: 5, term: 2, config }, chunks: CHUNKS });
  const transport = new RecordingTransport();
  const events: RaftEvent[] = [];
  const subscription = leader(context({ followers$: followers, snapshotChunks$: chunks, storage, transport }), 7).subscribe((e) => events.push(e));
  const sentTo = (peer: NodeId) => transport.sent.filter((s) => s.to === peer).map((s) => s.message);
  /** Asks for a chunk of a follower's transfer, as one turn's effect, and lets the pipeline act on it. */
  const ask = async (...args: Parameters<typeof request>) => {
    chunks.next(request(...args));
    await settle();
  };
  return { followers, chunks, storage, transport, events, subscription, sentTo, ask };
}

describe('leader pipeline: heartbeats and one pipeline per follower (virtual time)', () => {
  const marbles = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  test('ticks every heartbeat interval, tagged with its epoch, until the role ends', () => {
    const s = marbles();
    s.run(({ hot, expectObservable }) => {
      const followers = hot<readonly NodeId[]>('a', { a: ['n2', 'n3'] });
      const t: RaftEvent = { kind: 'heartbeatTick', epoch: 7 };
      expectObservable(leader(context({ scheduler: s, followers$: followers }), 7), '^ 35ms !').toBe('10ms t 9ms t 9ms t', { t });
    });
  });

  test('a follower gets its pipeline when it joins, keeps it across a change that keeps it, loses it when removed; leaving the role ends them all', () => {
    const s = marbles();
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const followers = hot<readonly NodeId[]>('a 9ms b 9ms c', { a: ['n2', 'n3'], b: ['n3', 'n4'], c: ['n4', 'n3'] });
      const chunks = hot<SnapshotChunkRequest>('-');
      const t: RaftEvent = { kind: 'heartbeatTick', epoch: 1 };
      expectObservable(leader(context({ scheduler: s, followers$: followers, snapshotChunks$: chunks }), 1), '^ 29ms !').toBe('10ms t 9ms t', { t });
      // Each follower's pipeline listens to the snapshot requests once: n2 and n3 from the
      // start, n4 from frame 10; n2 torn down at frame 10; n3 never resubscribed; all end with the role.
      expectSubscriptions(chunks.subscriptions).toBe(['^ 9ms !', '^ 29ms !', '10ms ^ 19ms !']);
    });
  });
});

describe('replicateTo: a follower\'s snapshot transfer', () => {
  test('sends the chunks asked for, in order, the last one marked done; other followers get nothing', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    await l.ask('n2', 1);
    await l.ask('n2', 2);
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false), installSnapshot(1, false), installSnapshot(2, true)]);
    expect(l.sentTo('n3')).toEqual([]);
    expect(l.events).toEqual([]);
    expect(l.storage.readers).toHaveLength(1); // one reader for the whole transfer, pulled one chunk ahead
    l.subscription.unsubscribe();
  });

  test('a chunk-0 request starts a fresh read of the current snapshot and closes the previous reader', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    l.storage.snapshot = { meta: { index: 9, term: 3, config }, chunks: [new Uint8Array([90])] }; // a newer snapshot was taken
    l.chunks.next(request('n2', 0));
    expect(l.storage.readers.map((r) => r.closed)).toEqual([true, false]);
    await settle();
    expect(l.sentTo('n2').map((m) => m.type === 'InstallSnapshot' && [m.lastIncludedIndex, m.chunk, m.done])).toEqual([
      [5, 0, false],
      [9, 0, true],
    ]);
    l.subscription.unsubscribe();
  });

  test('removing a follower closes its reader and cancels the chunk being read; the others go on', async () => {
    const l = runningLeader();
    l.chunks.next(request('n2', 0));
    await l.ask('n3', 0);
    l.storage.holdReads = true;
    l.chunks.next(request('n2', 1));
    l.chunks.next(request('n3', 1));
    l.followers.next(['n3']); // n2 leaves the configuration while its chunk 1 is being read
    expect(l.storage.readers.map((r) => r.closed)).toEqual([true, false]);
    l.storage.holdReads = false;
    l.storage.releaseReads();
    await settle();
    await l.ask('n2', 2); // whatever is still asked for n2 goes nowhere
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false)]);
    expect(l.sentTo('n3')).toEqual([installSnapshot(0, false), installSnapshot(1, false)]);
    expect(l.events).toEqual([]);
    l.subscription.unsubscribe();
  });

  test('leaving the leader role closes every reader and sends nothing more, not even the chunk being read', async () => {
    const l = runningLeader();
    l.chunks.next(request('n2', 0));
    await l.ask('n3', 0);
    l.storage.holdReads = true;
    l.chunks.next(request('n2', 1));
    l.subscription.unsubscribe(); // the role ends (switchMap over the role)
    expect(l.storage.readers.map((r) => r.closed)).toEqual([true, true]);
    l.storage.releaseReads();
    await settle();
    expect(l.transport.sent.map((s) => s.to)).toEqual(['n2', 'n3']); // only the two chunk-0 messages sent before
    expect(l.events).toEqual([]);
  });

  test('a parked transfer closes its reader, cancels the chunk being read and reads nothing until a start (chunk 0) starts it over', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    l.storage.holdReads = true;
    l.chunks.next(request('n2', 1));
    l.chunks.next({ type: 'parkSnapshotTransfer', to: 'n2' }); // the follower went silent while chunk 1 was read
    expect(l.storage.readers.map((r) => r.closed)).toEqual([true]);
    l.storage.holdReads = false;
    l.storage.releaseReads();
    await settle();
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false)]);
    const pulls = l.storage.readers[0].pulls;
    await l.ask('n2', 2); // asked of a parked transfer: it fails, reading nothing
    expect([l.events, l.storage.readers[0].pulls]).toEqual([[{ kind: 'snapshotReadFailed', to: 'n2' }], pulls]);
    await l.ask('n2', 0); // the follower answered: a fresh reader
    expect(l.storage.readers.map((r) => r.closed)).toEqual([true, false]);
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false), installSnapshot(0, false)]);
    l.subscription.unsubscribe();
  });

  test('the chunk sent last, asked for again (it or its answer was lost), is sent again from memory and the transfer goes on where it stopped', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    await l.ask('n2', 1);
    const pulls = l.storage.readers[0].pulls; // chunks 0..2 and the end: read one ahead
    l.chunks.next(request('n2', 1));
    await l.ask('n2', 1); // asked twice (a silence, then a stall): sent twice
    expect(l.storage.readers[0].pulls).toBe(pulls);
    await l.ask('n2', 2);
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false), installSnapshot(1, false), installSnapshot(1, false), installSnapshot(1, false), installSnapshot(2, true)]);
    expect([l.events, l.storage.readers.length, l.storage.readers[0].closed]).toEqual([[], 1, false]);
    await l.ask('n2', 1); // an earlier chunk than the last one sent: only a restart helps
    expect([l.events, l.storage.readers[0].closed]).toEqual([[{ kind: 'snapshotReadFailed', to: 'n2' }], true]);
    l.subscription.unsubscribe();
  });

  test('chunk 0 asked for again without `start` (it or its answer was lost) is sent again from memory: no new reader, nothing read, and the transfer goes on', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    const pulls = l.storage.readers[0].pulls; // chunks 0 and 1: read one ahead
    await l.ask('n2', 0, 5, false);
    expect([l.storage.readers.length, l.storage.readers[0].pulls, l.storage.readers[0].closed]).toEqual([1, pulls, false]); // before: a second reader, chunks 0 and 1 read again
    await l.ask('n2', 1);
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false), installSnapshot(0, false), installSnapshot(1, false)]);
    expect(l.events).toEqual([]);
    l.subscription.unsubscribe();
  });

  test('a chunk that is not the next one fails the transfer — reported a microtask later, never synchronously — and closes the reader', async () => {
    const l = runningLeader();
    await l.ask('n2', 0);
    l.chunks.next(request('n2', 2)); // chunk 1 was never asked for
    expect(l.events).toEqual([]);
    await settle();
    expect(l.events).toEqual([{ kind: 'snapshotReadFailed', to: 'n2' }]);
    expect(l.storage.readers[0].closed).toBe(true);
    await l.ask('n2', 1); // the reader is gone: only a new chunk 0 can start over
    expect(l.events).toEqual([
      { kind: 'snapshotReadFailed', to: 'n2' },
      { kind: 'snapshotReadFailed', to: 'n2' },
    ]);
    expect(l.sentTo('n2')).toEqual([installSnapshot(0, false)]);
    l.subscription.unsubscribe();
  });

  test('a transfer cannot start without a snapshot at least as recent as the one asked for, nor continue without a chunk 0', async () => {
    const l = runningLeader();
    l.chunks.next(request('n3', 1)); // no transfer started for n3
    l.chunks.next(request('n2', 0, 6)); // the stored snapshot (5) is older than the one asked for
    expect(l.events).toEqual([]);
    await settle();
    expect(l.events).toEqual([
      { kind: 'snapshotReadFailed', to: 'n3' },
      { kind: 'snapshotReadFailed', to: 'n2' },
    ]);
    expect(l.storage.readers).toEqual([]);
    expect(l.transport.sent).toEqual([]);
    l.subscription.unsubscribe();
  });

  test('a transport that refuses the chunk asks for the transfer to start over', async () => {
    const l = runningLeader();
    l.transport.send = () => {
      throw new Error('refused');
    };
    await l.ask('n2', 0);
    expect(l.events).toEqual([{ kind: 'snapshotReadFailed', to: 'n2' }]);
    expect(l.storage.readers[0].closed).toBe(true);
    l.subscription.unsubscribe();
  });

  test('a failed read asks for the transfer to start over', async () => {
    const l = runningLeader();
    const broken: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('disk read failed')) }),
    };
    l.storage.readSnapshot = () => ({ meta: { index: 5, term: 2, config }, chunks: broken });
    await l.ask('n2', 0);
    expect(l.events).toEqual([{ kind: 'snapshotReadFailed', to: 'n2' }]);
    expect(l.transport.sent).toEqual([]);
    l.subscription.unsubscribe();
  });
});

describe('RoleSwitch: the node\'s side of the leader pipelines', () => {
  test('a leader\'s followers get their pipelines after the turn, its snapshot chunks reach them, and stepping down closes every reader', async () => {
    const storage = new FakeSnapshotStorage({ meta: { index: 5, term: 2, config }, chunks: CHUNKS });
    const transport = new RecordingTransport();
    const roles = new RoleSwitch({ id: 'n1', scheduler: new VirtualTimeScheduler(), heartbeatInterval: 10, snapshotSource: storage, entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) }, transport });
    const events: RaftEvent[] = [];
    roles.events$.subscribe((e) => events.push(e));
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1] });
    elect(s);
    roles.follow(s); // after the turn that made it leader
    roles.snapshotTransfer(request('n3', 0));
    await settle();
    expect(transport.sent).toEqual([{ to: 'n3', message: installSnapshot(0, false) }]);
    roles.follow(makeState({ voters: ['n1', 'n2', 'n3'], term: s.term + 1 })); // a follower now
    expect(storage.readers.map((r) => r.closed)).toEqual([true]);
    roles.snapshotTransfer(request('n3', 1));
    await settle();
    expect(transport.sent).toHaveLength(1);
    expect(events).toEqual([]);
    roles.stop();
  });

  test('events$: the host\'s wake-ups in every role and the current role\'s pipeline, switched with the role; it does not complete while a pipeline still runs', () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 60); // flush runs the actions due by frame 60
    const wakeups$ = new Subject<unknown>();
    const roles = new RoleSwitch({ id: 'n1', scheduler, heartbeatInterval: 10, wakeups$, snapshotSource: new FakeSnapshotStorage(null), entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) }, transport: new RecordingTransport() });
    const kinds: string[] = [];
    let completed = false;
    const subscription = roles.events$.subscribe({ next: (e) => kinds.push(e.kind), complete: () => (completed = true) });
    wakeups$.next({ hosts: ['n2'], silent: ['n2'], group: 'g1' }); // before any role
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1] });
    s.electionDeadline = 50;
    roles.follow(s); // a follower: its deadline timer
    scheduler.flush();
    expect(kinds[0]).toBe('wake');
    expect(kinds).toContain('electionTimeout');
    expect(kinds).not.toContain('heartbeatTick');
    const asFollower = kinds.length;
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    elect(s);
    roles.follow(s); // a leader: heartbeat ticks every 10, no deadline
    wakeups$.next('anything');
    scheduler.maxFrames = scheduler.frame + 25;
    scheduler.flush();
    expect(kinds.slice(asFollower)).toEqual(['wake', 'heartbeatTick', 'heartbeatTick']);
    roles.stop(); // the switch ends; the leader's ticks would go on (as a switchMap's inner), the wake-ups too
    wakeups$.complete();
    expect(completed).toBe(false);
    subscription.unsubscribe();
  });

  test('an AppendEntries sent in the turn that made the node leader reaches its follower: the pipelines are brought up to that turn first, and follow still reports the role left', () => {
    const transport = new RecordingTransport();
    const roles = new RoleSwitch({ id: 'n1', scheduler: new VirtualTimeScheduler(), heartbeatInterval: 10, snapshotSource: new FakeSnapshotStorage(null), entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) }, transport });
    roles.events$.subscribe();
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1] });
    roles.follow(s); // a follower
    step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
    expect(roles.follow(s)).toBe('follower'); // a candidate
    elect(s); // one turn later: leader
    const heartbeat = { type: 'AppendEntries', seq: 1 } as RaftMessage;
    roles.replicate({ to: 'n2', message: heartbeat as AppendEntries }, s); // an effect of that turn, carried out before follow
    expect(transport.sent).toEqual([{ to: 'n2', message: heartbeat }]);
    expect(roles.follow(s)).toBe('candidate');
    expect(roles.follow(s)).toBeNull();
    roles.replicate({ to: 'n2', message: heartbeat as AppendEntries }); // a commit notice, between turns
    roles.replicate({ to: 'n9', message: heartbeat as AppendEntries }); // not a follower: no pipeline, not sent
    expect(transport.sent.map((m) => m.to)).toEqual(['n2', 'n2']);
    roles.stop();
  });

  test('take: a follower\'s answers reach the loop through its pipeline while this node leads it; requests pass straight through; vote answers to a leader are dropped', () => {
    const roles = new RoleSwitch({ id: 'n1', scheduler: new VirtualTimeScheduler(), heartbeatInterval: 10, snapshotSource: new FakeSnapshotStorage(null), entrySource: { readEntries: () => Promise.reject(new Error('no entry reads in this test')) }, transport: new RecordingTransport() });
    const inbound = new Subject<RaftEvent>();
    const events: RaftEvent[] = [];
    merge(inbound.pipe(filter((e) => !roles.take(e))), roles.events$).subscribe((e) => events.push(e));
    const s = makeState({ voters: ['n1', 'n2', 'n3'], log: [1] });
    elect(s);
    roles.follow(s);
    const answer: RaftEvent = { kind: 'message', from: 'n2', message: ok(s.term, 1) };
    const stranger: RaftEvent = { kind: 'message', from: 'n7', message: ok(s.term, 1) };
    const lateVote: RaftEvent = { kind: 'message', from: 'n3', message: { type: 'RequestVoteResponse', term: s.term, voteGranted: true } };
    const request: RaftEvent = { kind: 'message', from: 'n3', message: { type: 'ReadIndexRequest', term: s.term, requestId: 1, lease: false } };
    for (const e of [answer, stranger, lateVote, request]) inbound.next(e);
    expect(events).toEqual([answer, request]);
    roles.follow(makeState({ voters: ['n1', 'n2', 'n3'], term: s.term + 1 })); // a follower now
    inbound.next(answer);
    expect(events).toEqual([answer, request]);
    roles.stop();
  });
});
