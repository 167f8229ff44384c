/**
 * The node's serialized event loop: events are handled one at a time, to completion.
 * An event dispatched while another is being handled (a handler's effect feeding back,
 * a subscriber reacting synchronously) waits in the queue instead of re-entering
 * (DESIGN.md invariant 1).
 *
 * @example
 * const loop = new EventLoop<string>(e => { log.push(e); if (e === 'a') loop.dispatch('b'); });
 * loop.dispatch('a'); // handles 'a', then 'b' — never 'b' inside 'a'
 */
export class EventLoop<E> {
  private readonly queue: E[] = [];
  private head = 0;
  private running = false;

  constructor(private readonly handle: (event: E) => void) {}

  dispatch(event: E): void {
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    try {
      while (this.head < this.queue.length) {
        const next = this.queue[this.head];
        this.queue[this.head++] = undefined as E;
        this.handle(next);
      }
    } finally {
      this.queue.length = 0;
      this.head = 0;
      this.running = false;
    }
  }
}
