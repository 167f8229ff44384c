/**
 * Issue 18, finding 3: a node whose process ran out of file descriptors (1,000 idle HTTP
 * connections at a limit of 1024) failed to create `hardstate.tmp` (EMFILE) and
 * stopped. Here a real child process under `prlimit --nofile` uses up every descriptor,
 * then saves hard states and appends entries across segment rollovers.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FileStorage } from '../../src/storage/fileStorage';
import { FD_CHILD_ENTRIES, FD_CHILD_SNAPSHOT_INDEX, FD_CHILD_TERMS, fdChildEntry } from './fixtures/fdChild';
import { TempDirs } from './tempDirs';
import { NODE_MODULES, transpileFixture } from './transpiledFixture';

const dirs = new TempDirs('rxraft-fd-');
const fixtureDirs = new TempDirs('rxraft-fixture-');
let script: string;

beforeAll(() => {
  script = transpileFixture(path.join(__dirname, 'fixtures', 'fdChild.ts'), fixtureDirs.make());
});

afterAll(() => {
  dirs.removeAll();
  fixtureDirs.removeAll();
});

/** Runs the child under a descriptor limit; resolves with its exit code and output (killed after 15 s). */
function runChild(dir: string, limit: number): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('prlimit', [`--nofile=${limit}:${limit}`, '--', process.execPath, script, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: NODE_MODULES },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, lines: stdout.split('\n').filter((l) => l.length > 0), stderr });
    });
  });
}

describe('FileStorage with no file descriptor left', () => {
  test('hard-state saves, appends across segment rollovers and a snapshot commit succeed; everything is there after a restart', async () => {
    const dir = dirs.make();
    const { code, lines, stderr } = await runChild(dir, 128);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const exhausted = lines.find((l) => l.startsWith('exhausted '))!.split(' ').map(Number);
    expect(exhausted[1] + exhausted[2]).toBeGreaterThan(0); // sockets and files took what was left
    expect(lines).toEqual(expect.arrayContaining([
      `saved ${FD_CHILD_TERMS}`,
      `appended ${FD_CHILD_ENTRIES}`,
      `snapshot-committed ${FD_CHILD_SNAPSHOT_INDEX}`,
      // Starting a snapshot needs a new file: refused with a named error, not fail-stop...
      'snapshot-refused OutOfDescriptorsError',
      // ...the storage keeps working.
      `appended ${FD_CHILD_ENTRIES + 1}`,
      'still-exhausted',
    ]));
    const deferredRolls = Number(lines.find((l) => l.startsWith('done '))!.split(' ')[1]);
    expect(deferredRolls).toBeGreaterThan(0); // the 4 KiB segments were full: rollovers were due and put off

    // With descriptors again: everything acknowledged is there, and the log rolls over as usual.
    const storage = await FileStorage.open(dir, { maxSegmentBytes: 4096 });
    try {
      const { hardState, entries, damage, snapshot } = await storage.load();
      expect(hardState).toEqual({ term: FD_CHILD_TERMS, votedFor: 'n1' });
      expect(snapshot?.index).toBe(FD_CHILD_SNAPSHOT_INDEX);
      const last = FD_CHILD_ENTRIES + 1;
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: last - FD_CHILD_SNAPSHOT_INDEX }, (_, i) => FD_CHILD_SNAPSHOT_INDEX + 1 + i));
      for (const e of entries) expect(Buffer.from(e.data)).toEqual(Buffer.from(fdChildEntry(e.index, FD_CHILD_TERMS).data));
      expect(damage).toBeNull();
      const segments = () => fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).length;
      const before = segments();
      await storage.append([fdChildEntry(last + 1, FD_CHILD_TERMS)]);
      expect(segments()).toBe(before + 1);
    } finally {
      await storage.close();
    }
    console.log(`out of descriptors (${exhausted[1]} sockets, ${exhausted[2]} files filling a limit of 128): ` +
      `${FD_CHILD_TERMS - 1} hard-state saves, ${(FD_CHILD_ENTRIES - FD_CHILD_SNAPSHOT_INDEX) / 4 + 1} appends and a snapshot commit ` +
      `succeeded, ${deferredRolls} rollovers put off`);
  }, 20_000);
});
