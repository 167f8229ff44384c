import { map, Observable, scan, share } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { buildOnFirst } from '../../src/operators/buildOnFirst';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('buildOnFirst', () => {
  it('emits what the built pipeline makes of the values, from the first on', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a---b--c--|');
      const built = source.pipe(buildOnFirst((v$) => v$.pipe(map((v) => v.toUpperCase()))));
      expectObservable(built).toBe('--A---B--C--|');
      expectSubscriptions(source.subscriptions).toBe('^-----------!');
    });
  });

  it('builds only at the first value, and once', () => {
    const built: number[] = [];
    const s = scheduler();
    s.run(({ hot, expectObservable }) => {
      const source = hot('----a-b-|');
      const counted = source.pipe(
        buildOnFirst((v$) => {
          built.push(s.now());
          return v$.pipe(scan((count: number) => count + 1, 0));
        }),
      );
      expectObservable(counted).toBe('----1-2-|', { 1: 1, 2: 2 });
    });
    expect(built).toEqual([4]);
  });

  it('never builds when no value comes; completes and fails with the source', () => {
    let builds = 0;
    scheduler().run(({ hot, expectObservable }) => {
      const build = (v$: Observable<string>) => {
        builds++;
        return v$;
      };
      expectObservable(hot('-----|').pipe(buildOnFirst(build))).toBe('-----|');
      expectObservable(hot('---#').pipe(buildOnFirst(build))).toBe('---#');
    });
    expect(builds).toBe(0);
  });

  it('hands the built pipeline the source error after the first value', () => {
    scheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('-a--#').pipe(buildOnFirst((v$) => v$.pipe(share())))).toBe('-a--#');
    });
  });

  it('unsubscribing tears down the source and the built pipeline', () => {
    scheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a------');
      const inner = cold('--x-x-x-');
      expectObservable(source.pipe(buildOnFirst(() => inner)), '^----!').toBe('---x-');
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(inner.subscriptions).toBe('-^---!');
    });
  });
});
