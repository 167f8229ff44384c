import { filter, Observable } from 'rxjs';
import type { InboundMessage, LeaderSend, RoleContext } from '../../src/states';
import { isReplicationResponse } from '../../src/states/responses';

/**
 * A role context's routed streams over two plain streams, for pipeline tests: each
 * follower's sends and replication answers by peer, and vote answers for the candidate,
 * as `RoleSwitch` routes them (its own routing is tested in roleSwitch.test.ts).
 */
export function routeByPeer(sends$: Observable<LeaderSend>, responses$: Observable<InboundMessage>): Pick<RoleContext, 'sendsTo' | 'responsesFrom' | 'voteResponses$'> {
  return {
    sendsTo: (peer) => sends$.pipe(filter((m) => m.to === peer)),
    responsesFrom: (peer) => responses$.pipe(filter((e) => e.from === peer && isReplicationResponse(e.message.type))),
    voteResponses$: responses$.pipe(filter((e) => !isReplicationResponse(e.message.type))),
  };
}
