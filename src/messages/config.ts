import type { Entry } from './entry';
import { EntryKind } from './entry';
import { InvalidMessageError } from './errors';
import type { NodeId } from './nodeId';

/**
 * A cluster configuration (Raft dissertation ch. 4). In a joint configuration
 * (C_old,new) `oldVoters` is set and every decision needs a majority of both `voters`
 * and `oldVoters`. Learners receive the log but never vote nor count toward a majority.
 * `addresses` tell transports how to reach members added while running.
 *
 * @example
 * const joint: ClusterConfig = { voters: ['n1', 'n4', 'n5'], oldVoters: ['n1', 'n2', 'n3'], learners: [], addresses: { n4: '10.0.0.4:7001', n5: '10.0.0.5:7001' } };
 */
export interface ClusterConfig {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly oldVoters?: readonly NodeId[];
  readonly addresses: Readonly<Record<NodeId, string>>;
}

/** A configuration and the log position of the entry that holds it (0: the bootstrap configuration). */
export interface ConfigAt {
  readonly index: number;
  readonly term: number;
  readonly config: ClusterConfig;
}

/** Every id the configuration names: voters (old and new) and learners. */
export function members(config: ClusterConfig): NodeId[] {
  return [...new Set([...config.voters, ...(config.oldVoters ?? []), ...config.learners])];
}

/** Whether `id` may vote in the configuration (in either half when joint). */
export function isVoter(config: ClusterConfig, id: NodeId): boolean {
  return config.voters.includes(id) || (config.oldVoters?.includes(id) ?? false);
}

/**
 * The bytes of a configuration entry (`EntryKind.Config`): UTF-8 JSON.
 *
 * @example
 * decodeConfig(encodeConfig({ voters: ['n1'], learners: [], addresses: {} })).voters; // ['n1']
 */
export function encodeConfig(config: ClusterConfig): Uint8Array {
  return Buffer.from(JSON.stringify(config), 'utf8');
}

/** A configuration entry's bytes, checked; throws `InvalidMessageError` saying what is wrong. */
export function decodeConfig(data: Uint8Array): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw new InvalidMessageError('configuration entry is not JSON');
  }
  const c = raw as Record<string, unknown>;
  const ids = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);
  if (typeof raw !== 'object' || raw === null || !ids(c.voters) || !ids(c.learners)) {
    throw new InvalidMessageError('configuration entry has no voters/learners lists');
  }
  if (c.oldVoters !== undefined && !ids(c.oldVoters)) throw new InvalidMessageError('configuration oldVoters is not a list');
  const addresses = (c.addresses ?? {}) as Record<string, unknown>;
  if (typeof addresses !== 'object' || Object.values(addresses).some((a) => typeof a !== 'string')) {
    throw new InvalidMessageError('configuration addresses must map ids to strings');
  }
  return raw as ClusterConfig;
}

/**
 * The configurations a log holds, latest last, starting from `bootstrap` (index 0). A
 * node uses the latest one as soon as it is in its log, committed or not (§4.1).
 */
export function configsOf(bootstrap: ConfigAt, entries: Iterable<Entry>): ConfigAt[] {
  const out = [bootstrap];
  for (const e of entries) if (e.kind === EntryKind.Config) out.push({ index: e.index, term: e.term, config: decodeConfig(e.data) });
  return out;
}
