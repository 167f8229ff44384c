import { candidate, precandidate } from './candidate';
import type { RolePipelines } from './context';
import { follower } from './follower';
import { leader } from './leader';

export type { EntryReadRequest, FollowerRequest, InboundMessage, LeaderSend, RoleContext, RolePipeline, RolePipelines, SnapshotChunkRequest, SnapshotTransferRequest } from './context';

/** The pipeline of each role, selected with `switchMap` over the node's role. */
export const rolePipelines: RolePipelines = { follower, precandidate, candidate, leader };
