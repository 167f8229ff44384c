import * as fs from 'fs';
import * as path from 'path';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import type { RaftNode } from '../../src/api';
import { InvalidMessageError } from '../../src/errors';
import { createRaftHost, RaftHost } from '../../src/host/raftHost';
import type { CommittedEntry } from '../../src/messages/entry';
import type { NodeId } from '../../src/messages/types';
import type { GroupEnvelope } from '../../src/transports/hostTransport';
import { HandshakeError } from '../../src/transports/tcpErrors';
import { tcpHostTransport, TcpHostTransport } from '../../src/transports/tcpHostTransport';
import { tcpTransport } from '../../src/transports/tcpTransport';
import { TempDirs } from '../storage/tempDirs';

const CLUSTER = 'host-test';
const SECRET = 'a host secret for tests';
const HOSTS = ['h1', 'h2', 'h3'];
const GROUPS = Array.from({ length: 10 }, (_, i) => `g${i + 1}`);
const dirs = new TempDirs('rxraft-host-');

/** Host transports on 127.0.0.1 (ephemeral ports), each knowing the others' addresses. */
async function openTransports(ids: readonly NodeId[]): Promise<Map<NodeId, TcpHostTransport>> {
  const transports = new Map<NodeId, TcpHostTransport>();
  for (const id of ids) {
    transports.set(id, tcpHostTransport({
      id, listen: { host: '127.0.0.1', port: 0 }, peers: {}, clusterId: CLUSTER, secret: SECRET, reconnectDelay: { min: 20, max: 200 }, connectOnStart: false,
    }));
  }
  for (const [id, t] of transports) {
    const { port } = await t.listening();
    for (const [other, o] of transports) if (other !== id) o.setPeer(id, `127.0.0.1:${port}`);
  }
  return transports;
}

/** Polls (real time, bounded) until `done()` holds. */
async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  for (let waited = 0; !done(); waited += 20) {
    if (waited >= ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(() => dirs.removeAll());

describe('hosts of Raft groups over TCP on 127.0.0.1, with files', () => {
  const hosts = new Map<NodeId, RaftHost>();
  const transports = new Map<NodeId, TcpHostTransport>();
  const dataDirs = new Map<NodeId, string>();
  const committed = new Map<string, string[]>();

  afterEach(async () => {
    await Promise.all([...hosts.values()].map((h) => h.stop()));
    await Promise.all([...transports.values()].map((t) => t.close()));
    hosts.clear();
    transports.clear();
  });

  async function leaderOf(group: string): Promise<RaftNode> {
    const nodes = HOSTS.map((h) => hosts.get(h)!.group(group)!);
    const leader = await Promise.race(nodes.map((n) => firstValueFrom(n.leader$.pipe(filter((l) => l?.self === true), timeout(15_000))).then(() => n)));
    return leader;
  }

  it('3 hosts × 10 groups commit in every group over one connection per host pair and lane; removeGroup deletes the group directory', async () => {
    for (const [id, t] of await openTransports(HOSTS)) transports.set(id, t);
    const inbound = new Map(HOSTS.map((h) => [h, 0]));
    for (const [id, t] of transports) t.inbound$.subscribe(() => inbound.set(id, inbound.get(id)! + 1));
    // Host liveness pings and answers travel in frames too (alone when no group message is due).
    for (const [id, t] of transports) t.alive$?.subscribe(() => inbound.set(id, inbound.get(id)! + 1));
    for (const id of HOSTS) {
      const dataDir = dirs.make();
      dataDirs.set(id, dataDir);
      // Not quiescing: the frame counts below are about the messages of active groups.
      hosts.set(id, createRaftHost({ id, transport: transports.get(id)!, dataDir, groupDefaults: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30, quiesce: false } }));
    }
    for (const g of GROUPS) {
      for (const h of HOSTS) {
        const node = await hosts.get(h)!.createGroup(g, { peers: HOSTS });
        committed.set(`${h}/${g}`, []);
        node.committed$.subscribe((e: CommittedEntry) => e.data.length > 0 && committed.get(`${h}/${g}`)!.push(Buffer.from(e.data).toString()));
      }
    }
    const leaders = await Promise.all(GROUPS.map(leaderOf));
    await Promise.all(leaders.map((leader, i) => Promise.all([1, 2, 3].map((k) => leader.propose(Buffer.from(`${GROUPS[i]}-${k}`))))));
    await until(() => GROUPS.every((g) => HOSTS.every((h) => committed.get(`${h}/${g}`)!.length === 3)), 'every proposal applied on every host');
    for (const g of GROUPS) for (const h of HOSTS) expect(committed.get(`${h}/${g}`)).toEqual([`${g}-1`, `${g}-2`, `${g}-3`]);

    let framesReceived = 0;
    for (const h of HOSTS) {
      const stats = transports.get(h)!.stats();
      expect(Object.keys(stats.peers).sort()).toEqual(HOSTS.filter((o) => o !== h));
      for (const peer of Object.values(stats.peers)) {
        expect(peer.connected).toBe(true);
        // Ten groups, yet per lane at most one connection each way (the one a host dials, and the peer's if both dialed at once).
        for (const lane of Object.values(peer.lanes)) {
          expect(lane.connects).toBeGreaterThanOrEqual(1);
          expect(lane.connects).toBeLessThanOrEqual(2);
        }
      }
      framesReceived += Object.values(stats.peers).reduce((n, p) => n + p.framesReceived, 0);
    }
    // Frames carry the messages of several groups: fewer frames than messages arrived (see the next test for one turn).
    const messagesReceived = [...inbound.values()].reduce((a, b) => a + b, 0);
    expect(messagesReceived).toBeGreaterThan(framesReceived);

    const dirOf = (h: NodeId, g: string) => path.join(dataDirs.get(h)!, 'groups', g);
    expect(HOSTS.every((h) => fs.existsSync(dirOf(h, 'g3')))).toBe(true);
    await Promise.all(HOSTS.map((h) => hosts.get(h)!.removeGroup('g3')));
    for (const h of HOSTS) {
      expect(fs.existsSync(dirOf(h, 'g3'))).toBe(false);
      expect(fs.existsSync(path.join(dataDirs.get(h)!, 'removing', 'g3'))).toBe(false);
      expect(fs.existsSync(dirOf(h, 'g4'))).toBe(true);
      expect(hosts.get(h)!.groups()).not.toContain('g3');
    }
    const g4 = await leaderOf('g4');
    await g4.propose(Buffer.from('g4-after-removal'));
    await until(() => HOSTS.every((h) => committed.get(`${h}/g4`)!.includes('g4-after-removal')), 'g4 commits after g3 was removed');
  }, 30_000);

  it('groups that do not quiesce heartbeat on one clock per host: their heartbeats and answers share frames', async () => {
    for (const [id, t] of await openTransports(HOSTS)) transports.set(id, t);
    let messages = 0;
    for (const t of transports.values()) t.inbound$.subscribe(() => messages++);
    for (const id of HOSTS) hosts.set(id, createRaftHost({ id, transport: transports.get(id)!, dataDir: dirs.make(), groupDefaults: { heartbeatInterval: 30, quiesce: false } }));
    for (const g of GROUPS) for (const h of HOSTS) await hosts.get(h)!.createGroup(g, { peers: HOSTS });
    await Promise.all(GROUPS.map(leaderOf));
    const frames = () => [...transports.values()].reduce((n, t) => n + Object.values(t.stats().peers).reduce((m, p) => m + p.framesReceived, 0), 0);
    const [messagesBefore, framesBefore] = [messages, frames()];
    await new Promise((r) => setTimeout(r, 1000)); // idle: heartbeats and their answers only
    const [idleMessages, idleFrames] = [messages - messagesBefore, frames() - framesBefore];
    // 10 groups, 2 followers each: about 40 messages per heartbeat. One clock per host puts
    // a host's heartbeats in one frame per peer host and the answers in one frame back, so
    // at most 12 frames per tick; with a timer per group, nearly one frame per message.
    expect(idleMessages).toBeGreaterThan(100);
    expect(idleMessages / idleFrames).toBeGreaterThan(2.5);
  }, 30_000);

  it('idle groups quiesce over TCP: group traffic stops while host liveness pings flow; a proposal wakes its group; a stopped host\'s groups elect elsewhere', async () => {
    for (const [id, t] of await openTransports(HOSTS)) transports.set(id, t);
    let groupMessages = 0;
    let pings = 0;
    for (const t of transports.values()) {
      t.inbound$.subscribe(() => groupMessages++);
      t.alive$.subscribe(() => pings++);
    }
    for (const id of HOSTS) hosts.set(id, createRaftHost({ id, transport: transports.get(id)!, dataDir: dirs.make(), groupDefaults: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 } }));
    for (const g of GROUPS) for (const h of HOSTS) await hosts.get(h)!.createGroup(g, { peers: HOSTS });
    const leaders = await Promise.all(GROUPS.map(leaderOf));
    // Quiet: a 300 ms window without a single group message (bounded wait).
    for (let waited = 0, seen = -1; groupMessages !== seen; waited += 300) {
      if (waited >= 15_000) throw new Error('the groups never went quiet within 15 s');
      seen = groupMessages;
      await new Promise((r) => setTimeout(r, 300));
    }
    const [messagesBefore, pingsBefore] = [groupMessages, pings];
    await new Promise((r) => setTimeout(r, 1000));
    // Without quiescence: 10 groups x 2 followers x (heartbeat + answer) every 30 ms, about 1,300 a second.
    // Quiet, none; a spurious wake-up of every group (a stalled event loop here) costs about 80.
    expect(groupMessages - messagesBefore).toBeLessThan(250);
    expect(pings - pingsBefore).toBeGreaterThan(50); // 6 pings and 6 answers per 30 ms when nothing stalls
    await leaders[2].propose(Buffer.from('wake up'));
    // Stop a host that leads some groups: the others notice its silence and elect elsewhere.
    const victim = HOSTS.find((h) => hosts.get(h)!.group(GROUPS[0]) === leaders[0])!;
    const led = GROUPS.filter((g, i) => leaders[i] === hosts.get(victim)!.group(g));
    await hosts.get(victim)!.stop();
    hosts.delete(victim);
    const rest = HOSTS.filter((h) => h !== victim);
    await until(() => led.every((g) => rest.some((h) => hosts.get(h)!.group(g)!.followers() !== null)), `a new leader on ${rest.join(' or ')} for ${led.join(',')}`);
    for (const g of led) {
      const leader = rest.map((h) => hosts.get(h)!.group(g)!).find((n) => n.followers() !== null)!;
      await leader.propose(Buffer.from(`after ${victim}`));
    }
  }, 40_000);

  it('a host restarted on its data directory resumes its groups from their files', async () => {
    const ids = ['h1', 'h2', 'h3'];
    const groups = ['r1', 'r2', 'r3'];
    for (const [id, t] of await openTransports(ids)) transports.set(id, t);
    const applied = new Map<string, string[]>();
    const start = async (id: NodeId, dataDir: string) => {
      const host = createRaftHost({ id, transport: transports.get(id)!, dataDir, groupDefaults: { electionTimeout: { min: 150, max: 300 }, heartbeatInterval: 30 } });
      hosts.set(id, host);
      for (const g of groups) {
        const seen: string[] = [];
        applied.set(`${id}/${g}`, seen);
        (await host.createGroup(g, { peers: ids })).committed$.subscribe((e) => e.data.length > 0 && seen.push(Buffer.from(e.data).toString()));
      }
    };
    const h3Dir = dirs.make();
    for (const id of ids) await start(id, id === 'h3' ? h3Dir : dirs.make());
    for (const g of groups) await (await leaderOf(g)).propose(Buffer.from(`${g}-before`));
    await until(() => groups.every((g) => applied.get(`h3/${g}`)!.length === 1), 'h3 applied every group');

    const { port } = await transports.get('h3')!.listening();
    await hosts.get('h3')!.stop();
    const peers = Object.fromEntries(await Promise.all(['h1', 'h2'].map(async (id) => [id, `127.0.0.1:${(await transports.get(id)!.listening()).port}`])));
    transports.set('h3', tcpHostTransport({ id: 'h3', listen: { host: '127.0.0.1', port }, peers, clusterId: CLUSTER, secret: SECRET, reconnectDelay: { min: 20, max: 200 } }));
    await transports.get('h3')!.listening();
    await start('h3', h3Dir);
    for (const g of groups) await (await leaderOf(g)).propose(Buffer.from(`${g}-after`));
    await until(() => groups.every((g) => applied.get(`h3/${g}`)!.length === 2), 'h3 replayed and applied every group');
    for (const g of groups) expect(applied.get(`h3/${g}`)).toEqual([`${g}-before`, `${g}-after`]);
  }, 30_000);

  it('the messages of one turn for one peer host, of any groups, travel in one frame', async () => {
    for (const [id, t] of await openTransports(['h1', 'h2'])) transports.set(id, t);
    const [h1, h2] = [transports.get('h1')!, transports.get('h2')!];
    const received = firstValueFrom(h2.inbound$.pipe(take(GROUPS.length), toArray(), timeout(10_000)));
    for (const g of GROUPS) h1.send('h2', g, { type: 'TermQuery', term: 7 }); // one synchronous turn
    const envelopes: GroupEnvelope[] = await received;
    expect(envelopes.map((e) => [e.group, e.from, e.to, e.message])).toEqual(GROUPS.map((g) => [g, 'h1', 'h2', { type: 'TermQuery', term: 7 }]));
    expect(h2.stats().peers.h1.framesReceived).toBe(1);
    expect(h1.stats().peers.h2.framesSent).toBe(1);
    // A group id the wire cannot carry is refused at the sender, with the reason.
    expect(() => h1.send('h2', 'g'.repeat(300), { type: 'TermQuery', term: 7 })).toThrow(InvalidMessageError);
    expect(() => h1.send('h2', 'grüppe', { type: 'TermQuery', term: 7 })).toThrow(/group id must be 1 to 64 characters/);
  });

  it('groups led by one host that propose in the same turn send their AppendEntries and commit notices to a peer host in shared frames', async () => {
    for (const [id, t] of await openTransports(HOSTS)) transports.set(id, t);
    // Slow heartbeats and no quiescence: the frames counted below are the proposals' own.
    const groupDefaults = { electionTimeout: { min: 1000, max: 2000 }, heartbeatInterval: 400, quiesce: false };
    for (const id of HOSTS) hosts.set(id, createRaftHost({ id, transport: transports.get(id)!, dataDir: dirs.make(), groupDefaults }));
    for (const g of GROUPS) for (const h of HOSTS) await hosts.get(h)!.createGroup(g, { peers: HOSTS });
    const leaders = await Promise.all(GROUPS.map(leaderOf));
    await Promise.all(leaders.filter((l) => l.id !== 'h1').map((l) => l.transferLeadership('h1')));
    const h1 = hosts.get('h1')!;
    await until(() => GROUPS.every((g) => h1.group(g)!.followers() !== null), 'h1 leads every group');
    /** One proposal in every group, made in one turn on h1; resolves once h2 has applied all of them (it heard the commit notices). */
    const round = async (name: string) => {
      const applied = GROUPS.map((g) => firstValueFrom(hosts.get('h2')!.group(g)!.committed$.pipe(filter((e) => Buffer.from(e.data).toString() === `${g}-${name}`), timeout(15_000))));
      await Promise.all(GROUPS.map((g) => h1.group(g)!.propose(Buffer.from(`${g}-${name}`))));
      await Promise.all(applied);
    };
    await round('warm-up'); // the new leaders' pipelines settle
    const h2 = transports.get('h2')!;
    const framesFromH1 = () => h2.stats().peers.h1.framesReceived;
    /** The frame (its number on h2's link from h1) each AppendEntries carrying entries arrived in. */
    const entriesFrames: number[] = [];
    const watch = h2.inbound$.subscribe((e) => e.message.type === 'AppendEntries' && e.message.entries.length > 0 && entriesFrames.push(framesFromH1()));
    const before = framesFromH1();
    await round('x');
    watch.unsubscribe();
    // With a turn per group, each group's AppendEntries left in a frame of its own; the
    // groups' turns ending together, all ten share one.
    expect(entriesFrames).toHaveLength(GROUPS.length);
    expect(new Set(entriesFrames).size).toBe(1);
    // Ten AppendEntries and ten commit notices reached h2: 20 frames with a turn per group.
    // Shared, the notices of groups that committed in the same turn share frames too
    // (groups that heard their quorum in different turns send theirs apart).
    expect(framesFromH1() - before).toBeLessThanOrEqual(12);
  }, 40_000);

  it('a host and a single node refuse each other at the handshake', async () => {
    for (const [id, t] of await openTransports(['h1'])) transports.set(id, t);
    const { port } = await transports.get('h1')!.listening();
    const node = tcpTransport({ id: 'h2', listen: { host: '127.0.0.1', port: 0 }, peers: { h1: `127.0.0.1:${port}` }, clusterId: CLUSTER, secret: SECRET, connectOnStart: false });
    try {
      const refused = firstValueFrom(transports.get('h1')!.errors$.pipe(filter((e) => e instanceof HandshakeError), timeout(10_000)));
      node.send('h1', { type: 'TermQuery', term: 1 });
      expect((await refused).message).toMatch(/protocol rxraft, expected rxraft-host/);
    } finally {
      await node.close();
    }
  });
});
