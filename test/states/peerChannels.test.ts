/**
 * PeerChannels: the leader's per-follower routing. Each value reaches only the pipeline
 * listening for its peer; a value for a peer nobody listens to is dropped and reported so;
 * a channel goes away with its last subscriber, and a new subscriber starts clean.
 */
import { PeerChannels } from '../../src/states/peerChannels';
import { listenTo } from '../../src/operators/listenTo';

describe('PeerChannels', () => {
  test('routes each value to the subscribers of its peer only, in order', () => {
    const channels = new PeerChannels<number>();
    const n2: number[] = [];
    const n3: number[] = [];
    channels.of('n2').subscribe((v) => n2.push(v));
    channels.of('n3').subscribe((v) => n3.push(v));
    expect([channels.next('n2', 1), channels.next('n3', 2), channels.next('n2', 3)]).toEqual([true, true, true]);
    expect(n2).toEqual([1, 3]);
    expect(n3).toEqual([2]);
  });

  test('drops a value for a peer nobody listens to, and one sent after the last subscriber left', () => {
    const channels = new PeerChannels<number>();
    const seen: number[] = [];
    expect(channels.next('n2', 1)).toBe(false);
    const subscription = channels.of('n2').subscribe((v) => seen.push(v));
    expect(channels.next('n2', 2)).toBe(true);
    subscription.unsubscribe();
    expect(channels.next('n2', 3)).toBe(false);
    channels.of('n2').subscribe((v) => seen.push(v)); // a new pipeline for n2 hears only what comes next
    channels.next('n2', 4);
    expect(seen).toEqual([2, 4]);
  });

  test('a channel stays while any subscriber of its peer remains', () => {
    const channels = new PeerChannels<number>();
    const first: number[] = [];
    const second: number[] = [];
    const a = channels.of('n2').subscribe((v) => first.push(v));
    channels.of('n2').subscribe((v) => second.push(v));
    a.unsubscribe();
    expect(channels.next('n2', 1)).toBe(true);
    expect(first).toEqual([]);
    expect(second).toEqual([1]);
  });

  test('complete ends every subscriber', () => {
    const channels = new PeerChannels<number>();
    let completed = 0;
    channels.of('n2').subscribe({ complete: () => completed++ });
    channels.of('n3').subscribe({ complete: () => completed++ });
    channels.complete();
    expect(completed).toBe(2);
    expect(channels.next('n2', 1)).toBe(false);
  });

  test('a listener (listenTo) is routed like a subscriber, and its channel goes with it', () => {
    const channels = new PeerChannels<number>();
    const seen: string[] = [];
    const listening = listenTo(channels.of('n2'), { next: (v) => seen.push(`next ${v}`), error: () => seen.push('error'), complete: () => seen.push('complete') });
    expect(channels.next('n2', 1)).toBe(true);
    expect(channels.next('n3', 2)).toBe(false);
    listening?.unsubscribe();
    expect(channels.next('n2', 3)).toBe(false);
    listenTo(channels.of('n2'), { next: (v) => seen.push(`next ${v}`), error: () => seen.push('error'), complete: () => seen.push('complete') });
    channels.complete();
    expect(seen).toEqual(['next 1', 'complete']);
  });
});
