import type { AppendEntries, AppendEntriesResponse, Envelope, RaftMessage } from '../../src/messages/types';
import { NodeSeed, ScriptedPeer, TestCluster, TestClusterOptions } from '../../src/testing';
import type { RaftNodeOptions } from '../../src/node';

/*
 * Shared set-up of the ported etcd-io/raft scenarios: clusters on virtual time whose
 * elections start only when a test says so (etcd's tests tick by hand).
 */

type NodeOptions = NonNullable<TestClusterOptions['nodeOptions']>;

/** Plain Raft (paper §5): no PreVote, no CheckQuorum, 100–200 ms election timeouts, 10 ms heartbeats. */
export const PLAIN: NodeOptions = { preVote: false, checkQuorum: false, heartbeatInterval: 10, electionTimeout: { min: 100, max: 200 }, forward: true };
/** PreVote and CheckQuorum on (dissertation §9.6). */
export const ROBUST: NodeOptions = { ...PLAIN, preVote: true, checkQuorum: true };
/** The minimum election timeout of PLAIN and ROBUST: the leader-stickiness and lease window. */
export const MIN_TIMEOUT = 100;

/** `ids` nodes (n1..nN unless named), empty logs, term `term`, elections by hand. */
export async function cluster(
  ids: number | readonly string[],
  options: Partial<RaftNodeOptions> = {},
  extra: Partial<TestClusterOptions> = {},
): Promise<TestCluster> {
  const names = typeof ids === 'number' ? Array.from({ length: ids }, (_, i) => `n${i + 1}`) : ids;
  const seeds: Record<string, NodeSeed> = Object.fromEntries(names.map((id) => [id, {}]));
  return seeded(seeds, options, extra);
}

/** Nodes started from given logs and hard states, elections by hand. */
export async function seeded(
  seeds: Readonly<Record<string, NodeSeed>>,
  options: Partial<RaftNodeOptions> = {},
  extra: Partial<TestClusterOptions> = {},
): Promise<TestCluster> {
  const c = TestCluster.fromLogs(seeds, { manualElections: true, ...extra, nodeOptions: { ...PLAIN, ...options } });
  await c.clock.advance(1); // every node has loaded its storage
  return c;
}

/** Campaigns on `id` and lets the election run (`ms` of virtual time). */
export async function campaign(c: TestCluster, id: string, ms = 20): Promise<void> {
  c.campaign(id);
  await c.clock.advance(ms);
}

/** Elects `id` and waits until every running node that can hear it follows it. */
export async function elect(c: TestCluster, id: string): Promise<void> {
  await campaign(c, id);
  expect(c.replication(id).role).toBe('leader');
  await c.clock.advance(20);
}

/** The role of every node, by id. */
export function roles(c: TestCluster, ids: readonly string[] = c.ids): Record<string, string> {
  return Object.fromEntries(ids.map((id) => [id, c.replication(id).role]));
}

/** The term of every node, by id. */
export function terms(c: TestCluster, ids: readonly string[] = c.ids): Record<string, number> {
  return Object.fromEntries(ids.map((id) => [id, c.replication(id).term]));
}

/** Proposes `command` on `id` without waiting; the outcome is kept, never thrown. */
export function proposeLater(c: TestCluster, id: string, command = 'x'): { outcome?: 'committed' | Error } {
  const result: { outcome?: 'committed' | Error } = {};
  c.node(id)
    .propose(new TextEncoder().encode(command))
    .then(
      () => (result.outcome = 'committed'),
      (e: Error) => (result.outcome = e),
    );
  return result;
}

/** The messages of type `type` that a scripted peer received, taken from its inbox. */
export function taken<T extends RaftMessage['type']>(peer: ScriptedPeer, type: T): Envelope<Extract<RaftMessage, { type: T }>>[] {
  return peer.take((e) => e.message.type === type) as Envelope<Extract<RaftMessage, { type: T }>>[];
}

/** The successful answer of a follower that stored what `m` carried. */
export function accept(m: AppendEntries): AppendEntriesResponse {
  return {
    type: 'AppendEntriesResponse',
    term: m.term,
    success: true,
    matchIndex: m.prevLogIndex + m.entries.length,
    rejectedIndex: 0,
    conflictIndex: 0,
    conflictTerm: 0,
    seq: m.seq,
  };
}

/** A heartbeat of `term` from `leaderId` that matches an empty log. */
export function heartbeat(term: number, leaderId: string, leaderCommit = 0): AppendEntries {
  return { type: 'AppendEntries', term, leaderId, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit, seq: 1 };
}
