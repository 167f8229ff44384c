import { EMPTY, Observable } from 'rxjs';
import type { GroupId } from '../messages/groupId';
import { Broadcast } from '../operators/broadcast';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { HostTransport } from '../transports/hostTransport';
import type { Transport } from '../transports/transport';

/**
 * One group's view of its host's shared transport: what a group's `RaftNode` is given
 * as its `Transport`. Sends go out on the shared transport tagged with the group; the
 * host's router (`GroupRouter`) hands it the messages of its group. Closing it (the
 * node stops) detaches the group from the router; the shared transport stays open.
 * Transport-wide problems are reported on the host's `errors$`, not here: a view has no
 * problems of its own, so its `errors$` is empty (it completes at once, and a node that
 * listens to it keeps no subscription per group).
 *
 * @example
 * const view = new GroupTransport('g1', shared, () => router.detach('g1'));
 * createRaftNode({ id: 'h1', peers: ['h1', 'h2', 'h3'], transport: view, storage });
 */
export class GroupTransport implements Transport {
  /** A `Broadcast`, not a `Subject`: no observer list and subscription object of a subject's per group (a host runs thousands). */
  private readonly inbound = new Broadcast<Envelope>();
  readonly inbound$: Observable<Envelope> = this.inbound.asObservable();
  readonly errors$: Observable<Error> = EMPTY;
  /** The shared transport's: a connection lost to a peer host may have carried this group's messages too. */
  readonly lost$: Observable<NodeId> | undefined;
  private closed = false;

  constructor(
    readonly group: GroupId,
    private readonly shared: HostTransport,
    private readonly onClose: () => void,
  ) {
    this.lost$ = shared.lost$;
  }

  send(to: NodeId, message: RaftMessage): void {
    if (!this.closed) this.shared.send(to, this.group, message);
  }

  /** A message of this group arrived (called by the router, never synchronously from a send). */
  receive(envelope: Envelope): void {
    if (!this.closed) this.inbound.next(envelope);
  }

  updatePeers(addresses: Readonly<Record<NodeId, string>>): void {
    if (!this.closed) this.shared.updatePeers?.(addresses);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inbound.complete();
    this.onClose();
  }
}
