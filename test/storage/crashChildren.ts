import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPORT_FILE_ENV } from './fixtures/report';
import { NODE_MODULES } from './transpiledFixture';

/**
 * A running fixture process: `ready` once it printed "ready ..." on stdout; `report()`
 * reads the lines it wrote with `reporter()` (see `fixtures/report.ts`).
 */
export interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  stderr: string;
  /**
   * The complete lines of the child's report so far, in the order written. Read it once
   * the child has exited: then it holds every line written before the kill (a last line
   * without its newline, if any, is left out).
   */
  report(): string[];
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
 * const lines = child.report();
 * afterEach(() => children.killAll());
 */
export class CrashChildren {
  private readonly running = new Set<ChildProcess>();
  /** Holds the children's report files; made by the first `start`, removed by `killAll`. */
  private reportDir: string | null = null;
  private started = 0;

  start(script: string, args: readonly string[]): Child {
    this.reportDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-report-'));
    const reportFile = path.join(this.reportDir, `child-${++this.started}.report`);
    fs.writeFileSync(reportFile, '');
    const proc = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: NODE_MODULES, [REPORT_FILE_ENV]: reportFile },
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
    const report = () => fs.readFileSync(reportFile, 'utf8').split('\n').slice(0, -1);
    const child: Child = { process: proc, ready, exited, stderr: '', report };
    let partial = '';
    proc.stdout!.on('data', (data: Buffer) => {
      const parts = (partial + data.toString('utf8')).split('\n');
      partial = parts.pop()!;
      if (parts.some((line) => line.startsWith('ready '))) onReady();
    });
    proc.stderr!.on('data', (data: Buffer) => (child.stderr += data.toString('utf8')));
    void exited.then(() => onFail(new Error(`child exited before ready: ${child.stderr}`)));
    return child;
  }

  /** Kills every child still running and removes the report files. */
  async killAll(): Promise<void> {
    for (const proc of [...this.running]) await killChild(proc);
    if (this.reportDir) fs.rmSync(this.reportDir, { recursive: true, force: true });
    this.reportDir = null;
  }
}

/**
 * Waits until the child's report holds at least `count` lines starting with `prefix`
 * (polling the file), the child has exited, or `limitMs` have passed. Lets a test
 * require progress of a child however slowly a loaded machine runs it.
 *
 * @example
 * await child.ready;
 * await reported(child, 'ack ', 40, 15_000);
 * await killChild(child.process);
 */
export async function reported(child: Child, prefix: string, count: number, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (!exited && Date.now() < until && child.report().filter((line) => line.startsWith(prefix)).length < count) await sleep(10);
}

/** SIGKILLs a process (if it still runs) and waits until it has exited. */
export async function killChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGKILL');
  await exited;
}
