import { InvalidMessageError } from './errors';

/**
 * A Raft group's id inside a host of groups (`createRaftHost`): 1 to 64 characters of
 * `A-Z a-z 0-9 . _ -`, not `.` or `..`. The same rule holds on the wire (every grouped
 * message carries one) and on disk, where a group's files live in a directory named
 * after it, so an id can never name a path outside the host's data directory.
 *
 * @example
 * groupIdProblem('orders-17'); // null
 * groupIdProblem('../etc');    // 'group id must be 1 to 64 characters of A-Z a-z 0-9 . _ - (not . or ..)'
 */
export type GroupId = string;

/** Longest group id, in characters (one byte each: the charset is ASCII). */
export const MAX_GROUP_ID_LENGTH = 64;

const GROUP_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `value` is not a group id, or null when it is one. */
export function groupIdProblem(value: unknown): string | null {
  if (typeof value === 'string' && GROUP_ID.test(value) && value !== '.' && value !== '..') return null;
  return `group id must be 1 to ${MAX_GROUP_ID_LENGTH} characters of A-Z a-z 0-9 . _ - (not . or ..)`;
}

/** Throws `InvalidMessageError` unless `value` is a group id. */
export function checkGroupId(value: unknown): asserts value is GroupId {
  const problem = groupIdProblem(value);
  if (problem !== null) throw new InvalidMessageError(problem);
}
