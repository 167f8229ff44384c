/**
 * Command lines of the example programs, on `node:util` `parseArgs`: one table of options
 * gives the parser, the `RXRAFT_*` environment variables and the usage text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

/** A command-line argument or environment variable that makes no sense; the message says which and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One option of a program. */
export interface OptionSpec {
  /** The long flag, without `--`. */
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** A one-letter alias. */
  readonly short?: string;
  /** What the value looks like in the usage text, e.g. `<host:port>`. */
  readonly value?: string;
  readonly help: string;
  /** Also read from `RXRAFT_<NAME>` (upper case, `-` → `_`) when the flag is absent (default true). */
  readonly env?: boolean;
}

/** What a parsed command line asks for. */
export type ParsedCommandLine =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly values: Readonly<Record<string, string | boolean | undefined>> };

/** The environment variable an option is also read from. */
export const envName = (option: string): string => `RXRAFT_${option.toUpperCase().replace(/-/g, '_')}`;

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', env: false, help: 'print this help and exit' };
const VERSION: OptionSpec = { name: 'version', type: 'boolean', env: false, help: 'print the version and exit' };

/**
 * Parses `argv` against `options` (plus `--help`/`-h` and, with `version`, `--version`).
 * Flags win over `RXRAFT_*` environment variables. Throws `ConfigError` on an unknown
 * option, a missing value or a positional argument.
 *
 * @example
 * parseCommandLine(['--nodes', '5'], [{ name: 'nodes', type: 'string', help: '...' }], {});
 * // { kind: 'run', values: { nodes: '5' } }
 */
export function parseCommandLine(
  argv: readonly string[],
  options: readonly OptionSpec[],
  env: NodeJS.ProcessEnv = process.env,
  { version = false } = {},
): ParsedCommandLine {
  const all = [...options, HELP, ...(version ? [VERSION] : [])];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(all.map((o) => [o.name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    // parseArgs says e.g. "Unknown option '--bogus'" or "Option '--id <value>' argument missing".
    throw new ConfigError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  for (const o of options) {
    if (values[o.name] !== undefined || o.env === false) continue;
    const fromEnv = env[envName(o.name)];
    if (fromEnv === undefined || fromEnv === '') continue;
    if (o.type === 'string') values[o.name] = fromEnv;
    else if (/^(1|true|yes|on)$/i.test(fromEnv)) values[o.name] = true;
    else if (/^(0|false|no|off)$/i.test(fromEnv)) values[o.name] = false;
    else throw new ConfigError(`${envName(o.name)}: expected true or false, got ${JSON.stringify(fromEnv)}`);
  }
  return { kind: 'run', values };
}

/**
 * The usage text: a synopsis line, then each option with its help and environment variable.
 *
 * @example
 * console.log(usageText('npm run cluster --', 'Starts a local cluster.', OPTIONS));
 */
export function usageText(program: string, summary: string, options: readonly OptionSpec[], { version = false } = {}): string {
  const all = [...options, HELP, ...(version ? [VERSION] : [])];
  const left = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ` ${o.value ?? '<value>'}` : ''}`;
  const width = Math.max(...all.map((o) => left(o).length));
  const lines = all.map((o) => {
    const env = o.env === false ? '' : ` [${envName(o.name)}]`;
    return `  ${left(o).padEnd(width)}  ${o.help}${env}`;
  });
  return `usage: ${program} [options]\n\n${summary}\n\noptions (each also from the environment variable in brackets; a flag wins):\n${lines.join('\n')}`;
}

/** A short hint printed after a usage error. */
export const usageHint = (program: string): string => `run '${program} --help' for usage`;

/**
 * Runs the parse for a program's `main`: prints the help or the version and exits 0, or
 * prints the error and a hint and exits 2 (bad usage); otherwise returns the values.
 *
 * @example
 * const values = commandLineOrExit(process.argv.slice(2), OPTIONS, 'npm run bench:storage --', 'Measures storage.');
 */
export function commandLineOrExit(
  argv: readonly string[],
  options: readonly OptionSpec[],
  program: string,
  summary: string,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<Record<string, string | boolean | undefined>> {
  try {
    const parsed = parseCommandLine(argv, options, env);
    if (parsed.kind === 'run') return parsed.values;
    console.log(usageText(program, summary, options));
    process.exit(0);
  } catch (e) {
    console.error(`${program.replace(/ --$/, '')}: ${(e as Error).message}\n${usageHint(program)}`);
    process.exit(2);
  }
}

/** A positive integer option, or `fallback` when absent. */
export function positiveInt(value: string | boolean | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`--${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The version in this package's package.json (found above this file, also from a compiled tree). */
export function packageVersion(): string {
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rxraft' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
    dir = path.dirname(dir);
  }
}
