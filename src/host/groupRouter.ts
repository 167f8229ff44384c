import type { Subscription } from 'rxjs';
import type { GroupId } from '../messages/groupId';
import type { GroupEnvelope, HostTransport } from '../transports/hostTransport';
import { GroupTransport } from './groupTransport';
import { UnknownGroupError } from './hostErrors';

/**
 * Hands each message the host's shared transport receives to its group's
 * `GroupTransport`, one map lookup per message however many groups run. A message of a
 * group that is not attached is dropped and reported as `UnknownGroupError`.
 *
 * @example
 * const router = new GroupRouter(shared, (e) => errors.next(e));
 * const view = router.attach('g1'); // a Transport for g1's node
 * router.stop();
 */
export class GroupRouter {
  private readonly groups = new Map<GroupId, GroupTransport>();
  private readonly subscription: Subscription;

  constructor(
    private readonly shared: HostTransport,
    private readonly report: (error: Error) => void,
  ) {
    this.subscription = shared.inbound$.subscribe((envelope) => this.route(envelope));
  }

  /**
   * A transport for `group`, receiving its messages until it is closed (then `detached`
   * runs). The caller makes sure the group is not attached yet.
   */
  attach(group: GroupId, detached: () => void = () => undefined): GroupTransport {
    const view: GroupTransport = new GroupTransport(group, this.shared, () => {
      if (this.groups.get(group) === view) this.groups.delete(group);
      detached();
    });
    this.groups.set(group, view);
    return view;
  }

  /** Stops routing: later messages reach no group. */
  stop(): void {
    this.subscription.unsubscribe();
  }

  private route(envelope: GroupEnvelope): void {
    const view = this.groups.get(envelope.group);
    if (view) view.receive(envelope);
    else this.report(new UnknownGroupError(envelope.group, envelope.from));
  }
}
