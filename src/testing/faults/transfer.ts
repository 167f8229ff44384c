/**
 * The `'transfer'` fault class: the leader hands leadership over, and often hears of its
 * successor late.
 */
import type { NodeId } from '../../messages/types';
import type { SendTriggers } from '../faultsTriggers';
import { FaultContext, membersOf, TRIGGER_LIFETIME } from './context';
import type { CutLinks } from './cutLinks';
import { LATE_KINDS, LateMessageFaults } from './lateMessages';
import type { NetworkWeather } from './network';

/**
 * Asks the leader of the group in focus to hand leadership to another voter (TimeoutNow),
 * a chosen one or the most up-to-date. A third of the time messages to the old leader
 * are held back meanwhile; with send triggers, a third of the time the hand-over is
 * planned on a quiet network and the old leader goes deaf once its TimeoutNow is out.
 *
 * @example
 * const transfers = new TransferFaults(faults, links, weather, late, triggers);
 * transfers.transfer(); // logs e.g. 'transfer leadership from n1 to n3'
 */
export class TransferFaults {
  constructor(
    private readonly faults: FaultContext,
    private readonly links: CutLinks,
    private readonly weather: NetworkWeather,
    private readonly late: LateMessageFaults,
    private readonly triggers: SendTriggers | undefined,
    /** A transfer that settles more than `limit` ms after it was asked (the leader not paused meanwhile) is reported. */
    private readonly settle: { readonly limit?: number; readonly onAnomaly?: (message: string) => void } = {},
  ) {}

  transfer(): void {
    const leaderId = this.faults.cluster.leader();
    if (!leaderId) return this.faults.log(`transfer: no leader${this.faults.inGroup()}`);
    const leader = this.faults.cluster.node(leaderId);
    const voters = membersOf(leader).voters.filter((id) => id !== leaderId);
    const to = voters.length > 0 && this.faults.random() < 0.5 ? this.faults.pick(voters) : undefined;
    // Often the old leader is slow to hear of the new term (the target's RequestVote, the
    // new leader's AppendEntries, higher-term answers to its heartbeats) while it hands
    // over: it hears late, or, in a hand-over planned while the network is quiet, hears
    // nothing for a while once its TimeoutNow is out.
    const r = this.faults.random();
    const planned = this.triggers !== undefined && r >= 1 / 3 && r < 2 / 3;
    if (planned) {
      this.links.heal();
      this.weather.calm();
      this.late.clear();
    }
    const what = `transfer leadership${this.faults.inGroup()} from ${leaderId} to ${to ?? 'the most up-to-date voter'}`;
    this.watchSettle(leaderId, what, leader.transferLeadership(to));
    if (this.late.enabled && r < 1 / 3) {
      this.faults.log(`${what}; ${this.late.holdBack({ kinds: LATE_KINDS, to: leaderId, probability: 0.5 + 0.5 * this.faults.random(), delay: { min: 5, max: 40 } }, 20 + 180 * this.faults.random())}`);
    } else if (this.triggers && planned) {
      const duration = 50 + 250 * this.faults.random();
      this.faults.log(`network calm, links healed; ${what}; once its TimeoutNow is out, it goes deaf for ${duration.toFixed(0)}ms`);
      const armed = this.triggers.once(leaderId, 'TimeoutNow', () => this.deafen(leaderId, duration));
      this.faults.cluster.clock.scheduler.schedule(() => armed.unsubscribe(), TRIGGER_LIFETIME);
    } else {
      this.faults.log(what);
    }
  }

  /**
   * Reports a transfer that settles late: the leader hands over or gives up within an
   * election timeout, and once it stepped down a leader follows (or it gives up) within
   * another (`RaftNode.transferLeadership`).
   */
  private watchSettle(leaderId: NodeId, what: string, request: Promise<unknown>): void {
    const { limit, onAnomaly } = this.settle;
    const clock = this.faults.cluster.clock;
    const since = clock.now();
    const settled = () => {
      const age = clock.now() - since;
      if (limit !== undefined && age > limit && !this.faults.pausedSince(leaderId, since)) {
        onAnomaly?.(`${what} (asked at ${since.toFixed(1)} ms) settled ${age.toFixed(0)} ms later, past ${limit} ms`);
      }
    };
    request.then(settled, settled);
  }

  /** Cuts every link into `id` (it still reaches everyone), and restores those links `duration` ms later. */
  private deafen(id: NodeId, duration: number): void {
    const links = this.faults.cluster.ids.filter((x) => x !== id).map((x) => [x, id] as const);
    for (const [from, to] of links) this.links.cut(from, to);
    this.links.restoreLater(links, duration);
    this.faults.log(`deaf ${id}: nothing reaches it for ${duration.toFixed(0)}ms`);
  }
}
