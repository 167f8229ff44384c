/**
 * The `'crash'` and `'pause'` fault classes: a process loses power (and reboots at once
 * or stays down), a leader stops cleanly, a node down is restarted, a node freezes for
 * a while.
 */
import type { NodeId } from '../../messages/types';
import type { FaultContext } from './context';

/**
 * Stops and freezes processes, and keeps the list of those down until a restart.
 *
 * @example
 * const processes = new ProcessFaults(faults);
 * processes.crash(false);  // logs e.g. 'crash n2 (leader)'; n2 stays down
 * processes.restart();     // logs 'restart n2'
 * processes.pause();       // logs e.g. 'pause n3 for 812.4ms'
 */
export class ProcessFaults {
  /** Nodes down until restarted (by `restart`, or by `restartAll` at the end). */
  private readonly crashed: NodeId[] = [];
  /** Leaders stopping cleanly (handing over first): down once stopped. */
  private readonly stopping = new Set<NodeId>();

  constructor(private readonly faults: FaultContext) {}

  /** How many nodes are down until restarted. */
  get down(): number {
    return this.crashed.length;
  }

  /** Lists `id`, just crashed, among the nodes down until restarted. */
  keepDown(id: NodeId): void {
    this.crashed.push(id);
  }

  crash(reboot: boolean): void {
    const target = this.faults.target(true);
    const cluster = this.faults.cluster;
    cluster.crash(target.id);
    if (reboot) {
      const after = this.faults.random() * 30;
      cluster.clock.scheduler.schedule(() => {
        if (!cluster.isRunning(target.id) && !this.crashed.includes(target.id)) cluster.start(target.id);
      }, after);
      this.faults.log(`reboot ${target.label} (down ${after.toFixed(1)}ms)`);
    } else {
      this.crashed.push(target.id);
      this.faults.log(`crash ${target.label}`);
    }
  }

  /** The leader stops as for a planned restart: it hands leadership over, then stops; it stays down until restarted. */
  cleanStop(): void {
    const leader = this.faults.cluster.leader();
    if (!leader || this.stopping.has(leader)) return this.faults.log('clean stop: no leader');
    this.stopping.add(leader);
    this.faults.log(`clean stop ${leader} (leader${this.faults.ofGroup()}, hands over first)`);
    const down = () => {
      this.stopping.delete(leader);
      if (!this.faults.cluster.isRunning(leader) && !this.crashed.includes(leader)) this.crashed.push(leader);
    };
    this.faults.cluster.stopNode(leader, { transferLeadership: true }).then(down, down);
  }

  restart(): void {
    const id = this.crashed.splice(Math.floor(this.faults.random() * this.crashed.length), 1)[0];
    if (!this.faults.cluster.isRunning(id)) this.faults.cluster.start(id);
    this.faults.log(`restart ${id}`);
  }

  pause(): void {
    const target = this.faults.target(true);
    const cluster = this.faults.cluster;
    const duration = this.faults.random() < 0.5 ? this.faults.random() * 200 : 200 + this.faults.random() * 1000;
    cluster.pause(target.id);
    this.faults.notePause(target.id, cluster.clock.now() + duration);
    cluster.clock.scheduler.schedule(() => {
      if (cluster.isRunning(target.id)) cluster.resume(target.id);
    }, duration);
    this.faults.log(`pause ${target.label} for ${duration.toFixed(1)}ms`);
  }

  /** Resolves once every clean stop under way has ended. */
  async stopped(): Promise<void> {
    await this.faults.cluster.waitFor(() => this.stopping.size === 0, 30_000, 1);
  }

  /** Resumes every paused node that runs. */
  resumeAll(): void {
    const cluster = this.faults.cluster;
    for (const id of cluster.ids) if (cluster.isRunning(id) && cluster.isPaused(id)) cluster.resume(id);
  }

  /** Restarts every node down until restarted; returns them. */
  restartAll(): readonly NodeId[] {
    const down = this.crashed.splice(0);
    for (const id of down) this.faults.cluster.start(id);
    return down;
  }
}
