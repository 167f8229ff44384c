import { EventLoop } from '../../src/streams/eventLoop';

describe('EventLoop', () => {
  test('handles events in the order they were dispatched', () => {
    const handled: number[] = [];
    const loop = new EventLoop<number>((e) => handled.push(e));
    for (const e of [3, 1, 2]) loop.dispatch(e);
    expect(handled).toEqual([3, 1, 2]);
  });

  test('an event dispatched while handling waits until the current handler returns (no re-entry)', () => {
    const log: string[] = [];
    const loop: EventLoop<string> = new EventLoop<string>((e) => {
      log.push(`start ${e}`);
      if (e === 'a') {
        loop.dispatch('b');
        loop.dispatch('c');
      }
      if (e === 'b') loop.dispatch('d');
      log.push(`end ${e}`);
    });
    loop.dispatch('a');
    // b and c queue behind a; d, dispatched while handling b, queues behind c.
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
  });

  test('dispatch returns only once everything it started has been handled', () => {
    const handled: number[] = [];
    const loop: EventLoop<number> = new EventLoop<number>((e) => {
      handled.push(e);
      if (e < 1000) loop.dispatch(e + 1);
    });
    loop.dispatch(0);
    expect(handled).toHaveLength(1001);
    expect(handled[1000]).toBe(1000);
  });

  test('a handler that throws: the error reaches the dispatcher, the events queued behind it are dropped, and the loop handles the next dispatch', () => {
    const handled: string[] = [];
    const loop: EventLoop<string> = new EventLoop<string>((e) => {
      handled.push(e);
      if (e === 'boom') {
        loop.dispatch('queued behind boom');
        throw new Error('handler failed');
      }
    });
    expect(() => loop.dispatch('boom')).toThrow('handler failed');
    expect(handled).toEqual(['boom']);
    // Not wedged: the next event is handled, and nothing left over from before runs with it.
    loop.dispatch('after');
    loop.dispatch('again');
    expect(handled).toEqual(['boom', 'after', 'again']);
  });

  test('a throw in a nested dispatch surfaces from the outermost dispatch, not inside the handler that dispatched', () => {
    const handled: string[] = [];
    let nestedReturned = false;
    const loop: EventLoop<string> = new EventLoop<string>((e) => {
      handled.push(e);
      if (e === 'outer') {
        loop.dispatch('bad'); // queued; does not run (or throw) here
        nestedReturned = true;
      }
      if (e === 'bad') throw new Error('bad event');
    });
    expect(() => loop.dispatch('outer')).toThrow('bad event');
    expect(nestedReturned).toBe(true);
    expect(handled).toEqual(['outer', 'bad']);
  });
});
