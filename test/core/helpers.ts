import { Effect } from '../../src/core/effects';
import { RaftLog } from '../../src/core/log';
import { createState, ProtocolOptions, RaftState } from '../../src/core/state';
import { Entry, EntryKind } from '../../src/messages/entry';
import type { AppendEntriesResponse, RaftMessage } from '../../src/messages/types';
import { step } from '../../src/core/step';

/** Plain Raft as in the paper's Figure 2: no PreVote, CheckQuorum or forwarding. */
export const OPTIONS: ProtocolOptions = {
  maxEntriesPerMessage: 100,
  maxBytesPerMessage: 1 << 20,
  maxInflight: 4,
  maxInflightBytes: 1 << 22,
  stallTicks: 2,
  quiesce: false,
  quiesceAfterTicks: 2,
  preVote: false,
  checkQuorum: false,
  checkQuorumTicks: 3, // electionTimeoutMin 150 / a 50 ms heartbeat
  electionTimeoutMin: 150,
  leaseDriftMargin: 30,
  forward: false,
  eagerCommitNotices: true,
  electionTimeoutMax: 300,
  maxPromotionLag: 64,
  maxUncommittedBytes: 1 << 20,
  random: () => 0.5, // every election deadline 225 after it is drawn
  maxApplyingBytes: 1 << 20,
  maxApplyingEntries: 1000,
  logCacheBytes: 1 << 30, // everything stays in memory unless a test says otherwise
};

/** Entries with the given terms at indexes 1, 2, ... */
export function logOf(terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: i + 1, term, kind: EntryKind.Command, data: new Uint8Array([i + 1]) }));
}

export function entriesAt(first: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: first + i, term, kind: EntryKind.Command, data: new Uint8Array([first + i]) }));
}

export function makeState(opts: {
  id?: string;
  voters?: string[];
  term?: number;
  votedFor?: string | null;
  log?: number[];
  options?: Partial<ProtocolOptions>;
}): RaftState {
  return createState(
    opts.id ?? 'n1',
    [{ index: 0, term: 0, config: { voters: opts.voters ?? ['n1', 'n2', 'n3'], learners: [], addresses: {} } }],
    { term: opts.term ?? 0, votedFor: opts.votedFor ?? null, log: new RaftLog(logOf(opts.log ?? [])) },
    { ...OPTIONS, ...opts.options },
  );
}

/** A user command as the propose event carries it. */
export function command(byte: number) {
  return { kind: EntryKind.Command, data: new Uint8Array([byte]) };
}

export function sent(effects: readonly Effect[]): { to: string; message: RaftMessage; afterPersist: boolean }[] {
  return effects.flatMap((e) => (e.type === 'send' ? [{ to: e.to, message: e.message, afterPersist: e.afterPersist }] : []));
}

/** The effects' types, without election reports (diagnostics, tested in electionReports.test.ts). */
export function types(effects: readonly Effect[]): string[] {
  return effects.filter((e) => e.type !== 'electionReport').map((e) => (e.type === 'send' ? `send ${e.message.type} to ${e.to}` : e.type));
}

export function logTerms(s: RaftState): number[] {
  const out: number[] = [];
  for (let i = 1; i <= s.log.lastIndex; i++) out.push(s.log.termAt(i)!);
  return out;
}

/** Delivers `message` from `from` to the rules; returns the effects. */
export function msg(s: RaftState, from: string, message: RaftMessage): Effect[] {
  return step(s, { kind: 'message', from, message }).list;
}

/** A successful AppendEntries reply up to `matchIndex`. */
export function ok(term: number, matchIndex: number): AppendEntriesResponse {
  return { type: 'AppendEntriesResponse', term, success: true, matchIndex, rejectedIndex: 0, conflictIndex: 0, conflictTerm: 0, seq: 0 };
}

/** Makes n1 the leader of the next term with its own durable vote and n2's. */
export function elect(s: RaftState): void {
  step(s, { kind: 'electionTimeout', epoch: s.epoch, forced: true });
  step(s, { kind: 'hardStateSaved', term: s.term, votedFor: s.id });
  msg(s, 'n2', { type: 'RequestVoteResponse', term: s.term, voteGranted: true });
  expect(s.role.name).toBe('leader');
}

/** n1 leads term 1 of n1..n3 with CheckQuorum (3 ticks); both followers answered at time 1000, past the new leader's grace. */
export function leaderHeardAt1000(): RaftState {
  const s = makeState({ options: { checkQuorum: true, checkQuorumTicks: 3 } });
  s.startedAt = -1000;
  s.now = 0;
  elect(s);
  s.now = 1000;
  msg(s, 'n2', ok(s.term, 1));
  msg(s, 'n3', ok(s.term, 1));
  return s;
}
