import type { ClusterConfig } from '../messages/config';
import { configsOf } from '../messages/config';
import { RaftLog } from '../core/log';
import { createState, RaftState } from '../core/state';
import { startTermRecovery, termRecoveryPeers } from '../core/termRecovery';
import { HardStateLostError } from '../errors';
import type { NodeId } from '../messages/types';
import type { StartSettings } from './nodeTestHooks';
import { protocolOptions, ResolvedOptions } from '../options';
import type { SnapshotDriver } from './snapshots';

/**
 * Builds a node's Raft state from its storage: the state machine restored from the
 * latest snapshot, the log after it, the configurations in both, and the hard state.
 * A log cut back past what the node may have acknowledged (`StorageDamage.truncatedTail`)
 * starts the node in repair; so does a missing hard state beside a kept log, which it
 * first recovers from every other member (`core/termRecovery.ts`). Where no
 * configuration names another member, that is impossible: `HardStateLostError`. Returns
 * null when the node was stopped while loading.
 *
 * @example
 * const state = await loadState('n1', options, { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} }, snapshots, () => stopped);
 */
export async function loadState(
  id: NodeId,
  o: ResolvedOptions,
  bootstrap: ClusterConfig,
  snapshots: SnapshotDriver,
  isStopped: () => boolean,
  /** What a test set (read after loading: a test may set it while the node loads). */
  atStart: StartSettings = { plantedBug: null },
): Promise<RaftState | null> {
  const persisted = await o.storage.load();
  if (isStopped()) return null;
  const snapshot = persisted.snapshot;
  if (snapshot) await snapshots.restoreAtStart(snapshot);
  if (isStopped()) return null;
  const log = new RaftLog(persisted.entries, snapshot ?? undefined);
  const base = snapshot ? { index: snapshot.index, term: snapshot.term, config: snapshot.config } : { index: 0, term: 0, config: bootstrap };
  const configs = configsOf(base, persisted.entries.filter((e) => e.index > base.index));
  const s = createState(id, configs, { ...persisted.hardState, log }, protocolOptions(o), { now: o.scheduler.now(), electionRange: atStart.electionRange });
  s.plantedBug = atStart.plantedBug;
  const cut = persisted.damage?.truncatedTail;
  const tailRepair = cut ? { reason: `log cut from index ${cut.from}: ${cut.reason}` } : null;
  if (persisted.damage?.hardStateMissing && atStart.plantedBug === 'lost-vote') {
    // The planted bug: forget that the hard state was lost (term 0, no vote) and vote at once, without the restart's veto window.
    s.startedAt = -Infinity;
    s.repair = tailRepair;
    if (!tailRepair) await o.storage.clearDamage?.();
  } else if (persisted.damage?.hardStateMissing) {
    if (termRecoveryPeers(configs, id).length === 0) throw new HardStateLostError(id);
    startTermRecovery(s, tailRepair);
  } else {
    s.repair = tailRepair;
  }
  return s;
}
