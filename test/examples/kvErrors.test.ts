/** How the KV server answers rxraft's errors over HTTP (examples/kv/errors.ts). */
import { httpFailure } from '../../examples/kv/errors';
import { LeaderOverloadedError, NotLeaderError, ProposalDroppedError } from '../../src';

describe('httpFailure', () => {
  test('an overloaded leader is a 503 with Retry-After: nothing was written, the client may retry', () => {
    const f = httpFailure(new LeaderOverloadedError('n1', 1024));
    expect(f).toMatchObject({ status: 503, headers: { 'Retry-After': '1' }, body: { type: 'LeaderOverloadedError' } });
  });

  test('a follower without a usable leader answers 503 with the leader hint; an unknown outcome is a 504', () => {
    expect(httpFailure(new NotLeaderError('n2', 3), () => '127.0.0.1:8002')).toMatchObject({
      status: 503,
      headers: { 'X-Raft-Leader': 'n2', 'X-Raft-Leader-Http': '127.0.0.1:8002' },
    });
    expect(httpFailure(new ProposalDroppedError(7, 3, 'lost leadership'))).toMatchObject({ status: 504, body: { outcome: 'unknown' } });
  });
});
