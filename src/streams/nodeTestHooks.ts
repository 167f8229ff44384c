import type { TimeoutRange } from '../api';
import type { RaftEvent } from '../core/events';
import { currentConfig, RaftState } from '../core/state';
import type { NodeTestHooks } from '../testHooks';
import { inspectState } from './inspect';

/** What tests set on a node before it has loaded its storage; read once it has (`loadState`). */
export interface StartSettings {
  electionRange?: TimeoutRange | 'never';
  plantedBug: RaftState['plantedBug'];
}

/**
 * The test hooks of one node (`NodeTestHooks`). Every change to the Raft state goes
 * through the node's event loop (`dispatch`), never around it; settings made before the
 * node has started are kept in `atStart`.
 *
 * @example
 * nodeTestHooks({ state: () => state, dispatch: (e) => feedback.next(e), now: () => scheduler.now(), atStart });
 */
export function nodeTestHooks(node: {
  /** The running node's state; null before it has started and after it has stopped. */
  readonly state: () => RaftState | null;
  readonly dispatch: (event: RaftEvent) => void;
  readonly now: () => number;
  readonly atStart: StartSettings;
}): NodeTestHooks {
  return {
    campaign: () => {
      const s = node.state();
      if (s) node.dispatch({ kind: 'electionTimeout', epoch: s.epoch, forced: true });
      return s !== null;
    },
    setElectionTimeout: (range) => {
      if (range !== 'never' && !(range.min > 0 && range.max >= range.min)) throw new RangeError('election timeout needs 0 < min <= max');
      node.atStart.electionRange = range;
      if (node.state()) node.dispatch({ kind: 'setElectionRange', range });
    },
    inspect: () => {
      const s = node.state();
      return s ? inspectState(s, node.now()) : null;
    },
    config: () => {
      const s = node.state();
      return s ? currentConfig(s) : null;
    },
    leaderUnsettledBytes: () => {
      const s = node.state();
      if (s?.role.name !== 'leader') return null;
      let bytes = 0;
      for (let i = s.log.lastIndex; i > Math.min(s.commitIndex, s.durableIndex) && s.log.termAt(i) === s.term; i--) bytes += s.log.sizeAt(i) ?? 0;
      return { bytes, limit: s.options.maxUncommittedBytes };
    },
    plantBug: (bug) => {
      node.atStart.plantedBug = bug;
      const s = node.state();
      if (s) s.plantedBug = bug;
    },
  };
}
