import { Subject, Subscription } from 'rxjs';
import type { RaftEvent } from '../../src/core/events';
import { StorageFailedError } from '../../src/errors';
import { EntryKind } from '../../src/messages/entry';
import type { RaftMessage } from '../../src/messages/types';
import type { Storage } from '../../src/storage/storage';
import { DurableCompletions, DurableStep, durableWrites, Outgoing } from '../../src/streams/durableWrites';

/** A storage whose writes finish when the test says so. */
function controlledStorage() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const write = () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
  const storage = { append: write, saveHardState: write } as unknown as Storage;
  return { storage, pending };
}

const vote: RaftMessage = { type: 'RequestVoteResponse', term: 2, voteGranted: true } as unknown as RaftMessage;
const entries = [
  { index: 4, term: 2, kind: EntryKind.Command, data: new Uint8Array([1]) },
  { index: 5, term: 2, kind: EntryKind.Command, data: new Uint8Array([2]) },
];

function setup() {
  const { storage, pending } = controlledStorage();
  const steps = new Subject<DurableStep>();
  const sentMessages: Outgoing[] = [];
  const events: RaftEvent[] = [];
  const errors: unknown[] = [];
  steps.pipe(durableWrites(storage, (m) => sentMessages.push(m))).subscribe({ next: (e) => events.push(e), error: (e) => errors.push(e) });
  return { steps, pending, sentMessages, events, errors };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('durableWrites', () => {
  it('sends an answer marked afterPersist only once the write before it is durable, then reports both completions', async () => {
    const { steps, pending, sentMessages, events } = setup();
    steps.next({ write: { type: 'saveHardState', hardState: { term: 2, votedFor: 'n1' } } });
    steps.next({ write: { type: 'persistEntries', entries } });
    steps.next({ release: { to: 'n2', message: vote }, afterWrites: true });
    steps.next({ release: { to: 'n3', message: vote }, afterWrites: false });
    expect(sentMessages.map((m) => m.to)).toEqual(['n3']);
    pending[1].resolve(); // the later write finishes first: nothing is reported out of order
    await tick();
    expect(events).toEqual([]);
    pending[0].resolve();
    await tick();
    expect(events).toEqual([
      { kind: 'hardStateSaved', term: 2, votedFor: 'n1' },
      { kind: 'persisted', index: 5, term: 2 },
    ]);
    expect(sentMessages.map((m) => m.to)).toEqual(['n3', 'n2']);
  });

  it('sends what a write released, and lets the transport flush it (a microtask), before the write is reported', async () => {
    const { storage, pending } = controlledStorage();
    const steps = new Subject<DurableStep>();
    const log: string[] = [];
    // Like the TCP transport: a send is queued, and written to the socket on a microtask.
    const send = (m: Outgoing) => {
      log.push(`send ${m.to}`);
      queueMicrotask(() => log.push(`socket write ${m.to}`));
    };
    steps.pipe(durableWrites(storage, send)).subscribe((e) => log.push(`stepped ${e.kind}`));
    steps.next({ write: { type: 'persistEntries', entries } });
    steps.next({ release: { to: 'n2', message: vote }, afterWrites: true });
    pending[0].resolve();
    await tick();
    expect(log).toEqual(['send n2', 'socket write n2', 'stepped persisted']);
  });

  it('counts the writes started until their completions are handed to the loop (DurableCompletions.inFlight)', async () => {
    const { storage, pending } = controlledStorage();
    const steps = new Subject<DurableStep>();
    const completions = new DurableCompletions({ later: () => new Subscription(), owner: new Subscription(), state: () => null, release: () => undefined });
    const seen: boolean[] = [];
    steps.pipe(durableWrites(storage, () => undefined, completions)).subscribe(() => seen.push(completions.inFlight));
    expect(completions.inFlight).toBe(false);
    steps.next({ write: { type: 'saveHardState', hardState: { term: 2, votedFor: 'n1' } } });
    steps.next({ write: { type: 'persistEntries', entries } });
    expect(completions.inFlight).toBe(true);
    pending[0].resolve();
    await tick();
    expect(seen).toEqual([true]); // the second write is still in flight when the first completion is stepped
    pending[1].resolve();
    await tick();
    expect(seen).toEqual([true, false]);
    expect(completions.inFlight).toBe(false);
  });

  it('reports hardStateSaved for every hard state, also one that records another node\'s vote or none (the rules track the durable term)', async () => {
    const { steps, pending, events } = setup();
    steps.next({ write: { type: 'saveHardState', hardState: { term: 3, votedFor: 'n2' } } });
    steps.next({ write: { type: 'saveHardState', hardState: { term: 4, votedFor: null } } });
    pending[0].resolve();
    pending[1].resolve();
    await tick();
    expect(events).toEqual([
      { kind: 'hardStateSaved', term: 3, votedFor: 'n2' },
      { kind: 'hardStateSaved', term: 4, votedFor: null },
    ]);
  });

  it('fails with StorageFailedError on a failed write and never sends what waited for it', async () => {
    const { steps, pending, sentMessages, errors } = setup();
    steps.next({ write: { type: 'persistEntries', entries } });
    steps.next({ release: { to: 'n2', message: vote }, afterWrites: true });
    pending[0].reject(new Error('EIO: disk gone'));
    await tick();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StorageFailedError);
    expect((errors[0] as Error).message).toContain('EIO: disk gone');
    expect(sentMessages).toEqual([]);
  });
});
