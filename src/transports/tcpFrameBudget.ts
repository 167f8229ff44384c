/**
 * The budget for bytes held in partial frames (frames whose length prefix has arrived
 * but whose body has not, all of it), summed over every connection of a transport. A
 * connection asks before holding more; one that would take the total past the limit is
 * closed (`FrameBudgetExceededError`) and its bytes are released, so what peers send can
 * never make the transport hold more than `limit` bytes of unfinished frames
 * (issue 18, finding 5).
 *
 * @example
 * const budget = new FrameBudget(64 << 20);
 * if (!budget.tryHold(chunk.length)) connection.close(new FrameBudgetExceededError(...));
 * // ... the frame completed or the connection closed:
 * budget.release(chunk.length);
 */
export class FrameBudget {
  /** Bytes held now. Invariant: 0 <= held <= limit. */
  held = 0;
  /** The most ever held at once. */
  peak = 0;
  /** Connections closed because they would have taken the total past the limit. */
  refusals = 0;

  constructor(readonly limit: number) {}

  /** Holds `bytes` more if the total stays within the limit; false (and nothing held) otherwise. */
  tryHold(bytes: number): boolean {
    if (this.held + bytes > this.limit) {
      this.refusals++;
      return false;
    }
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }
}
