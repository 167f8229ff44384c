/**
 * When a leader sends a follower's entries again (issue 17, item 1: no load may depose a
 * healthy leader). Over TCP nothing is lost while a connection lives, so a follower
 * slow to answer is waited for — resending its window only doubled the load that slowed
 * it (with 64 KiB entries the old 2-tick rule resent up to 8 MiB about 4 times a second
 * per follower) — and a loss the transport reports (`messagesLost`, from `Transport.lost$`)
 * makes the leader probe that follower afresh at its next tick. Without a report, a
 * stream that makes no progress for `stallTicks` ticks is still sent again.
 */
import type { AppendEntries } from '../../src/messages/types';
import { EntryKind } from '../../src/messages/entry';
import { step } from '../../src/core/step';
import type { RaftState } from '../../src/core/state';
import { stallTicks } from '../../src/options';
import { elect, makeState, msg, ok, sent } from './helpers';

/** One entry per message; n2 holds the no-op at 1 and replicates; a stall takes 12 ticks. */
function leaderReplicatingToN2(): RaftState {
  const s = makeState({ options: { maxEntriesPerMessage: 1, stallTicks: 12 } });
  elect(s); // term 1, no-op at 1
  msg(s, 'n2', ok(1, 1));
  return s;
}

function appendsToN2(fx: ReturnType<typeof msg>): AppendEntries[] {
  return sent(fx).flatMap((m) => (m.to === 'n2' && m.message.type === 'AppendEntries' ? [m.message] : []));
}

const carried = (messages: readonly AppendEntries[]) => messages.filter((m) => m.entries.length > 0).map((m) => m.entries.map((e) => e.index));
const tick = (s: RaftState) => step(s, { kind: 'heartbeatTick', epoch: s.epoch }).list;

function proposeTwo(s: RaftState): AppendEntries[] {
  const commands = [1, 2].map((b) => ({ kind: EntryKind.Command, data: new Uint8Array([b]) }));
  return appendsToN2(step(s, { kind: 'propose', commands, tokens: [0, 1], requestId: 1 }).list);
}

describe('resending a follower its entries', () => {
  test('a follower that has not answered for fewer than stallTicks ticks is not sent its entries again: only heartbeats go', () => {
    const s = leaderReplicatingToN2();
    expect(carried(proposeTwo(s))).toEqual([[2], [3]]);
    for (let i = 0; i < 11; i++) expect(carried(appendsToN2(tick(s)))).toEqual([]);
  });

  test('after stallTicks ticks without progress and without a report, the stream is probed afresh from after match', () => {
    const s = leaderReplicatingToN2();
    proposeTwo(s);
    for (let i = 0; i < 11; i++) tick(s);
    expect(carried(appendsToN2(tick(s)))).toEqual([[2]]); // the 12th tick: a probe from match + 1
    expect(s.role.name === 'leader' && s.role.progress.get('n2')!.probing).toBe(true);
  });

  test('a reported loss: the leader forgets what was in flight and probes at its next tick, not at once', () => {
    const s = leaderReplicatingToN2();
    proposeTwo(s);
    expect(step(s, { kind: 'messagesLost', to: 'n2' }).list).toEqual([]); // nothing sent from the report itself
    const pr = s.role.name === 'leader' ? s.role.progress.get('n2')! : null;
    expect(pr).toMatchObject({ probing: true, next: 2, match: 1 });
    expect(pr!.inflight).toEqual([]);
    expect(carried(appendsToN2(tick(s)))).toEqual([[2]]);
    // The probe's answer resumes streaming after what it acknowledged.
    expect(carried(appendsToN2(msg(s, 'n2', ok(1, 2))))).toEqual([[3]]);
  });

  test('reports while a probe is awaited send that probe again, once per tick however many reports came (without entries: n2 answered nothing since)', () => {
    const s = leaderReplicatingToN2();
    proposeTwo(s);
    step(s, { kind: 'messagesLost', to: 'n2' });
    tick(s); // the probe of entry 2
    for (let i = 0; i < 5; i++) expect(step(s, { kind: 'messagesLost', to: 'n2' }).list).toEqual([]);
    const probes = (messages: readonly AppendEntries[]) => messages.filter((m) => m.prevLogIndex === 1).map((m) => m.entries.length);
    expect(probes(appendsToN2(tick(s)))).toEqual([0, 0]); // the heartbeat (at match, 1) and the probe
    expect(probes(appendsToN2(tick(s)))).toEqual([0]); // the heartbeat: the probe is awaited again, no report, no stall yet
  });

  test('a probe the follower never answered, while it answers a later heartbeat round, is sent again at that answer (a restarted host dropped it before its group ran)', () => {
    // A new leader of term 2 over a log of one entry: its first probe to n2 carries its no-op (2), after index 1.
    const s = makeState({ log: [1], term: 1, options: { maxEntriesPerMessage: 1, stallTicks: 12 } });
    elect(s);
    const pr = s.role.name === 'leader' ? s.role.progress.get('n2')! : null;
    expect(pr).toMatchObject({ probing: true, probeSent: true, next: 2, match: 0 });
    const probeRound = pr!.probeSeq;
    const later = appendsToN2(tick(s)).find((m) => m.prevLogIndex === 0)!.seq; // the heartbeat of the next round, at match
    expect(later).toBeGreaterThan(probeRound);
    // An answer of the probe's own round (its heartbeat, at match) says nothing of the probe: not sent again.
    expect(carried(appendsToN2(msg(s, 'n2', { ...ok(2, 0), seq: probeRound })))).toEqual([]);
    // n2 answers the later heartbeat, not the probe: the probe went missing, sent again now.
    expect(carried(appendsToN2(msg(s, 'n2', { ...ok(2, 0), seq: later })))).toEqual([[2]]);
    // Once per probe: neither another answer of that round nor one of a later round sends it a third time (then `stallTicks` rules).
    expect(carried(appendsToN2(msg(s, 'n2', { ...ok(2, 0), seq: later })))).toEqual([]);
    const third = appendsToN2(tick(s)).find((m) => m.prevLogIndex === 0)!.seq;
    expect(carried(appendsToN2(msg(s, 'n2', { ...ok(2, 0), seq: third })))).toEqual([]);
    // The probe's answer ends probing.
    msg(s, 'n2', { ...ok(2, 2), seq: later });
    expect(pr).toMatchObject({ probing: false, match: 2 });
  });

  test('a report changes nothing for a follower with nothing in flight, for other followers, or on a follower', () => {
    const s = leaderReplicatingToN2();
    step(s, { kind: 'messagesLost', to: 'n2' });
    expect(s.role.name === 'leader' && s.role.progress.get('n2')!.probing).toBe(false);
    proposeTwo(s);
    step(s, { kind: 'messagesLost', to: 'n3' });
    expect(s.role.name === 'leader' && s.role.progress.get('n2')!.inflight.length).toBe(2);
    const follower = makeState({ id: 'n2' });
    expect(step(follower, { kind: 'messagesLost', to: 'n1' }).list).toEqual([]);
    expect(follower.role.name).toBe('follower');
  });
});

test('stallTicks is two maximum election timeouts in heartbeat ticks, at least 2', () => {
  expect(stallTicks({ electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 50 })).toBe(12);
  expect(stallTicks({ electionTimeout: { min: 1000, max: 2000 }, heartbeatInterval: 100 })).toBe(40);
  expect(stallTicks({ electionTimeout: { min: 10, max: 20 }, heartbeatInterval: 50 })).toBe(2);
});
