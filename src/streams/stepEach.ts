import { map, OperatorFunction } from 'rxjs';
import type { Effect } from '../core/effects';
import type { RaftEvent } from '../core/events';
import type { RaftState } from '../core/state';
import { step } from '../core/step';
import { RaftError } from '../errors';

/**
 * The engine as an operator: each event goes through `step` on the node's state, at the
 * scheduler's current time, and comes out as the list of effects the rules decided (etcd's
 * `Ready`). Events `held` for the next turn (`DurableCompletions`) are stepped first, and
 * their effects come out in the same list, ahead of the event's. Put it behind
 * `serializeTurns`, so one event is stepped at a time. A rule that throws (a broken
 * invariant) errors the stream: the node stops rather than act on a corrupt state.
 *
 * ```
 * events:  --m----t------p--
 * effects: --[…]--[…]----[…]-   (one list per event, possibly empty)
 * ```
 *
 * @example
 * events$.pipe(serializeTurns(), stepEach(state, () => scheduler.now())).subscribe((effects) => driver.carryOut(effects, state));
 */
export function stepEach(state: RaftState, now: () => number, held?: { take(): readonly RaftEvent[] }): OperatorFunction<RaftEvent, readonly Effect[]> {
  return map((event) => {
    const t = now();
    const before = held?.take();
    if (!before || before.length === 0) return stepAt(state, event, t);
    let effects: Effect[] | null = null; // held completions usually have none: no list is built then
    for (const e of before) {
      const fx = stepAt(state, e, t);
      if (fx.length > 0) (effects ??= []).push(...fx);
    }
    const own = stepAt(state, event, t);
    if (!effects) return own;
    effects.push(...own);
    return effects;
  });
}

/**
 * Steps one event on `state` at time `now` and returns its effects; what a rule throws
 * comes out as an `Error` (a `RaftError` when it was not one).
 *
 * @example
 * driver.carryOut(stepAt(state, { kind: 'applied', index: 5 }, scheduler.now()), state);
 */
export function stepAt(state: RaftState, event: RaftEvent, now: number): readonly Effect[] {
  state.now = now;
  try {
    return step(state, event).list;
  } catch (e) {
    throw e instanceof Error ? e : new RaftError(String(e));
  }
}
