import { filter, Observable } from 'rxjs';
import { checkGroupId, GroupId } from '../messages/groupId';
import { HostAlive, HostAliveEnvelope, validateHostAlive } from '../messages/liveness';
import type { NodeId, RaftMessage } from '../messages/types';
import type { GroupEnvelope, HostTransport } from './hostTransport';
import { HOST_WIRE } from './tcpGroupedCodec';
import type { PeerAddress } from './tcpPeerLink';
import type { TcpTransportOptions } from './tcpOptions';
import type { TcpTransportStats } from './tcpStats';
import { TcpTransport } from './tcpTransport';
import type { TcpWire } from './tcpWire';

/**
 * Options of `tcpHostTransport`: those of `tcpTransport`, where `id` is this host's id
 * and `peers` the other hosts' addresses (group members are host ids).
 *
 * @example
 * tcpHostTransport({ id: 'h1', listen: { host: '0.0.0.0', port: 7001 }, peers: { h2: '10.0.0.2:7001' }, clusterId: 'shards', secret });
 */
export type TcpHostTransportOptions = TcpTransportOptions;

/**
 * The shared transport of a host of Raft groups (`createRaftHost`) over TCP (optionally
 * TLS): two authenticated connections per pair of hosts, one per lane (bulk: entries,
 * snapshot chunks, forwarded commands; control: the rest, host liveness included), carry
 * the messages of every group. Everything `tcpTransport` guarantees holds (handshake,
 * budgets, bounded outboxes, validation, reconnection, per lane); in addition, every
 * message carries its group id, and the messages of one turn for one peer host and lane,
 * of any groups, travel in one frame
 * (`tcpGroupedCodec.ts`). A host speaks the `rxraft-host` protocol: it does not connect
 * to a single node (`tcpTransport`), and says so at the handshake.
 *
 * @example
 * const transport = tcpHostTransport({
 *   id: 'h1',
 *   listen: { host: '0.0.0.0', port: 7001 },
 *   peers: { h2: '10.0.0.2:7001', h3: '10.0.0.3:7001' },
 *   clusterId: 'shards',
 *   secret: process.env.RAFT_SECRET,
 * });
 * const host = createRaftHost({ id: 'h1', transport, dataDir: '/var/lib/shards' });
 */
export function tcpHostTransport(options: TcpHostTransportOptions): TcpHostTransport {
  return new TcpHostTransport(options);
}

/**
 * The transport made by `tcpHostTransport`: a `HostTransport` with the bound address,
 * peer hosts changed at run time and counters besides.
 *
 * @example
 * const { port } = await transport.listening(); // with listen port 0, the port picked
 * transport.setPeer('h4', '10.0.0.4:7001');       // a host added at run time
 * transport.stats().peers.h2.dropped;             // messages to h2 discarded so far
 */
export class TcpHostTransport implements HostTransport {
  private readonly tcp: TcpTransport;
  readonly inbound$: Observable<GroupEnvelope>;
  readonly alive$: Observable<HostAliveEnvelope>;
  readonly errors$: Observable<Error>;
  /** Peer hosts whose connection closed with messages written to it, or a message to whom was dropped (see `Transport.lost$`). */
  readonly lost$: Observable<NodeId>;

  constructor(options: TcpHostTransportOptions) {
    this.tcp = new TcpTransport(options, HOST_WIRE as TcpWire<unknown>);
    // The host wire's decoder makes GroupEnvelopes and, for items without a group, HostAliveEnvelopes.
    const decoded$ = this.tcp.inbound$ as Observable<GroupEnvelope | HostAliveEnvelope>;
    this.inbound$ = decoded$.pipe(filter((e): e is GroupEnvelope => 'group' in e));
    this.alive$ = decoded$.pipe(filter((e): e is HostAliveEnvelope => !('group' in e)));
    this.errors$ = this.tcp.errors$;
    this.lost$ = this.tcp.lost$;
  }

  /** Throws `InvalidMessageError` for a group id that `groupIdProblem` refuses (the wire could not carry it). */
  send(to: NodeId, group: GroupId, message: RaftMessage): void {
    checkGroupId(group);
    this.tcp.sendItem(to, { group, message });
  }

  /** Sends a host liveness message (one item without a group, in the turn's frame). Throws `InvalidMessageError` for a malformed one. */
  sendAlive(to: NodeId, message: HostAlive): void {
    this.tcp.sendItem(to, { alive: validateHostAlive(message) });
  }

  /** Resolves with the bound address once the server listens (rejects if it cannot). */
  listening(): Promise<PeerAddress> {
    return this.tcp.listening();
  }

  /** Adds a peer host or changes its address. */
  setPeer(id: NodeId, address: string): void {
    this.tcp.setPeer(id, address);
  }

  /** Forgets a peer host: closes its connections and drops what was queued for it. */
  removePeer(id: NodeId): void {
    this.tcp.removePeer(id);
  }

  updatePeers(addresses: Readonly<Record<NodeId, string>>): void {
    this.tcp.updatePeers(addresses);
  }

  /** Counters per peer host (`framesSent` counts grouped frames) and of the budgets. */
  stats(): TcpTransportStats {
    return this.tcp.stats();
  }

  close(): Promise<void> {
    return this.tcp.close();
  }
}
