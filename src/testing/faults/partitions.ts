/**
 * The `'partition'`, `'bridge'` and `'isolate'` fault classes, and the heal that ends
 * them: the nodes split into groups that cannot talk.
 */
import type { FaultContext } from './context';
import type { CutLinks } from './cutLinks';

/**
 * Splits the network: in two halves, in two halves with a node talking to both (a
 * bridge), or one node off from every other. Each replaces the partition before it; a
 * heal restores every link.
 *
 * @example
 * const partitions = new PartitionFaults(faults, links);
 * partitions.partition(); // logs e.g. 'partition n1,n3 | n2'
 * partitions.heal();      // logs 'heal'
 */
export class PartitionFaults {
  constructor(
    private readonly faults: FaultContext,
    private readonly links: CutLinks,
  ) {}

  partition(): void {
    const ids = this.faults.shuffled(this.faults.cluster.ids);
    const cut = 1 + Math.floor(this.faults.random() * (ids.length - 1));
    const a = ids.slice(0, cut).sort();
    const b = ids.slice(cut).sort();
    this.links.heal();
    this.faults.cluster.hub.partition(a, b);
    this.faults.log(`partition ${a.join(',')} | ${b.join(',')}`);
  }

  bridge(): void {
    const ids = this.faults.shuffled(this.faults.cluster.ids);
    const leader = this.faults.cluster.leader();
    const bridge = leader && this.faults.random() < 0.5 ? leader : ids[0];
    const rest = ids.filter((id) => id !== bridge);
    const cut = 1 + Math.floor(this.faults.random() * (rest.length - 1));
    const a = rest.slice(0, cut).sort();
    const b = rest.slice(cut).sort();
    this.links.heal();
    this.faults.cluster.hub.partition(a, b);
    this.faults.bridgeNode = bridge;
    this.faults.log(`bridge ${bridge} between ${a.join(',')} | ${b.join(',')}`);
  }

  isolate(): void {
    const target = this.faults.target();
    // The isolation owns the target's links now: no one-way fault restores them.
    this.links.forget(target.id);
    this.faults.cluster.hub.partition([target.id], this.faults.cluster.ids.filter((id) => id !== target.id));
    this.faults.log(`isolate ${target.label}`);
  }

  heal(): void {
    this.links.heal();
    this.faults.log('heal');
  }
}
