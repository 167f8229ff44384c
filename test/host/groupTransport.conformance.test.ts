import { asyncScheduler, firstValueFrom, timeout } from 'rxjs';
import { GroupRouter } from '../../src/host/groupRouter';
import type { NodeId } from '../../src/messages/types';
import type { HostTransport } from '../../src/transports/hostTransport';
import { MemoryHub } from '../../src/transports/memoryHub';
import { tcpHostTransport, TcpHostTransport } from '../../src/transports/tcpHostTransport';
import type { Transport } from '../../src/transports/transport';
import { describeTransportConformance, TransportHarness } from '../transports/conformance';

/**
 * The `Transport` contract, run against what a group's node is given on a host: one
 * group's view (`GroupTransport`) of a shared host transport, beside a second group
 * whose views stay attached. Closing a view detaches the group; the host transport stays
 * up, and opening the id again attaches a new view to it.
 */
class GroupViews implements TransportHarness {
  private readonly shared = new Map<NodeId, { transport: HostTransport; router: GroupRouter }>();

  constructor(private readonly openHost: (id: NodeId, known: ReadonlyMap<NodeId, HostTransport>) => Promise<HostTransport>) {}

  async open(id: NodeId): Promise<Transport> {
    let host = this.shared.get(id);
    if (!host) {
      const transport = await this.openHost(id, new Map([...this.shared].map(([k, v]) => [k, v.transport])));
      host = { transport, router: new GroupRouter(transport, () => undefined) };
      host.router.attach('neighbour'); // another group on the same host, never addressed here
      this.shared.set(id, host);
    }
    return host.router.attach('conformance');
  }

  async dispose(): Promise<void> {
    for (const { transport, router } of this.shared.values()) {
      router.stop();
      await transport.close();
    }
  }
}

/** Closing a group's view leaves its host connected: the peer host drops what comes for the group. */
const VIEWS = { peerCloseIsLoss: false };

describeTransportConformance('a group on a MemoryHub host', () => {
  const hub = new MemoryHub({ scheduler: asyncScheduler });
  return new GroupViews(async (id) => hub.connectHost(id));
}, VIEWS);

describeTransportConformance('a group on a TCP host', () =>
  new GroupViews(async (id, known) => {
    const transport = tcpHostTransport({
      id, listen: { host: '127.0.0.1', port: 0 }, peers: {}, clusterId: 'conformance', secret: 'group views', reconnectDelay: { min: 20, max: 200 },
    });
    const { port } = await transport.listening();
    for (const [other, t] of known) {
      (t as TcpHostTransport).setPeer(id, `127.0.0.1:${port}`);
      transport.setPeer(other, `127.0.0.1:${(await (t as TcpHostTransport).listening()).port}`);
    }
    return transport;
  }),
  VIEWS,
);

test("a group's view names on lost$ a peer host whose transport went away: the loss concerns every group", async () => {
  const hub = new MemoryHub({ scheduler: asyncScheduler });
  const h1 = hub.connectHost('h1');
  const h2 = hub.connectHost('h2');
  const routers = [new GroupRouter(h1, () => undefined), new GroupRouter(h2, () => undefined)];
  const [orders, users] = [routers[0].attach('orders'), routers[0].attach('users')];
  const arrived = firstValueFrom(routers[1].attach('orders').inbound$.pipe(timeout(5000)));
  orders.send('h2', { type: 'TimeoutNow', term: 1 });
  await arrived;
  const lost = Promise.all([orders, users].map((view) => firstValueFrom(view.lost$!.pipe(timeout(5000)))));
  await h2.close();
  orders.send('h2', { type: 'TimeoutNow', term: 2 });
  expect(await lost).toEqual(['h2', 'h2']);
  for (const router of routers) router.stop();
  await h1.close();
});
