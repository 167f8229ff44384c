import type { Effect } from '../../src/core/effects';
import { AppliedAcks } from '../../src/streams/appliedAcks';

/** An `apply` effect handing out entry `index` (only the index matters here). */
const applyEffect = (index: number): Effect => ({ type: 'apply', entries: [{ index, term: 1, kind: 0, data: new Uint8Array() }] }) as unknown as Effect;

function harness(options: { applySynchronously: boolean; moreAfter?: number }) {
  const log: string[] = [];
  const fed: number[] = [];
  const failures: Error[] = [];
  const stepApplied = (index: number): readonly Effect[] => {
    log.push(`step applied ${index}`);
    // The rules hand out one more entry after an acknowledgement, up to `moreAfter`.
    return options.moreAfter !== undefined && index < options.moreAfter ? [applyEffect(index + 1)] : [];
  };
  const acks = new AppliedAcks({ stepApplied, feedback: (index) => fed.push(index), fail: (e) => failures.push(e) });
  const carryOut = (effects: readonly Effect[]) => {
    for (const effect of effects) {
      if (effect.type !== 'apply') continue;
      const index = effect.entries[effect.entries.length - 1].index;
      log.push(`apply ${index}`);
      if (options.applySynchronously) acks.report(index);
    }
  };
  return { acks, carryOut, log, fed, failures };
}

describe('AppliedAcks: the application acknowledgement of a synchronous apply is stepped in the same turn', () => {
  it('steps an acknowledgement made during the turn after the turn’s effects, without a turn of its own', () => {
    const h = harness({ applySynchronously: true });
    expect(h.acks.within(h.carryOut, [applyEffect(5)])).toBe(true);
    expect(h.log).toEqual(['apply 5', 'step applied 5']);
    expect(h.fed).toEqual([]);
  });

  it('keeps going while the acknowledgement hands out more entries that are applied at once', () => {
    const h = harness({ applySynchronously: true, moreAfter: 7 });
    h.acks.within(h.carryOut, [applyEffect(5)]);
    expect(h.log).toEqual(['apply 5', 'step applied 5', 'apply 6', 'step applied 6', 'apply 7', 'step applied 7']);
    expect(h.fed).toEqual([]);
  });

  it('steps only the latest of several acknowledgements made in one turn', () => {
    const h = harness({ applySynchronously: true });
    h.acks.within(h.carryOut, [applyEffect(5), applyEffect(6)]);
    expect(h.log).toEqual(['apply 5', 'apply 6', 'step applied 6']);
  });

  it('feeds an acknowledgement made between turns (an asynchronous apply finished) to the loop', () => {
    const h = harness({ applySynchronously: false });
    h.acks.within(h.carryOut, [applyEffect(5)]);
    expect(h.log).toEqual(['apply 5']);
    h.acks.report(5);
    expect(h.fed).toEqual([5]);
    expect(h.log).toEqual(['apply 5']);
  });

  it('reports a rule that throws to fail, ends the turn, and leaves nothing pending for the next one', () => {
    const failures: Error[] = [];
    const fed: number[] = [];
    const broken = new Error('invariant broken');
    const acks = new AppliedAcks({
      stepApplied: () => {
        throw broken;
      },
      feedback: (index) => fed.push(index),
      fail: (e) => failures.push(e),
    });
    expect(acks.within(() => acks.report(3), [])).toBe(false);
    expect(failures).toEqual([broken]);
    expect(acks.within(() => undefined, [])).toBe(true);
    expect(fed).toEqual([]);
  });
});

describe('AppliedAcks: an acknowledgement made between turns waits for the next turn when mayHold allows', () => {
  function holding(mayHold: (index: number) => boolean) {
    const log: string[] = [];
    const fed: number[] = [];
    const acks = new AppliedAcks({
      stepApplied: (index) => {
        log.push(`step applied ${index}`);
        return [];
      },
      feedback: (index) => fed.push(index),
      fail: (e) => {
        throw e;
      },
      mayHold,
    });
    return { acks, log, fed };
  }

  it('holds it (no turn of its own) and steps it at the end of the next turn, after that turn’s effects', () => {
    const h = holding(() => true);
    h.acks.report(5); // a follower's apply finished while its write is in flight
    expect(h.fed).toEqual([]);
    expect(h.log).toEqual([]);
    const turn = [applyEffect(9)]; // the completion turn's own effects
    h.acks.within((effects) => effects === turn && h.log.push('effects of the write’s completion turn'), turn);
    expect(h.log).toEqual(['effects of the write’s completion turn', 'step applied 5']);
    h.acks.within(() => undefined, []);
    expect(h.log).toHaveLength(2); // stepped once
  });

  it('steps only the latest of several held acknowledgements', () => {
    const h = holding(() => true);
    h.acks.report(5);
    h.acks.report(6);
    h.acks.within(() => undefined, []);
    expect(h.log).toEqual(['step applied 6']);
  });

  it('feeds it to the loop when mayHold refuses, and drops a held one it covers', () => {
    let hold = true;
    const h = holding(() => hold);
    h.acks.report(5);
    hold = false; // e.g. a read now waits for the application
    h.acks.report(6);
    expect(h.fed).toEqual([6]);
    h.acks.within(() => undefined, []);
    expect(h.log).toEqual([]); // 5 was covered by 6, which is a turn of its own
  });

  it('asks mayHold with the index acknowledged', () => {
    const asked: number[] = [];
    const h = holding((index) => {
      asked.push(index);
      return index < 7;
    });
    h.acks.report(6);
    h.acks.report(7);
    expect(asked).toEqual([6, 7]);
    expect(h.fed).toEqual([7]);
  });
});
