/**
 * Part of the `'membership'` fault class: a leader cut off in the middle of a joint
 * change, once it has sent the final configuration (C_new) after the joint one.
 */
import { EntryKind } from '../../messages/entry';
import { decodeConfig } from '../../messages/config';
import type { NodeId, RaftMessage } from '../../messages/types';
import type { SendTriggers } from '../faultsTriggers';
import type { FaultContext } from './context';
import type { CutLinks } from './cutLinks';

/** How long a cut stays armed (virtual ms): as long as a change may take at the defaults (`requestTimeout` x 5). */
const ARMED_FOR = 3000;

/**
 * Cuts a leader off from everyone (both ways) the moment its first AppendEntries
 * carrying a final configuration after a joint one leaves: the joint configuration is
 * committed, the final one is not, and the leader is about to be deposed (CheckQuorum)
 * with its change unsettled. A random schedule rarely hits that step of a few
 * milliseconds; the trigger hits it every time it is armed.
 *
 * @example
 * const cuts = new JointChangeCuts(faults, links, triggers);
 * cuts.armed('n1', ['n1', 'n3']); // half the time: '; once n1 sends the final configuration, it is cut off for 640ms'; else ''
 */
export class JointChangeCuts {
  constructor(
    private readonly faults: FaultContext,
    private readonly links: CutLinks,
    private readonly triggers: SendTriggers,
  ) {}

  /**
   * Half the time, arms the cut for the joint change to `voters` just asked of `leader`;
   * returns what the fault log says of it ('' when not armed).
   */
  armed(leader: NodeId, voters: readonly NodeId[]): string {
    if (this.faults.random() >= 0.5) return '';
    const duration = 300 + 1200 * this.faults.random();
    const trigger = this.triggers.once(leader, 'AppendEntries', () => this.cutOff(leader, duration), (m) => carriesFinalConfig(m, voters));
    this.faults.cluster.clock.scheduler.schedule(() => trigger.unsubscribe(), ARMED_FOR);
    return `; once ${leader} sends the final configuration, it is cut off for ${duration.toFixed(0)}ms`;
  }

  /** Cuts `id` off (`CutLinks.cutOffFor`) and logs it. */
  private cutOff(id: NodeId, duration: number): void {
    this.links.cutOffFor(id, duration);
    this.faults.log(`cut off ${id}: its final configuration left, nothing reaches it or leaves it for ${duration.toFixed(0)}ms`);
  }
}

/** Whether `m` is an AppendEntries carrying the final configuration of a joint change to `voters` (not joint, those voters). */
function carriesFinalConfig(m: RaftMessage, voters: readonly NodeId[]): boolean {
  if (m.type !== 'AppendEntries') return false;
  return m.entries.some((e) => {
    if (e.kind !== EntryKind.Config) return false;
    const config = decodeConfig(e.data);
    return config.oldVoters === undefined && config.voters.length === voters.length && voters.every((id) => config.voters.includes(id));
  });
}
