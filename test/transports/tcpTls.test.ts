import * as net from 'node:net';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import type { Envelope } from '../../src/messages/types';
import { AuthenticationError } from '../../src/transports/tcpErrors';
import type { TcpTransport } from '../../src/transports/tcpTransport';
import { hasOpenssl, makePki, Pki } from './certificates';
import { TcpNetwork, until } from './tcpHarness';

const describeWithOpenssl = hasOpenssl() ? describe : describe.skip;

/** `t`'s next authentication error, of any connection or only of the one to `address` (`t` dialing it; c redials b meanwhile, each refusal an error at b too). */
function nextAuthError(t: TcpTransport, address?: string): Promise<AuthenticationError> {
  return firstValueFrom(
    t.errors$.pipe(
      filter((e): e is AuthenticationError => e instanceof AuthenticationError && (address === undefined || e.address === address)),
      take(1),
      timeout(5000),
    ),
  );
}

describeWithOpenssl('tcpTransport with mutual TLS', () => {
  let cluster: Pki;
  let foreign: Pki;
  let network: TcpNetwork;

  beforeAll(() => {
    cluster = makePki('cluster-ca', ['a', 'b', 'mallory']);
    foreign = makePki('other-ca', ['c']);
  });

  afterEach(async () => {
    await network.dispose();
  });

  /** Every node trusts the cluster CA; `certs` says whose certificate each node presents. */
  function tlsNetwork(certs: Record<string, { cert: string; key: string }>, secret?: string): TcpNetwork {
    return new TcpNetwork((id) => ({ secret, tls: { ca: cluster.ca, ...certs[id] } }));
  }

  it('connects nodes whose certificates the cluster CA signed', async () => {
    network = tlsNetwork({ a: cluster.nodes.a, b: cluster.nodes.b });
    const a = await network.open('a');
    const b = await network.open('b');
    const atB = firstValueFrom(b.inbound$.pipe(timeout(5000)));
    a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(await atB).toMatchObject({ from: 'a', to: 'b' });
    const atA = firstValueFrom(a.inbound$.pipe(timeout(5000)));
    b.send('a', { type: 'RequestVoteResponse', term: 2, voteGranted: true });
    expect(await atA).toMatchObject({ from: 'b', to: 'a' });
  });

  it('also works with TLS and a shared secret together', async () => {
    network = tlsNetwork({ a: cluster.nodes.a, b: cluster.nodes.b }, 'and a secret');
    const a = await network.open('a');
    const b = await network.open('b');
    const atB = firstValueFrom(b.inbound$.pipe(timeout(5000)));
    a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(await atB).toMatchObject({ from: 'a' });
  });

  it('rejects a certificate from another CA', async () => {
    network = tlsNetwork({ a: cluster.nodes.a, b: cluster.nodes.b, c: foreign.nodes.c });
    const b = await network.open('b');
    const delivered: Envelope[] = [];
    b.inbound$.subscribe((e) => delivered.push(e));
    const c = await network.open('c');
    const rejected = nextAuthError(b);
    c.errors$.subscribe(() => undefined);
    c.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect(await rejected).toBeInstanceOf(AuthenticationError);
    // b dialing c: c's certificate does not chain to b's CA.
    const dialed = nextAuthError(b, `127.0.0.1:${network.ports.get('c')}`);
    b.send('c', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect((await dialed).peerId).toBe('c');
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toEqual([]);
  });

  it('rejects a valid certificate that names another node than the one claimed', async () => {
    // "c" presents mallory's certificate, signed by the cluster CA.
    network = tlsNetwork({ a: cluster.nodes.a, b: cluster.nodes.b, c: cluster.nodes.mallory });
    const b = await network.open('b');
    const delivered: Envelope[] = [];
    b.inbound$.subscribe((e) => delivered.push(e));
    const c = await network.open('c');
    c.errors$.subscribe(() => undefined);
    const rejected = nextAuthError(b);
    c.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    const error = await rejected;
    expect(error.message).toMatch(/certificate names \["mallory","mallory"\]/);
    expect(error.peerId).toBe('c');
    const dialed = nextAuthError(b, `127.0.0.1:${network.ports.get('c')}`);
    b.send('c', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
    expect((await dialed).message).toMatch(/mallory/);
    expect(delivered).toEqual([]);
  });

  it('connections idle before the TLS handshake count against the handshake budget; a peer still connects', async () => {
    network = new TcpNetwork((id) => ({ tls: { ca: cluster.ca, ...cluster.nodes[id] }, maxPendingHandshakesPerSource: 3 }));
    const a = await network.open('a');
    const b = await network.open('b');
    // Five idle sockets from a stranger's address: they never start TLS.
    const idle = Array.from({ length: 5 }, () => {
      const socket = net.connect({ port: network.ports.get('b')!, host: '127.0.0.1', localAddress: '127.0.0.9' });
      socket.on('error', () => undefined);
      return socket;
    });
    try {
      const closed = idle.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      await until(() => b.stats().handshakes.evicted >= 2);
      expect(b.stats().handshakes.pending).toBeLessThanOrEqual(3);
      await Promise.all(closed.slice(0, 2)); // the two oldest were evicted
      const atB = firstValueFrom(b.inbound$.pipe(timeout(5000)));
      a.send('b', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
      expect(await atB).toMatchObject({ from: 'a', to: 'b' });
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });
});
