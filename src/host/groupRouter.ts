import type { Subscription } from 'rxjs';
import type { GroupId } from '../messages/groupId';
import type { GroupEnvelope, HostTransport } from '../transports/hostTransport';
import { GroupTransport } from './groupTransport';
import { UnknownGroupError } from './hostErrors';

/** Most unknown group ids remembered as reported; past it the memory starts over (reports resume). */
const MAX_REPORTED_UNKNOWN = 4096;

/**
 * Hands each message the host's shared transport receives to its group's
 * `GroupTransport`, one map lookup per message however many groups run. A message of a
 * group that is not attached is dropped; the first one of each such group is reported as
 * `UnknownGroupError`, the later ones are dropped silently until the group is attached
 * here. (While hosts create many groups, the hosts that created a group first replicate
 * it to the ones that have not yet, many messages a second per group: an error, with its
 * stack, and a log line for each of them cost the lagging host more than the messages.)
 *
 * @example
 * const router = new GroupRouter(shared, (e) => errors.next(e));
 * const view = router.attach('g1'); // a Transport for g1's node
 * router.stop();
 */
export class GroupRouter {
  private readonly groups = new Map<GroupId, GroupTransport>();
  /** Unknown groups already reported. Bounded: `MAX_REPORTED_UNKNOWN`. */
  private readonly reported = new Set<GroupId>();
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
    this.reported.delete(group); // once it is detached again, its messages are reported anew
    return view;
  }

  /** Stops routing: later messages reach no group. */
  stop(): void {
    this.subscription.unsubscribe();
  }

  private route(envelope: GroupEnvelope): void {
    const view = this.groups.get(envelope.group);
    if (view) {
      view.receive(envelope);
      return;
    }
    if (this.reported.has(envelope.group)) return;
    if (this.reported.size >= MAX_REPORTED_UNKNOWN) this.reported.clear();
    this.reported.add(envelope.group);
    this.report(new UnknownGroupError(envelope.group, envelope.from));
  }
}
