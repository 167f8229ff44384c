import { TestScheduler } from 'rxjs/testing';
import { Observable } from 'rxjs';
import { persistThenRelease, ReleaseStep, WriteStep } from '../../src/operators/persistThenRelease';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

type Step = WriteStep<string> | ReleaseStep<string>;
const steps: Record<string, Step> = {
  a: { write: 'A' }, // durable after 3 frames
  b: { write: 'B' }, // durable after 1 frame
  s: { release: 'S', afterWrites: true },
  m: { release: 'M', afterWrites: false },
};

describe('persistThenRelease', () => {
  it('holds a release marked afterWrites until every earlier write is durable (then releases it before reporting the write), and lets others pass at once', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable }) => {
      const writes: Record<string, Observable<unknown>> = { A: cold('---|'), B: cold('-|') };
      const source = hot<Step>('a s m', steps);
      expectObservable(source.pipe(persistThenRelease<string, string>((w) => writes[w]))).toBe('--m (sd)', {
        m: { released: 'M' },
        d: { durable: 'A' },
        s: { released: 'S' },
      });
    });
  });

  it('reports durable writes in the order they started, even when a later one finishes first', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable }) => {
      const writes: Record<string, Observable<unknown>> = { A: cold('---|'), B: cold('-|') };
      const source = hot<Step>('ab', steps);
      expectObservable(source.pipe(persistThenRelease<string, string>((w) => writes[w]))).toBe('---(xy)', {
        x: { durable: 'A' },
        y: { durable: 'B' },
      });
    });
  });

  it('releases at once when nothing is being written', () => {
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      expectObservable(hot<Step>('-s', steps).pipe(persistThenRelease<string, string>(() => new Observable()))).toBe('-r', {
        r: { released: 'S' },
      });
    });
  });

  it('fails on a failed write and releases nothing held behind it (fail-stop)', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable }) => {
      const source = hot<Step>('as', steps);
      expectObservable(source.pipe(persistThenRelease<string, string>(() => cold('--#', undefined, new Error('disk'))))).toBe(
        '--#',
        undefined,
        new Error('disk'),
      );
    });
  });

  it('completes once the writes started before completion are durable', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable }) => {
      const source = hot<Step>('a|', steps);
      expectObservable(source.pipe(persistThenRelease<string, string>(() => cold('---|')))).toBe('---(d|)', { d: { durable: 'A' } });
    });
  });

  it('cancels running writes on unsubscribe', () => {
    const s = scheduler();
    s.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const write = cold('-----|');
      const source = hot<Step>('a', steps);
      expectObservable(source.pipe(persistThenRelease<string, string>(() => write)), '--!').toBe('');
      expectSubscriptions(write.subscriptions).toBe('^-!');
    });
  });

  it('takes promises as writes', async () => {
    const results: unknown[] = [];
    let finish!: () => void;
    const { Subject } = await import('rxjs');
    const source = new Subject<Step>();
    source
      .pipe(persistThenRelease<string, string>(() => new Promise<void>((resolve) => (finish = resolve))))
      .subscribe((o) => results.push(o));
    source.next({ write: 'A' });
    source.next({ release: 'S', afterWrites: true });
    expect(results).toEqual([]);
    finish();
    await Promise.resolve();
    expect(results).toEqual([{ released: 'S' }, { durable: 'A' }]);
  });
});
