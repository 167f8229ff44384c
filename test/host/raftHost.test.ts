import { NodeStoppedError } from '../../src/errors';
import { GroupExistsError, HostStoppedError, UnknownGroupError } from '../../src/host/hostErrors';
import { createRaftHost } from '../../src/host/raftHost';
import { InvalidOptionsError } from '../../src/errors';
import { Hosts } from './hostHarness';

const H3 = ['h1', 'h2', 'h3'];
const groupIds = (n: number) => Array.from({ length: n }, (_, i) => `g${i + 1}`);

describe('a host of Raft groups on the in-memory network (virtual time)', () => {
  let hosts: Hosts;
  afterEach(() => hosts.stopAll());

  it('3 hosts × 20 groups: every group elects a leader and commits', async () => {
    hosts = new Hosts(H3, 11);
    const groups = groupIds(20);
    for (const g of groups) await hosts.create(g, H3);
    await hosts.waitFor(() => groups.every((g) => hosts.leaderOf(g, H3) !== null), 'a leader in every group');
    for (const g of groups) await hosts.commit(g, H3, `hello ${g}`);
    for (const g of groups) for (const h of H3) expect(hosts.committedOn(h, g)).toEqual([`hello ${g}`]);
    // Groups are independent: their leaders spread over the hosts (fixed seed).
    const leaders = new Set(groups.map((g) => hosts.leaderOf(g, H3)));
    expect(leaders.size).toBeGreaterThan(1);
    expect(hosts.errors).toEqual([]);
  });

  it('a group lives on a subset of the hosts; the others never hear of it', async () => {
    hosts = new Hosts(['h1', 'h2', 'h3', 'h4'], 12);
    await hosts.create('all', ['h1', 'h2', 'h3', 'h4']);
    await hosts.create('sub', ['h2', 'h3', 'h4']);
    await hosts.commit('sub', ['h2', 'h3', 'h4'], 'only three');
    await hosts.commit('all', ['h1', 'h2', 'h3', 'h4'], 'everyone');
    expect(hosts.host('h1').groups()).toEqual(['all']);
    expect(hosts.committedOn('h4', 'sub')).toEqual(['only three']);
    expect(hosts.errors).toEqual([]); // h1 got no message of 'sub'
  });

  it('creates and removes groups at run time', async () => {
    hosts = new Hosts(H3, 13);
    await hosts.create('first', H3);
    await hosts.commit('first', H3, 'a');
    await hosts.create('late', H3);
    await hosts.commit('late', H3, 'b');
    const late = hosts.node('h2', 'late');
    await expect(hosts.host('h2').createGroup('late', { peers: H3 })).rejects.toBeInstanceOf(GroupExistsError);

    await Promise.all(H3.map((h) => hosts.host(h).removeGroup('late')));
    for (const h of H3) expect(hosts.host(h).groups()).toEqual(['first']);
    await expect(late.propose(Buffer.from('c'))).rejects.toBeInstanceOf(NodeStoppedError);
    await hosts.commit('first', H3, 'still running');
    // Created again from scratch (the factory here hands back the same in-memory storage, so it resumes).
    await hosts.create('late', H3);
    await hosts.commit('late', H3, 'again');
    expect(hosts.committedOn('h1', 'late')).toContain('again');

    // Stopping a group's node stops the group on that host only; creating it again resumes it from its storage.
    await hosts.node('h3', 'first').stop();
    expect(hosts.host('h3').groups()).toEqual(['late']);
    await hosts.commit('first', ['h1', 'h2'], 'without h3');
    await hosts.create('first', ['h3'], { peers: H3 });
    await hosts.commit('first', H3, 'h3 is back');
    expect(hosts.committedOn('h3', 'first')).toEqual(['a', 'still running', 'without h3', 'h3 is back']);
  });

  it('drops and reports a message for a group the host does not run, and keeps serving the others', async () => {
    hosts = new Hosts(H3, 14);
    await hosts.create('g1', H3);
    await hosts.commit('g1', H3, 'x');
    hosts.hub.inject('h2', 'h1', { type: 'TermQuery', term: 99 }, 'nobody-runs-this');
    await hosts.clock.advance(10);
    expect(hosts.errors.map((e) => [e.host, e.error.constructor, (e.error as UnknownGroupError).groupId, (e.error as UnknownGroupError).from])).toEqual([
      ['h1', UnknownGroupError, 'nobody-runs-this', 'h2'],
    ]);
    // Later messages of the same unknown group are dropped without a report each; another group is reported.
    for (let i = 0; i < 5; i++) hosts.hub.inject('h3', 'h1', { type: 'TermQuery', term: 99 }, 'nobody-runs-this');
    hosts.hub.inject('h3', 'h1', { type: 'TermQuery', term: 99 }, 'nor-this');
    await hosts.clock.advance(10);
    expect(hosts.errors.map((e) => (e.error as UnknownGroupError).groupId)).toEqual(['nobody-runs-this', 'nor-this']);
    await hosts.commit('g1', H3, 'y');
    expect(hosts.node('h1', 'g1').id).toBe('h1');
    expect(() => hosts.hub.connectHost('h9').send('h1', '../g1', { type: 'TermQuery', term: 1 })).toThrow(/group id must be/);
  });

  it('a host that stops takes all its groups; every group it led elects a leader on another host and commits', async () => {
    hosts = new Hosts(H3, 15);
    const groups = groupIds(12);
    for (const g of groups) await hosts.create(g, H3);
    await hosts.waitFor(() => groups.every((g) => hosts.leaderOf(g, H3) !== null), 'a leader in every group');
    const ledByH1 = groups.filter((g) => hosts.leaderOf(g, H3) === 'h1');
    expect(ledByH1.length).toBeGreaterThan(0);

    await hosts.host('h1').stop();
    expect(hosts.host('h1').groups()).toEqual([]);
    const rest = ['h2', 'h3'];
    await hosts.waitFor(() => groups.every((g) => ['h2', 'h3'].includes(hosts.leaderOf(g, rest) ?? '')), 'a leader on h2 or h3 in every group');
    for (const g of ledByH1) await hosts.commit(g, rest, `after h1 in ${g}`);
    await expect(hosts.host('h1').createGroup('g99', { peers: H3 })).rejects.toBeInstanceOf(HostStoppedError);
  });

  it('refuses a bad group id and bad options with a clear error', async () => {
    hosts = new Hosts(H3, 16);
    const h1 = hosts.host('h1');
    for (const bad of ['', '..', 'a/b', 'x'.repeat(65), 'é']) {
      await expect(h1.createGroup(bad, { peers: H3 })).rejects.toThrow(/group id must be 1 to 64 characters/);
    }
    await expect(h1.removeGroup('../../etc')).rejects.toBeInstanceOf(InvalidOptionsError);
    expect(() => createRaftHost({ id: 'h9', transport: hosts.hub.connectHost('h9') })).toThrow(/exactly one of dataDir and storage/);
    await expect(h1.createGroup('g', { peers: [] })).rejects.toBeInstanceOf(InvalidOptionsError);
    expect(h1.groups()).toEqual([]);
  });
});
