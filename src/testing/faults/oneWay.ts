/**
 * The `'one-way'` fault class: links that work in one direction only, random ones or
 * chosen around the leader, and the restoring of one such link alone.
 */
import type { NodeId } from '../../messages/types';
import { leaderLinkCut } from '../faultsLinks';
import type { LateMessages } from '../faultsMessages';
import type { SendTriggers } from '../faultsTriggers';
import { FaultContext, TRIGGER_LIFETIME } from './context';
import type { CutLinks } from './cutLinks';

/**
 * Cuts links one way: random ones, or shapes around the leader where a deposed leader
 * may go on believing it leads. A cut stays until a heal or until it is restored.
 *
 * @example
 * const oneWay = new OneWayFaults(faults, links, lateMessages, triggers);
 * oneWay.leaderLinks();  // logs e.g. 'one-way deaf leader n1: n2,n3 -/-> n1, for 212ms'
 * oneWay.restoreLink();  // logs e.g. 'restore link n2->n1'
 */
export class OneWayFaults {
  constructor(
    private readonly faults: FaultContext,
    private readonly links: CutLinks,
    private readonly late: LateMessages | undefined,
    private readonly triggers: SendTriggers | undefined,
  ) {}

  oneWay(): void {
    const ids = this.faults.cluster.ids;
    const leader = this.faults.cluster.leader();
    const links: string[] = [];
    const count = 1 + Math.floor(this.faults.random() * ids.length);
    for (let i = 0; i < count; i++) {
      // Half the time, cut what the leader says (it keeps hearing the others) or what it hears.
      const from = leader && this.faults.random() < 0.5 ? leader : this.faults.pick(ids);
      const to = this.faults.pick(ids.filter((id) => id !== from));
      const [src, dst] = leader && to !== leader && this.faults.random() < 0.3 ? [to, from] : [from, to];
      this.links.cut(src, dst);
      links.push(`${src}->${dst}`);
    }
    this.faults.log(`one-way block ${links.join(' ')}`);
  }

  /**
   * Cuts one-way links around the leader (see `leaderLinkCut`); random ones when there is
   * none. A third of the time the cut stays (until a heal), a third it flaps (it heals by
   * itself after 100–400 ms, about when the followers it cut off start granting
   * pre-votes), and a third each follower the leader can no longer reach hears it again
   * for 10–60 ms from the moment it grants a pre-vote, while that grant reaches the
   * candidate 5–40 ms late: a grant given before the leader's next round, used after it.
   */
  leaderLinks(): void {
    const leader = this.faults.cluster.leader();
    if (!leader) return this.oneWay();
    const cut = leaderLinkCut(this.faults.cluster.ids, leader, this.faults.random);
    for (const [from, to] of cut.links) this.links.cut(from, to);
    const r = this.faults.random();
    if (r < 1 / 3) {
      this.faults.log(`one-way ${cut.label}`);
    } else if (r < 2 / 3 || !this.triggers || !this.late) {
      const after = 100 + 300 * this.faults.random();
      this.faults.log(`one-way ${cut.label}, for ${after.toFixed(0)}ms`);
      this.links.restoreLater(cut.links, after);
    } else {
      const unreached = cut.links.filter(([from]) => from === leader).map(([, to]) => to);
      this.faults.log(`one-way ${cut.label}${unreached.length ? `; ${unreached.join(',')} hear the leader briefly once they grant a pre-vote (held 5-40ms)` : ''}`);
      for (const x of unreached) this.restoreOnPreVoteGrant(leader, x);
    }
  }

  /** Restores one link a one-way fault cut, leaving the others cut. */
  restoreLink(): void {
    const [from, to] = this.links.restoreAny();
    this.faults.log(`restore link ${from}->${to}`);
  }

  /** Once `x` grants a pre-vote: that grant arrives 5–40 ms late, and `leader` reaches `x` for 10–60 ms. */
  private restoreOnPreVoteGrant(leader: NodeId, x: NodeId): void {
    const delay = 5 + 35 * this.faults.random();
    const blip = 10 + 50 * this.faults.random();
    const scheduler = this.faults.cluster.clock.scheduler;
    const armed = this.triggers!.once(
      x,
      'PreVoteResponse',
      () => {
        this.late!.holdNext(x, 'PreVoteResponse', delay);
        if (!this.links.restore(leader, x)) return; // healed meanwhile
        const heals = this.links.healCount;
        scheduler.schedule(() => {
          if (this.links.healCount === heals) this.links.cut(leader, x);
        }, blip);
        this.faults.log(`${x} granted a pre-vote (held ${delay.toFixed(1)}ms); ${leader} reaches ${x} for ${blip.toFixed(0)}ms`);
      },
      (m) => m.type === 'PreVoteResponse' && m.voteGranted,
    );
    scheduler.schedule(() => armed.unsubscribe(), TRIGGER_LIFETIME);
  }
}
