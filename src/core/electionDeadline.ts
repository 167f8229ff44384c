/**
 * The election deadline's one random draw (Raft §5.2: randomized timeouts keep split
 * votes rare). The rules that move the deadline are in `roles.ts` (`resetElectionDeadline`
 * and the role transitions); this file only draws.
 */

/** An election timeout range in the scheduler's time unit (ms in production). */
export interface ElectionRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The deadline of an election timeout that starts at `now`: `now` plus a whole number
 * drawn uniformly from [min, max]; `Infinity` for `'never'` (a test hook's setting).
 *
 * @example
 * drawElectionDeadline(1000, { min: 150, max: 300 }, () => 0.5); // 1225
 * drawElectionDeadline(1000, 'never', Math.random);              // Infinity
 */
export function drawElectionDeadline(now: number, range: ElectionRange | 'never', random: () => number): number {
  if (range === 'never') return Infinity;
  return now + range.min + Math.floor(random() * (range.max - range.min + 1));
}

/** What the deadline rules read and write of `RaftState` (named here so this file imports no state). */
export interface DeadlineState {
  readonly now: number;
  readonly role: { readonly name: string };
  readonly options: { readonly random: () => number };
  electionDeadline: number;
  electionDeadlineFrom: number;
  electionDeadlineOnNews: boolean;
  electionRange: ElectionRange | 'never';
}

/**
 * Draws a new election deadline from now (§5.2); a leader has none (`Infinity`). Called
 * at start (`createState`), on hearing from the current leader, on granting a vote, and by
 * the role transitions (`roles.ts`).
 *
 * @example
 * resetElectionDeadline(s); // a follower at s.now = 1000 with range 150..300: 1150..1300
 */
export function resetElectionDeadline(s: DeadlineState): void {
  setElectionDeadline(s, s.role.name === 'leader' ? Infinity : drawElectionDeadline(s.now, s.electionRange, s.options.random));
}

/**
 * Sets the election deadline to `at`, chosen now (`electionDeadlineFrom`: what an
 * election report measures the timeout from). Every finite deadline is set here.
 * `onNews`: the deadline is this voter's place in the failover order after its host said
 * the leader's host went silent (`electionDeadlineOnNews`: no stall grace).
 *
 * @example
 * setElectionDeadline(s, s.now + 40, true); // a host's failover order put this group first
 */
export function setElectionDeadline(s: DeadlineState, at: number, onNews = false): void {
  s.electionDeadline = at;
  s.electionDeadlineFrom = s.now;
  s.electionDeadlineOnNews = onNews;
}

/**
 * Replaces the range election deadlines are drawn from (a test hook's doing) and draws a
 * fresh deadline from it; `'never'`: no deadline until the range changes again.
 *
 * @example
 * setElectionRange(s, 'never'); // s.electionDeadline === Infinity
 */
export function setElectionRange(s: DeadlineState, range: ElectionRange | 'never'): void {
  s.electionRange = range;
  resetElectionDeadline(s);
}
