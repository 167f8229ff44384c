import { asyncScheduler } from 'rxjs';
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

describeTransportConformance('a group on a MemoryHub host', () => {
  const hub = new MemoryHub({ scheduler: asyncScheduler });
  return new GroupViews(async (id) => hub.connectHost(id));
});

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
);
