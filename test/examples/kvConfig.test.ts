/** The KV server's command line: flags, RXRAFT_* environment variables, the secret. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseCommandLine, usageText } from '../../examples/kv/cli';
import { ConfigError, defaultMaxConnections, parseConfig, readCommandLine } from '../../examples/kv/config';

const base = ['--id', 'n1', '--raft', '127.0.0.1:7001', '--http', '127.0.0.1:8001'];
let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-kv-config-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('kv-server configuration', () => {
  it('reads flags, peers and the secret from the environment', () => {
    const c = parseConfig([...base, '--peers', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002', '--data=/tmp/x'], { RXRAFT_SECRET: 's' });
    expect(c).toMatchObject({ id: 'n1', raft: { host: '127.0.0.1', port: 7001 }, peers: { n2: '127.0.0.1:7002' }, secret: 's', dataDir: '/tmp/x', join: false });
    expect(c.electionTimeout).toEqual({ min: 500, max: 1000 });
    expect(c.heartbeatInterval).toBe(100);
  });

  it('snapshots by default (every 10,000 entries), so the log a server holds stays bounded; --snapshot-every changes it', () => {
    expect(parseConfig(base, { RXRAFT_SECRET: 's' }).snapshotEvery).toBe(10_000);
    expect(parseConfig([...base, '--snapshot-every', '500'], { RXRAFT_SECRET: 's' }).snapshotEvery).toBe(500);
    expect(() => parseConfig([...base, '--snapshot-every', '0'], { RXRAFT_SECRET: 's' })).toThrow(/snapshot-every/);
  });

  it('writes the log through the thread pool by default; --log-writes event-loop or followers writes it on the event loop', () => {
    expect(parseConfig(base, { RXRAFT_SECRET: 's' }).logWrites).toBe('thread-pool');
    expect(parseConfig([...base, '--log-writes', 'event-loop'], { RXRAFT_SECRET: 's' }).logWrites).toBe('event-loop');
    expect(parseConfig([...base, '--log-writes', 'followers'], { RXRAFT_SECRET: 's' }).logWrites).toBe('followers');
    expect(() => parseConfig([...base, '--log-writes', 'sync'], { RXRAFT_SECRET: 's' })).toThrow(ConfigError);
  });

  it('takes every flag from an RXRAFT_* variable, and a flag wins over the variable', () => {
    const env = {
      RXRAFT_SECRET: 's',
      RXRAFT_ID: 'n7',
      RXRAFT_RAFT: '127.0.0.1:7007',
      RXRAFT_HTTP: '127.0.0.1:8007',
      RXRAFT_JOIN: 'true',
      RXRAFT_HTTP_MAX_CONNECTIONS: '50',
      RXRAFT_ELECTION_TIMEOUT: '500-900',
      RXRAFT_LOG_LEVEL: 'debug',
    };
    const fromEnv = parseConfig([], env);
    expect(fromEnv).toMatchObject({ id: 'n7', raft: { port: 7007 }, http: { port: 8007 }, join: true, electionTimeout: { min: 500, max: 900 }, logLevel: 'debug' });
    expect(fromEnv.httpLimits.maxConnections).toBe(50);
    const flagWins = parseConfig(['--id', 'n8', '--http-max-connections', '60'], env);
    expect([flagWins.id, flagWins.httpLimits.maxConnections]).toEqual(['n8', 60]);
    expect(() => parseConfig([], { ...env, RXRAFT_JOIN: 'maybe' })).toThrow(/RXRAFT_JOIN: expected true or false/);
  });

  it('reads the secret from --secret-file (one trailing newline dropped) and never from --secret', () => {
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 'from a file\n', { mode: 0o600 });
    expect(parseConfig([...base, '--secret-file', file], {}).secret).toBe('from a file');
    expect(parseConfig([...base], { RXRAFT_SECRET_FILE: file }).secret).toBe('from a file');
    expect(() => parseConfig([...base, '--secret', 's'], { RXRAFT_SECRET: 's' })).toThrow(/visible to every user in ps/);
    expect(() => parseConfig([...base, '--secret=s'], {})).toThrow(/RXRAFT_SECRET or pass --secret-file/);
    expect(() => parseConfig([...base, '--secret-file', path.join(dir, 'missing')], {})).toThrow(/cannot read .*ENOENT/);
    fs.writeFileSync(path.join(dir, 'empty'), '');
    expect(() => parseConfig([...base, '--secret-file', path.join(dir, 'empty')], {})).toThrow(/is empty/);
  });

  it('answers --help, -h and --version without needing anything else', () => {
    expect(readCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    expect(readCommandLine(['-h'], {})).toEqual({ kind: 'help' });
    expect(readCommandLine(['--version'], {})).toEqual({ kind: 'version' });
  });

  it.each([
    [['--raft', '127.0.0.1:7001', '--http', '127.0.0.1:8001'], /--id is required \(or RXRAFT_ID\)/],
    [[...base, '--peers', 'n2'], /id=host:port/],
    [[...base, '--bogus', '1'], /Unknown option '--bogus'/],
    [[...base, 'stray'], /Unexpected argument 'stray'/],
    [[...base, '--election-timeout', '300-150'], /election-timeout/],
    [[...base, '--heartbeat', '1.5'], /--heartbeat: expected a positive integer/],
    [[...base, '--http-headers-timeout', '9000', '--http-request-timeout', '5000'], /must not exceed/],
    [[...base, '--log-level', 'loud'], /--log-level/],
    [[...base, '--raft', 'nohost'], /--raft: expected host:port/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseConfig(argv as string[], { RXRAFT_SECRET: 's' })).toThrow(ConfigError);
    expect(() => parseConfig(argv as string[], { RXRAFT_SECRET: 's' })).toThrow(message as RegExp);
  });

  it('refuses to start without a secret', () => {
    expect(() => parseConfig(base, {})).toThrow(/secret is required: set RXRAFT_SECRET or pass --secret-file/);
  });

  it('sizes the HTTP connection limit from the open-file limit, keeping a reserve', () => {
    const limits = (soft: string) => {
      const file = path.join(dir, `limits-${soft}`);
      fs.writeFileSync(file, `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`);
      return file;
    };
    expect(defaultMaxConnections(limits('1024'))).toBe(768);
    expect(defaultMaxConnections(limits('100'))).toBe(16);
    expect(defaultMaxConnections(path.join(dir, 'no-such-file'))).toBe(768);
  });
});

describe('parseCommandLine', () => {
  it('lists every option with its environment variable in the usage text', () => {
    const options = [{ name: 'base-port', type: 'string' as const, value: '<port>', help: 'first port' }];
    expect(usageText('prog', 'Does things.', options)).toMatch(/--base-port <port>\s+first port \[RXRAFT_BASE_PORT\]/);
    expect(parseCommandLine(['--base-port=7'], options, {})).toEqual({ kind: 'run', values: { 'base-port': '7' } });
    expect(() => parseCommandLine(['--base-port'], options, {})).toThrow(/argument missing/);
  });
});
