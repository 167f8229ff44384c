import { EntryRangeError } from '../errors';

/**
 * Checks a `Storage.readEntries(from, to, maxBytes)` call against the durable log: one
 * holding entries `first..last` (null when it holds none) whose entries up to
 * `compactedThrough` are compacted away. Throws `EntryRangeError` unless `[from, to)` is
 * a non-empty range of positive integers wholly inside the log, or `maxBytes` is not a
 * positive number. Shared by every `Storage`, so they refuse alike.
 *
 * @example
 * checkEntryRange(3, 5, 1024, { first: 1, last: 10 }, 0); // fine
 * checkEntryRange(3, 12, 1024, { first: 1, last: 10 }, 0); // throws: runs past the end
 */
export function checkEntryRange(
  from: number,
  to: number,
  maxBytes: number,
  available: { readonly first: number; readonly last: number } | null,
  compactedThrough: number,
): void {
  const fail = (compacted: boolean, detail: string) => new EntryRangeError(from, to, available, compacted, detail);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to <= from) {
    throw fail(false, 'not a non-empty range of positive integers');
  }
  if (!(maxBytes > 0)) throw fail(false, `maxBytes must be a positive number, got ${maxBytes}`);
  if (from <= compactedThrough || (available !== null && from < available.first)) {
    throw fail(true, `its start is compacted away (through ${Math.max(compactedThrough, (available?.first ?? 1) - 1)})`);
  }
  if (available === null || to - 1 > available.last) throw fail(false, 'it runs past the end of the durable log');
}
