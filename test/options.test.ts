/**
 * The options of `createRaftNode`, resolved once (`resolveOptions`): the documented
 * defaults, and one test per rule, each checking the error class, the option it names
 * and the values in its message.
 */
import { asyncScheduler, firstValueFrom, interval, queueScheduler, take, timeout, VirtualTimeScheduler } from 'rxjs';
import { createRaftNode, InvalidOptionsError, MemoryHub, MemoryStorage, RaftNodeOptions } from '../src';
import { defaultRandom, defaultScheduler, defaultTurnScheduler } from '../src/defaults';
import { protocolOptions, resolveOptions } from '../src/options';

const scheduler = new VirtualTimeScheduler();
const hub = new MemoryHub({ scheduler });
const base: RaftNodeOptions = { id: 'n1', peers: ['n1', 'n2', 'n3'], transport: hub.connect('n1'), storage: new MemoryStorage() };

/** Resolves `base` with `extra` over it, and returns the error thrown (the test fails if none). */
function rejected(extra: Record<string, unknown>): InvalidOptionsError {
  try {
    resolveOptions({ ...base, ...extra } as RaftNodeOptions);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOptionsError);
    return e as InvalidOptionsError;
  }
  throw new Error(`accepted ${JSON.stringify(extra)}`);
}

describe('resolveOptions: the defaults the README documents', () => {
  test('every optional option resolves to its documented default', () => {
    const r = resolveOptions(base);
    expect(r).toMatchObject({
      id: 'n1',
      peers: ['n1', 'n2', 'n3'],
      join: false,
      addresses: {},
      electionTimeout: { min: 150, max: 300 },
      heartbeatInterval: 50,
      preVote: true,
      checkQuorum: true,
      forward: true,
      eagerCommitNotices: true,
      leaseDriftMargin: 30, // electionTimeout.min / 5
      requestTimeout: 600, // 2 × electionTimeout.max
      stopTimeout: 5000,
      maxPromotionLag: 64,
      quiesce: false,
      quiesceAfterTicks: 2, // a whole heartbeat interval without client work
      snapshot: { everyEntries: 10_000, everyBytes: 64 * 2 ** 20, minLogPercent: 100, keepEntries: 1_000, catchUpEntries: 100_000, keepBytes: 32 * 2 ** 20, chunkBytes: 2 ** 20 },
      sessions: { maxClients: 10_000, idleEntries: 1_000_000, window: 64 },
      maxCommandBytes: 2 ** 20,
      maxUncommittedBytes: 64 * 2 ** 20,
      maxEntriesPerMessage: 512,
      maxBytesPerMessage: 2 ** 20,
      maxInflight: 16,
      maxInflightBytes: 8 * 2 ** 20,
      stateMachine: undefined,
    });
    expect(r.scheduler).toBe(defaultScheduler);
    expect(r.turnScheduler).toBe(defaultTurnScheduler);
    expect(r.random).toBe(defaultRandom);
    expect(r.transport).toBe(base.transport);
    expect(r.storage).toBe(base.storage);
  });

  test('the derived defaults follow the election timeout given', () => {
    const r = resolveOptions({ ...base, electionTimeout: { min: 500, max: 900 } });
    expect(r.leaseDriftMargin).toBe(100);
    expect(r.requestTimeout).toBe(1800);
  });

  test('partial policies are completed from the defaults; explicit undefined means the default', () => {
    const r = resolveOptions({ ...base, snapshot: { everyEntries: 5 }, stateMachine: { snapshot: () => [], restore: () => undefined }, sessions: { window: 8 }, heartbeatInterval: undefined });
    expect(r.snapshot).toEqual({ everyEntries: 5, everyBytes: 64 * 2 ** 20, minLogPercent: 100, keepEntries: 1_000, catchUpEntries: 100_000, keepBytes: 32 * 2 ** 20, chunkBytes: 2 ** 20 });
    expect(r.sessions).toEqual({ maxClients: 10_000, idleEntries: 1_000_000, window: 8 });
    expect(r.heartbeatInterval).toBe(50);
  });

  test("the caller's object is not changed, and the result cannot be", () => {
    const given = { ...base, peers: ['n3', 'n1', 'n2'], electionTimeout: { min: 100, max: 200 }, sessions: { window: 4 } };
    const before = JSON.stringify({ ...given, transport: null, storage: null });
    const r = resolveOptions(given);
    expect(JSON.stringify({ ...given, transport: null, storage: null })).toBe(before);
    expect(r.peers).toEqual(['n1', 'n2', 'n3']);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.electionTimeout)).toBe(true);
    expect(Object.isFrozen(r.sessions)).toBe(true);
  });

  test('a joining node starts with no voters, whatever peers lists', () => {
    expect(resolveOptions({ ...base, id: 'n4', join: true }).peers).toEqual([]);
  });

  test('the limits that may be 0 accept it', () => {
    const r = resolveOptions({ ...base, maxPromotionLag: 0, leaseDriftMargin: 0, stateMachine: { snapshot: () => [], restore: () => undefined }, snapshot: { keepEntries: 0, catchUpEntries: 0 } });
    expect([r.maxPromotionLag, r.leaseDriftMargin, r.snapshot.keepEntries, r.snapshot.catchUpEntries]).toEqual([0, 0, 0, 0]);
  });

  test('heartbeatInterval may be exactly half of electionTimeout.min, and a fraction of a millisecond', () => {
    expect(resolveOptions({ ...base, electionTimeout: { min: 25, max: 50 }, heartbeatInterval: 12.5 }).heartbeatInterval).toBe(12.5);
  });
});

describe('resolveOptions: the rules', () => {
  test('options must be an object', () => {
    expect(() => resolveOptions(undefined as unknown as RaftNodeOptions)).toThrow(InvalidOptionsError);
    expect(() => resolveOptions(undefined as unknown as RaftNodeOptions)).toThrow(/options object, got undefined/);
  });

  test('unknown option names are refused (a typo would otherwise be ignored)', () => {
    const e = rejected({ heartbeat: 30 });
    expect(e.option).toBe('heartbeat');
    expect(e.message).toMatch(/unknown option "heartbeat"/);
  });

  test('id is a non-empty string', () => {
    const e = rejected({ id: '' });
    expect(e.option).toBe('id');
    expect(e.message).toMatch(/id must be a non-empty string .* got ""/);
    expect(rejected({ id: 7 }).message).toMatch(/got 7/);
  });

  test('id is at most 256 characters, as on the wire', () => {
    const long = 'n'.repeat(257);
    expect(rejected({ id: long, peers: [long] }).message).toMatch(/at most 256 characters/);
  });

  test('peers is an array of non-empty strings', () => {
    expect(rejected({ peers: 'n1,n2' }).message).toMatch(/peers must be an array of node ids, got "n1,n2"/);
    const e = rejected({ peers: ['n1', '', 'n3'] });
    expect(e.option).toBe('peers[1]');
    expect(e.message).toMatch(/peers\[1\] must be a non-empty string .* got ""/);
  });

  test('peers lists each id once', () => {
    const e = rejected({ peers: ['n1', 'n2', 'n2'] });
    expect(e.option).toBe('peers');
    expect(e.message).toMatch(/"n2" more than once \(peers: \["n1","n2","n2"\]\)/);
  });

  test("peers includes the node's own id, unless it joins", () => {
    const e = rejected({ id: 'n4' });
    expect(e.option).toBe('peers / id');
    expect(e.message).toMatch(/peers \(\["n1","n2","n3"\]\) must include this node's id "n4".*join: true/);
    expect(resolveOptions({ ...base, id: 'n4', join: true }).id).toBe('n4');
  });

  test('electionTimeout is { min, max } of positive numbers', () => {
    expect(rejected({ electionTimeout: 150 }).message).toMatch(/electionTimeout must be \{ min, max \}, got 150/);
    const e = rejected({ electionTimeout: { min: 0, max: 100 } });
    expect(e.option).toBe('electionTimeout.min');
    expect(e.message).toMatch(/electionTimeout.min must be greater than 0, got 0/);
    expect(rejected({ electionTimeout: { min: 100 } }).message).toMatch(/electionTimeout.max must be a finite number, got undefined/);
    expect(rejected({ electionTimeout: { min: 100, max: Infinity } }).option).toBe('electionTimeout.max');
  });

  test('electionTimeout.min <= electionTimeout.max', () => {
    const e = rejected({ electionTimeout: { min: 300, max: 100 } });
    expect(e.option).toBe('electionTimeout');
    expect(e.message).toMatch(/electionTimeout.min \(300\) must not exceed electionTimeout.max \(100\)/);
    expect(resolveOptions({ ...base, electionTimeout: { min: 100, max: 100 } }).electionTimeout).toEqual({ min: 100, max: 100 });
  });

  test('heartbeatInterval > 0', () => {
    const e = rejected({ heartbeatInterval: 0 });
    expect(e.option).toBe('heartbeatInterval');
    expect(e.message).toMatch(/heartbeatInterval must be greater than 0, got 0/);
    expect(rejected({ heartbeatInterval: NaN }).message).toMatch(/finite number, got NaN/);
  });

  test('heartbeatInterval <= electionTimeout.min / 2: half the shortest timeout is left for a round trip', () => {
    const e = rejected({ heartbeatInterval: 500 });
    expect(e.option).toBe('heartbeatInterval / electionTimeout.min');
    expect(e.message).toMatch(/heartbeatInterval \(500\) must be at most electionTimeout.min \/ 2 \(75\)/);
    expect(rejected({ heartbeatInterval: 51, electionTimeout: { min: 100, max: 200 } }).message).toMatch(/\(51\).*\(50\)/);
  });

  test('leaseDriftMargin is in [0, electionTimeout.min)', () => {
    const e = rejected({ leaseDriftMargin: 150 });
    expect(e.option).toBe('leaseDriftMargin / electionTimeout.min');
    expect(e.message).toMatch(/leaseDriftMargin \(150\) must be at least 0 and less than electionTimeout.min \(150\)/);
    expect(rejected({ leaseDriftMargin: -1 }).message).toMatch(/leaseDriftMargin \(-1\)/);
  });

  test('requestTimeout > 0', () => {
    const e = rejected({ requestTimeout: -5 });
    expect(e.option).toBe('requestTimeout');
    expect(e.message).toMatch(/requestTimeout must be greater than 0, got -5/);
  });

  test('stopTimeout > 0', () => {
    const e = rejected({ stopTimeout: 0 });
    expect(e.option).toBe('stopTimeout');
    expect(e.message).toMatch(/stopTimeout must be greater than 0, got 0/);
    expect(rejected({ stopTimeout: Infinity }).message).toMatch(/stopTimeout must be a finite number, got Infinity/);
  });

  test.each(['maxCommandBytes', 'maxUncommittedBytes', 'maxEntriesPerMessage', 'maxBytesPerMessage', 'maxInflight', 'maxInflightBytes'])('%s is an integer of at least 1', (name) => {
    const e = rejected({ [name]: 0 });
    expect(e.option).toBe(name);
    expect(e.message).toMatch(new RegExp(`${name} must be an integer of at least 1, got 0`));
    expect(rejected({ [name]: 2.5 }).message).toMatch(/got 2.5/);
  });

  test('maxInflightBytes is at least maxBytesPerMessage (one full AppendEntries fits the window)', () => {
    const e = rejected({ maxBytesPerMessage: 2 ** 20, maxInflightBytes: 2 ** 19 });
    expect(e.option).toBe('maxInflightBytes / maxBytesPerMessage');
    expect(e.message).toMatch(/maxInflightBytes \(524288\) must be at least maxBytesPerMessage \(1048576\)/);
    expect(resolveOptions({ ...base, maxBytesPerMessage: 16 * 2 ** 20 }).maxInflightBytes).toBe(16 * 2 ** 20); // the default grows with it
  });

  test('maxPromotionLag is an integer of at least 0', () => {
    const e = rejected({ maxPromotionLag: -1 });
    expect(e.option).toBe('maxPromotionLag');
    expect(e.message).toMatch(/maxPromotionLag must be an integer of at least 0, got -1/);
  });

  test('quiesceAfterTicks is an integer of at least 0, handed to the rules', () => {
    expect(rejected({ quiesceAfterTicks: 1.5 }).message).toMatch(/quiesceAfterTicks must be an integer of at least 0, got 1.5/);
    expect(rejected({ quiesceAfterTicks: -1 }).option).toBe('quiesceAfterTicks');
    expect(protocolOptions(resolveOptions({ ...base, quiesce: true, quiesceAfterTicks: 0 })).quiesceAfterTicks).toBe(0);
  });

  test.each(['preVote', 'checkQuorum', 'forward', 'eagerCommitNotices', 'join'])('%s is true or false', (name) => {
    const e = rejected({ [name]: 'yes' });
    expect(e.option).toBe(name);
    expect(e.message).toMatch(new RegExp(`${name} must be true or false, got "yes"`));
  });

  test('transport is a Transport', () => {
    const e = rejected({ transport: {} });
    expect(e.option).toBe('transport');
    expect(e.message).toMatch(/transport must be a Transport \(inbound\$, errors\$, send\(\), close\(\)\), got \{\}/);
    expect(rejected({ transport: undefined }).message).toMatch(/got undefined/);
  });

  test('storage is a Storage', () => {
    const e = rejected({ storage: { load: () => undefined } });
    expect(e.option).toBe('storage');
    expect(e.message).toMatch(/storage must be a Storage \(load\(\), saveHardState\(\), .*close\(\)\)/);
  });

  test('scheduler and turnScheduler are SchedulerLike', () => {
    expect(rejected({ scheduler: { now: () => 0 } }).option).toBe('scheduler');
    const e = rejected({ turnScheduler: 'immediate' });
    expect(e.option).toBe('turnScheduler');
    expect(e.message).toMatch(/turnScheduler must be a SchedulerLike \(now\(\) and schedule\(\)\), got "immediate"/);
    expect(resolveOptions({ ...base, scheduler: queueScheduler }).scheduler).toBe(queueScheduler);
  });

  test('heartbeatTicks is an Observable, passed through; absent by default (the node times its own heartbeats)', () => {
    const e = rejected({ heartbeatTicks: 50 });
    expect(e.option).toBe('heartbeatTicks');
    expect(e.message).toMatch(/heartbeatTicks must be an Observable, got 50/);
    const ticks = interval(50);
    expect(resolveOptions({ ...base, heartbeatTicks: ticks }).heartbeatTicks).toBe(ticks);
    expect(resolveOptions(base).heartbeatTicks).toBeUndefined();
  });

  test('random is a function', () => {
    const e = rejected({ random: 4 });
    expect(e.option).toBe('random');
    expect(e.message).toMatch(/random must be a function, got 4/);
  });

  test('addresses maps ids to non-empty strings', () => {
    expect(rejected({ addresses: ['127.0.0.1:7001'] }).option).toBe('addresses');
    const e = rejected({ addresses: { n2: '' } });
    expect(e.option).toBe('addresses["n2"]');
    expect(e.message).toMatch(/the address of "n2" must be a non-empty string, got ""/);
  });

  test('sessions has known fields, each an integer of at least 1', () => {
    const e = rejected({ sessions: { window: 0 } });
    expect(e.option).toBe('sessions.window');
    expect(e.message).toMatch(/sessions.window must be an integer of at least 1, got 0/);
    const typo = rejected({ sessions: { maxClient: 5 } });
    expect(typo.message).toMatch(/unknown sessions field "maxClient" \(known: maxClients, idleEntries, window\)/);
  });

  const stateMachine = { snapshot: () => [], restore: () => undefined };

  test('snapshot has known fields: everyEntries, everyBytes and chunkBytes at least 1, keepEntries, catchUpEntries and keepBytes at least 0', () => {
    const e = rejected({ stateMachine, snapshot: { chunkBytes: 0 } });
    expect(e.option).toBe('snapshot.chunkBytes');
    expect(e.message).toMatch(/snapshot.chunkBytes must be an integer of at least 1, got 0/);
    expect(rejected({ stateMachine, snapshot: { keepEntries: -1 } }).message).toMatch(/snapshot.keepEntries must be an integer of at least 0, got -1/);
    expect(rejected({ stateMachine, snapshot: { keepBytes: 1.5 } }).message).toMatch(/snapshot.keepBytes must be an integer of at least 0, got 1.5/);
    expect(rejected({ stateMachine, snapshot: { everyEntry: 10 } }).message).toMatch(/unknown snapshot field "everyEntry"/);
  });

  test('a snapshot policy needs a stateMachine (without one no snapshot is ever taken)', () => {
    const e = rejected({ snapshot: { everyEntries: 100 } });
    expect(e.option).toBe('snapshot / stateMachine');
    expect(e.message).toMatch(/a snapshot policy \(\{"everyEntries":100\}\) without stateMachine.snapshot/);
    // apply alone takes no snapshot either
    expect(rejected({ snapshot: { everyEntries: 100 }, stateMachine: { apply: () => undefined } }).option).toBe('snapshot / stateMachine');
  });

  test('stateMachine has snapshot() with restore(), apply(), or both; each a function', () => {
    const e = rejected({ stateMachine: { snapshot: () => [] } });
    expect(e.option).toBe('stateMachine');
    expect(e.message).toMatch(/stateMachine.snapshot and stateMachine.restore go together/);
    expect(rejected({ stateMachine: {} }).message).toMatch(/stateMachine must have apply\(\) and\/or snapshot\(\) and restore\(\)/);
    const notFunction = rejected({ stateMachine: { apply: 'yes' } as never });
    expect(notFunction.option).toBe('stateMachine.apply');
    expect(notFunction.message).toMatch(/stateMachine.apply must be a function, got "yes"/);
    expect(resolveOptions({ ...base, stateMachine: { apply: () => undefined } }).stateMachine?.apply).toBeInstanceOf(Function);
  });

  test('maxApplyingBytes and maxApplyingEntries default to 16 MiB and 8192, and must be counts of at least 1', () => {
    const r = resolveOptions(base);
    expect(r.maxApplyingBytes).toBe(16 << 20);
    expect(r.maxApplyingEntries).toBe(8192);
    expect(rejected({ maxApplyingBytes: 0 }).message).toMatch(/maxApplyingBytes must be an integer of at least 1, got 0/);
    expect(rejected({ maxApplyingEntries: 1.5 }).option).toBe('maxApplyingEntries');
  });

  test('log.cacheBytes defaults to 4 MiB and must be an integer of at least 0; unknown log fields are refused', () => {
    expect(resolveOptions(base).log).toEqual({ cacheBytes: 4 << 20 });
    expect(protocolOptions(resolveOptions({ ...base, log: { cacheBytes: 0 } })).logCacheBytes).toBe(0);
    const negative = rejected({ log: { cacheBytes: -1 } });
    expect(negative.option).toBe('log.cacheBytes');
    expect(negative.message).toMatch(/log.cacheBytes must be an integer of at least 0, got -1/);
    expect(rejected({ log: { cacheBytes: 1.5 } }).option).toBe('log.cacheBytes');
    expect(rejected({ log: { cache: 10 } }).message).toMatch(/unknown log field "cache" \(known: cacheBytes\)/);
    expect(rejected({ log: 'small' }).option).toBe('log');
  });

  test('storage must have readEntries (entries no longer in memory are read back from it)', () => {
    const storage = new MemoryStorage();
    const withoutReads = { ...Object.fromEntries(['load', 'saveHardState', 'append', 'createSnapshot', 'readSnapshot', 'close'].map((m) => [m, () => undefined])) };
    expect(rejected({ storage: withoutReads }).message).toMatch(/storage must be a Storage \(.*readEntries\(\)/);
    expect(resolveOptions({ ...base, storage }).storage).toBe(storage);
  });
});

describe('createRaftNode', () => {
  test('throws InvalidOptionsError at once, before touching storage or transport', () => {
    const storage = new MemoryStorage();
    const load = jest.spyOn(storage, 'load');
    expect(() => createRaftNode({ ...base, storage, heartbeatInterval: 500 })).toThrow(InvalidOptionsError);
    expect(() => createRaftNode({ ...base, storage, electionTimeout: { min: 300, max: 100 } })).toThrow(/electionTimeout.min \(300\) must not exceed/);
    expect(load).not.toHaveBeenCalled();
  });
});

describe('MemoryHub options', () => {
  test('new MemoryHub() runs on the production scheduler: a message is delivered', async () => {
    const free = new MemoryHub();
    const a = free.connect('a');
    const b = free.connect('b');
    const got = firstValueFrom(b.inbound$.pipe(take(1), timeout({ first: 5_000, scheduler: asyncScheduler })));
    a.send('b', { type: 'TimeoutNow', term: 1 });
    await expect(got).resolves.toMatchObject({ from: 'a', message: { type: 'TimeoutNow', term: 1 } });
    await Promise.all([a.close(), b.close()]);
  });

  test('fault rates are checked: probabilities in [0, 1], 0 <= delay.min <= delay.max', () => {
    expect(() => new MemoryHub({ scheduler, faults: { drop: 1.5 } })).toThrow(InvalidOptionsError);
    expect(() => new MemoryHub({ scheduler, faults: { drop: 1.5 } })).toThrow(/faults.drop is a probability in \[0, 1\], got 1.5/);
    expect(() => hub.setFaults({ delay: { min: 5, max: 1 } })).toThrow(/faults.delay must be \{ min, max \} with 0 <= min <= max, got \{"min":5,"max":1\}/);
    expect(() => new MemoryHub({ scheduler: {} as never })).toThrow(/scheduler must be a SchedulerLike/);
  });
});
