/**
 * The bookkeeping of cut links: which one-way cuts are in force since the last heal,
 * so that one can be restored alone, and how many heals there were.
 */
import type { NodeId } from '../../messages/types';
import type { FaultContext } from './context';

/**
 * The links partitions and one-way faults cut, over the hub's own blocks. A heal (or a
 * new partition) restores everything; a one-way cut is listed until it is restored.
 *
 * @example
 * const links = new CutLinks(faults);
 * links.cut('n1', 'n2');          // n2 no longer hears n1
 * links.restoreLater([['n1', 'n2']], 100);
 * links.heal();                   // every link works again
 */
export class CutLinks {
  /** One-way links cut since the last heal ([from, to]; by the one-way and transfer faults), so that one can be restored alone. */
  private readonly links: [NodeId, NodeId][] = [];
  /** How many times every link was restored (heal, partition, calm): a link cut again later checks it did not change. */
  private heals = 0;

  constructor(private readonly faults: FaultContext) {}

  /** Whether a one-way cut is in force. */
  get any(): boolean {
    return this.links.length > 0;
  }

  /** How many heals there were so far; a later cut compares it to see whether one came between. */
  get healCount(): number {
    return this.heals;
  }

  /** Restores every link (partitions, bridges, one-way cuts). */
  heal(): void {
    this.heals++;
    this.faults.cluster.hub.heal();
    this.links.length = 0;
    this.faults.bridgeNode = null;
  }

  /** Cuts the link from `from` to `to` (one way), listing it. */
  cut(from: NodeId, to: NodeId): void {
    this.faults.cluster.hub.block(from, to);
    if (!this.links.some(([f, t]) => f === from && t === to)) this.links.push([from, to]);
  }

  /** Restores the link from `from` to `to` if a one-way cut still holds it; returns whether one did. */
  restore(from: NodeId, to: NodeId): boolean {
    const i = this.links.findIndex(([f, t]) => f === from && t === to);
    if (i < 0) return false;
    this.links.splice(i, 1);
    this.faults.cluster.hub.unblock(from, to);
    return true;
  }

  /** Restores `links` after `after` ms, those still cut by a one-way fault (a heal or a partition since owns the others). */
  restoreLater(links: readonly (readonly [NodeId, NodeId])[], after: number): void {
    this.faults.cluster.clock.scheduler.schedule(() => {
      for (const [from, to] of links) this.restore(from, to);
    }, after);
  }

  /** Cuts every link to and from `id` (both ways, one-way cuts each) and restores them after `duration` ms (unless a heal did). */
  cutOffFor(id: NodeId, duration: number): void {
    const links = this.faults.cluster.ids.filter((x) => x !== id).flatMap((x) => [[x, id] as const, [id, x] as const]);
    for (const [from, to] of links) this.cut(from, to);
    this.restoreLater(links, duration);
  }

  /** Restores one of the cut links, chosen at random, and returns it. */
  restoreAny(): readonly [NodeId, NodeId] {
    const [from, to] = this.links.splice(Math.floor(this.faults.random() * this.links.length), 1)[0];
    this.faults.cluster.hub.unblock(from, to);
    return [from, to];
  }

  /** Forgets the one-way cuts touching `id`, without restoring them: a partition owns its links now. */
  forget(id: NodeId): void {
    for (let i = this.links.length - 1; i >= 0; i--) if (this.links[i].includes(id)) this.links.splice(i, 1);
  }
}
