/**
 * The `'late-messages'` fault class: for a while, some kinds of message (votes,
 * acknowledgements) are held back 5–40 ms, to the leader, from one node, or everywhere.
 */
import type { LateMessageRule, LateMessages, MessageKind } from '../faultsMessages';
import type { FaultContext } from './context';

/** The messages a late-messages fault may hold back: votes, and what a leader's lease and commits rest on. */
export const LATE_KINDS: readonly MessageKind[] = ['PreVote', 'PreVoteResponse', 'RequestVote', 'RequestVoteResponse', 'AppendEntriesResponse', 'TimeoutNow', 'AppendEntries'];

/**
 * Puts `LateMessages` rules in force, one at a time, each lifting itself after its window.
 *
 * @example
 * const late = new LateMessageFaults(faults, lateMessages);
 * late.inject();  // logs e.g. 'late messages for 229ms: 85% of PreVote,AppendEntries from n3 held 5-5.3ms'
 * late.clear();   // every message on time again
 */
export class LateMessageFaults {
  /** The rule in force, as the fault log named it; it lifts itself after a while. */
  private rule: LateMessageRule | null = null;

  constructor(
    private readonly faults: FaultContext,
    /** The message-level weather wrapped around every node's transport (without it, nothing is held back). */
    private readonly late: LateMessages | undefined,
  ) {}

  /** Whether messages can be held back (the nodes' transports are wrapped). */
  get enabled(): boolean {
    return this.late !== undefined;
  }

  /** Lifts the rule in force, if any. */
  clear(): void {
    this.late?.clear();
    this.rule = null;
  }

  /**
   * For a window of 20–500 ms, some kinds of message (at least one of the vote messages
   * and acknowledgements) are held back 5–40 ms, each with some probability: all of them,
   * or only those to the leader, or only those from one node. Held-back vote grants
   * arrive after the leader's next round; a leader hears of a newer term late.
   */
  inject(): void {
    const r = this.faults.random;
    if (r() < 0.15) {
      this.late!.set(null);
      this.rule = null;
      return this.faults.log('late messages: none');
    }
    const kinds = LATE_KINDS.filter(() => r() < 0.4);
    if (kinds.length === 0) kinds.push(this.faults.pick(LATE_KINDS));
    const leader = this.faults.cluster.leader();
    const where = r();
    const scope = leader && where < 0.35 ? { to: leader } : where < 0.55 ? { from: this.faults.pick(this.faults.cluster.ids) } : {};
    const rule = { kinds, ...scope, probability: 0.2 + 0.8 * r(), delay: { min: 5, max: 5 + 35 * r() } };
    this.faults.log(this.holdBack(rule, 20 + 480 * r()));
  }

  /** Puts `rule` in force for `window` ms (unless replaced meanwhile); returns its description. */
  holdBack(rule: LateMessageRule, window: number): string {
    const late = this.late!;
    late.set(rule);
    this.rule = rule;
    this.faults.cluster.clock.scheduler.schedule(() => {
      if (this.rule !== rule) return;
      late.set(null);
      this.rule = null;
    }, window);
    const target = rule.to !== undefined ? ` to ${rule.to}` : rule.from !== undefined ? ` from ${rule.from}` : '';
    const kinds = rule.kinds === LATE_KINDS ? 'all kinds' : rule.kinds.join(',');
    return `late messages for ${window.toFixed(0)}ms: ${(rule.probability * 100).toFixed(0)}% of ${kinds}${target} held ${rule.delay.min}-${rule.delay.max.toFixed(1)}ms`;
  }
}
