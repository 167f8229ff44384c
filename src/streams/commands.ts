import { PayloadTooLargeError } from '../errors';
import { EntryKind } from '../messages/entry';
import type { SessionInfo } from '../api';
import { encodeSessionCommand } from './sessions';

/**
 * The log entry a `propose(data, options)` call asks for: a plain command, or a session
 * command carrying the client's id and sequence number. Throws a clear error for bad
 * input (not bytes, a bad session, more than `maxBytes`), before anything is queued.
 *
 * @example
 * toCommand(bytes, { session: { clientId: 'c1', seq: 7 } }, 1 << 20); // { kind: EntryKind.SessionCommand, data }
 */
export function toCommand(data: unknown, options: { readonly session?: SessionInfo }, maxBytes: number): { kind: EntryKind; data: Uint8Array } {
  if (!(data instanceof Uint8Array)) throw new TypeError('propose(data): data must be a Uint8Array');
  const command = options.session ? { kind: EntryKind.SessionCommand, data: encodeSessionCommand(options.session, data) } : { kind: EntryKind.Command, data };
  if (command.data.byteLength > maxBytes) throw new PayloadTooLargeError(command.data.byteLength, maxBytes);
  return command;
}
