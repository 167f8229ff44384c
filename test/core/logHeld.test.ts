/**
 * What the in-memory log holds (`RaftLog.heldEntries` / `heldBytes`): the count that the
 * memory bound of the snapshot policy is stated in, kept right by every change to the log.
 */
import { RaftLog } from '../../src/core/log';
import { Entry, EntryKind } from '../../src/messages/entry';

function entries(from: number, sizes: readonly number[]): Entry[] {
  return sizes.map((size, i) => ({ index: from + i, term: 1, kind: EntryKind.Command, data: new Uint8Array(size) }));
}

function held(log: RaftLog): [number, number] {
  return [log.heldEntries, log.heldBytes];
}

describe('RaftLog held entries and bytes', () => {
  test('count what was loaded and what is appended', () => {
    const log = new RaftLog(entries(1, [10, 20]));
    expect(held(log)).toEqual([2, 30]);
    log.append(entries(3, [5, 5, 5]));
    expect(held(log)).toEqual([5, 45]);
  });

  test('drop what a conflict truncates, and nothing when the truncation is past the end', () => {
    const log = new RaftLog(entries(1, [10, 20, 30, 40]));
    log.truncateFrom(3);
    expect(held(log)).toEqual([2, 30]);
    log.truncateFrom(9);
    expect(held(log)).toEqual([2, 30]);
  });

  test('drop what compaction cuts, keeping the tail behind the snapshot', () => {
    const log = new RaftLog(entries(1, [10, 20, 30, 40]));
    log.compact({ index: 3, term: 1 }, 2);
    expect(held(log)).toEqual([2, 70]);
    log.compact({ index: 4, term: 1 }, 4);
    expect(held(log)).toEqual([0, 0]);
    log.append(entries(5, [7]));
    expect(held(log)).toEqual([1, 7]);
  });

  test('hold nothing after a snapshot replaces the log', () => {
    const log = new RaftLog(entries(1, [10, 20]));
    log.reset({ index: 50, term: 2 });
    expect(held(log)).toEqual([0, 0]);
  });
});
