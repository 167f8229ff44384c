/**
 * The errors the message layer raises: the base class of every rxraft error and the
 * validation error of decoders. Re-exported from `src/errors.ts`, the public list.
 *
 * @example
 * try { decodeEntries(bytes); }
 * catch (e) { if (e instanceof InvalidMessageError) report(e.reason); }
 */

/**
 * Base class of every rxraft error, so callers can tell ours from theirs. `name` is the
 * class's name.
 *
 * @example
 * node.propose(cmd).catch((e) => log.warn(e instanceof RaftError ? `${e.name}: ${e.message}` : e));
 */
export class RaftError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A message from the network failed validation (`reason` says how). Transports report it
 * on `errors$` and drop the message.
 *
 * @example
 * validateMessage({ type: 'AppendEntries', term: -1 }); // throws InvalidMessageError
 */
export class InvalidMessageError extends RaftError {
  constructor(readonly reason: string) {
    super(`invalid message: ${reason}`);
  }
}
