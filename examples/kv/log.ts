/**
 * The KV server's log: pino, one JSON object per line, or a readable line per event when
 * written to a terminal (a small built-in formatter; no pretty-printing dependency).
 */
import pino, { Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger } from 'pino';

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'node']);

/**
 * Formats one pino JSON line for people: `12:00:01.250 INFO  [n1] msg key=value ...`.
 *
 * @example
 * prettyLine('{"level":30,"time":0,"node":"n1","msg":"leader changed","leader":"n2"}');
 * // '00:00:00.000 INFO  [n1] leader changed leader=n2'
 */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.replace(/\n$/, '');
  }
  const time = new Date(Number(o.time)).toISOString().slice(11, 23);
  const fields = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return [time, LEVEL_NAMES[Number(o.level)] ?? String(o.level), o.node !== undefined ? `[${o.node}]` : '', String(o.msg ?? ''), ...fields].filter((s) => s !== '').join(' ');
}

/**
 * The server's logger. `format: 'auto'` writes readable lines when stdout is a terminal,
 * JSON lines otherwise (for a log collector). Every line carries the node id.
 *
 * @example
 * const log = createLogger({ id: 'n1', level: 'info', format: 'auto' });
 * log.info({ leader: 'n2', term: 3 }, 'leader changed');
 */
export function createLogger(options: {
  readonly id: string;
  readonly level: LogLevel;
  readonly format: 'json' | 'pretty' | 'auto';
  /** Where lines go (default stdout). */
  readonly destination?: NodeJS.WritableStream;
}): Logger {
  const out = options.destination ?? process.stdout;
  const pretty = options.format === 'pretty' || (options.format === 'auto' && (out as { isTTY?: boolean }).isTTY === true);
  const base = { node: options.id };
  // Synchronous writes to stdout: the last lines before an exit (a failure) are not lost.
  if (!pretty) return pino({ level: options.level, base }, out === process.stdout ? pino.destination({ dest: 1, sync: true }) : out);
  return pino({ level: options.level, base }, { write: (line: string) => void out.write(`${prettyLine(line)}\n`) });
}
