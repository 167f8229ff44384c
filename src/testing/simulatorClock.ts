import { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { settle } from './virtualClock';

/**
 * Virtual time for a simulated cluster, built for speed and for pausing one node.
 *
 * Like `VirtualClock`, every node, the network and storage share one timeline that only
 * moves when it is advanced, and between two virtual instants every settled promise runs
 * (`settle()`), so a run is a pure function of its inputs. Differences:
 *
 * - Actions wait in a binary heap ordered by (time, order of scheduling): O(log n) per
 *   schedule instead of a sort of every pending action. Actions due at the same instant
 *   run in the order they were scheduled, as with `VirtualTimeScheduler`.
 * - `clock.view()` gives a scheduler of its own to each node (`NodeScheduler`). Pausing
 *   a view holds every action of that view that falls due — its timers, its storage
 *   syncs, deliveries routed through it — until it is resumed; then they all run, late,
 *   in the order they fell due. That is what a stopped process (SIGSTOP, a long GC
 *   pause, a VM migration) looks like to the rest of the cluster.
 *
 * @example
 * const clock = new SimulatorClock();
 * const n1 = clock.view();
 * timer(100, n1).subscribe(() => console.log('fired at', clock.now()));
 * n1.pause();
 * await clock.advance(500);   // nothing: n1 is paused
 * n1.resume();
 * await clock.advance(0);     // logs "fired at 500"
 */
export class SimulatorClock {
  /** The shared scheduler (no owner: never paused). */
  readonly scheduler: SchedulerLike;
  private frame = 0;
  private seq = 0;
  private readonly heap: HeapEntry[] = [];
  /** Actions that are scheduled and neither run, held nor cancelled. */
  private live = 0;

  constructor() {
    this.scheduler = this.view();
  }

  now(): number {
    return this.frame;
  }

  /** A scheduler on this clock that can be paused on its own. */
  view(): NodeScheduler {
    return new NodeScheduler(this);
  }

  /**
   * Runs everything due within the next `ms`, then sets the clock to now + ms.
   * `afterInstant` runs after each instant, once its promises have settled.
   */
  advance(ms: number, afterInstant?: () => void): Promise<void> {
    return this.advanceTo(this.frame + ms, afterInstant);
  }

  /**
   * Runs everything due up to time `t`, instant by instant, settling promises in
   * between; `afterInstant` runs after each instant, once its promises have settled.
   */
  async advanceTo(t: number, afterInstant?: () => void): Promise<void> {
    await settle();
    for (;;) {
      const next = this.nextTime();
      if (next === undefined || next > t) break;
      this.frame = next;
      this.runDue();
      await settle();
      afterInstant?.();
    }
    if (t > this.frame) this.frame = t;
  }

  /** When the next live action is due, if any. */
  nextTime(): number | undefined {
    this.dropStale();
    return this.heap[0]?.time;
  }

  /** Actions scheduled and not yet run (timers, deliveries in flight, held actions excluded). */
  get pending(): number {
    return this.live;
  }

  /** @internal Puts `action` in the queue `delay` from now, replacing its earlier place if any. */
  enqueue(action: QueuedAction, delay: number): void {
    if (!action.queued) this.live++;
    action.generation++;
    action.queued = true;
    this.push({ time: this.frame + Math.max(0, delay), seq: this.seq++, action, generation: action.generation });
  }

  /** @internal */
  cancel(action: QueuedAction): void {
    if (action.queued) {
      action.queued = false;
      action.generation++;
      this.live--;
    }
  }

  /** Runs every action due now, including those scheduled at this instant while running. */
  private runDue(): void {
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.time > this.frame) return;
      this.pop();
      const action = top.action;
      action.queued = false;
      this.live--;
      if (action.owner.paused) action.owner.hold(action);
      else action.execute();
    }
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (top.generation === top.action.generation && !top.action.closed) return;
      this.pop();
    }
  }

  private push(entry: HeapEntry): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r], heap[l]) ? r : l;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}

/** What the queue needs of an action, whatever its state type. */
interface QueuedAction {
  queued: boolean;
  generation: number;
  readonly closed: boolean;
  readonly owner: NodeScheduler;
  execute(): void;
}

interface HeapEntry {
  readonly time: number;
  readonly seq: number;
  readonly action: QueuedAction;
  /** Stale (the action was rescheduled or cancelled) unless equal to the action's. */
  readonly generation: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * One node's scheduler on a `SimulatorClock`. While paused, the actions it scheduled
 * that fall due are held, not run; `resume()` runs them at the current instant, in the
 * order they fell due.
 *
 * @example
 * const view = clock.view();
 * view.pause();
 * view.schedule(() => console.log('late'), 10);
 * await clock.advance(50);  // nothing
 * view.resume();            // "late" at the next instant the clock runs
 */
export class NodeScheduler implements SchedulerLike {
  private held: QueuedAction[] = [];
  private isPaused = false;
  /** When the pause in force began, and how long the earlier pauses lasted in all (virtual ms). */
  private pausedAt = 0;
  private pausedBefore = 0;

  constructor(readonly clock: SimulatorClock) {}

  now(): number {
    return this.clock.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new SimulatorAction<T>(this, work).schedule(state, delay);
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /**
   * Virtual time during which this view was not paused, since it was made: the node's own
   * running time, in which its timers count (a deadline of the node is a deadline in it).
   */
  runningTime(): number {
    return this.clock.now() - this.pausedBefore - (this.isPaused ? this.clock.now() - this.pausedAt : 0);
  }

  /** From now on, actions of this view that fall due wait for `resume()`. */
  pause(): void {
    if (!this.isPaused) this.pausedAt = this.clock.now();
    this.isPaused = true;
  }

  /** Runs the held actions at the current instant (in the order they fell due). */
  resume(): void {
    this.endPause();
    const held = this.held;
    this.held = [];
    for (const action of held) if (!action.closed) this.clock.enqueue(action, 0);
  }

  /** Forgets the held actions and resumes (the process they belonged to is gone). */
  discardHeld(): void {
    this.held = [];
    this.endPause();
  }

  /** How many actions are held. */
  get heldCount(): number {
    return this.held.length;
  }

  private endPause(): void {
    if (this.isPaused) this.pausedBefore += this.clock.now() - this.pausedAt;
    this.isPaused = false;
  }

  /** @internal */
  hold(action: QueuedAction): void {
    this.held.push(action);
  }
}

/** @internal A scheduled piece of work; rescheduling it from inside its work reuses it (timers, intervals). */
export class SimulatorAction<T> extends Subscription implements SchedulerAction<T>, QueuedAction {
  queued = false;
  generation = 0;
  private state: T | undefined;

  constructor(
    readonly owner: NodeScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.owner.clock.enqueue(this, delay);
    return this;
  }

  execute(): void {
    if (!this.closed) this.work.call(this, this.state);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.owner.clock.cancel(this);
    super.unsubscribe();
  }
}
