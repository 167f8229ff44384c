import { RaftError } from '../messages/errors';

/**
 * A host received a message for a Raft group it does not run (never created here, not
 * yet created, or removed): the message is dropped and this is reported on the host's
 * `errors$`. Expected for a moment while a group is created or removed on several hosts.
 *
 * @example
 * host.errors$.pipe(filter((e) => e instanceof UnknownGroupError)).subscribe((e) => log.debug(e.message));
 */
export class UnknownGroupError extends RaftError {
  constructor(readonly groupId: string, readonly from: string) {
    super(`message from ${from} for group ${groupId}, which this host does not run; dropped`);
  }
}

/**
 * `createGroup` was asked for a group the host already runs (or is creating or removing).
 *
 * @example
 * await host.createGroup('g1', { peers }).catch((e) => e instanceof GroupExistsError && host.group('g1'));
 */
export class GroupExistsError extends RaftError {
  constructor(readonly groupId: string, readonly state: 'running' | 'creating' | 'removing') {
    super(`group ${groupId} is ${state} on this host`);
  }
}

/**
 * `createGroup` would take the host past its `maxGroups`.
 *
 * @example
 * await host.createGroup('g9', { peers }).catch((e) => e instanceof TooManyGroupsError && shedLoad());
 */
export class TooManyGroupsError extends RaftError {
  constructor(readonly limit: number) {
    super(`this host runs its limit of ${limit} groups (maxGroups)`);
  }
}

/**
 * The host was stopped: it creates no more groups.
 *
 * @example
 * await host.stop();
 * await host.createGroup('g1', { peers }); // rejects with HostStoppedError
 */
export class HostStoppedError extends RaftError {
  constructor(readonly hostId: string) {
    super(`host ${hostId} is stopped`);
  }
}

/**
 * Host liveness (`HostLiveness`) watches at most a bounded number of peer hosts; a ping
 * from one more is ignored (that host's quiet groups here are then woken only by their
 * own messages). Reported once on the host's `errors$`.
 *
 * @example
 * host.errors$.pipe(filter((e) => e instanceof TooManyPeerHostsError)).subscribe((e) => log.warn(e.message));
 */
export class TooManyPeerHostsError extends RaftError {
  constructor(readonly limit: number, readonly host: string) {
    super(`host liveness watches its limit of ${limit} peer hosts; ${host} and any further are not watched`);
  }
}
