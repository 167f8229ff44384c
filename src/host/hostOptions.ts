import type { RaftNodeOptions } from '../api';
import { InvalidOptionsError } from '../errors';
import type { NodeId } from '../messages/types';
import type { HostTransport } from '../transports/hostTransport';
import type { GroupStorage, GroupStorageFactory } from './groupStorage';

/**
 * A group's options: those of `createRaftNode` but the ones the host supplies (`id`, `transport`, `storage`). `peers` are host ids.
 *
 * @example
 * await host.createGroup('kv-7', { peers: ['h1', 'h2', 'h3'], stateMachine: { apply: (e) => stores[7].apply(e.data) } });
 */
export type GroupOptions = Omit<RaftNodeOptions, 'id' | 'transport' | 'storage'>;

/**
 * Options of `createRaftHost`: a host id, its transport, and where its groups keep their
 * logs (`dataDir`, or `storage`).
 *
 * @example
 * createRaftHost({ id: 'h1', transport, dataDir: '/var/lib/shards', sharedLog: true, groupDefaults: { electionTimeout: { min: 500, max: 1000 } } });
 */
export interface RaftHostOptions {
  /** This host's id: every group on it is a member under this id. */
  readonly id: NodeId;
  /** The transport every group on this host shares (`tcpHostTransport`, or `MemoryHub.connectHost` in tests). The host closes it when it stops. */
  readonly transport: HostTransport;
  /** Each group's `FileStorage` lives in `<dataDir>/groups/<groupId>/` (or, with `sharedLog`, its snapshots do). Exactly one of `dataDir` and `storage`. */
  readonly dataDir?: string;
  /**
   * With `dataDir`: every group writes into one write-ahead log of the host in
   * `<dataDir>/wal/` (one write and one fsync per turn for all groups that wrote in it;
   * see `SharedLog`), keeping only its snapshots in `<dataDir>/groups/<groupId>/`.
   * Default false: one `FileStorage` per group. A data directory is one or the other.
   */
  readonly sharedLog?: boolean;
  /**
   * Or: a group's storage, made by you (removing a group then frees nothing); or a
   * `GroupStorage` (e.g. `groupStorage({ dataDir, sharedLog: true })` with each group's
   * storage wrapped), which the host opens, removes and closes groups' storage through.
   */
  readonly storage?: GroupStorageFactory | GroupStorage;
  /** Options every group starts with; a group's own options override them (e.g. `scheduler`, `electionTimeout`). */
  readonly groupDefaults?: Partial<GroupOptions>;
  /** Most groups at once on this host (default 10,000); past it `createGroup` refuses with `TooManyGroupsError`. */
  readonly maxGroups?: number;
  /**
   * How long `stop()` waits, once its groups have stopped (each within its own
   * `stopTimeout`: set it in `groupDefaults`), for the groups' storage (removals under
   * way, the shared log) and the transport to close (default 5,000 ms); past it `stop()`
   * rejects with `StopTimeoutError`.
   */
  readonly stopTimeout?: number;
}

/**
 * `createRaftHost`'s options, checked: a host id, a host transport, exactly one of
 * `dataDir` and `storage`, `maxGroups` a positive integer and `stopTimeout` a positive
 * time. Throws `InvalidOptionsError`.
 *
 * @example
 * checkHostOptions({ id: 'h1', transport, dataDir: '/var/lib/shards' }); // returns them
 */
export function checkHostOptions(options: RaftHostOptions): RaftHostOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'createRaftHost takes an options object');
  const { id, transport, dataDir, storage, maxGroups } = options;
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new InvalidOptionsError('id', 'id must be a non-empty string of at most 256 characters');
  if (typeof transport?.send !== 'function' || typeof transport.inbound$?.subscribe !== 'function') {
    throw new InvalidOptionsError('transport', 'transport must be a HostTransport (tcpHostTransport, or MemoryHub.connectHost)');
  }
  if ((dataDir === undefined) === (storage === undefined)) throw new InvalidOptionsError('dataDir / storage', 'give exactly one of dataDir and storage');
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir.length === 0)) throw new InvalidOptionsError('dataDir', 'dataDir must be a directory path');
  if (storage !== undefined && typeof storage !== 'function' && !(typeof storage === 'object' && storage !== null && typeof storage.open === 'function' && typeof storage.remove === 'function')) {
    throw new InvalidOptionsError('storage', 'storage must be a function (groupId) => Storage, or a GroupStorage (open, remove)');
  }
  if (options.sharedLog !== undefined && typeof options.sharedLog !== 'boolean') throw new InvalidOptionsError('sharedLog', 'sharedLog must be a boolean');
  if (options.sharedLog && dataDir === undefined) throw new InvalidOptionsError('sharedLog', 'sharedLog needs dataDir');
  if (maxGroups !== undefined && !(Number.isSafeInteger(maxGroups) && maxGroups > 0)) {
    throw new InvalidOptionsError('maxGroups', `maxGroups must be a positive integer, got ${String(maxGroups)}`);
  }
  if (options.stopTimeout !== undefined && !(Number.isFinite(options.stopTimeout) && options.stopTimeout > 0)) {
    throw new InvalidOptionsError('stopTimeout', `stopTimeout must be a finite number greater than 0, got ${String(options.stopTimeout)}`);
  }
  return options;
}
