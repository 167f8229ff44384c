/**
 * `npm run cluster` (examples/cluster.ts) as a user runs it: real processes, Ctrl-C
 * (SIGINT), and what stays on disk afterwards.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compiledEntry, freePorts, REPO_ROOT } from '../../examples/kv/processes';

jest.setTimeout(60_000);

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-launcher-test-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `npm run cluster` with `nodes` nodes, as a user starts it; its output collected as it comes. */
async function startLauncher(nodes: number): Promise<{ launcher: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const [basePort] = await freePorts(1, '127.0.0.1');
  const launcher = spawn(process.execPath, [compiledEntry('examples/cluster.ts')!, '--nodes', String(nodes), '--base-port', String(Math.min(basePort, 63_000))], {
    cwd: REPO_ROOT,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  launcher.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  launcher.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  return { launcher, output: () => out, exited };
}

/** Waits (30 s at most) until the launcher's output matches `pattern` or it exits. */
async function waitForOutput(started: { launcher: ChildProcess; output: () => string }, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pattern.test(started.output()) && Date.now() < deadline && started.launcher.exitCode === null) await new Promise((r) => setTimeout(r, 100));
}

it('prints curl -L commands, points a hand-started node outside its temporary directory, and removes only what it created', async () => {
  const started = await startLauncher(1);
  const { launcher, exited } = started;
  try {
    await waitForOutput(started, /Ctrl-C stops the cluster\./);
    const out = started.output();
    expect(out).toContain('Ctrl-C stops the cluster.');

    const dataRoot = /data in (\S+) \(temporary\)/.exec(out)![1];
    expect(path.dirname(dataRoot)).toBe(tmp);
    const curls = out.split('\n').filter((l) => /^\s*curl /.test(l));
    expect(curls.length).toBeGreaterThan(5);
    for (const line of curls) expect(line).toMatch(/^\s*curl -L /);
    const joinData = path.resolve(REPO_ROOT, /--data (\S+)/.exec(out.slice(out.indexOf('Add a node')))![1]);
    expect(joinData.startsWith(dataRoot + path.sep)).toBe(false);

    // What the old launcher destroyed: a node the user started by hand, with its data in
    // the launcher's directory. It must survive Ctrl-C.
    const handStarted = path.join(dataRoot, 'n2');
    fs.mkdirSync(handStarted);
    fs.writeFileSync(path.join(handStarted, 'hardstate'), 'not the launcher\'s');
    expect(fs.existsSync(path.join(dataRoot, 'n1'))).toBe(true);

    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dataRoot, 'n1'))).toBe(false); // its own node's data: removed
    expect(fs.readFileSync(path.join(handStarted, 'hardstate'), 'utf8')).toBe('not the launcher\'s');
    expect(started.output()).toMatch(/kept .*: it holds files this launcher did not create/);
  } finally {
    if (launcher.exitCode === null) launcher.kill('SIGKILL');
    await exited;
  }
});

it('stops a three-node cluster on Ctrl-C, every node exiting 0 and saying so', async () => {
  const started = await startLauncher(3);
  const { launcher, exited } = started;
  try {
    await waitForOutput(started, /this node is the leader/);
    expect(started.output()).toMatch(/this node is the leader/);
    launcher.kill('SIGINT');
    expect(await exited).toBe(0);
    const stops = started.output().split('\n').filter((l) => /^\[n\d\] stopped \(/.test(l));
    expect(stops.sort()).toEqual(['[n1] stopped (code 0)', '[n2] stopped (code 0)', '[n3] stopped (code 0)']);
  } finally {
    if (launcher.exitCode === null) launcher.kill('SIGKILL');
    await exited;
  }
});
