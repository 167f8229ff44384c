/**
 * Stalls of a whole (simulated) machine for the memory benchmark (`--stall`): every
 * `everyS` seconds on average (0.5-1.5×), the members' processes are stopped with SIGSTOP
 * for `stallMs`, then resumed one by one in random order, up to `skewMs` apart — a starved
 * machine hands the CPU back one process after another. Used to reproduce leaders deposed
 * under load (docs/notes/deposed-leaders.md). Seeded, so two builds see the same stalls.
 *
 * @example
 * const stalls = stallMembers(target.members.map((m) => m.pid), { stallMs: 300, skewMs: 80, everyS: 4, seed: 42 });
 * await runMemoryPhase(target, load);
 * console.log(`${await stalls.stop()} stalls`); // every process is running again
 */
import { seededRandom } from '../src';

export interface StallPlan {
  readonly stallMs: number;
  readonly skewMs: number;
  readonly everyS: number;
  readonly seed: number;
}

/**
 * Parses `<stallMs>,<skewMs>,<everyS>` (the `--stall` flag).
 *
 * @example
 * parseStallPlan('300,80,4'); // { stallMs: 300, skewMs: 80, everyS: 4, seed: 42 }
 */
export function parseStallPlan(text: string): StallPlan {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isFinite(n) || n < 0) || parts[2] <= 0) {
    throw new Error(`--stall expects <stallMs>,<skewMs>,<everyS>, e.g. 300,80,4; got ${text}`);
  }
  return { stallMs: parts[0], skewMs: parts[1], everyS: parts[2], seed: 42 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signal(pid: number, name: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(pid, name);
  } catch {
    // The process is gone: nothing to stop or resume.
  }
}

/** Starts the stalls; `stop()` ends them, resumes every process and resolves with how many stalls there were. */
export function stallMembers(pids: readonly number[], plan: StallPlan): { stop(): Promise<number> } {
  const random = seededRandom(plan.seed);
  let running = true;
  let count = 0;
  const loop = (async () => {
    while (running) {
      await sleep(plan.everyS * 1000 * (0.5 + random()));
      if (!running) break;
      for (const pid of pids) signal(pid, 'SIGSTOP');
      try {
        await sleep(plan.stallMs);
        const order = [...pids].sort(() => random() - 0.5);
        for (const pid of order) {
          signal(pid, 'SIGCONT');
          await sleep(random() * plan.skewMs);
        }
      } finally {
        for (const pid of pids) signal(pid, 'SIGCONT');
      }
      count++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      for (const pid of pids) signal(pid, 'SIGCONT');
      return count;
    },
  };
}
