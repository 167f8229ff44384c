import { ChildProcess, spawn } from 'child_process';
import { NODE_MODULES } from './transpiledFixture';

/** A running fixture process with its stdout split into lines; `ready` once it printed "ready ...". */
export interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  stderr: string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The child processes a crash test starts (plain `node` on a transpiled fixture), so
 * every one of them is killed at the end, even when the test fails.
 *
 * @example
 * const children = new CrashChildren();
 * const child = children.start(script, [dir, '7']);
 * await child.ready;
 * await killChild(child.process);
 * afterEach(() => children.killAll());
 */
export class CrashChildren {
  private readonly running = new Set<ChildProcess>();

  start(script: string, args: readonly string[]): Child {
    const proc = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: NODE_MODULES },
    });
    this.running.add(proc);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => this.running.delete(proc));
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFail = reject;
    });
    ready.catch(() => undefined); // a child killed during startup never gets ready
    const child: Child = { process: proc, lines: [], ready, exited, stderr: '' };
    let partial = '';
    proc.stdout!.on('data', (data: Buffer) => {
      const parts = (partial + data.toString('utf8')).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        child.lines.push(line);
        if (line.startsWith('ready ')) onReady();
      }
    });
    proc.stderr!.on('data', (data: Buffer) => (child.stderr += data.toString('utf8')));
    void exited.then(() => onFail(new Error(`child exited before ready: ${child.stderr}`)));
    return child;
  }

  async killAll(): Promise<void> {
    for (const proc of [...this.running]) await killChild(proc);
  }
}

/** SIGKILLs a process (if it still runs) and waits until it has exited. */
export async function killChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGKILL');
  await exited;
}
