/**
 * CheckQuorum (§6.2) across a stall of the leader's own event loop, rule by rule: a
 * follower counts as silent only after `electionTimeoutMin` of time *and*
 * `checkQuorumTicks` heartbeat ticks without an answer.
 */
import { step } from '../../src/core/step';
import { leaderHeardAt1000, makeState, msg, ok } from './helpers';

const tick = (s: ReturnType<typeof makeState>, at: number) => {
  s.now = at;
  step(s, { kind: 'heartbeatTick', epoch: s.epoch });
};

describe('CheckQuorum counts ticks as well as time', () => {
  test('the first tick after a 400 ms stall keeps the leader: its followers’ answers may be waiting unread', () => {
    const s = leaderHeardAt1000();
    tick(s, 1400); // the heartbeat ticks at 1050..1350 never ran: the event loop was busy
    expect(s.role.name).toBe('leader');
  });

  test('the answers read after the stall renew the leader’s contact: with one follower answering each heartbeat it keeps leading', () => {
    const s = leaderHeardAt1000();
    tick(s, 1400);
    for (const at of [1450, 1500, 1550, 1600]) {
      msg(s, 'n2', ok(s.term, 1));
      tick(s, at);
    }
    expect(s.role.name).toBe('leader');
  });

  test('a leader whose followers stay silent for the minimum election timeout and three ticks steps down', () => {
    const s = leaderHeardAt1000();
    tick(s, 1400);
    tick(s, 1450);
    expect(s.role.name).toBe('leader');
    tick(s, 1500); // third tick without an answer
    expect(s.role.name).toBe('follower');
    expect(s.leaderId).toBeNull();
  });

  test('without a stall, time and ticks agree: a partitioned leader steps down at the tick the minimum election timeout runs out', () => {
    const s = leaderHeardAt1000();
    tick(s, 1050);
    tick(s, 1100);
    expect(s.role.name).toBe('leader');
    tick(s, 1150); // 150 ms = electionTimeoutMin, and the third tick
    expect(s.role.name).toBe('follower');
  });

  test('many ticks in a short time do not depose either: the time must be up too', () => {
    const s = leaderHeardAt1000();
    for (let at = 1001; at <= 1010; at++) tick(s, at);
    expect(s.role.name).toBe('leader');
  });
});
