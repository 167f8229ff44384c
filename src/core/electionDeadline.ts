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
  /** Campaigns that ran out without a leader since this node last heard from one or led (`backedOff`). */
  readonly failedCampaigns: number;
  electionDeadline: number;
  electionRange: ElectionRange | 'never';
}

/** Most doublings of the spread of a campaigning node's timeout (`backedOff`): at most 16 times `max - min`. */
export const MAX_CAMPAIGN_BACKOFF = 4;

/**
 * The range a (pre)candidate's timeout is drawn from after `failed` campaigns ran out in a
 * row: the minimum stays, the spread `max - min` doubles with each (at most
 * `MAX_CAMPAIGN_BACKOFF` times). Timing only: when elections keep failing — split votes,
 * or rounds slower than the timeout on a loaded machine, where hundreds of groups
 * campaigning again every timeout would keep it loaded — the retries thin out and spread.
 *
 * @example
 * backedOff({ min: 150, max: 300 }, 0); // { min: 150, max: 300 }
 * backedOff({ min: 150, max: 300 }, 2); // { min: 150, max: 750 }
 */
export function backedOff(range: ElectionRange, failed: number): ElectionRange {
  const spread = (range.max - range.min) * 2 ** Math.min(failed, MAX_CAMPAIGN_BACKOFF);
  return { min: range.min, max: range.min + spread };
}

/**
 * Draws a new election deadline from now (§5.2); a leader has none (`Infinity`); a
 * (pre)candidate draws from the range widened by its failed campaigns (`backedOff`).
 * Called at start (`createState`), on hearing from the current leader, on granting a vote,
 * and by the role transitions (`roles.ts`).
 *
 * @example
 * resetElectionDeadline(s); // a follower at s.now = 1000 with range 150..300: 1150..1300
 */
export function resetElectionDeadline(s: DeadlineState): void {
  const range = s.electionRange;
  const campaigning = s.role.name === 'precandidate' || s.role.name === 'candidate';
  const from = campaigning && range !== 'never' ? backedOff(range, s.failedCampaigns) : range;
  s.electionDeadline = s.role.name === 'leader' ? Infinity : drawElectionDeadline(s.now, from, s.options.random);
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
