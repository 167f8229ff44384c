/**
 * The `'storage'` fault class: a node's disk loses the tail of its log, or its hard
 * state, at a crash.
 */
import type { NodeId } from '../../messages/types';
import type { FaultContext } from './context';
import type { ProcessFaults } from './processes';
import type { FaultStorage } from './target';

/**
 * Damages one node's storage at a crash; the node restarts at once or stays down.
 *
 * @example
 * const storage = new StorageFaults(faults, processes);
 * if (!storage.anyDamaged()) storage.damageTail(); // logs e.g. 'storage fault n2: the last 2 log entries lost, restarted'
 */
export class StorageFaults {
  constructor(
    private readonly faults: FaultContext,
    private readonly processes: ProcessFaults,
  ) {}

  /**
   * Whether a node's storage lost data and is not yet repaired. Storage faults stay
   * within the model Raft needs — the voters that kept their data form a majority — so
   * one strikes only while every node is a voter and none is under repair, and no voter
   * is removed meanwhile: in a configuration of two voters, one that lost committed
   * entries could never be repaired (the other alone is no majority).
   */
  anyDamaged(): boolean {
    return this.faults.cluster.ids.some((id) => this.faults.cluster.storage(id).damaged);
  }

  /** A node loses the tail of its log at a crash: it restarts at once, or stays down until restarted. */
  damageTail(): void {
    const target = this.faults.target(true);
    const lost = 1 + Math.floor(this.faults.random() * 3);
    this.crashWith(target, (storage) => storage.damageTail(lost), `the last ${lost} log entries lost`);
  }

  /**
   * A node loses its hard state (term and vote) at a crash, its log kept: it restarts at
   * once, or stays down until restarted. Its vote in its last term is what it forgets.
   */
  loseHardState(): void {
    this.crashWith(this.faults.target(true), (storage) => storage.loseHardState(), 'hard state lost');
  }

  /** Crashes `target`, applies `damage` to its storage, then restarts it at once (70%) or keeps it down; `lost` names the damage in the log. */
  private crashWith(target: { id: NodeId; label: string }, damage: (storage: FaultStorage) => void, lost: string): void {
    const cluster = this.faults.cluster;
    cluster.crash(target.id);
    damage(cluster.storage(target.id));
    const reboot = this.faults.random() < 0.7;
    if (reboot) cluster.start(target.id);
    else this.processes.keepDown(target.id);
    this.faults.log(`storage fault ${target.label}: ${lost}, ${reboot ? 'restarted' : 'down'}`);
  }
}
