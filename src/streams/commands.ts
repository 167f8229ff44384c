import { PayloadTooLargeError } from '../errors';
import { EntryKind } from '../messages/entry';
import type { SessionInfo } from '../api';
import { encodeSessionCommand } from './sessions';

/**
 * The bytes of the log entry a `propose(data, options)` call asks for: the command
 * itself, or a session command carrying the client's id and sequence number (its kind:
 * `commandKind`). Throws a clear error for bad input (not bytes, a bad session, more than
 * `maxBytes`), before anything is queued. No object per call: this runs for every proposal.
 *
 * @example
 * toCommand(bytes, { session: { clientId: 'c1', seq: 7 } }, 1 << 20); // the session command's bytes
 * toCommand(bytes, undefined, 1 << 20) === bytes; // true
 */
export function toCommand(data: unknown, options: { readonly session?: SessionInfo } | undefined, maxBytes: number): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('propose(data): data must be a Uint8Array');
  const command = options?.session ? encodeSessionCommand(options.session, data) : data;
  if (command.byteLength > maxBytes) throw new PayloadTooLargeError(command.byteLength, maxBytes);
  return command;
}

/**
 * The kind of the entry `toCommand` lays out for these options.
 *
 * @example
 * commandKind({ session: { clientId: 'c1', seq: 7 } }); // EntryKind.SessionCommand
 */
export function commandKind(options: { readonly session?: SessionInfo } | undefined): EntryKind {
  return options?.session ? EntryKind.SessionCommand : EntryKind.Command;
}
