/**
 * With `RXRAFT_FOLLOWER_TRACE=<path prefix>`, a benchmark node that leads samples its
 * followers every 100 ms (`RaftNode.followers()`: lag in entries behind its last index,
 * state, reads from storage and the bytes they brought back so far) and appends one JSON line per sample to
 * `<prefix>-<pid>.jsonl`, written once a second (at most 10 lines buffered). It tells
 * whether a follower served from the write-ahead log lags by more than the leader keeps in
 * memory (issue 17, docs/notes/big-entries.md).
 *
 *   RXRAFT_FOLLOWER_TRACE=/tmp/ft npm run bench -- --only library --sizes 65536 --levels 256 --duration 8
 *
 * @example
 * const stop = traceFollowers(() => node.followers(), '/tmp/ft');
 * // /tmp/ft-1234.jsonl: {"t":1733450000123,"f":[{"id":"n2","lag":12,"state":"replicating","reads":0,"readBytes":0},…]}
 * stop();
 */
import * as fs from 'node:fs';
import type { FollowerProgress } from '../src';

/** The trace's path prefix, when one is wanted. */
export function followerTracePrefix(): string | null {
  return process.env.RXRAFT_FOLLOWER_TRACE || null;
}

/** Starts sampling; returns a function that stops it and writes what is buffered. */
export function traceFollowers(followers: () => readonly FollowerProgress[] | null, prefix: string): () => void {
  const file = `${prefix}-${process.pid}.jsonl`;
  let lines: string[] = [];
  const flush = () => {
    if (lines.length > 0) fs.appendFileSync(file, lines.join(''));
    lines = [];
  };
  const sample = setInterval(() => {
    const f = followers();
    if (f) lines.push(`${JSON.stringify({ t: Date.now(), f: f.map((p) => ({ id: p.id, lag: p.lag, state: p.state, reads: p.storageReads, readBytes: p.storageReadBytes })) })}\n`);
    if (lines.length >= 10) flush();
  }, 100);
  sample.unref();
  return () => {
    clearInterval(sample);
    flush();
  };
}
