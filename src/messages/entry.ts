/**
 * What an entry holds: a user command, the leader's no-op, or a configuration.
 *
 * @example
 * const commands = entries.filter((e) => e.kind === EntryKind.Command || e.kind === EntryKind.SessionCommand);
 */
export const EntryKind = {
  /** A user command, emitted on `committed$`. */
  Command: 0,
  /** The empty entry a new leader appends to commit entries of earlier terms (§5.4.2). */
  Noop: 1,
  /** A cluster configuration. */
  Config: 2,
  /** A user command within a client session (exactly-once); emitted on `committed$`. */
  SessionCommand: 3,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export function isEntryKind(kind: unknown): kind is EntryKind {
  return kind === 0 || kind === 1 || kind === 2 || kind === 3;
}

/**
 * One log entry. Immutable once created: the same object may sit in several
 * nodes' logs (in-memory transport) and in messages in flight.
 *
 * An entry received over TCP makes its `data` view when it is first read (a getter, not
 * an own property: see `BlockEntry`), so copy an entry as `{ index, term, kind, data }`,
 * not with a spread.
 *
 * @example
 * const copy: Entry = { index: e.index, term: e.term, kind: e.kind, data: e.data }; // not { ...e }: data may be a getter
 */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** Opaque bytes; rxraft never looks inside a command. */
  readonly data: Uint8Array;
}

/**
 * A committed user command, as `committed$` emits it.
 *
 * @example
 * node.committed$.subscribe((e) => console.log(e.index, e.term, new TextDecoder().decode(e.data), e.session));
 * // 2 1 x=1 undefined
 */
export interface CommittedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
  /** The client session it was proposed in, if any (applied once per clientId and seq). */
  readonly session?: { readonly clientId: string; readonly seq: number };
}

export const EMPTY_DATA: Uint8Array = new Uint8Array(0);
