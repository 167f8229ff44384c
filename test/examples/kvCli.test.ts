/**
 * The programs as a user runs them: real child processes, their output and exit codes.
 * Entries run compiled (transpiled once, as the cluster tests do) except one real
 * `npm run cluster -- --help`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compiledEntry, REPO_ROOT } from '../../examples/kv/processes';

jest.setTimeout(60_000);

const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(entry: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const js = compiledEntry(entry);
  expect(js).not.toBeNull();
  const r = spawnSync(process.execPath, [js!, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rxraft-kv command line', () => {
  it.each([['--help'], ['-h']])('%s prints the usage, every option and its variable, and exits 0', (flag) => {
    const r = run('examples/kv-server.ts', [flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: rxraft-kv \[options\]/);
    expect(r.stdout).toMatch(/--secret-file <path>.*\[RXRAFT_SECRET_FILE\]/);
    expect(r.stdout).toMatch(/--http-max-connections <n>.*\[RXRAFT_HTTP_MAX_CONNECTIONS\]/);
  });

  it('--version prints the package version', () => {
    const r = run('examples/kv-server.ts', ['--version']);
    expect([r.code, r.stdout.trim()]).toEqual([0, VERSION]);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--id', 'n1'], /--raft is required/],
    [['--id', 'n1', '--raft', '127.0.0.1:1', '--http', '127.0.0.1:2', '--secret', 'visible'], /visible to every user in ps/],
  ])('bad usage %j: the reason, a hint, exit code 2', (args, message) => {
    const r = run('examples/kv-server.ts', args, { RXRAFT_SECRET: 's' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/run 'rxraft-kv --help' for usage/);
  });

  it('a server that cannot start (port taken by its own Raft port) exits 1 with the reason', () => {
    const r = run('examples/kv-server.ts', ['--id', 'n1', '--raft', '127.0.0.1:1', '--http', '127.0.0.1:1', '--data', path.join(REPO_ROOT, 'node_modules', '.cache', 'rxraft-cli-test'), '--log-level', 'silent'], { RXRAFT_SECRET: 's' });
    fs.rmSync(path.join(REPO_ROOT, 'node_modules', '.cache', 'rxraft-cli-test'), { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start: .*(EACCES|EADDRINUSE)/);
  });
});

describe('scripts', () => {
  it('npm run cluster -- --help prints the usage and exits 0', () => {
    const r = spawnSync('npm', ['run', '--silent', 'cluster', '--', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 40_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: npm run cluster -- \[options\]/);
    expect(r.stdout).toMatch(/--nodes <n>/);
  });

  it('the cluster launcher refuses bad usage with exit code 2', () => {
    const r = run('examples/cluster.ts', ['--nodes', 'ten']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--nodes: expected a positive integer/);
  });

  it('bench:storage --help prints the usage instead of starting the benchmark', () => {
    const r = run('bench/storage.ts', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: npm run bench:storage -- \[options\]/);
    expect(r.stdout).not.toMatch(/entries\/s/);
  });
});
