/**
 * The `'lost-entries'` fault class: for a moment the leader's entries are lost while its
 * heartbeats and answers get through — to every follower (a tail that only it holds,
 * then it is cut off), or to one follower (it falls behind the leader's compaction).
 */
import type { Subscription } from 'rxjs';
import type { Envelope, NodeId } from '../../messages/types';
import type { GroupEnvelope } from '../../transports/hostTransport';
import type { InterceptRule } from '../../transports/memoryHubIntercept';
import type { FaultContext } from './context';
import type { CutLinks } from './cutLinks';

/**
 * Loses, for a while, every AppendEntries that carries entries from the leader of the
 * group in focus (to everyone, or to one follower), while its heartbeats and its answers
 * (to forwarded proposals, to reads) get through:
 *
 * - **a stranded tail** (`strandTail`): for 20–150 ms no follower receives its new
 *   entries; it goes on appending, and answering forwarded proposals with their indexes,
 *   on a tail only it holds. Then it is cut off from everyone, both ways, for 0.3–1.5 s:
 *   a newer leader, elected without that tail, gives its indexes to other proposals —
 *   forwarded by the same followers, whose clients write through them — while the first
 *   ones still wait for theirs.
 * - **a starved follower** (`starveFollower`): for 0.3–1.5 s one follower receives no
 *   entries, yet hears the heartbeats and the answers to what it forwards; the leader
 *   compacts past it (with snapshots on), and it catches up through a snapshot that may
 *   cover proposals it forwarded and has not applied yet.
 *
 * @example
 * const lost = new LostEntriesFaults(faults, links);
 * lost.strandTail();     // logs e.g. 'lost entries: n1 (leader) keeps its new entries for 87ms, then is cut off for 912ms'
 * lost.starveFollower(); // logs e.g. 'lost entries: n3 receives no entries from n1 (leader) for 812ms'
 * lost.calm();           // entries flow again, and no cut planned after a tail follows
 */
export class LostEntriesFaults {
  /** Losses in force: the rule that loses the entries, and what ends it (and, for a tail, cuts the leader off). */
  private readonly losses = new Set<{ readonly rule: InterceptRule; readonly end: Subscription }>();

  constructor(
    private readonly faults: FaultContext,
    private readonly links: CutLinks,
  ) {}

  strandTail(): void {
    const leader = this.faults.cluster.leader();
    if (!leader) return this.faults.log(`lost entries: no leader${this.faults.inGroup()}`);
    const keep = 20 + 130 * this.faults.random();
    const cut = 300 + 1200 * this.faults.random();
    this.lose(leader, undefined, keep, () => this.links.cutOffFor(leader, cut));
    this.faults.log(`lost entries: ${leader} (leader${this.faults.ofGroup()}) keeps its new entries for ${keep.toFixed(0)}ms, then is cut off for ${cut.toFixed(0)}ms`);
  }

  starveFollower(): void {
    const leader = this.faults.cluster.leader();
    if (!leader) return this.faults.log(`lost entries: no leader${this.faults.inGroup()}`);
    const followers = this.faults.members().filter((id) => id !== leader);
    if (followers.length === 0) return this.faults.log(`lost entries: no follower${this.faults.inGroup()}`);
    const follower = this.faults.pick(followers);
    const window = 300 + 1200 * this.faults.random();
    this.lose(leader, follower, window, () => undefined);
    this.faults.log(`lost entries: ${follower} receives no entries from ${leader} (leader${this.faults.ofGroup()}) for ${window.toFixed(0)}ms`);
  }

  /** Ends every loss in force: entries flow again, and the cuts planned after stranded tails do not happen. */
  calm(): void {
    for (const { rule, end } of this.losses) {
      rule.remove();
      end.unsubscribe();
    }
    this.losses.clear();
  }

  /** Loses `leader`'s AppendEntries carrying entries (to `to` only, if given) for `window` ms, then runs `then`. */
  private lose(leader: NodeId, to: NodeId | undefined, window: number, then: () => void): void {
    const cluster = this.faults.cluster;
    const group = cluster.focused;
    const entriesOfLeader = (e: Envelope) =>
      e.from === leader &&
      (to === undefined || e.to === to) &&
      e.message.type === 'AppendEntries' &&
      e.message.entries.length > 0 &&
      (group === undefined || (e as GroupEnvelope).group === group);
    const rule = cluster.hub.intercept(entriesOfLeader, 'drop', { limit: 0 });
    const loss = {
      rule,
      end: cluster.clock.scheduler.schedule(() => {
        this.losses.delete(loss);
        rule.remove();
        then();
      }, window),
    };
    this.losses.add(loss);
  }
}
