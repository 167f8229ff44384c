import { EntryKind } from '../messages/entry';
import type { Entry } from '../messages/entry';
import type { EntryRun } from '../messages/entryRun';
import type { NodeId, TimeoutNow } from '../messages/types';
import { ClusterConfig, decodeConfig, encodeConfig, isVoter, members } from '../messages/config';
import { Effects } from './effects';
import { Progress } from './progress';
import { broadcastAppend } from './send';
import { becomeCandidate, becomeFollower } from './roles';
import { campaignReport, removedReport } from './electionReports';
import { currentConfig, RaftState } from './state';

/**
 * Membership changes (Raft dissertation ch. 4) and leadership transfer (§3.10).
 *
 * - One change at a time: a change is accepted only when the latest configuration is
 *   committed, and only once an entry of the leader's own term has committed (the fix
 *   for the single-server change bug, dissertation §4.1 erratum).
 * - Adding or removing one voter, or any change of learners, is a single-server change.
 *   Replacing several voters at once goes through a joint configuration C_old,new; once
 *   that commits the leader appends C_new by itself.
 * - A leader that is not a voter of a committed configuration steps down.
 */
export type ConfigChange =
  | { readonly type: 'addLearner'; readonly id: NodeId; readonly address?: string }
  | { readonly type: 'promote'; readonly id: NodeId }
  | { readonly type: 'remove'; readonly id: NodeId }
  | {
      readonly type: 'replace';
      readonly voters: readonly NodeId[];
      readonly learners: readonly NodeId[];
      readonly addresses?: Readonly<Record<NodeId, string>>;
    };

export function stepChangeConfig(s: RaftState, requestId: number, change: ConfigChange, fx: Effects): void {
  const refuse = (reason: string, retry = false) => fx.push({ type: 'configChangeRefused', requestId, reason, retry });
  if (s.role.name !== 'leader') return refuse('not the leader');
  if (s.role.transfer) return refuse('a leadership transfer is in progress');
  if (s.log.termAt(s.commitIndex) !== s.term) return refuse('no entry of this term has committed yet', true);
  const latest = s.configs[s.configs.length - 1];
  if (latest.index > s.commitIndex || latest.config.oldVoters) return refuse('another configuration change is in progress', true);
  const current = latest.config;
  const next = nextConfig(s, current, change);
  if (typeof next === 'string') return refuse(next, next.startsWith('learner'));
  const entry: Entry = { index: s.log.lastIndex + 1, term: s.term, kind: EntryKind.Config, data: encodeConfig(next) };
  s.log.append([entry]);
  fx.persistEntries([entry]);
  trackConfigs(s, [entry]);
  fx.push({ type: 'configChangeAppended', requestId, index: entry.index, term: entry.term });
  broadcastAppend(s, fx);
}

/** The configuration a change leads to, or why it cannot be made. */
function nextConfig(s: RaftState, c: ClusterConfig, change: ConfigChange): ClusterConfig | string {
  const named = members(c);
  switch (change.type) {
    case 'addLearner':
      if (named.includes(change.id)) return `${change.id} is already a member`;
      return {
        voters: c.voters,
        learners: [...c.learners, change.id],
        addresses: change.address ? { ...c.addresses, [change.id]: change.address } : c.addresses,
      };
    case 'promote': {
      if (!c.learners.includes(change.id)) return `${change.id} is not a learner`;
      const pr = s.role.name === 'leader' ? s.role.progress.get(change.id) : undefined;
      // It must have answered (recently) and hold the log up to a small lag: a learner
      // that never answered is not "caught up" just because the log is short.
      if (!pr || pr.match === 0 || s.now - pr.lastContact >= s.options.electionTimeoutMin) {
        return `learner ${change.id} is still catching up (not heard from)`;
      }
      const lag = s.log.lastIndex - pr.match;
      if (lag > s.options.maxPromotionLag && !keepsUp(s, pr)) return `learner ${change.id} is still catching up (${lag} entries behind)`;
      return { voters: [...c.voters, change.id], learners: c.learners.filter((id) => id !== change.id), addresses: c.addresses };
    }
    case 'remove': {
      if (!named.includes(change.id)) return `${change.id} is not a member`;
      const voters = c.voters.filter((id) => id !== change.id);
      if (voters.length === 0) return 'cannot remove the last voter';
      const addresses = { ...c.addresses };
      delete addresses[change.id];
      return { voters, learners: c.learners.filter((id) => id !== change.id), addresses };
    }
    case 'replace': {
      const voters = [...new Set(change.voters)];
      const learners = [...new Set(change.learners)].filter((id) => !voters.includes(id));
      if (voters.length === 0) return 'a configuration needs at least one voter';
      const addresses = { ...c.addresses, ...change.addresses };
      for (const id of Object.keys(addresses)) if (!voters.includes(id) && !learners.includes(id)) delete addresses[id];
      const added = voters.filter((id) => !c.voters.includes(id));
      const removed = c.voters.filter((id) => !voters.includes(id));
      if (added.length + removed.length <= 1) return { voters, learners, addresses };
      return { voters, learners, oldVoters: c.voters, addresses };
    }
  }
}

/**
 * Whether a learner keeps up with the log well enough to be promoted, however many
 * entries it trails by (Raft dissertation §4.2.1): its last catch-up round took less than
 * the minimum election timeout, and so far the current one too. Under steady load a
 * healthy learner always trails by what is in flight to it — at 100,000 writes/s and a
 * millisecond's round trip, more than `maxPromotionLag` entries — so a lag in entries
 * alone would refuse it for as long as the load lasts; one that rounds show to be behind
 * by less than an election timeout's replication cannot make the new configuration wait
 * long for it. One that stalls (the current round runs long) is refused.
 *
 * @example
 * keepsUp(s, pr); // pr.lastRoundMs 12, round begun 5 ms ago, electionTimeoutMin 150: true
 */
function keepsUp(s: RaftState, pr: Progress): boolean {
  return pr.lastRoundMs < s.options.electionTimeoutMin && s.now - pr.roundStart < s.options.electionTimeoutMin;
}

/** Records the configurations among newly appended entries; the latest takes effect at once. */
export function trackConfigs(s: RaftState, entries: readonly Entry[]): void {
  let changed = false;
  for (const e of entries) {
    if (e.kind !== EntryKind.Config) continue;
    s.configs.push({ index: e.index, term: e.term, config: decodeFromEntry(e) });
    changed = true;
  }
  if (changed) syncProgress(s);
}

/** `trackConfigs` for a received run: only its configuration entries are made into objects. */
export function trackConfigRun(s: RaftState, run: EntryRun): void {
  let configs: Entry[] | undefined;
  for (let i = 0; i < run.length; i++) if (run.kindAt(i) === EntryKind.Config) (configs ??= []).push(run.entry(i));
  if (configs !== undefined) trackConfigs(s, configs);
}

/** Entries from `index` on were truncated: their configurations go with them. */
export function truncateConfigs(s: RaftState, index: number): void {
  while (s.configs.length > 1 && s.configs[s.configs.length - 1].index >= index) s.configs.pop();
}

/**
 * A leader tracks the members of the configuration in effect. A removed member keeps
 * its progress until it has stored the entry that removed it, so it learns it is out
 * and stops campaigning (it counts toward nothing meanwhile).
 */
function syncProgress(s: RaftState): void {
  if (s.role.name !== 'leader') return;
  const latest = s.configs[s.configs.length - 1];
  const wanted = new Set(members(latest.config));
  wanted.delete(s.id);
  for (const [id, pr] of s.role.progress) {
    if (wanted.has(id)) pr.removedAt = 0;
    else if (pr.removedAt === 0) pr.removedAt = latest.index;
  }
  for (const id of wanted) {
    if (s.role.progress.has(id)) continue;
    const pr = new Progress(s.log.lastIndex, s.now);
    pr.heardFrom(s.now);
    s.role.progress.set(id, pr);
  }
}

/** Forgets removed members that have stored the entry that removed them. */
export function forgetRemoved(s: RaftState): void {
  if (s.role.name !== 'leader') return;
  for (const [id, pr] of s.role.progress) if (pr.removedAt > 0 && pr.match >= pr.removedAt) s.role.progress.delete(id);
}

/**
 * The commit index moved. When the latest configuration is committed: a joint one is
 * followed by C_new; a leader that is no longer a voter steps down (§4.2.2).
 */
export function onConfigCommitted(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader') return;
  const latest = s.configs[s.configs.length - 1];
  if (latest.index === 0 || latest.index > s.commitIndex) return;
  const c = latest.config;
  if (c.oldVoters) {
    const final: ClusterConfig = { voters: c.voters, learners: c.learners, addresses: c.addresses };
    const entry: Entry = { index: s.log.lastIndex + 1, term: s.term, kind: EntryKind.Config, data: encodeConfig(final) };
    s.log.append([entry]);
    fx.persistEntries([entry]);
    trackConfigs(s, [entry]);
    broadcastAppend(s, fx);
    return;
  }
  if (!isVoter(c, s.id)) {
    const report = removedReport(s, s.role);
    becomeFollower(s, s.term, null, fx);
    fx.report(report);
  }
}

/**
 * Starts a leadership transfer (§3.10) to `to`, or to the most up-to-date voter. The
 * leader stops taking proposals, brings the target up to date, then sends it TimeoutNow.
 */
export function stepTransfer(s: RaftState, requestId: number, to: NodeId | null, fx: Effects): void {
  const abort = (reason: string) => fx.push({ type: 'transferAborted', requestId, reason });
  if (s.role.name !== 'leader') return abort('not the leader');
  if (s.role.transfer) return abort('a leadership transfer is already in progress');
  const config = currentConfig(s);
  let target = to;
  if (target === null) {
    let best = -1;
    for (const [id, pr] of s.role.progress) {
      if (isVoter(config, id) && pr.match > best) {
        best = pr.match;
        target = id;
      }
    }
  }
  if (target === null || target === s.id || !isVoter(config, target)) return abort(`no voter to transfer to (${to ?? 'any'})`);
  s.role.transfer = { to: target, requestId, deadline: s.now + s.options.electionTimeoutMax, timeoutNowSent: false };
  maybeSendTimeoutNow(s, fx);
}

/** Sends TimeoutNow once the transfer target holds the whole log; until then, replicates to it. */
export function maybeSendTimeoutNow(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader' || !s.role.transfer || s.role.transfer.timeoutNowSent) return;
  const t = s.role.transfer;
  const pr = s.role.progress.get(t.to);
  if (!pr) return;
  if (pr.match === s.log.lastIndex) {
    t.timeoutNowSent = true;
    // From now on the target may win at any time, whatever happens to this transfer (see leaseHolds).
    s.role.leaseRevoked = true;
    fx.sendNow(t.to, { type: 'TimeoutNow', term: s.term });
  }
}

/** A transfer that has not completed within an election timeout is abandoned. */
export function checkTransferDeadline(s: RaftState, fx: Effects): void {
  if (s.role.name !== 'leader' || !s.role.transfer || s.now < s.role.transfer.deadline) return;
  fx.push({ type: 'transferAborted', requestId: s.role.transfer.requestId, reason: `${s.role.transfer.to} did not take over in time` });
  s.role.transfer = null;
}

/**
 * Whether this node campaigns when its election timer runs out: a voter of its latest
 * configuration, or an old voter of the joint configuration before it while that latest
 * one (C_new) is not committed here. A leader swapped out by a joint change and cut off
 * once it had appended C_new may hold the longest log while the joint configuration's
 * old half needs its vote: "a server that is not part of its own latest configuration
 * should still start new elections, as it might still be needed until the C_new entry
 * is committed" (dissertation §4.2.2). Its own vote counts only where it is a voter
 * (`hasQuorum` counts voters); it stops once it knows C_new committed. A server removed
 * by a single-server change is never needed: the old configuration's majority does
 * without it, and it stops once it has stored its removal.
 *
 * @example
 * // n1's log: joint { old: [n1, n2], new: [n2, n3] } at 7, then C_new { voters: [n2, n3] } at 8; commitIndex 7
 * mayCampaign(s); // true: it may win with n2's and n3's votes, commit C_new, then step down
 */
export function mayCampaign(s: RaftState): boolean {
  if (isVoter(currentConfig(s), s.id)) return true;
  const latest = s.configs[s.configs.length - 1];
  const before = s.configs[s.configs.length - 2];
  return latest.index > s.commitIndex && before?.config.oldVoters !== undefined && isVoter(before.config, s.id);
}

/** The leader asks this node to campaign at once, skipping PreVote (§3.10). */
export function handleTimeoutNow(s: RaftState, _from: NodeId, _m: TimeoutNow, fx: Effects): void {
  if (s.role.name === 'leader' || !isVoter(currentConfig(s), s.id) || s.repair) return;
  const report = campaignReport(s, { preVote: false, transfer: true });
  becomeCandidate(s, fx, true);
  fx.report(report);
}

function decodeFromEntry(e: Entry): ClusterConfig {
  return decodeConfig(e.data);
}
