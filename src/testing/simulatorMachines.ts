import type { NodeId } from '../messages/types';
import type { StateMachine } from '../api';
import type { SafetyMonitor } from './invariants';
import { KvStateMachine } from './workloadKv';

/**
 * The snapshot hooks of a simulated cluster. Each run of each node gets its own state
 * machine; the hooks reach it through a holder filled when the run starts, so a dead
 * run's late hooks touch only its own machine. Every restored snapshot is compared with
 * the state the log gives at its index.
 *
 * @example
 * const machines = new SnapshotMachines(() => monitor);
 * nodeOptionsFor: (id) => ({ stateMachine: machines.stateMachineFor(id) }),
 * cluster.started$.subscribe(({ id, run }) => machines.attach(id, run, () => workload.machine(id)));
 */
export class SnapshotMachines {
  private readonly holders = new Map<NodeId, { kv?: KvStateMachine; run: number }>();

  /** `monitor` is asked for at the first restore: it may be created after this. */
  constructor(private readonly monitor: () => SafetyMonitor) {}

  /** The `stateMachine` option for one start of node `id`. */
  stateMachineFor(id: NodeId): StateMachine {
    const holder: { kv?: KvStateMachine; run: number } = { run: -1 };
    this.holders.set(id, holder);
    return {
      snapshot: (at) => holder.kv!.snapshot(at),
      restore: async (chunks, at) => {
        await holder.kv!.restore(chunks, at);
        const monitor = this.monitor();
        monitor.onRestore(id, holder.run, at.index);
        const reference = new KvStateMachine();
        for (const e of monitor.appliedUpTo(at.index)) reference.apply(e);
        if (reference.dump() !== holder.kv!.dump()) {
          monitor.report('state-machine-safety', `${id} restored a snapshot at index ${at.index} that differs from the log's state there: ${holder.kv!.dump().slice(0, 200)} vs ${reference.dump().slice(0, 200)}`);
        }
      },
    };
  }

  /** Points the hooks of node `id` at the machine of its run number `run` (when it has hooks). */
  attach(id: NodeId, run: number, machine: () => KvStateMachine | undefined): void {
    const holder = this.holders.get(id);
    if (holder) Object.assign(holder, { kv: machine(), run });
  }
}
