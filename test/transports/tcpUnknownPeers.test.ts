/**
 * A member added while a node was away connects to it before the node has learned the
 * new configuration: with `acceptUnknownPeers`, the authenticated stranger is heard and
 * answered over its own connection.
 */
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import type { RaftMessage } from '../../src/messages/types';
import { HandshakeError } from '../../src/transports/tcpErrors';
import { TcpTransport, tcpTransport } from '../../src/transports/tcpTransport';

const SECRET = 'unknown-peers-secret';
const hello: RaftMessage = { type: 'TimeoutNow', term: 3 };
const answer: RaftMessage = { type: 'RequestVoteResponse', term: 3, voteGranted: false };

describe('tcpTransport acceptUnknownPeers', () => {
  const open: TcpTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  async function pair(acceptUnknownPeers: boolean): Promise<{ old: TcpTransport; added: TcpTransport }> {
    const old = tcpTransport({ id: 'old', listen: { host: '127.0.0.1', port: 0 }, peers: {}, clusterId: 'c', secret: SECRET, acceptUnknownPeers });
    open.push(old);
    const { port } = await old.listening();
    const added = tcpTransport({ id: 'added', listen: { host: '127.0.0.1', port: 0 }, peers: { old: `127.0.0.1:${port}` }, clusterId: 'c', secret: SECRET });
    open.push(added);
    await added.listening();
    return { old, added };
  }

  test('an authenticated node the configuration does not name yet is heard, and answered over its connection', async () => {
    const { old, added } = await pair(true);
    const heard = firstValueFrom(old.inbound$.pipe(take(1), timeout(5000)));
    added.send('old', hello);
    expect(await heard).toEqual({ from: 'added', to: 'old', message: hello });
    const answered = firstValueFrom(added.inbound$.pipe(take(1), timeout(5000)));
    old.send('added', answer);
    expect(await answered).toEqual({ from: 'old', to: 'added', message: answer });
  });

  test('by default such a connection is refused', async () => {
    const { old, added } = await pair(false);
    const refused = firstValueFrom(old.errors$.pipe(filter((e) => e instanceof HandshakeError), take(1), timeout(5000)));
    added.send('old', hello);
    expect((await refused).message).toMatch(/not a configured peer/);
  });
});
