/** The KV server's log: JSON lines for collectors, readable lines on a terminal, reasons for refused peers. */
import { PassThrough } from 'node:stream';
import { AuthenticationError, FrameTooLargeError, HandshakeError, InvalidFrameError, PeerConnectionError } from '../../src';
import { rejectionReason } from '../../examples/kv/events';
import { createLogger, prettyLine } from '../../examples/kv/log';

function capture(isTTY: boolean, format: 'auto' | 'json' | 'pretty') {
  const out = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const log = createLogger({ id: 'n1', level: 'info', format, destination: out });
  return { log, text: () => text };
}

describe('kv-server log', () => {
  it('writes one JSON object per line when not on a terminal, with level, time and node', () => {
    const { log, text } = capture(false, 'auto');
    log.info({ leader: 'n2', term: 3 }, 'leader changed');
    log.debug('not at info level');
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, node: 'n1', leader: 'n2', term: 3, msg: 'leader changed', time: expect.any(Number) });
  });

  it('writes readable lines on a terminal', () => {
    const { log, text } = capture(true, 'auto');
    log.warn({ address: '127.0.0.1:5555', reason: 'wrong secret' }, 'rejected Raft connection');
    expect(text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  \[n1\] rejected Raft connection address=127\.0\.0\.1:5555 reason="wrong secret"\n$/);
  });

  it('formats a line without the fields every line has', () => {
    expect(prettyLine('{"level":30,"time":0,"pid":1,"hostname":"h","node":"n1","msg":"leader changed","leader":"n2"}')).toBe('00:00:00.000 INFO  [n1] leader changed leader=n2');
  });
});

describe('rejectionReason', () => {
  it.each([
    [new AuthenticationError('wrong proof of the cluster secret', '127.0.0.1:1', 'n9'), 'wrong secret'],
    [new HandshakeError('not a configured peer', '127.0.0.1:1', 'n9'), 'unknown node (not a configured peer)'],
    [new HandshakeError('cluster "other"', '127.0.0.1:1', 'n9'), 'wrong cluster id (cluster "other")'],
    [new FrameTooLargeError(1 << 30, 1 << 24, '127.0.0.1:1'), `bad frame: ${1 << 30} bytes, limit ${1 << 24}`],
    [new InvalidFrameError('unknown message type 99', '127.0.0.1:1', 'n2'), 'bad frame: unknown message type 99 (from "n2" at 127.0.0.1:1)'],
  ])('%s → %s', (error, reason) => {
    expect(rejectionReason(error)).toBe(reason);
  });

  it('is null for a lost connection: not a refusal', () => {
    expect(rejectionReason(new PeerConnectionError('ECONNRESET', '127.0.0.1:1', 'n2'))).toBeNull();
  });
});
