import { InvalidMessageError } from './errors';
import type { NodeId } from './nodeId';

/**
 * A host's liveness message (quiescence, issue 19): one per pair of hosts and interval,
 * not one per group. A ping (`reply` false) asks the peer host to answer; the answer
 * (`reply` true) echoes its `seq`. Both say who the sender is as a host of groups:
 * `incarnation` changes when its process restarts, `groupsVersion` grows whenever a group
 * stops or is removed there. A receiver that sees either change, or hears no answer for
 * the minimum election timeout, wakes its quiet groups (`HostLiveness`).
 *
 * @example
 * const ping: HostAlive = { type: 'HostAlive', reply: false, seq: 7, incarnation: 1733380000000, groupsVersion: 0 };
 * const pong: HostAlive = { ...ping, reply: true };
 */
export interface HostAlive {
  readonly type: 'HostAlive';
  readonly reply: boolean;
  /** The ping's number (the answer echoes it). Invariant: a safe non-negative integer. */
  readonly seq: number;
  /** When the sender's host started (its scheduler's clock): a new value means it restarted. */
  readonly incarnation: number;
  /** How many times a group stopped or was removed on the sender's host since it started. */
  readonly groupsVersion: number;
}

/**
 * A host liveness message with its addressing (host ids).
 *
 * @example
 * transport.alive$.subscribe(({ from, message }) => lastHeard.set(from, message.seq));
 */
export interface HostAliveEnvelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: HostAlive;
}

/** Bytes of a `HostAlive` on the wire: reply (u8), then seq, incarnation and groupsVersion (f64 each). */
export const HOST_ALIVE_BYTES = 1 + 8 + 8 + 8;

/**
 * Writes a `HostAlive` in its fixed binary layout: | u8 reply (0 or 1) | f64 seq |
 * f64 incarnation | f64 groupsVersion | (big-endian).
 *
 * @example
 * encodeHostAlive(pong).length; // HOST_ALIVE_BYTES
 */
export function encodeHostAlive(m: HostAlive): Buffer {
  const b = Buffer.allocUnsafe(HOST_ALIVE_BYTES);
  b[0] = m.reply ? 1 : 0;
  b.writeDoubleBE(m.seq, 1);
  b.writeDoubleBE(m.incarnation, 9);
  b.writeDoubleBE(m.groupsVersion, 17);
  return b;
}

/**
 * Reads and validates a `HostAlive` written by `encodeHostAlive`. Throws
 * `InvalidMessageError` naming the problem (a wrong length, a reply byte other than 0 or
 * 1, a counter that is not a safe non-negative integer, an incarnation that is not finite).
 *
 * @example
 * decodeHostAlive(encodeHostAlive(ping)); // equal to ping
 */
export function decodeHostAlive(b: Buffer): HostAlive {
  if (b.length !== HOST_ALIVE_BYTES) throw new InvalidMessageError(`host liveness item of ${b.length} bytes, not ${HOST_ALIVE_BYTES}`);
  if (b[0] > 1) throw new InvalidMessageError('host liveness reply must be 0 or 1');
  return validateHostAlive({ type: 'HostAlive', reply: b[0] === 1, seq: b.readDoubleBE(1), incarnation: b.readDoubleBE(9), groupsVersion: b.readDoubleBE(17) });
}

/**
 * Checks an untrusted `HostAlive` (from the in-memory hub or a decoder) and returns it.
 * Throws `InvalidMessageError`.
 *
 * @example
 * validateHostAlive({ type: 'HostAlive', reply: true, seq: -1, incarnation: 0, groupsVersion: 0 }); // throws
 */
export function validateHostAlive(m: HostAlive): HostAlive {
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (m.type !== 'HostAlive' || typeof m.reply !== 'boolean') throw new InvalidMessageError('not a host liveness message');
  if (!count(m.seq) || !count(m.groupsVersion)) throw new InvalidMessageError('host liveness seq and groupsVersion must be non-negative integers');
  if (typeof m.incarnation !== 'number' || !Number.isFinite(m.incarnation)) throw new InvalidMessageError('host liveness incarnation must be a finite number');
  return m;
}

/**
 * What a host's liveness watch (`HostLiveness.wakeups$`) tells its groups when a peer host
 * changed: `hosts`, the peer hosts whose change this is (fell silent, answered again after
 * a silence, restarted, stopped or removed a group); `silent`, every peer host silent now.
 * A quiet group wakes only if the change concerns it (its leader, or for a leader one of
 * its followers, is on one of `hosts`); every group remembers `silent`, and a leader may go
 * quiet without the answers of followers there while the others make a quorum
 * (`core/quiescence.ts`). Any other value emitted by `RaftNodeOptions.wakeups` wakes every
 * quiet group.
 *
 * @example
 * const wakeup: HostWakeup = { hosts: ['h3'], silent: ['h3'], group: 'orders-1' }; // h3 stopped answering
 */
export interface HostWakeup {
  readonly hosts: readonly NodeId[];
  readonly silent: readonly NodeId[];
  /** The group the wake-up is handed to (`createRaftHost` adds it): the voters of a group whose leader's host went silent campaign in an order drawn from it. */
  readonly group?: string;
}

/**
 * Whether `value` is a `HostWakeup` (two arrays of strings, a group string or none); anything else emitted by
 * `wakeups` is a wake-up that concerns every group.
 *
 * @example
 * isHostWakeup({ hosts: ['h3'], silent: [] }); // true
 * isHostWakeup(undefined);                     // false
 */
export function isHostWakeup(value: unknown): value is HostWakeup {
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof value !== 'object' || value === null) return false;
  const w = value as HostWakeup;
  return strings(w.hosts) && strings(w.silent) && (w.group === undefined || typeof w.group === 'string');
}
