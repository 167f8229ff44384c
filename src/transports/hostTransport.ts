import type { Observable } from 'rxjs';
import type { GroupId } from '../messages/groupId';
import type { HostAlive, HostAliveEnvelope } from '../messages/liveness';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';

/**
 * A message of one Raft group between two hosts: `from` and `to` are host ids.
 *
 * @example
 * transport.inbound$.subscribe((e: GroupEnvelope) => log.trace(`${e.group}: ${e.message.type} from ${e.from}`));
 */
export interface GroupEnvelope extends Envelope {
  readonly group: GroupId;
}

/**
 * How a host of Raft groups (`createRaftHost`) exchanges the messages of all its groups
 * with other hosts: one transport per host, shared by every group on it. Like
 * `Transport`, it never delivers synchronously, validates every inbound message (the
 * group id included) before emitting it, and reports what it rejected on `errors$`.
 * Implementations: `MemoryHub.connectHost` (in memory, virtual time) and
 * `tcpHostTransport` (two authenticated connections per pair of hosts, a bulk lane for
 * entries and a control lane for the rest; the messages of one turn for one host and
 * lane travel in one frame).
 *
 * @example
 * const hub = new MemoryHub({ scheduler });
 * const transport = hub.connectHost('h1');
 * transport.inbound$.subscribe(({ group, from, message }) => console.log(group, from, message.type));
 * transport.send('h2', 'orders-1', { type: 'RequestVoteResponse', term: 1, voteGranted: true });
 */
export interface HostTransport {
  /** Validated messages addressed to this host, each with its group. Hot. */
  readonly inbound$: Observable<GroupEnvelope>;
  /** Problems the transport saw: rejected input, failed connections. Never terminal. */
  readonly errors$: Observable<Error>;
  /** Peer hosts messages to which may not have arrived (see `Transport.lost$`): every group with a member there hears it. Optional. */
  readonly lost$?: Observable<NodeId>;
  /** Sends a message of `group` to host `to`, best effort; never throws for network reasons. */
  send(to: NodeId, group: GroupId, message: RaftMessage): void;
  /** Releases every socket and timer. */
  close(): Promise<void>;
  /** Addresses of hosts that a group's configuration names (see `Transport.updatePeers`). */
  updatePeers?(addresses: Readonly<Record<NodeId, string>>): void;
  /**
   * Sends a host liveness message (one per pair of hosts and interval, for no group: see
   * `HostAlive`), best effort. Both built-in host transports have it; without it (and
   * `alive$`) a host cannot watch its peers, and its groups do not quiesce.
   */
  sendAlive?(to: NodeId, message: HostAlive): void;
  /** Validated host liveness messages addressed to this host. Hot. */
  readonly alive$?: Observable<HostAliveEnvelope>;
}
