import { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { Envelope, NodeId, RaftMessage } from '../messages/types';
import type { Transport } from '../transports/transport';

/** The kinds of message a `LateMessages` rule may hold back. */
export type MessageKind = RaftMessage['type'];

/** Which messages arrive late, and by how much. Times are virtual milliseconds. */
export interface LateMessageRule {
  /** The kinds held back, e.g. `['PreVoteResponse', 'RequestVoteResponse']`. */
  readonly kinds: readonly MessageKind[];
  /** Only messages addressed to this node (e.g. the leader); unset: to any node. */
  readonly to?: NodeId;
  /** Only messages sent by this node; unset: from any node. */
  readonly from?: NodeId;
  /** Probability in [0, 1] that a matching message is held back. */
  readonly probability: number;
  /** Extra delay of a held-back message, drawn uniformly. */
  readonly delay: { readonly min: number; readonly max: number };
}

/**
 * Most messages one node may have held back at once; beyond it, messages pass on time.
 * A rule lasts a few hundred virtual ms, so this is never reached in practice: it only
 * keeps a runaway rule from growing memory.
 */
export const MAX_LATE_MESSAGES = 1000;

/**
 * Message-level network weather: holds back individual messages of chosen kinds (a vote
 * grant, one acknowledgement), so that they arrive after messages sent later — where
 * `MemoryHub`'s faults act on every message alike. One rule at a time, set by the fault
 * injector; every choice is drawn from `random`, so one seed decides the run.
 *
 * `wrap` goes on each node's transport (the `TestClusterOptions.transport` hook). A
 * held-back message is delivered on the node's own scheduler, never synchronously
 * (DESIGN invariant 1), so a paused node gets it when it resumes, and a stopped node
 * never does (unsubscribing cancels what was held).
 *
 * @example
 * const late = new LateMessages(seededRandom(3));
 * const cluster = new TestCluster({ nodes: 3, seed: 3, transport: (id, t, s) => late.wrap(id, t, s) });
 * late.set({ kinds: ['PreVoteResponse'], probability: 0.5, delay: { min: 5, max: 40 } });
 * await cluster.clock.advance(1000);   // about half the pre-vote answers came 5–40 ms late
 * late.set(null);                       // messages on time again
 * late.held;                            // how many were held back so far
 */
export class LateMessages {
  /** Messages held back so far. */
  held = 0;
  private rule: LateMessageRule | null = null;
  /** One-shot holds (`holdNext`), each for the next matching message only, checked before the rule. */
  private readonly next: { readonly from: NodeId; readonly kind: MessageKind; readonly delay: number }[] = [];

  constructor(private readonly random: () => number) {}

  /** The rule in force, or null. */
  get current(): LateMessageRule | null {
    return this.rule;
  }

  /** Replaces the rule (null: every message on time). */
  set(rule: LateMessageRule | null): void {
    if (rule) validate(rule);
    this.rule = rule;
  }

  /** Holds back the next message of `kind` that `from` sends, by `delay` ms, whatever the rule. */
  holdNext(from: NodeId, kind: MessageKind, delay: number): void {
    if (!(delay >= 0 && Number.isFinite(delay))) throw new RangeError(`holdNext needs a finite delay >= 0, got ${delay}`);
    if (this.next.length >= MAX_LATE_MESSAGES) this.next.shift();
    this.next.push({ from, kind, delay });
  }

  /** Lifts the rule and every one-shot hold. */
  clear(): void {
    this.rule = null;
    this.next.length = 0;
  }

  /** The transport of node `id`, with the messages it receives held back by the rule in force. */
  wrap(id: NodeId, inner: Transport, scheduler: SchedulerLike): Transport {
    const inbound$ = new Observable<Envelope>((subscriber) => {
      const waiting = new Subscription();
      let count = 0;
      const source = inner.inbound$.subscribe({
        next: (envelope) => {
          const after = count < MAX_LATE_MESSAGES ? this.lateness(id, envelope) : null;
          if (after === null) {
            subscriber.next(envelope);
            return;
          }
          this.held++;
          count++;
          const action = scheduler.schedule(() => {
            count--;
            waiting.remove(action);
            subscriber.next(envelope);
          }, after);
          waiting.add(action);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      return () => {
        source.unsubscribe();
        waiting.unsubscribe();
      };
    });
    const wrapped: Transport = {
      inbound$,
      errors$: inner.errors$,
      lost$: inner.lost$,
      send: (to, message) => inner.send(to, message),
      close: () => inner.close(),
    };
    return inner.updatePeers ? { ...wrapped, updatePeers: (a) => inner.updatePeers!(a) } : wrapped;
  }

  /** How late `envelope` arrives at `id` (null: on time). */
  private lateness(id: NodeId, envelope: Envelope): number | null {
    const once = this.next.findIndex((h) => h.from === envelope.from && h.kind === envelope.message.type);
    if (once >= 0) return this.next.splice(once, 1)[0].delay;
    const rule = this.rule;
    if (!rule || !rule.kinds.includes(envelope.message.type)) return null;
    if ((rule.to !== undefined && rule.to !== id) || (rule.from !== undefined && rule.from !== envelope.from)) return null;
    if (this.random() >= rule.probability) return null;
    return rule.delay.min + this.random() * (rule.delay.max - rule.delay.min);
  }
}

function validate(rule: LateMessageRule): void {
  const { probability, delay } = rule;
  if (!(probability >= 0 && probability <= 1)) throw new RangeError(`LateMessageRule.probability must be in [0, 1], got ${probability}`);
  if (!(delay.min >= 0 && delay.max >= delay.min && Number.isFinite(delay.max))) {
    throw new RangeError(`LateMessageRule.delay must satisfy 0 <= min <= max < Infinity, got ${delay.min}–${delay.max}`);
  }
}
