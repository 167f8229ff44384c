import { SchedulerLike, Subscription } from 'rxjs';
import type { NodeId, RaftMessage } from '../messages/types';
import type { Transport } from '../transports/transport';
import type { MessageKind } from './faultsMessages';

interface Trigger {
  readonly from: NodeId;
  readonly kind: MessageKind;
  readonly when: (message: RaftMessage) => boolean;
  readonly action: () => void;
}

/**
 * Faults set off by what a node sends: "once n1 sends TimeoutNow, cut its inbound
 * links". A random schedule rarely hits the few milliseconds in which a protocol step is
 * fragile; a trigger hits them every time. `wrap` goes on each node's transport; a
 * trigger fires once, on the sending node's scheduler right after the message left
 * (never inside the node's `send`), and can be cancelled before.
 *
 * @example
 * const triggers = new SendTriggers();
 * // in TestClusterOptions.transport: (id, t, scheduler) => triggers.wrap(id, t, scheduler)
 * const armed = triggers.once('n1', 'TimeoutNow', () => cluster.hub.block('n2', 'n1'));
 * armed.unsubscribe(); // if it should no longer fire
 */
export class SendTriggers {
  private readonly armed = new Set<Trigger>();

  /** Runs `action` once, right after `from` next sends a message of `kind` (for which `when` holds). */
  once(from: NodeId, kind: MessageKind, action: () => void, when: (message: RaftMessage) => boolean = () => true): Subscription {
    const trigger: Trigger = { from, kind, when, action };
    this.armed.add(trigger);
    return new Subscription(() => this.armed.delete(trigger));
  }

  /** Cancels every armed trigger. */
  clear(): void {
    this.armed.clear();
  }

  /** The transport of node `id`, firing the triggers its messages match on `scheduler` (the node's). */
  wrap(id: NodeId, inner: Transport, scheduler: SchedulerLike): Transport {
    const wrapped: Transport = {
      inbound$: inner.inbound$,
      errors$: inner.errors$,
      lost$: inner.lost$,
      send: (to, message) => {
        inner.send(to, message);
        for (const t of this.armed) {
          if (t.from !== id || t.kind !== message.type || !t.when(message)) continue;
          this.armed.delete(t);
          scheduler.schedule(t.action);
        }
      },
      close: () => inner.close(),
    };
    return inner.updatePeers ? { ...wrapped, updatePeers: (a) => inner.updatePeers!(a) } : wrapped;
  }
}
