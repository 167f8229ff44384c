import { ClusterConfig, encodeConfig } from '../messages/config';
import { EntryKind, Entry } from '../messages/entry';
import type { NodeId } from '../messages/types';
import type { TimeoutRange } from '../api';

/** A configuration as a test writes it: voters, and optionally learners and the old voters of a joint configuration. */
export interface ConfigSpec {
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Set for a joint configuration (C_old,new): decisions need a majority of both. */
  readonly oldVoters?: readonly NodeId[];
  readonly addresses?: Readonly<Record<NodeId, string>>;
}

/**
 * One entry of a seeded log: a number is the term of a user command (its data is the
 * string `"<index>"`); an object gives a configuration entry, a command with given
 * data, or the no-op a new leader appends.
 */
export type LogEntrySpec =
  | number
  | { readonly term: number; readonly config: ConfigSpec }
  | { readonly term: number; readonly data: string | Uint8Array }
  | { readonly term: number; readonly noop: true };

/** What a node of a `TestCluster` holds on disk when it first starts, and how it times out. */
export interface NodeSeed {
  /** The current term (hard state; default 0). */
  readonly term?: number;
  /** The vote cast in `term` (default none). */
  readonly votedFor?: NodeId | null;
  /** The log from index 1: terms by index (`[1, 1, 4]`) or richer entries. */
  readonly log?: readonly LogEntrySpec[];
  /** This node's election timer range (the protocol's windows keep `nodeOptions.electionTimeout`). */
  readonly electionTimeout?: TimeoutRange;
}

/**
 * The configuration entry's payload, as it is stored in a log: seeds a node as a learner
 * or into a joint configuration, or builds an entry a scripted peer sends.
 *
 * @example
 * const data = encodeConfigSpec({ voters: ['n1', 'n2'], learners: ['n3'] });
 * const entry = { index: 1, term: 1, kind: EntryKind.Config, data };
 */
export function encodeConfigSpec(spec: ConfigSpec): Uint8Array {
  const config: ClusterConfig = {
    voters: [...spec.voters],
    learners: [...(spec.learners ?? [])],
    ...(spec.oldVoters ? { oldVoters: [...spec.oldVoters] } : {}),
    addresses: { ...spec.addresses },
  };
  return encodeConfig(config);
}

/**
 * The entries a seeded log spells out, at indexes 1, 2, ...
 *
 * @example
 * seedEntries([1, 1, { term: 2, config: { voters: ['n1', 'n2'], learners: ['n3'] } }]);
 */
export function seedEntries(log: readonly LogEntrySpec[]): Entry[] {
  const entries = log.map((spec, i): Entry => {
    const index = i + 1;
    if (typeof spec === 'number') return command(index, spec, String(index));
    if (!(spec.term > 0)) throw new RangeError(`seeded entry ${index}: term must be > 0`);
    if ('config' in spec) return { index, term: spec.term, kind: EntryKind.Config, data: encodeConfigSpec(spec.config) };
    if ('noop' in spec) return { index, term: spec.term, kind: EntryKind.Noop, data: new Uint8Array(0) };
    return command(index, spec.term, spec.data);
  });
  entries.forEach((e, i) => {
    if (i > 0 && e.term < entries[i - 1].term) throw new RangeError(`seeded entry ${e.index}: terms in a log never decrease (${entries[i - 1].term} then ${e.term})`);
  });
  return entries;
}

function command(index: number, term: number, data: string | Uint8Array): Entry {
  if (!(Number.isInteger(term) && term > 0)) throw new RangeError(`seeded entry ${index}: term must be a positive integer, not ${term}`);
  return { index, term, kind: EntryKind.Command, data: typeof data === 'string' ? new TextEncoder().encode(data) : data };
}
