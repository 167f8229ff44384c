import { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { batchPerTurn } from '../../src/operators/batchPerTurn';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/**
 * A turn scheduler on virtual time whose turn ends `length` frames after it is asked for,
 * so a diagram can show values gathering over several frames. `flushes` counts the turns
 * that actually ran, which tells a cancelled flush from one that ran into a closed subscriber.
 */
function turns(s: TestScheduler, length: number): SchedulerLike & { flushes: number } {
  const turn = {
    flushes: 0,
    now: () => s.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
      return s.schedule<T>(function (this: SchedulerAction<T>, st?: T) {
        turn.flushes++;
        work.call(this, st as T);
      }, delay + length, state);
    },
  };
  return turn;
}

describe('batchPerTurn', () => {
  it('emits the values of one turn as one batch, in arrival order', () => {
    const s = testScheduler();
    s.run(({ hot, expectObservable }) => {
      // With the test scheduler itself as the turn scheduler, a turn is one frame.
      const source = hot('-(abc)-(de)-f-|');
      expectObservable(source.pipe(batchPerTurn(s))).toBe('-x-----y----z-|', {
        x: ['a', 'b', 'c'],
        y: ['d', 'e'],
        z: ['f'],
      });
    });
  });

  it('gathers everything that arrives before the turn ends (the diagram in its doc comment)', () => {
    const s = testScheduler();
    s.run(({ hot, expectObservable }) => {
      const turn = turns(s, 5);
      expectObservable(hot('-a-b-c------d-e---|').pipe(batchPerTurn(turn))).toBe('------x----------y|', {
        x: ['a', 'b', 'c'],
        y: ['d', 'e'],
      });
    });
  });

  it('emits nothing for a turn without values, and schedules no turn while the source is quiet', () => {
    const s = testScheduler();
    const turn = turns(s, 2);
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a---------b--|').pipe(batchPerTurn(turn))).toBe('---x---------y|', { x: ['a'], y: ['b'] });
    });
    expect(turn.flushes).toBe(2);
  });

  it('on completion emits the values still waiting at once, then completes, and cancels their turn', () => {
    const s = testScheduler();
    const turn = turns(s, 5);
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-b|').pipe(batchPerTurn(turn))).toBe('----(x|)', { x: ['a', 'b'] });
    });
    expect(turn.flushes).toBe(0);
  });

  it('completes without an empty batch when nothing is waiting', () => {
    const s = testScheduler();
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a---|').pipe(batchPerTurn(s))).toBe('-x---|', { x: ['a'] });
      expectObservable(hot('---|').pipe(batchPerTurn(s))).toBe('---|');
    });
  });

  it('passes an error through at once, dropping the values still waiting and their turn', () => {
    const s = testScheduler();
    const turn = turns(s, 5);
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-#', undefined, new Error('disk')).pipe(batchPerTurn(turn))).toBe('---#', undefined, new Error('disk'));
    });
    expect(turn.flushes).toBe(0);
  });

  it('passes an error through after the batches of earlier turns', () => {
    const s = testScheduler();
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a--#').pipe(batchPerTurn(s))).toBe('-x--#', { x: ['a'] });
    });
  });

  it('unsubscribing cancels the scheduled flush and unsubscribes the source', () => {
    const s = testScheduler();
    const turn = turns(s, 5);
    s.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-----c--');
      const unsub = '     ^---!';
      expectObservable(source.pipe(batchPerTurn(turn)), unsub).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
    expect(turn.flushes).toBe(0);
  });

  it('subscribers get separate buffers', () => {
    const s = testScheduler();
    s.run(({ hot, expectObservable }) => {
      const source = hot('-a-(bc)--|');
      expectObservable(source.pipe(batchPerTurn(s))).toBe('-x-y-----|', { x: ['a'], y: ['b', 'c'] });
      expectObservable(source.pipe(batchPerTurn(s)), '---^').toBe('---y-----|', { y: ['b', 'c'] });
    });
  });

  describe('with a limit', () => {
    const count = { max: 2, weigh: () => 1 };

    it('emits at most the limit per turn and carries the rest, in order, to the next turns (the diagram in its doc comment)', () => {
      const s = testScheduler();
      s.run(({ hot, expectObservable }) => {
        const turn = turns(s, 1);
        expectObservable(hot('(abcde)-----|').pipe(batchPerTurn(turn, count))).toBe('-xyz--------|', {
          x: ['a', 'b'],
          y: ['c', 'd'],
          z: ['e'],
        });
      });
    });

    it('values arriving while others are carried queue behind them', () => {
      const s = testScheduler();
      s.run(({ hot, expectObservable }) => {
        const turn = turns(s, 5);
        expectObservable(hot('(abc)-d-----|').pipe(batchPerTurn(turn, count))).toBe('-----x----y-|', { x: ['a', 'b'], y: ['c', 'd'] });
      });
    });

    it('weighs by the given function; one value heavier than the limit goes alone', () => {
      const s = testScheduler();
      const bytes = { max: 10, weigh: (v: string) => v.length };
      s.run(({ hot, expectObservable }) => {
        const turn = turns(s, 1);
        const source = hot('(abc)-----|', { a: 'aaaaaaaaaaaa', b: 'bbbb', c: 'cccccc' });
        expectObservable(source.pipe(batchPerTurn(turn, bytes))).toBe('-xy-------|', { x: ['aaaaaaaaaaaa'], y: ['bbbb', 'cccccc'] });
      });
    });

    it('on completion emits everything still waiting at once, still in batches within the limit', () => {
      const s = testScheduler();
      s.run(({ hot, expectObservable }) => {
        expectObservable(hot('(abc|)').pipe(batchPerTurn(turns(s, 5), count))).toBe('(xy|)', { x: ['a', 'b'], y: ['c'] });
      });
    });
  });
});
