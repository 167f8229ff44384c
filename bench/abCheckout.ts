/**
 * The two builds of the A/B harness (bench/ab.ts): each git revision exported into a
 * temporary directory (`git archive | tar -x`, so the repository's worktree list and
 * index are never touched), with the packages of this checkout's node_modules linked in when the
 * revision's package-lock.json is the same, or installed there with `npm ci` when not.
 * `'worktree'` is this checkout itself, as it is.
 *
 * @example
 * const repo = repositoryRoot(process.cwd());
 * const root = makeTempRoot();
 * const a = await prepareBuild(repo, 'e4fb380', 'A', root, signal);  // → { dir: '/tmp/rxraft-ab-…/A', ... }
 * removeTempRoot(root);
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBounded, tail } from './abRun';

export interface Build {
  readonly label: 'A' | 'B';
  /** As given on the command line. */
  readonly revision: string;
  /** The commit, or null for the worktree. */
  readonly commit: string | null;
  readonly dir: string;
  /** How its node_modules came to be. */
  readonly dependencies: 'this checkout' | 'symlink' | 'npm ci';
  /** Its package-lock.json's git blob hash (null if it has none). */
  readonly lockfile: string | null;
}

/** A revision git does not know, or a git or npm step that failed. */
export class AbCheckoutError extends Error {
  override readonly name = 'AbCheckoutError';
}

const GIT_TIMEOUT_MS = 120_000;
const NPM_CI_TIMEOUT_MS = 15 * 60_000;

function git(cwd: string, args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    throw new AbCheckoutError(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

/** The top directory of the git checkout `cwd` is in. */
export function repositoryRoot(cwd: string): string {
  return git(cwd, ['rev-parse', '--show-toplevel']);
}

/** The commit a revision names; a clear error if it names none. */
export function resolveCommit(repo: string, revision: string): string {
  try {
    return git(repo, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]);
  } catch {
    throw new AbCheckoutError(`${JSON.stringify(revision)} is not a commit in ${repo}`);
  }
}

/** The git blob hash of package-lock.json at a commit, or in the worktree (commit null); null if there is none. */
export function lockfileHash(repo: string, commit: string | null): string | null {
  try {
    if (commit === null) return fs.existsSync(path.join(repo, 'package-lock.json')) ? git(repo, ['hash-object', 'package-lock.json']) : null;
    return git(repo, ['rev-parse', '--verify', '--quiet', `${commit}:package-lock.json`]);
  } catch {
    return null;
  }
}

/** A fresh directory under os.tmpdir() for both builds and the benchmarks' temporary files. */
export function makeTempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-ab-'));
}

/** Removes what `makeTempRoot` made, whatever is in it (synchronous: safe in an exit handler). */
export function removeTempRoot(root: string): void {
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Makes build `label` of `revision` under `root`: this checkout for `'worktree'`, otherwise
 * the commit's files in `root/<label>` with node_modules linked from this checkout (same
 * package-lock.json) or installed by `npm ci` (different one; said on stderr).
 */
export async function prepareBuild(repo: string, revision: string, label: 'A' | 'B', root: string, signal: AbortSignal): Promise<Build> {
  const ours = lockfileHash(repo, null);
  if (revision === 'worktree') return { label, revision, commit: null, dir: repo, dependencies: 'this checkout', lockfile: ours };
  const commit = resolveCommit(repo, revision);
  const dir = path.join(root, label);
  fs.mkdirSync(dir);
  try {
    execFileSync('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', commit, dir], { cwd: repo, timeout: GIT_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new AbCheckoutError(`exporting ${revision} (${commit.slice(0, 10)}) into ${dir} failed: ${String((e as { stderr?: unknown }).stderr ?? e).trim()}`);
  }
  const lockfile = lockfileHash(repo, commit);
  if (lockfile === ours) {
    linkDependencies(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
    return { label, revision, commit, dir, dependencies: 'symlink', lockfile };
  }
  process.stderr.write(`${label} (${revision}): package-lock.json differs from this checkout's: running npm ci there (at most ${NPM_CI_TIMEOUT_MS / 60_000} min)\n`);
  // --ignore-scripts: the benchmarks run from source with ts-node; `prepare` would only build dist/.
  const logFile = path.join(root, `${label}-npm-ci.log`);
  const run = await runBounded('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env: process.env, timeoutMs: NPM_CI_TIMEOUT_MS, logFile, signal });
  if (run.exitCode !== 0) {
    const why = run.timedOut ? 'timed out' : run.aborted ? 'was interrupted' : `failed (exit ${run.exitCode ?? run.exitSignal})`;
    throw new AbCheckoutError(`npm ci for ${label} (${revision}) ${why}:\n${tail(logFile, 20)}`);
  }
  return { label, revision, commit, dir, dependencies: 'npm ci', lockfile };
}

/**
 * A node_modules of symlinks, one per package of `from`, except `.cache`: the cluster
 * benchmark compiles its child processes into `node_modules/.cache/rxraft-js/` (keyed by the
 * sources' paths), and that must stay inside the temporary directory rather than pile up
 * in the checkout's (possibly shared) node_modules.
 */
function linkDependencies(from: string, to: string): void {
  const real = fs.realpathSync(from);
  fs.mkdirSync(to);
  for (const name of fs.readdirSync(real)) {
    if (name !== '.cache') fs.symlinkSync(path.join(real, name), path.join(to, name));
  }
}
