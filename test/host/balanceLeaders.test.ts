import type { Subscription } from 'rxjs';
import { InvalidOptionsError } from '../../src/errors';
import { balanceLeaders, LeaderBalanceEvent } from '../../src/host/balanceLeaders';
import { planLeaderTransfers } from '../../src/host/leaderBalancePlan';
import { Hosts } from './hostHarness';

const H3 = ['h1', 'h2', 'h3'];
const GROUPS = Array.from({ length: 30 }, (_, i) => `g${i + 1}`);

describe('planLeaderTransfers: the fair share from one host\'s view', () => {
  const led = (leader: string | null, voters = H3) => (group: string) => ({ group, leader, voters });
  const many = (n: number, leader: string | null, voters = H3) => Array.from({ length: n }, (_, i) => led(leader, voters)(`${leader}-${i}`));

  it('a host over ceil(led / hosts) hands its surplus to the least loaded voters, up to the limit', () => {
    const groups = [...many(7, 'h1'), ...many(2, 'h2'), ...many(0, 'h3')];
    const plan = planLeaderTransfers('h1', groups, { pending: [], skip: new Set(), limit: 10 });
    // fair share ceil(9 / 3) = 3: h1 sheds 4 — 3 to h3 (from 0), 1 to h2 (from 2).
    expect(plan.map((t) => t.to).sort()).toEqual(['h2', 'h3', 'h3', 'h3']);
    expect(planLeaderTransfers('h1', groups, { pending: [], skip: new Set(), limit: 2 })).toHaveLength(2);
  });

  it('counts pending transfers as done, skips groups it is told to, and never moves a group at the fair share', () => {
    const groups = many(4, 'h1', ['h1', 'h2']);
    const pending = [{ group: 'h1-0', to: 'h2' }];
    expect(planLeaderTransfers('h1', groups, { pending, skip: new Set(['h1-0', 'h1-1']), limit: 5 })).toEqual([{ group: 'h1-2', to: 'h2' }]);
    expect(planLeaderTransfers('h1', [...many(2, 'h1', ['h1', 'h2']), ...many(2, 'h2', ['h1', 'h2'])], { pending: [], skip: new Set(), limit: 5 })).toEqual([]);
    // A host another host leads more than: not this host's business.
    expect(planLeaderTransfers('h2', many(6, 'h1'), { pending: [], skip: new Set(), limit: 5 })).toEqual([]);
  });

  it('only a voter of the group can take it over', () => {
    const groups = many(4, 'h1', ['h1', 'h2']); // h3 is a host (of another group) but no voter of these
    const plan = planLeaderTransfers('h1', [...groups, led(null, ['h3', 'h2'])('other')], { pending: [], skip: new Set(), limit: 5 });
    expect(plan.every((t) => t.to === 'h2')).toBe(true);
    expect(plan).toHaveLength(2); // fair ceil(4 / 3) = 2: h1 keeps 2, h2 takes 2
  });

  it('hands a group only to a reachable voter, while a host that is down still counts in the fair share', () => {
    const groups = many(6, 'h1').map((g) => ({ ...g, reachable: ['h2'] })); // h3 is down: the leader has not heard from it
    const plan = planLeaderTransfers('h1', groups, { pending: [], skip: new Set(), limit: 10 });
    expect(plan.map((t) => t.to)).toEqual(['h2', 'h2']); // fair ceil(6 / 3) = 2: h2 takes 2, h1 keeps 4
  });

  it('does not push a voter past the fair share, even when this host is over it', () => {
    const h1h2 = ['h1', 'h2'];
    const groups = [...many(4, 'h1', h1h2), ...many(3, 'h2', h1h2), led(null, ['h3'])('solo')];
    // fair ceil(7 / 3) = 3: h1 leads 4, but h2, its groups' only other voter, already leads 3.
    expect(planLeaderTransfers('h1', groups, { pending: [], skip: new Set(), limit: 5 })).toEqual([]);
  });
});

describe('balanceLeaders: 3 hosts × 30 groups on the in-memory network (virtual time)', () => {
  let hosts: Hosts;
  const running: Subscription[] = [];
  afterEach(async () => {
    for (const s of running.splice(0)) s.unsubscribe();
    await hosts.stopAll();
  });

  const ledBy = (h: string, on = H3) => GROUPS.filter((g) => hosts.leaderOf(g, on) === h).length;
  const spread = () => H3.map((h) => ledBy(h));

  /** Every group elects, then its leader hands it to h1: h1 leads all 30. */
  async function allLedByH1(): Promise<void> {
    await hosts.waitFor(() => GROUPS.every((g) => hosts.leaderOf(g, H3) !== null), 'a leader in every group');
    for (const g of GROUPS) {
      const leader = hosts.leaderOf(g, H3) as string;
      if (leader !== 'h1') void hosts.node(leader, g).transferLeadership('h1');
    }
    await hosts.waitFor(() => ledBy('h1') === 30, 'h1 leads every group');
  }

  function balanceOn(h: string, events: LeaderBalanceEvent[]): void {
    running.push(balanceLeaders(hosts.host(h), { scheduler: hosts.scheduler, interval: 200, maxInFlight: 3, coolDown: 300 }).subscribe((e) => events.push(e)));
  }

  it('converges from 30/0/0 to 10/10/10 (±1) within bounded virtual time, with every host balancing', async () => {
    hosts = new Hosts(H3, 31);
    for (const g of GROUPS) await hosts.create(g, H3);
    await allLedByH1();
    expect(spread()).toEqual([30, 0, 0]);

    const events: LeaderBalanceEvent[] = [];
    for (const h of H3) balanceOn(h, events);
    const started = hosts.clock.now();
    await hosts.waitFor(() => spread().every((n) => Math.abs(n - 10) <= 1), 'leaders spread 10/10/10 (±1)');
    expect(hosts.clock.now() - started).toBeLessThan(20_000); // waitFor's own bound: 20 virtual seconds
    // It stays balanced: no more transfers once fair, no group traded back and forth.
    const settled = events.length;
    await hosts.clock.advance(5_000);
    expect(spread().every((n) => Math.abs(n - 10) <= 1)).toBe(true);
    expect(events.length).toBe(settled);
    expect(events.filter((e) => e.kind === 'failed')).toEqual([]);
    expect(new Set(events.map((e) => e.group)).size).toBe(events.length); // each group moved at most once
    expect(events.length).toBeGreaterThanOrEqual(19);
    // Every group still commits through its (new) leader.
    for (const g of GROUPS) await hosts.commit(g, H3, `after balance ${g}`);
  });

  it('keeps at most maxInFlight transfers under way', async () => {
    hosts = new Hosts(H3, 32);
    for (const g of GROUPS) await hosts.create(g, H3);
    await allLedByH1();
    const events: LeaderBalanceEvent[] = [];
    balanceOn('h1', events);
    // The first look happens at once; transfers take a few round trips, then 300 ms of cool-down: in 250 ms at most 3 moved.
    await hosts.clock.advance(250);
    expect(ledBy('h1')).toBeGreaterThanOrEqual(27);
    expect(events.length).toBeLessThanOrEqual(3);
    await hosts.waitFor(() => ledBy('h1') <= 10, 'h1 sheds its surplus');
    expect(ledBy('h2') + ledBy('h3')).toBe(20);
  });

  it('stopping the operator stops transfers', async () => {
    hosts = new Hosts(H3, 33);
    for (const g of GROUPS) await hosts.create(g, H3);
    await allLedByH1();
    const events: LeaderBalanceEvent[] = [];
    balanceOn('h1', events);
    await hosts.waitFor(() => events.length >= 1, 'a first transfer');
    for (const s of running.splice(0)) s.unsubscribe();
    await hosts.clock.advance(500); // transfers already under way settle
    const after = spread();
    const seen = events.length;
    await hosts.clock.advance(10_000);
    expect(spread()).toEqual(after);
    expect(after[0]).toBeGreaterThan(10); // it stopped well before balance
    expect(events.length).toBe(seen); // nothing emitted after unsubscribing
  });

  it('never hands a group to a host that has been silent for longer than contactWithin', async () => {
    hosts = new Hosts(H3, 35);
    for (const g of GROUPS) await hosts.create(g, H3);
    await allLedByH1();
    await hosts.host('h3').stop(); // h3 leads nothing: without contact checks, the best target of every transfer
    await hosts.clock.advance(1_100); // past contactWithin (1000 ms by default)
    const events: LeaderBalanceEvent[] = [];
    balanceOn('h1', events);
    const up = ['h1', 'h2'];
    await hosts.waitFor(() => ledBy('h2', up) === 10, 'h2 takes its share');
    await hosts.clock.advance(5_000);
    expect([ledBy('h1', up), ledBy('h2', up)]).toEqual([20, 10]);
    expect(events.filter((e) => e.kind === 'failed' || e.to === 'h3')).toEqual([]);
  });

  it('a balanced host asks no group for its followers at each look; groups created later are balanced too', async () => {
    hosts = new Hosts(H3, 36);
    for (const g of GROUPS) await hosts.create(g, H3);
    await allLedByH1();
    const events: LeaderBalanceEvent[] = [];
    for (const h of H3) balanceOn(h, events);
    await hosts.waitFor(() => spread().every((n) => Math.abs(n - 10) <= 1), 'leaders spread 10/10/10 (±1)');
    const asked = H3.flatMap((h) => GROUPS.map((g) => jest.spyOn(hosts.node(h, g), 'followers')));
    await hosts.clock.advance(5_000); // 25 looks per host
    expect(asked.reduce((n, spy) => n + spy.mock.calls.length, 0)).toBe(0);

    const later = ['g31', 'g32', 'g33', 'g34', 'g35', 'g36'];
    for (const g of later) await hosts.create(g, H3);
    await hosts.waitFor(() => later.every((g) => hosts.leaderOf(g, H3) !== null), 'a leader in every new group');
    // Each new group to h1, which then leads more than its share (the balancers may move a group back meanwhile).
    const handovers = later.map((g) => hosts.leaderOf(g, H3) as string).flatMap((leader, i) => (leader === 'h1' ? [] : [hosts.node(leader, later[i]).transferLeadership('h1')]));
    let settled = 0;
    for (const h of handovers) h.then(() => settled++, () => settled++);
    await hosts.waitFor(() => settled === handovers.length, 'the hand-overs to h1 settled');
    const all = [...GROUPS, ...later];
    const ledNow = (h: string) => all.filter((g) => hosts.leaderOf(g, H3) === h).length;
    await hosts.waitFor(() => H3.every((h) => Math.abs(ledNow(h) - 12) <= 1), 'leaders spread 12/12/12 (±1) over 36 groups');
    expect(events.filter((e) => e.kind === 'failed')).toEqual([]);
  });

  it('refuses bad options with InvalidOptionsError', () => {
    hosts = new Hosts(H3, 34);
    const h1 = hosts.host('h1');
    expect(() => balanceLeaders(h1, { maxInFlight: 0 })).toThrow(InvalidOptionsError);
    expect(() => balanceLeaders(h1, { interval: -1 })).toThrow(/interval must be a positive number/);
    expect(() => balanceLeaders(h1, { coolDown: Number.NaN })).toThrow(/coolDown/);
    expect(() => balanceLeaders(h1, { contactWithin: 0 })).toThrow(/contactWithin/);
  });
});
