import type { NodeId, TermQuery, TermReport } from '../messages/types';
import type { ConfigAt } from '../messages/config';
import { members } from '../messages/config';
import { Effects } from './effects';
import { resetElectionDeadline } from './electionDeadline';
import type { RaftState, TermRecovery } from './state';

/**
 * Recovery of a lost hard state (term, votedFor) beside a kept log (issue 18, finding 6).
 *
 * The danger. Before it lost its hard state, this node N may have voted in some term T
 * for a candidate C. Restarted at term 0 with no vote, it could grant another candidate
 * D in T: two leaders in T. It may also have acknowledged entries of a leader of term T,
 * and at a lower term it would take entries from a stale leader of a term below T,
 * overwriting what it acknowledged (the stale leader could then commit over an entry
 * that a majority holding N's acknowledgement had committed).
 *
 * The rule. N asks every member of every configuration in its log — voters, old voters
 * and learners, all of them, not a majority — for its current term (`TermQuery`; the
 * answer, `TermReport`, is a pure read on the receiver). Once all have answered, N sets
 * its hard state to (X, N) where X is the largest of the answers, its own term and its
 * log's last term, saves it durably, and only then may vote and campaign again. Until
 * then it neither votes, nor grants pre-votes, nor campaigns (`RaftState.repair`), and it
 * takes no entries and no snapshot: AppendEntries and InstallSnapshot are ignored.
 * (votedFor = N is a legal hard state meaning "N voted in X"; N grants no one in X.)
 *
 * The argument.
 * 1. N granted C a vote in T only on a RequestVote of term T from C, so C was at term T.
 *    A node's term only grows, so C's answer is at least T, and X >= T. C is a member of
 *    a configuration in N's log: N takes RequestVote only from such members
 *    (`PeerFilter`). So N at (X, N) refuses every RequestVote of a term <= X, in
 *    particular of T, and grants at X + 1 or later as any voter (it never voted there).
 * 2. A RequestVote of term T sent before N's crash and delivered after the repair: its
 *    sender was at T, so X >= T, and N refuses it (at X: voted for itself; below X:
 *    stale).
 * 3. Acknowledgements. What N acknowledged before the crash is still in its log (the log
 *    was kept), so every majority that counted N still holds the entry; the
 *    quorum-intersection argument of §5.4 needs nothing else. The claim "its
 *    acknowledgements still count during the repair" does NOT hold, though: at a term
 *    below the one it had, N would accept AppendEntries from a stale leader of a term
 *    below T, truncate an entry it acknowledged to a leader of T, and acknowledge the
 *    stale leader's entry at that index — which the stale leader then commits, while
 *    the leader of T committed another (3 nodes: the stale leader and N make a
 *    majority). Hence the stricter rule: during the recovery N takes no entries at all.
 *    After it, N is at X >= every term of a leader it acknowledged (that leader's own
 *    answer), and refuses stale leaders as any node does.
 * 4. Removed members, learners being promoted: every configuration in the log is asked,
 *    whether it is still in effect or not. A member that never answers (removed and
 *    gone, crashed, partitioned) keeps N in repair: safe, only degraded; it is reported
 *    once (`termRecoveryStalled`).
 * 5. A member that is itself recovering its hard state does not answer (its term is not
 *    known): two such nodes wait for each other, which is safe.
 * 6. A message of a newer term meanwhile raises N's term (and clears no vote it holds:
 *    it holds none); whatever term N is at when the save of (X, N) is durable, it has
 *    voted in none above X since the crash.
 * 7. A crash before the save is durable, or before the damage record is cleared, finds
 *    the damage again at the next start and starts over.
 *
 * Known limits. Step 1 assumes C is still named in N's log at restart. A configuration
 * entry that named C and was since truncated by a newer leader, or compacted into a
 * snapshot that no longer names C, or a vote N cast while not in its own latest
 * configuration (it then takes RequestVote from anyone), escapes it; C then answers
 * only if it is still named. Step 1 also assumes C's term T was durable at C when N was asked. A candidate
 * sends RequestVote while its new term is still being written (`becomeCandidate`); if C
 * crashes before that write is durable, C restarts below T, nobody may remember T, and
 * X may be below T. C's later campaign in T could then count N's pre-crash grant, if
 * that reply is still in the network, while N grants D in T. Closing this needs the
 * candidate to ask only once its term is durable (`afterPersist`), at the cost of an
 * fsync per election; see the report of issue 18.
 */

/** Rounds of queries after which members that still owe an answer are reported (once). */
export const STALL_ROUNDS = 3;

/**
 * The members a node that lost its hard state must hear from: every member of every
 * configuration in its log but itself. Empty when repair from the cluster is impossible.
 *
 * @example
 * termRecoveryPeers(s.configs, 'n1'); // ['n2', 'n3']
 */
export function termRecoveryPeers(configs: readonly ConfigAt[], self: NodeId): NodeId[] {
  return [...new Set(configs.flatMap(({ config }) => members(config)))].filter((id) => id !== self);
}

/**
 * Puts a node whose hard state was lost into term recovery; `then` is the repair that
 * follows (a damaged log tail), if any. Throws when no other member can be asked.
 *
 * @example
 * startTermRecovery(s, null); // s.repair.terms.owed: {'n2', 'n3'}
 */
export function startTermRecovery(s: RaftState, then: { readonly reason: string } | null): void {
  const peers = termRecoveryPeers(s.configs, s.id);
  if (peers.length === 0) throw new Error(`${s.id}: no other member to recover the hard state from`);
  const terms: TermRecovery = { owed: new Set(peers), maxTerm: 0, rounds: 0, stallReported: false, saving: null, then };
  s.repair = { reason: `hard state lost: recovering the term from ${peers.join(', ')}`, terms };
}

/** Whether this node is recovering its hard state (no votes, no campaigns, no entries). */
export function recoveringTerms(s: RaftState): boolean {
  return s.repair?.terms !== undefined;
}

/**
 * The election deadline passed while recovering: ask every member that has not answered
 * (the first round goes one election timeout after start), draw the next deadline for
 * the next round (the runtime schedules it, as for any deadline), and report once, after
 * `STALL_ROUNDS`, who keeps the recovery waiting.
 */
export function askTerms(s: RaftState, fx: Effects): void {
  const terms = s.repair?.terms;
  if (!terms) return;
  resetElectionDeadline(s);
  if (terms.saving !== null) return;
  terms.rounds++;
  for (const peer of terms.owed) fx.sendNow(peer, { type: 'TermQuery', term: s.term });
  if (terms.rounds >= STALL_ROUNDS && !terms.stallReported) {
    terms.stallReported = true;
    fx.push({ type: 'termRecoveryStalled', missing: [...terms.owed] });
  }
}

/**
 * Any node answers a TermQuery with its current term, whatever its role, and changes
 * nothing: no term adopted, no timer reset, so a recovering node never disturbs a
 * healthy cluster. A node recovering its own hard state does not answer (its term is
 * not known). The answer leaves once what this node wrote so far is durable.
 */
export function handleTermQuery(s: RaftState, from: NodeId, _m: TermQuery, fx: Effects): void {
  if (recoveringTerms(s)) return;
  fx.send(from, { type: 'TermReport', term: s.term });
}

/**
 * Counts a member's term. With the last answer in, sets the hard state to (X, self) —
 * X the largest term heard, held or in the log — and saves it; the recovery ends when
 * that write is durable (`onTermsSaved`).
 */
export function handleTermReport(s: RaftState, from: NodeId, m: TermReport, fx: Effects): void {
  const terms = s.repair?.terms;
  if (!terms || terms.saving !== null || !terms.owed.delete(from)) return;
  terms.maxTerm = Math.max(terms.maxTerm, m.term);
  if (terms.owed.size > 0) return;
  const term = Math.max(terms.maxTerm, s.term, s.log.lastTerm);
  s.term = term;
  s.votedFor = s.id;
  s.leaderId = null;
  terms.saving = term;
  fx.saveHardState(term, s.id);
}

/**
 * The hard state (term, votedFor) is durable: if it is the recovered one, the recovery
 * ends (a repair of the log tail may follow). The runtime clears the damage record when
 * told to (`termsRecovered`).
 */
export function onTermsSaved(s: RaftState, term: number, votedFor: NodeId | null, fx: Effects): void {
  const terms = s.repair?.terms;
  if (!terms || terms.saving !== term || votedFor !== s.id) return;
  s.repair = terms.then;
  fx.push({ type: 'termsRecovered', term, clearDamage: terms.then === null });
}
