import type { Envelope, NodeId, RaftMessage } from '../messages/types';

/**
 * What the in-memory network does with a message that an interception rule matches:
 * - `'hold'`: keep it until the test releases it (`rule.release()`), drops it
 *   (`rule.discard()`), or never;
 * - `'drop'`: lose it;
 * - `'duplicate'`: deliver it twice;
 * - `{ delay }`: deliver it `delay` later than the link's normal delay (later messages
 *   overtake it: a reordering of one message);
 * - `'pass'`: deliver it as usual (the rule only records it in `seen`).
 */
export type InterceptAction = 'hold' | 'drop' | 'duplicate' | 'pass' | { readonly delay: number };

export interface InterceptOptions {
  /** The rule acts on the first `times` messages it matches, then lets the rest pass untouched (default: all). */
  readonly times?: number;
  /** Most messages kept in `held` and in `seen` (default 10,000); beyond it a held message is lost and counted in `overflowed`. */
  readonly limit?: number;
}

/** Where the hub schedules what a rule lets go (the hub's delivery path). */
export interface InterceptSink {
  /** Schedules `envelope` for delivery after the link's (random) delay plus `extra`, never synchronously. */
  deliverLater(envelope: Envelope, extra: number): void;
  /** Schedules a released message after the link's shortest delay: released messages arrive in release order. */
  deliverReleased(envelope: Envelope): void;
  /** Counts a message the rule lost. */
  lost(envelope: Envelope): void;
}

/**
 * One interception rule of a `MemoryHub` (see `MemoryHub.intercept`): which messages it
 * matches, what it does with them, and the messages it holds.
 *
 * @example
 * const votes = hub.intercept(matching({ type: 'RequestVoteResponse', from: 'n2' }), 'hold');
 * await clock.advance(50);
 * votes.held.length;   // n2's answers, not yet delivered
 * votes.release();     // scheduled for delivery now, in the order they were sent
 * votes.remove();      // later answers pass untouched
 */
export class InterceptRule {
  private readonly heldMessages: Envelope[] = [];
  private readonly seenMessages: Envelope[] = [];
  private active = true;
  private acted = 0;
  /** Held messages lost because `held` was full. */
  overflowed = 0;

  /** @internal `MemoryHub.intercept` makes rules; the sink is the hub's delivery path. */
  constructor(
    readonly match: (envelope: Envelope) => boolean,
    readonly action: InterceptAction,
    private readonly sink: InterceptSink,
    private readonly options: InterceptOptions = {},
  ) {
    if (typeof action === 'object' && !(action.delay >= 0)) throw new RangeError('intercept: delay must be >= 0');
    if (options.times !== undefined && !(options.times >= 0)) throw new RangeError('intercept: times must be >= 0');
  }

  /** Messages held now, in the order they were sent. */
  get held(): readonly Envelope[] {
    return this.heldMessages;
  }

  /** Every message this rule acted on so far, in the order they were sent (up to `limit`). */
  get seen(): readonly Envelope[] {
    return this.seenMessages;
  }

  /** Whether the rule still intercepts new messages. */
  get isActive(): boolean {
    return this.active && (this.options.times === undefined || this.acted < this.options.times);
  }

  /**
   * Lets held messages go: those `which` selects (default all), each scheduled for
   * delivery after the link's shortest delay, arriving in the order they were sent.
   * Returns how many.
   */
  release(which: (envelope: Envelope) => boolean = () => true): number {
    return this.take(which).map((e) => this.sink.deliverReleased(e)).length;
  }

  /**
   * Lets every held message go in the reverse of the order they were sent (the last one
   * sent arrives first). Returns how many.
   */
  releaseReversed(): number {
    return this.take(() => true)
      .reverse()
      .map((e) => this.sink.deliverReleased(e)).length;
  }

  /** Loses held messages (those `which` selects, default all). Returns how many. */
  discard(which: (envelope: Envelope) => boolean = () => true): number {
    return this.take(which).map((e) => this.sink.lost(e)).length;
  }

  /** Stops intercepting new messages. Messages already held stay held until released or discarded. */
  remove(): void {
    this.active = false;
  }

  /** @internal The hub offers each message; returns true if the rule took charge of it. */
  offer(envelope: Envelope): boolean {
    if (!this.isActive || !this.match(envelope)) return false;
    this.acted++;
    const limit = this.options.limit ?? 10_000;
    if (this.seenMessages.length < limit) this.seenMessages.push(envelope);
    const action = this.action;
    if (action === 'pass') {
      this.sink.deliverLater(envelope, 0);
    } else if (action === 'drop') {
      this.sink.lost(envelope);
    } else if (action === 'duplicate') {
      this.sink.deliverLater(envelope, 0);
      this.sink.deliverLater(envelope, 0);
    } else if (action === 'hold') {
      if (this.heldMessages.length < limit) this.heldMessages.push(envelope);
      else {
        this.overflowed++;
        this.sink.lost(envelope);
      }
    } else {
      this.sink.deliverLater(envelope, action.delay);
    }
    return true;
  }

  private take(which: (envelope: Envelope) => boolean): Envelope[] {
    const taken: Envelope[] = [];
    const kept: Envelope[] = [];
    for (const e of this.heldMessages) (which(e) ? taken : kept).push(e);
    this.heldMessages.splice(0, this.heldMessages.length, ...kept);
    return taken;
  }
}

/** What `matching` selects on; every field given must match. */
export interface MessageFilter {
  readonly type?: RaftMessage['type'] | readonly RaftMessage['type'][];
  readonly from?: NodeId | readonly NodeId[];
  readonly to?: NodeId | readonly NodeId[];
}

/**
 * A predicate over envelopes for `MemoryHub.intercept`, from message type, sender and
 * receiver (each a value or a list).
 *
 * @example
 * hub.intercept(matching({ type: ['AppendEntries', 'InstallSnapshot'], to: 'n3' }), 'drop');
 */
export function matching(filter: MessageFilter): (envelope: Envelope) => boolean {
  const has = <T>(want: T | readonly T[] | undefined, value: T) =>
    want === undefined || (Array.isArray(want) ? (want as readonly T[]).includes(value) : want === value);
  return (e) => has(filter.type, e.message.type) && has(filter.from, e.from) && has(filter.to, e.to);
}
