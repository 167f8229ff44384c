/**
 * The `'chunk-loss'` fault class: for a while, the snapshot chunks sent to one node are
 * lost, each loss reported to its sender.
 */
import type { InterceptRule } from '../../transports/memoryHubIntercept';
import type { FaultContext } from './context';

/**
 * Drops snapshot chunks to one node through the hub's intercept rules, each rule lifting
 * itself after its window.
 *
 * @example
 * const chunks = new ChunkLossFaults(faults);
 * chunks.inject(); // logs e.g. 'chunk loss for 1204ms: snapshot chunks after chunk 0 to n2 lost, reported'
 * chunks.clear();  // every rule lifted
 */
export class ChunkLossFaults {
  /** The rules in force; each lifts itself after a while, `clear` lifts them all. */
  private readonly rules = new Set<InterceptRule>();

  constructor(private readonly faults: FaultContext) {}

  /**
   * For 300–3,000 ms every snapshot chunk to one node is lost (half the time only those
   * after chunk 0), each loss reported (the hub reports what a rule drops), as by a
   * transport that refuses the chunk while the node still answers heartbeats.
   */
  inject(): void {
    const to = this.faults.pick(this.faults.cluster.ids);
    const first = this.faults.random() < 0.5 ? 0 : 1;
    const window = 300 + 2700 * this.faults.random();
    const rule = this.faults.cluster.hub.intercept((e) => e.to === to && e.message.type === 'InstallSnapshot' && e.message.chunk >= first, 'drop');
    this.rules.add(rule);
    this.faults.cluster.clock.scheduler.schedule(() => {
      rule.remove();
      this.rules.delete(rule);
    }, window);
    this.faults.log(`chunk loss for ${window.toFixed(0)}ms: snapshot chunks${first > 0 ? ' after chunk 0' : ''} to ${to} lost, reported`);
  }

  /** Lifts every rule in force. */
  clear(): void {
    for (const rule of this.rules) rule.remove();
    this.rules.clear();
  }
}
