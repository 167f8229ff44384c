import type { Observable, SchedulerLike } from 'rxjs';
import type { LogPolicy, RaftNodeOptions, SessionPolicy, SnapshotPolicy, StateMachine, TimeoutRange } from './api';
import { type ProtocolOptions, QUIESCE_AFTER_IDLE_TICKS } from './core/state';
import { defaultRandom, defaultScheduler, defaultTurnScheduler } from './defaults';
import { InvalidOptionsError } from './errors';
import type { ClusterConfig } from './messages/config';
import type { NodeId } from './messages/types';
import type { Storage } from './storage/storage';
import type { Transport } from './transports/transport';

/** How long client sessions are remembered, unless `sessions` says otherwise. */
export const DEFAULT_SESSION_POLICY: SessionPolicy = { maxClients: 10_000, idleEntries: 1_000_000, window: 64 };

/** When snapshots are taken and how they are cut, unless `snapshot` says otherwise. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { everyEntries: 10_000, everyBytes: 64 << 20, minLogPercent: 100, keepEntries: 1_000, catchUpEntries: 100_000, keepBytes: 32 << 20, chunkBytes: 1 << 20 };

/** How much of the log is held in memory, unless `log` says otherwise. */
export const DEFAULT_LOG_POLICY: LogPolicy = { cacheBytes: 4 << 20 };

/*
 * The options of `createRaftNode`, resolved once: every default applied, every value
 * checked, one shape. The node reads its options only from a `ResolvedOptions`.
 */

/** `RaftNodeOptions` with every default applied and every rule checked (see `resolveOptions`). */
export interface ResolvedOptions {
  readonly id: NodeId;
  /** The initial voters, this node among them; empty with `join`. Sorted, no duplicates. */
  readonly peers: readonly NodeId[];
  readonly join: boolean;
  readonly addresses: Readonly<Record<NodeId, string>>;
  readonly transport: Transport;
  readonly storage: Storage;
  readonly scheduler: SchedulerLike;
  readonly turnScheduler: SchedulerLike;
  readonly random: () => number;
  readonly electionTimeout: TimeoutRange;
  readonly heartbeatInterval: number;
  /** The leader's shared heartbeat clock, if given (`RaftNodeOptions.heartbeatTicks`). */
  readonly heartbeatTicks: Observable<unknown> | undefined;
  readonly quiesce: boolean;
  readonly quiesceAfterTicks: number;
  /** What wakes a quiet node (`RaftNodeOptions.wakeups`), if given. */
  readonly wakeups: Observable<unknown> | undefined;
  readonly leaseDriftMargin: number;
  readonly requestTimeout: number;
  readonly stopTimeout: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly forward: boolean;
  readonly eagerCommitNotices: boolean;
  readonly maxCommandBytes: number;
  readonly maxUncommittedBytes: number;
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
  readonly maxPromotionLag: number;
  readonly maxApplyingBytes: number;
  readonly maxApplyingEntries: number;
  readonly sessions: SessionPolicy;
  readonly stateMachine: StateMachine | undefined;
  readonly snapshot: SnapshotPolicy;
  readonly log: LogPolicy;
}

/** `heartbeatInterval` when none is given, in ms. */
export const DEFAULT_HEARTBEAT_INTERVAL = 50;

/** `electionTimeout` when none is given, in ms. */
export const DEFAULT_ELECTION_TIMEOUT: TimeoutRange = Object.freeze({ min: 150, max: 300 });

/**
 * `stopTimeout` when none is given, in ms: how long `stop()` waits for the transport and
 * storage to close. A healthy `FileStorage` closes within its last fsync (milliseconds);
 * a few seconds tell a hung disk from a slow one without holding a shutdown for long.
 */
export const DEFAULT_STOP_TIMEOUT = 5000;

/** The defaults of the optional options that do not depend on others (README, "Options of `createRaftNode`"). */
const DEFAULT_OPTIONS = Object.freeze({
  join: false,
  electionTimeout: DEFAULT_ELECTION_TIMEOUT,
  heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL,
  preVote: true,
  checkQuorum: true,
  forward: true,
  eagerCommitNotices: true,
  maxCommandBytes: 1 << 20,
  maxUncommittedBytes: 64 << 20,
  maxEntriesPerMessage: 512,
  maxBytesPerMessage: 1 << 20,
  maxInflight: 16,
  maxInflightBytes: 8 << 20,
  maxPromotionLag: 64,
  maxApplyingBytes: 16 << 20,
  maxApplyingEntries: 8192,
});

/** `leaseDriftMargin` defaults to this fraction of `electionTimeout.min`. */
const LEASE_DRIFT_FRACTION = 1 / 5;
/** `requestTimeout` defaults to this many times `electionTimeout.max`. */
const REQUEST_TIMEOUT_ELECTIONS = 2;

/**
 * `requestTimeout` when none is given, for an election timeout whose maximum is
 * `electionTimeoutMax` (ms).
 *
 * @example
 * defaultRequestTimeout(300); // 600
 */
export function defaultRequestTimeout(electionTimeoutMax: number): number {
  return REQUEST_TIMEOUT_ELECTIONS * electionTimeoutMax;
}
/**
 * How many maximum election timeouts a follower's stream may go without progress before
 * its leader sends it afresh (not an option). Over TCP nothing is lost while the
 * connection lives, so a stall is first of all a slow follower or a full socket, and
 * sending its window again only doubles the load that slowed it: with 64 KiB entries
 * the old 2-tick (100 ms) rule resent up to 8 MiB about 4 times a second per follower
 * (`bench/cluster.ts --sizes 65536`). Two election timeouts let a follower stall as long
 * as its own election timer would tolerate, and still recover a stream lost with a
 * connection within about half a second.
 */
const STALL_ELECTION_TIMEOUTS = 2;
/** The longest node id peers accept on the wire (`messages/validate.ts`). */
const MAX_ID_LENGTH = 256;
/** The most members a configuration may list on the wire (`messages/validate.ts`). */
const MAX_MEMBERS = 10_000;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof RaftNodeOptions>([
  'id', 'peers', 'transport', 'storage', 'scheduler', 'turnScheduler', 'random', 'electionTimeout',
  'heartbeatInterval', 'heartbeatTicks', 'quiesce', 'quiesceAfterTicks', 'wakeups', 'maxCommandBytes', 'maxUncommittedBytes', 'maxEntriesPerMessage', 'maxBytesPerMessage',
  'maxInflight', 'maxInflightBytes', 'preVote', 'checkQuorum', 'forward', 'eagerCommitNotices', 'leaseDriftMargin', 'requestTimeout', 'stopTimeout', 'sessions', 'join',
  'addresses', 'maxPromotionLag', 'stateMachine', 'snapshot', 'maxApplyingBytes', 'maxApplyingEntries', 'log',
]);

/**
 * Applies every default of `RaftNodeOptions` and checks every rule, once; throws
 * `InvalidOptionsError` naming the rule and the values at fault. The caller's object is
 * not changed: the result is a new, frozen object.
 *
 * @example
 * resolveOptions({ id: 'n1', peers: ['n1', 'n2', 'n3'], transport, storage }).electionTimeout; // { min: 150, max: 300 }
 * resolveOptions({ id: 'n1', peers: ['n1'], transport, storage, heartbeatInterval: 500 });
 * // throws InvalidOptionsError: heartbeatInterval (500) must be at most electionTimeout.min / 2 (75) ...
 */
export function resolveOptions(options: RaftNodeOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', `createRaftNode needs an options object, got ${show(options)}`);
  const o = options as Partial<RaftNodeOptions> & Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KNOWN_OPTIONS.has(k));
  if (unknown.length > 0) fail(unknown.join(', '), `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map(show).join(', ')}`);

  const id = nodeId('id', o.id);
  const join = bool('join', o.join, DEFAULT_OPTIONS.join);
  const peers = peerList(id, o.peers, join);
  const electionTimeout = timeoutRange(o.electionTimeout);
  const heartbeatInterval = positive('heartbeatInterval', o.heartbeatInterval, DEFAULT_OPTIONS.heartbeatInterval);
  checkHeartbeatRoom(heartbeatInterval, electionTimeout);
  const leaseDriftMargin = number('leaseDriftMargin', o.leaseDriftMargin, electionTimeout.min * LEASE_DRIFT_FRACTION);
  checkLeaseDriftMargin(leaseDriftMargin, electionTimeout);
  const maxBytesPerMessage = count('maxBytesPerMessage', o.maxBytesPerMessage, DEFAULT_OPTIONS.maxBytesPerMessage, 1);
  const maxInflightBytes = count('maxInflightBytes', o.maxInflightBytes, Math.max(DEFAULT_OPTIONS.maxInflightBytes, maxBytesPerMessage), 1);
  checkInflightBytes(maxInflightBytes, maxBytesPerMessage);
  const stateMachine = stateMachineOf(o.stateMachine);
  if (o.snapshot !== undefined && stateMachine?.snapshot === undefined) {
    fail('snapshot / stateMachine', `a snapshot policy (${show(o.snapshot)}) without stateMachine.snapshot takes no snapshot: the log would grow without end; pass stateMachine.snapshot and restore too`);
  }
  const resolved: ResolvedOptions = {
    id,
    peers,
    join,
    addresses: addressMap(o.addresses),
    transport: transportOf(o.transport),
    storage: storageOf(o.storage),
    scheduler: scheduler('scheduler', o.scheduler, defaultScheduler),
    turnScheduler: scheduler('turnScheduler', o.turnScheduler, defaultTurnScheduler),
    random: fn('random', o.random, defaultRandom),
    electionTimeout,
    heartbeatInterval,
    heartbeatTicks: ticks(o.heartbeatTicks),
    quiesce: bool('quiesce', o.quiesce, false),
    quiesceAfterTicks: count('quiesceAfterTicks', o.quiesceAfterTicks, QUIESCE_AFTER_IDLE_TICKS, 0),
    wakeups: ticks(o.wakeups, 'wakeups'),
    leaseDriftMargin,
    requestTimeout: positive('requestTimeout', o.requestTimeout, defaultRequestTimeout(electionTimeout.max)),
    stopTimeout: positive('stopTimeout', o.stopTimeout, DEFAULT_STOP_TIMEOUT),
    preVote: bool('preVote', o.preVote, DEFAULT_OPTIONS.preVote),
    checkQuorum: bool('checkQuorum', o.checkQuorum, DEFAULT_OPTIONS.checkQuorum),
    forward: bool('forward', o.forward, DEFAULT_OPTIONS.forward),
    eagerCommitNotices: bool('eagerCommitNotices', o.eagerCommitNotices, DEFAULT_OPTIONS.eagerCommitNotices),
    maxCommandBytes: count('maxCommandBytes', o.maxCommandBytes, DEFAULT_OPTIONS.maxCommandBytes, 1),
    maxUncommittedBytes: count('maxUncommittedBytes', o.maxUncommittedBytes, DEFAULT_OPTIONS.maxUncommittedBytes, 1),
    maxEntriesPerMessage: count('maxEntriesPerMessage', o.maxEntriesPerMessage, DEFAULT_OPTIONS.maxEntriesPerMessage, 1),
    maxBytesPerMessage,
    maxInflight: count('maxInflight', o.maxInflight, DEFAULT_OPTIONS.maxInflight, 1),
    maxInflightBytes,
    maxPromotionLag: count('maxPromotionLag', o.maxPromotionLag, DEFAULT_OPTIONS.maxPromotionLag, 0),
    maxApplyingBytes: count('maxApplyingBytes', o.maxApplyingBytes, DEFAULT_OPTIONS.maxApplyingBytes, 1),
    maxApplyingEntries: count('maxApplyingEntries', o.maxApplyingEntries, DEFAULT_OPTIONS.maxApplyingEntries, 1),
    sessions: policy('sessions', o.sessions, DEFAULT_SESSION_POLICY, { maxClients: 1, idleEntries: 1, window: 1 }),
    stateMachine,
    snapshot: policy('snapshot', o.snapshot, DEFAULT_SNAPSHOT_POLICY, { everyEntries: 1, everyBytes: 1, minLogPercent: 0, keepEntries: 0, catchUpEntries: 0, keepBytes: 0, chunkBytes: 1 }),
    log: policy('log', o.log, DEFAULT_LOG_POLICY, { cacheBytes: 0 }),
  };
  return Object.freeze(resolved);
}

/** Heartbeat ticks without progress before a leader probes a follower afresh: `STALL_ELECTION_TIMEOUTS` maximum election timeouts, at least 2 ticks. */
export function stallTicks(o: Pick<ResolvedOptions, 'electionTimeout' | 'heartbeatInterval'>): number {
  return Math.max(2, Math.ceil((STALL_ELECTION_TIMEOUTS * o.electionTimeout.max) / o.heartbeatInterval));
}

/** What the Raft rules (`core/`) read of the resolved options. */
export function protocolOptions(o: ResolvedOptions): ProtocolOptions {
  return {
    maxEntriesPerMessage: o.maxEntriesPerMessage,
    maxBytesPerMessage: o.maxBytesPerMessage,
    maxInflight: o.maxInflight,
    maxInflightBytes: o.maxInflightBytes,
    stallTicks: stallTicks(o),
    quiesce: o.quiesce,
    quiesceAfterTicks: o.quiesceAfterTicks,
    preVote: o.preVote,
    checkQuorum: o.checkQuorum,
    checkQuorumTicks: Math.ceil(o.electionTimeout.max / o.heartbeatInterval),
    electionTimeoutMin: o.electionTimeout.min,
    electionTimeoutMax: o.electionTimeout.max,
    leaseDriftMargin: o.leaseDriftMargin,
    forward: o.forward,
    eagerCommitNotices: o.eagerCommitNotices,
    maxPromotionLag: o.maxPromotionLag,
    maxUncommittedBytes: o.maxUncommittedBytes,
    random: o.random,
    maxApplyingBytes: o.maxApplyingBytes,
    maxApplyingEntries: o.maxApplyingEntries,
    logCacheBytes: o.log.cacheBytes,
  };
}

// ---- Rules between options ----

/**
 * A leader's heartbeat must reach its followers, and (with CheckQuorum) their answers
 * come back, well within the shortest election timeout, or followers campaign against a
 * healthy leader. At most half of `electionTimeout.min` leaves the other half for a round
 * trip and its jitter (etcd suggests a tenth; openraft only asks for less than the minimum).
 */
function checkHeartbeatRoom(heartbeatInterval: number, electionTimeout: TimeoutRange): void {
  if (heartbeatInterval <= electionTimeout.min / 2) return;
  fail(
    'heartbeatInterval / electionTimeout.min',
    `heartbeatInterval (${heartbeatInterval}) must be at most electionTimeout.min / 2 (${electionTimeout.min / 2}), ` +
      'leaving half the shortest election timeout for a heartbeat round trip; otherwise followers campaign against a healthy leader',
  );
}

/**
 * The window in bytes per follower must take at least one full AppendEntries, or the
 * leader could never fill a message (etcd: MaxInflightBytes >= MaxSizePerMsg).
 */
function checkInflightBytes(maxInflightBytes: number, maxBytesPerMessage: number): void {
  if (maxInflightBytes >= maxBytesPerMessage) return;
  fail(
    'maxInflightBytes / maxBytesPerMessage',
    `maxInflightBytes (${maxInflightBytes}) must be at least maxBytesPerMessage (${maxBytesPerMessage}): the bytes in flight to one follower must take at least one full AppendEntries`,
  );
}

/** A lease shortened by at least the whole minimum election timeout would never hold. */
function checkLeaseDriftMargin(margin: number, electionTimeout: TimeoutRange): void {
  if (margin >= 0 && margin < electionTimeout.min) return;
  fail(
    'leaseDriftMargin / electionTimeout.min',
    `leaseDriftMargin (${margin}) must be at least 0 and less than electionTimeout.min (${electionTimeout.min}): a lease lasts electionTimeout.min minus the margin`,
  );
}

/** The initial voters: ids, no duplicate, this node among them unless it joins later. */
function peerList(id: NodeId, value: unknown, join: boolean): readonly NodeId[] {
  if (!Array.isArray(value)) fail('peers', `peers must be an array of node ids, got ${show(value)}`);
  if (value.length > MAX_MEMBERS) fail('peers', `peers lists ${value.length} ids; at most ${MAX_MEMBERS}`);
  const peers = value.map((p, i) => nodeId(`peers[${i}]`, p));
  const duplicates = [...new Set(peers.filter((p, i) => peers.indexOf(p) !== i))];
  // A repeated id is likely a typo for another member: the cluster would count a smaller majority.
  if (duplicates.length > 0) fail('peers', `peers lists ${duplicates.map(show).join(', ')} more than once (peers: ${show(peers)})`);
  if (join) return [];
  // A node missing from its own list is most likely started with the wrong id: it would
  // bootstrap a configuration that no other member shares.
  if (!peers.includes(id)) {
    fail('peers / id', `peers (${show(peers)}) must include this node's id ${show(id)}; a node that is not yet a member starts with join: true`);
  }
  return [...peers].sort();
}

function timeoutRange(value: unknown): TimeoutRange {
  if (value === undefined) return DEFAULT_OPTIONS.electionTimeout;
  if (typeof value !== 'object' || value === null) fail('electionTimeout', `electionTimeout must be { min, max }, got ${show(value)}`);
  const { min, max } = value as Partial<TimeoutRange>;
  const range = { min: positive('electionTimeout.min', min), max: positive('electionTimeout.max', max) };
  if (range.min > range.max) fail('electionTimeout', `electionTimeout.min (${range.min}) must not exceed electionTimeout.max (${range.max})`);
  return Object.freeze(range);
}

// ---- One option ----

function nodeId(name: string, value: unknown): NodeId {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    fail(name, `${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${show(value)}`);
  }
  return value;
}

/** A finite number; `fallback` when absent. */
function number(name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(name, `${name} must be a finite number, got ${show(value)}`);
  return value;
}

/** A time: a finite number above 0 (fractions allowed: the scheduler's unit is ms). */
function positive(name: string, value: unknown, fallback?: number): number {
  const v = number(name, value, fallback);
  if (!(v > 0)) fail(name, `${name} must be greater than 0, got ${v}`);
  return v;
}

/** A count or a size: an integer of at least `min`. */
function count(name: string, value: unknown, fallback: number | undefined, min: number): number {
  const v = number(name, value, fallback);
  if (!Number.isSafeInteger(v) || v < min) fail(name, `${name} must be an integer of at least ${min}, got ${v}`);
  return v;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(name, `${name} must be true or false, got ${show(value)}`);
  return value;
}

function fn<T extends (...args: never[]) => unknown>(name: string, value: unknown, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') fail(name, `${name} must be a function, got ${show(value)}`);
  return value as T;
}

function scheduler(name: string, value: unknown, fallback: SchedulerLike): SchedulerLike {
  if (value === undefined) return fallback;
  if (!hasMethods(value, ['now', 'schedule'])) fail(name, `${name} must be a SchedulerLike (now() and schedule()), got ${show(value)}`);
  return value as SchedulerLike;
}

function transportOf(value: unknown): Transport {
  const t = value as Partial<Transport> | undefined;
  if (!hasMethods(value, ['send', 'close']) || !hasMethods(t?.inbound$, ['subscribe']) || !hasMethods(t?.errors$, ['subscribe'])) {
    fail('transport', `transport must be a Transport (inbound$, errors$, send(), close()), got ${show(value)}`);
  }
  return value as Transport;
}

function storageOf(value: unknown): Storage {
  const methods = ['load', 'saveHardState', 'append', 'readEntries', 'createSnapshot', 'readSnapshot', 'close'];
  if (!hasMethods(value, methods)) fail('storage', `storage must be a Storage (${methods.join('(), ')}()), got ${show(value)}`);
  return value as Storage;
}

/**
 * The application's hooks: `apply`, and `snapshot` with `restore`. Either pair half alone
 * is a mistake: a snapshot nobody can restore, or a restore with nothing to restore from.
 */
function ticks(value: unknown, name = 'heartbeatTicks'): Observable<unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof (value as Partial<Observable<unknown>> | null)?.subscribe !== 'function') fail(name, `${name} must be an Observable, got ${show(value)}`);
  return value as Observable<unknown>;
}

function stateMachineOf(value: unknown): StateMachine | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) fail('stateMachine', `stateMachine must be an object with apply() and/or snapshot() and restore(), got ${show(value)}`);
  const hooks = value as Record<string, unknown>;
  for (const hook of ['apply', 'snapshot', 'restore']) {
    if (hooks[hook] !== undefined && typeof hooks[hook] !== 'function') fail(`stateMachine.${hook}`, `stateMachine.${hook} must be a function, got ${show(hooks[hook])}`);
  }
  if ((hooks.snapshot === undefined) !== (hooks.restore === undefined)) {
    fail('stateMachine', 'stateMachine.snapshot and stateMachine.restore go together: a snapshot must be restorable, and restore needs snapshots');
  }
  if (hooks.apply === undefined && hooks.snapshot === undefined) fail('stateMachine', `stateMachine must have apply() and/or snapshot() and restore(), got ${show(value)}`);
  return value as StateMachine;
}

function addressMap(value: unknown): Readonly<Record<NodeId, string>> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('addresses', `addresses must map node ids to addresses, got ${show(value)}`);
  for (const [peer, address] of Object.entries(value)) {
    nodeId(`addresses key ${show(peer)}`, peer);
    if (typeof address !== 'string' || address.length === 0) fail(`addresses[${show(peer)}]`, `the address of ${show(peer)} must be a non-empty string, got ${show(address)}`);
  }
  return Object.freeze({ ...(value as Record<NodeId, string>) });
}

/**
 * A partial policy over its defaults: only known fields, each an integer of at least
 * its minimum (`mins` lists every field).
 */
function policy<P extends object>(name: string, value: unknown, defaults: P, mins: Record<keyof P, number>): P {
  const given = (value ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null) fail(name, `${name} must be an object, got ${show(value)}`);
  const fields = Object.keys(mins);
  const unknown = Object.keys(given).filter((k) => !fields.includes(k));
  if (unknown.length > 0) fail(name, `unknown ${name} field${unknown.length > 1 ? 's' : ''} ${unknown.map(show).join(', ')} (known: ${fields.join(', ')})`);
  // Built field by field in one order, not by spreading the defaults: every node's policy
  // then shares one hidden class (a spread copy, frozen, got one of its own per node).
  const resolved: Record<string, number> = {};
  for (const field of fields) resolved[field] = count(`${name}.${field}`, given[field], (defaults as Record<string, number>)[field], mins[field as keyof P]);
  return Object.freeze(resolved) as P;
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  return methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/** A value as it appears in a message: JSON where possible, cut short. */
function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number') return String(value); // NaN and Infinity as themselves, not JSON's null
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) {
    return `a ${value.constructor?.name ?? 'object'}`;
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(option: string, reason: string): never {
  throw new InvalidOptionsError(option, reason);
}

/**
 * The configuration a node starts from when its log holds none: `peers` as voters, with
 * their `addresses`.
 *
 * @example
 * bootstrapConfig(resolveOptions({ id: 'n1', peers: ['n1', 'n2', 'n3'], transport, storage })); // { voters: ['n1', 'n2', 'n3'], learners: [], addresses: {} }
 */
export function bootstrapConfig(o: ResolvedOptions): ClusterConfig {
  return { voters: o.peers, learners: [], addresses: o.addresses };
}
