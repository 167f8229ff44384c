import type { RaftMessage } from '../messages/types';

/**
 * The bounded queue of messages (of type `T`: a node's messages, or a host's messages
 * tagged with their group) waiting for a peer's socket, in two lanes:
 *
 * - `control`: small messages (votes, responses, heartbeats): always written first;
 * - `bulk`: messages carrying entries, written after the control lane, within a byte
 *   budget per socket write.
 *
 * A heartbeat therefore never waits behind queued entries. A TCP transport goes further:
 * each peer has two links (`PeerLanes`), one per connection, each with its own outbox, so
 * one outbox holds messages of one kind and a heartbeat does not wait for the entries
 * already in a socket either; the two queues here keep small messages first for any
 * outbox that holds both. Raft tolerates the reordering across lanes.
 *
 * Bounded by count and bytes: when full, the oldest bulk message goes first (the leader
 * re-sends entries that were not acknowledged), then the oldest control message. What is
 * dropped is counted, never kept: a peer that is down costs at most the bounds.
 *
 * @example
 * const outbox = new Outbox({ maxMessages: 1024, maxBytes: 64 << 20 });
 * outbox.push(appendEntries, 7_748); // bulk, with its block's size
 * outbox.push(heartbeat, 0);          // control
 * outbox.take(256 << 10);             // [heartbeat, appendEntries]
 */
export interface OutboxLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** Accounted size of a control message (they are all a few dozen bytes). */
const CONTROL_BYTES = 64;

export class Outbox<T = RaftMessage> {
  private readonly control = new Lane<T>();
  private readonly bulk = new Lane<T>();
  private readonly bulkSizes = new Lane<number>();
  /** Per bulk message, its payload already encoded, if the sender had it (`encodedPayload`). */
  private readonly bulkEncoded = new Lane<Buffer | undefined>();
  private queuedBytes = 0;
  /** Messages discarded because the queue was full, since creation. */
  dropped = 0;

  constructor(private readonly limits: OutboxLimits) {}

  get size(): number {
    return this.control.length + this.bulk.length;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Queues a message; `payloadBytes` > 0 puts it in the bulk lane, with `encoded`, its
   * payload already encoded if known (handed back by `take`). Returns how many messages
   * were dropped to make room (the new one included if it can never fit).
   */
  push(message: T, payloadBytes: number, encoded?: Buffer): number {
    const bytes = payloadBytes > 0 ? payloadBytes + CONTROL_BYTES : CONTROL_BYTES;
    if (bytes > this.limits.maxBytes) {
      this.dropped++;
      return 1;
    }
    let dropped = 0;
    while (this.size >= this.limits.maxMessages || this.queuedBytes + bytes > this.limits.maxBytes) {
      if (this.bulk.length > 0) {
        this.bulk.shift();
        this.bulkEncoded.shift();
        this.queuedBytes -= (this.bulkSizes.shift() as number) + CONTROL_BYTES;
      } else {
        this.control.shift();
        this.queuedBytes -= CONTROL_BYTES;
      }
      dropped++;
    }
    if (payloadBytes > 0) {
      this.bulk.push(message);
      this.bulkSizes.push(payloadBytes);
      this.bulkEncoded.push(encoded);
    } else {
      this.control.push(message);
    }
    this.queuedBytes += bytes;
    this.dropped += dropped;
    return dropped;
  }

  /**
   * Removes and returns the next batch: every control message, then bulk messages while
   * their payloads total less than `budgetBytes` (at least one, so a big one still goes).
   * With `sizes`, pushes each message's payload bytes there, as given to `push`, so that
   * an encoder need not measure them again; with `encoded`, each one's encoded payload as
   * given to `push` (undefined for a control message).
   */
  take(budgetBytes: number, sizes?: number[], encoded?: (Buffer | undefined)[]): T[] {
    const batch: T[] = [];
    while (this.control.length > 0) batch.push(this.control.shift() as T);
    this.queuedBytes -= batch.length * CONTROL_BYTES;
    if (sizes !== undefined) for (let i = 0; i < batch.length; i++) sizes.push(0);
    if (encoded !== undefined) for (let i = 0; i < batch.length; i++) encoded.push(undefined);
    let budget = budgetBytes;
    while (this.bulk.length > 0 && budget > 0) {
      const size = this.bulkSizes.shift() as number;
      sizes?.push(size);
      const bytes = this.bulkEncoded.shift();
      encoded?.push(bytes);
      batch.push(this.bulk.shift() as T);
      this.queuedBytes -= size + CONTROL_BYTES;
      budget -= size;
    }
    return batch;
  }

  /** Discards everything queued (not counted as dropped). */
  clear(): void {
    this.control.clear();
    this.bulk.clear();
    this.bulkSizes.clear();
    this.bulkEncoded.clear();
    this.queuedBytes = 0;
  }
}

/** A FIFO with O(1) amortized `shift`. */
class Lane<T> {
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
