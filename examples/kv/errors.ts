import {
  LeaderOverloadedError,
  NodeStoppedError,
  NotLeaderError,
  PayloadTooLargeError,
  ProposalDroppedError,
  RaftError,
  RequestTimeoutError,
  StorageFailedError,
} from '../../src';

/** An HTTP answer to a failed request: status, a message for the client, extra headers. */
export interface HttpFailure {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request the server refuses before it reaches Raft (bad key, bad JSON, ...). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * Maps an error to an HTTP answer:
 *
 * | error | status |
 * |---|---|
 * | `HttpError` (bad request) | its own 4xx |
 * | `NotLeaderError` | 503, `Retry-After`, leader hint (`X-Raft-Leader`, `leader` in the body) |
 * | `ProposalDroppedError`, `RequestTimeoutError` | 504: the outcome is unknown, the write may still commit |
 * | `PayloadTooLargeError` | 413 |
 * | `LeaderOverloadedError` | 503, `Retry-After`: nothing was written, try again shortly |
 * | `NodeStoppedError`, `StorageFailedError` | 503 |
 * | any other `RaftError` | 409 (e.g. a membership change that is not allowed now) |
 * | `RangeError`, `TypeError` | 400 |
 * | anything else | 500 |
 *
 * `leaderHttp` turns a leader id into its HTTP address when known.
 */
export function httpFailure(error: unknown, leaderHttp: (id: string) => string | undefined = () => undefined): HttpFailure {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : 'Error';
  if (error instanceof HttpError) return { status: error.status, body: { error: message }, headers: error.headers };
  if (error instanceof NotLeaderError) {
    const headers: Record<string, string> = { 'Retry-After': '1' };
    const body: Record<string, unknown> = { error: message, type: name, leader: error.leaderId, term: error.term };
    if (error.leaderId) {
      headers['X-Raft-Leader'] = error.leaderId;
      const http = leaderHttp(error.leaderId);
      if (http) {
        headers['X-Raft-Leader-Http'] = http;
        body.leaderHttp = http;
      }
    }
    return { status: 503, body, headers };
  }
  if (error instanceof ProposalDroppedError || error instanceof RequestTimeoutError) {
    return { status: 504, body: { error: message, type: name, outcome: 'unknown' }, headers: { 'Retry-After': '1' } };
  }
  if (error instanceof PayloadTooLargeError) return { status: 413, body: { error: message, type: name } };
  if (error instanceof LeaderOverloadedError) return { status: 503, body: { error: message, type: name }, headers: { 'Retry-After': '1' } };
  if (error instanceof NodeStoppedError || error instanceof StorageFailedError) {
    return { status: 503, body: { error: message, type: name }, headers: { 'Retry-After': '5' } };
  }
  if (error instanceof RaftError) return { status: 409, body: { error: message, type: name } };
  if (error instanceof RangeError || error instanceof TypeError) return { status: 400, body: { error: message } };
  return { status: 500, body: { error: 'internal error', type: name } };
}
