/**
 * Command line of the A/B benchmark harness (bench/ab.ts): which two revisions, how many
 * rounds, which suites, and the bounds of every run.
 *
 * @example
 * parseAbOptions(['--base', 'e4fb380', '--rounds', '2', '--quick']);
 * // → { base: 'e4fb380', head: 'worktree', rounds: 2, suites: ['cluster', 'transport'],
 * //     quick: true, timeoutSeconds: 400, clusterArgs: null }
 */

export type Suite = 'cluster' | 'transport';

export interface AbOptions {
  /** Build A: a git revision. */
  readonly base: string;
  /** Build B: a git revision, or `'worktree'` for the files as they are now (uncommitted changes included). */
  readonly head: string;
  /** Rounds; each round runs A then B once per suite. */
  readonly rounds: number;
  readonly suites: readonly Suite[];
  /** The reduced configuration of each benchmark (see `benchCommand` in bench/abRun.ts). */
  readonly quick: boolean;
  /** A single benchmark run that takes longer is killed and reported. */
  readonly timeoutSeconds: number;
  /** The cluster suite's arguments instead of its default (or `--quick`) ones, e.g. one load level; null: the default. */
  readonly clusterArgs: readonly string[] | null;
}

/** A bad command line; the message says which argument and what is expected. */
export class AbUsageError extends Error {
  override readonly name = 'AbUsageError';
}

export const MAX_ROUNDS = 20;

export const AB_USAGE = `usage: npm run bench:ab -- --base <git-rev> [--head <git-rev>|worktree] [--rounds N] [--suite cluster|transport|both]
                         [--quick] [--timeout <seconds per run>] [--cluster-args="<bench/cluster.ts arguments>"]

Runs each revision's own bench/cluster.ts and/or bench/transport.ts, alternating A (base) and B (head)
for N rounds (default 3, at most ${MAX_ROUNDS}), and prints per metric: median A, median B, B/A and the rounds' spread.
--head defaults to 'worktree' (this checkout as it is, uncommitted changes included).
--quick runs a reduced configuration of each benchmark (a round of both suites: ~3.5 min instead of ~9 on 2 cores).
--timeout bounds one benchmark run (default 1500 s, or 400 s with --quick); a run over it is killed and reported.
--cluster-args= replaces the cluster suite's arguments (give it with =), e.g. --cluster-args="--only library --levels 1 --duration 10";
both builds' bench/cluster.ts must accept them.`;

const FLAGS = ['base', 'head', 'rounds', 'suite', 'quick', 'timeout', 'cluster-args', 'help'];
/** One argument of `--cluster-args`: an option or a plain value (letters, digits, `,.=_-`), never a shell construct. */
const CLUSTER_ARG = /^[A-Za-z0-9,._=-]+$/;
const SUITES: Record<string, readonly Suite[]> = { cluster: ['cluster'], transport: ['transport'], both: ['cluster', 'transport'] };
/** Characters a git revision may have here: names, hashes, `HEAD~2`, `v1.0^`, `main@{1}`. No leading '-', so never an option to git. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9_./~^@{}-]*$/;

/** Parses `argv` (without `node` and the script); throws `AbUsageError` on anything it does not accept. */
export function parseAbOptions(argv: readonly string[]): AbOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new AbUsageError(`unexpected argument ${JSON.stringify(arg)} (options start with --)`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!FLAGS.includes(name)) throw new AbUsageError(`unknown option --${name} (known: ${FLAGS.map((f) => `--${f}`).join(', ')})`);
    if (flags.has(name)) throw new AbUsageError(`--${name} given twice`);
    if (name === 'quick' || name === 'help') {
      if (eq > 0) throw new AbUsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (eq > 0) {
      flags.set(name, arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags.set(name, argv[++i]);
    } else {
      throw new AbUsageError(`--${name} needs a value`);
    }
  }
  const text = (name: string): string | undefined => flags.get(name) as string | undefined;
  const base = text('base');
  if (base === undefined) throw new AbUsageError('--base <git-rev> is required');
  const head = text('head') ?? 'worktree';
  for (const [name, rev] of [['base', base], ['head', head]] as const) {
    if (!REVISION.test(rev)) throw new AbUsageError(`--${name}: ${JSON.stringify(rev)} is not a git revision`);
  }
  if (base === 'worktree') throw new AbUsageError("--base: 'worktree' can only be the head (B); give A as a git revision");
  const quick = flags.get('quick') === true;
  return {
    base,
    head,
    rounds: integer('rounds', text('rounds'), 3, 1, MAX_ROUNDS),
    suites: suite(text('suite') ?? 'both'),
    quick,
    timeoutSeconds: integer('timeout', text('timeout'), quick ? 400 : 1500, 10, 24 * 3600),
    clusterArgs: clusterArgs(text('cluster-args')),
  };
}

/** Whether `--help` was asked for (checked before parsing, so it works with other arguments missing). */
export const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new AbUsageError(`--${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function clusterArgs(value: string | undefined): readonly string[] | null {
  if (value === undefined) return null;
  const args = value.trim().split(/\s+/).filter((a) => a.length > 0);
  if (args.length === 0) throw new AbUsageError('--cluster-args: expected the arguments of bench/cluster.ts, got nothing');
  const bad = args.find((a) => !CLUSTER_ARG.test(a));
  if (bad !== undefined) throw new AbUsageError(`--cluster-args: ${JSON.stringify(bad)} is not an option or a plain value`);
  return args;
}

function suite(value: string): readonly Suite[] {
  const suites = SUITES[value];
  if (!suites) throw new AbUsageError(`--suite: expected cluster, transport or both, got ${JSON.stringify(value)}`);
  return suites;
}
