import { distinctUntilChanged, filter, map, Subscription } from 'rxjs';
import {
  AuthenticationError,
  FrameTooLargeError,
  HandshakeError,
  InvalidFrameError,
  InvalidMessageError,
  PeerConnectionError,
  RaftNode,
  StorageFailedError,
} from '../../src';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './log';
import type { KvMetrics } from './metrics';

/** Why a Raft connection was refused, for the log: a short reason a person can act on. */
export function rejectionReason(error: Error): string | null {
  if (error instanceof AuthenticationError) return /proof of the cluster secret/.test(error.reason) ? 'wrong secret' : `authentication: ${error.reason}`;
  if (error instanceof HandshakeError) {
    if (/not a configured peer|peer was removed/.test(error.reason)) return `unknown node (${error.reason})`;
    if (/^cluster /.test(error.reason)) return `wrong cluster id (${error.reason})`;
    return `handshake: ${error.reason}`;
  }
  if (error instanceof FrameTooLargeError) return `bad frame: ${error.length} bytes, limit ${error.limit}`;
  if (error instanceof InvalidFrameError) return `bad frame: ${error.reason}`;
  return null;
}

/**
 * Logs what an operator wants to see and counts it: leader changes, why elections started
 * and votes were granted (info) and why a leader stepped down (warn), membership changes,
 * rejected Raft connections (the peer's address and the reason: wrong secret, unknown
 * node, bad frame), lost peer connections (debug), and the storage failure that stops
 * the node.
 *
 * @example
 * subscriptions.add(reportNodeEvents(node, log, metrics));
 */
export function reportNodeEvents(node: RaftNode, log: Logger, metrics: KvMetrics): Subscription {
  const subscriptions = new Subscription();
  const loopDelay = recentLoopDelay();
  subscriptions.add(() => loopDelay.stop());
  let lastLeader: string | null = null;
  subscriptions.add(
    node.leader$.subscribe((leader) => {
      if (leader === null) {
        if (lastLeader !== null) log.info({ previous: lastLeader }, 'leader lost');
        lastLeader = null;
        return;
      }
      const key = `${leader.id}@${leader.term}`;
      if (key === lastLeader) return;
      metrics.leaderChanges.inc();
      log.info({ leader: leader.id, term: leader.term, self: leader.self }, leader.self ? 'this node is the leader' : 'leader changed');
      lastLeader = key;
    }),
  );
  subscriptions.add(
    node.elections$.subscribe((report) => {
      const fields = { ...report, loopDelayMaxMs: loopDelay.maxMs() };
      if (report.kind === 'stepDown') log.warn(fields, 'stepped down as leader');
      else if (report.kind === 'campaign') log.info(fields, report.preVote ? 'pre-vote started' : 'election started');
      else log.info(fields, report.preVote ? 'pre-vote granted' : 'vote granted');
    }),
  );
  subscriptions.add(
    node.members$
      .pipe(
        filter((m) => m.committed),
        map((m) => ({ voters: [...m.voters], learners: [...m.learners], configIndex: m.index, ...(m.joint ? { oldVoters: [...m.joint.oldVoters] } : {}) })),
        distinctUntilChanged((a, b) => JSON.stringify(a) === JSON.stringify(b)),
      )
      .subscribe((m) => log.info(m, 'membership')),
  );
  subscriptions.add(
    node.errors$.subscribe((error) => {
      metrics.errors.inc({ type: error.name });
      const address = (error as { address?: string }).address;
      const peer = (error as { peerId?: string }).peerId;
      const reason = rejectionReason(error);
      if (reason !== null) log.warn({ address, peer, reason, error: error.message }, 'rejected Raft connection');
      else if (error instanceof PeerConnectionError) log.debug({ address, peer, reason: error.reason }, 'peer connection lost');
      else if (error instanceof StorageFailedError) log.error({ error: error.message, cause: String((error as { cause?: unknown }).cause ?? '') }, 'storage failed: the node stops');
      else if (error instanceof InvalidMessageError) log.warn({ error: error.message }, 'invalid message dropped');
      else log.warn({ type: error.name, error: error.message }, 'node error');
    }),
  );
  return subscriptions;
}

/**
 * The longest this process's event loop was blocked lately (the current second and the
 * one before, ms): an election report with a large value was decided by a stalled process.
 *
 * @example
 * const delay = recentLoopDelay(); delay.maxMs(); // 12.3
 * delay.stop();
 */
function recentLoopDelay(): { maxMs(): number; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let previousMax = 0;
  const every = setInterval(() => {
    previousMax = histogram.max;
    histogram.reset();
  }, 1000);
  every.unref();
  return {
    maxMs: () => Math.round(Math.max(previousMax, histogram.max) / 1e5) / 10,
    stop() {
      clearInterval(every);
      histogram.disable();
    },
  };
}
