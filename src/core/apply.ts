import type { Effects } from './effects';
import type { RaftState } from './state';

/**
 * Handing committed entries to the application, and taking back its acknowledgement.
 *
 * The engine owns both indexes: `applyingIndex` (handed out) and `appliedIndex`
 * (acknowledged by the application through the runtime's `applied` event). Reads and
 * proposals wait for `appliedIndex` (DESIGN.md invariant 8), and snapshots are taken at
 * what the application has applied. Between the two lie at most `maxApplyingEntries`
 * entries and `maxApplyingBytes` payload bytes (one entry always fits): an application
 * that applies slowly holds back delivery from the log instead of growing a buffer.
 */

/**
 * Hands out the next entries that are committed and durable here, within the budget, as
 * one `apply` effect. Called once, at the end of every step.
 *
 * @example
 * // commitIndex 5, durableIndex 5, applyingIndex 2, appliedIndex 2, budget 2 entries:
 * maybeApply(s, fx); // fx: [{ type: 'apply', entries: [entry 3, entry 4] }]
 */
export function maybeApply(s: RaftState, fx: Effects): void {
  const upTo = Math.min(s.commitIndex, s.durableIndex);
  if (s.applyingIndex >= upTo) return;
  const { maxApplyingEntries, maxApplyingBytes } = s.options;
  const from = s.applyingIndex + 1;
  let next = from;
  let bytes = s.applyingBytes;
  while (next <= upTo && next - 1 - s.appliedIndex < maxApplyingEntries) {
    const size = s.log.sizeAt(next);
    if (size === undefined) throw new Error(`entry ${next} to apply is missing (log ${s.log.snapshotIndex + 1}..${s.log.lastIndex})`);
    if (next - 1 > s.appliedIndex && bytes + size > maxApplyingBytes) break;
    bytes += size;
    next++;
  }
  if (next === from) return;
  s.applyingIndex = next - 1;
  s.applyingBytes = bytes;
  // One copy of exactly these entries (all held: each was just read), not an array grown by pushes.
  fx.push({ type: 'apply', entries: s.log.slice(from, next - 1) });
}

/**
 * The application has applied everything handed to it up to `index`. An acknowledgement
 * of entries a snapshot has since covered (or a repeat) changes nothing.
 */
export function handleApplied(s: RaftState, index: number): void {
  const to = Math.min(index, s.applyingIndex);
  if (to <= s.appliedIndex) return;
  let bytes = s.applyingBytes;
  for (let i = s.appliedIndex + 1; i <= to; i++) {
    bytes -= s.log.sizeAt(i) ?? 0;
  }
  s.applyingBytes = Math.max(0, bytes);
  s.appliedIndex = to;
}
