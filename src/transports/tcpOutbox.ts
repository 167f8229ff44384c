import type { RaftMessage } from '../messages/types';

/**
 * The bounded FIFO of messages (of type `T`: a node's messages, or a host's messages
 * tagged with their group) waiting for one lane's socket to a peer (`PeerLink`). Each
 * lane holds one kind (`PeerLanes`): the control lane's outbox only small messages, so a
 * heartbeat waits behind no entries here; the bulk lane's only messages with payload
 * bytes, taken within a byte budget per socket write.
 *
 * Bounded by count and bytes: when full, the oldest message goes (the leader re-sends
 * entries that were not acknowledged, and a heartbeat or an answer is superseded by the
 * next). What is dropped is counted, never kept: a peer that is down costs at most the
 * bounds.
 *
 * @example
 * const outbox = new Outbox({ maxMessages: 1024, maxBytes: 64 << 20 });
 * outbox.push(appendEntries1, 200_000); // with its block's size
 * outbox.push(appendEntries2, 200_000);
 * outbox.take(256 << 10);               // [appendEntries1, appendEntries2]: at least one, until the budget is spent
 */
export interface OutboxLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** Accounted size of a message besides its payload (its envelope: a few dozen bytes). */
const ENVELOPE_BYTES = 64;

/** A queued message, its payload bytes, and its payload already encoded if the sender had it (`encodedPayload`). */
interface Queued<T> {
  readonly message: T;
  readonly payload: number;
  readonly encoded: Buffer | undefined;
}

export class Outbox<T = RaftMessage> {
  private readonly queue = new Fifo<Queued<T>>();
  private queuedBytes = 0;
  /** Messages discarded because the queue was full, since creation. */
  dropped = 0;

  constructor(private readonly limits: OutboxLimits) {}

  get size(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Queues a message with its payload bytes and, if known, its payload already encoded
   * (handed back by `take`). Returns how many messages were dropped to make room (the
   * new one included if it can never fit).
   */
  push(message: T, payload: number, encoded?: Buffer): number {
    const bytes = payload + ENVELOPE_BYTES;
    if (bytes > this.limits.maxBytes) {
      this.dropped++;
      return 1;
    }
    let dropped = 0;
    while (this.queue.length >= this.limits.maxMessages || this.queuedBytes + bytes > this.limits.maxBytes) {
      this.queuedBytes -= (this.queue.shift() as Queued<T>).payload + ENVELOPE_BYTES;
      dropped++;
    }
    this.queue.push({ message, payload, encoded });
    this.queuedBytes += bytes;
    this.dropped += dropped;
    return dropped;
  }

  /**
   * Removes and returns the next batch: messages in order while their payloads total
   * less than `budgetBytes` (at least one, so a big one still goes; every message
   * without payload, as on the control lane). With `sizes`, pushes each message's
   * payload bytes there, as given to `push`, so that an encoder need not measure them
   * again; with `encoded`, each one's encoded payload as given to `push`.
   */
  take(budgetBytes: number, sizes?: number[], encoded?: (Buffer | undefined)[]): T[] {
    const batch: T[] = [];
    let budget = budgetBytes;
    while (this.queue.length > 0 && budget > 0) {
      const queued = this.queue.shift() as Queued<T>;
      batch.push(queued.message);
      sizes?.push(queued.payload);
      encoded?.push(queued.encoded);
      this.queuedBytes -= queued.payload + ENVELOPE_BYTES;
      budget -= queued.payload;
    }
    return batch;
  }

  /** Discards everything queued (not counted as dropped). */
  clear(): void {
    this.queue.clear();
    this.queuedBytes = 0;
  }
}

/** A FIFO with O(1) amortized `shift`. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
