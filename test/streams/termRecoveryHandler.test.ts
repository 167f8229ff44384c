/** The runtime's part of recovering a lost hard state (streams/repair.ts): report a stall, clear the damage record once recovered. */
import { HardStateRecoveryStalledError, RaftError, StorageFailedError } from '../../src/errors';
import { startTermRecovery } from '../../src/core/termRecovery';
import { needsMarkerRepair, termRecoveryHandler } from '../../src/streams/repair';
import { makeState } from '../core/helpers';

const settle = () => new Promise((resolve) => setImmediate(resolve));

function setup(clear: () => Promise<void>) {
  const reported: Error[] = [];
  const stopped: RaftError[] = [];
  let clears = 0;
  const handle = termRecoveryHandler('n1', { clearDamage: () => (clears++, clear()) }, (e) => reported.push(e), (e) => stopped.push(e));
  return { handle, reported, stopped, clears: () => clears };
}

test('a stalled recovery is reported on errors$ with the members it waits for', () => {
  const t = setup(() => Promise.resolve());
  t.handle({ type: 'termRecoveryStalled', missing: ['n3'] });
  expect(t.reported).toHaveLength(1);
  expect(t.reported[0]).toBeInstanceOf(HardStateRecoveryStalledError);
  expect((t.reported[0] as HardStateRecoveryStalledError).missing).toEqual(['n3']);
  expect(t.clears()).toBe(0);
});

test('a finished recovery clears the damage record, unless a tail repair follows', async () => {
  const t = setup(() => Promise.resolve());
  t.handle({ type: 'termsRecovered', term: 7, clearDamage: false });
  expect(t.clears()).toBe(0);
  t.handle({ type: 'termsRecovered', term: 7, clearDamage: true });
  await settle();
  expect(t.clears()).toBe(1);
  expect(t.stopped).toEqual([]);
});

test('a failure to clear the damage record stops the node', async () => {
  const t = setup(() => Promise.reject(new Error('EIO')));
  t.handle({ type: 'termsRecovered', term: 7, clearDamage: true });
  await settle();
  expect(t.stopped).toHaveLength(1);
  expect(t.stopped[0]).toBeInstanceOf(StorageFailedError);
});

test('the marker repair runs for a damaged tail, alone or behind a lost hard state, not for a lost hard state alone', () => {
  const tail = makeState({ log: [1] });
  tail.repair = { reason: 'log cut from index 2' };
  expect(needsMarkerRepair(tail)).toBe(true);
  const both = makeState({ log: [1] });
  startTermRecovery(both, { reason: 'log cut from index 2' });
  expect(needsMarkerRepair(both)).toBe(true);
  const hardStateOnly = makeState({ log: [1] });
  startTermRecovery(hardStateOnly, null);
  expect(needsMarkerRepair(hardStateOnly)).toBe(false);
  expect(needsMarkerRepair(makeState({ log: [1] }))).toBe(false);
});
