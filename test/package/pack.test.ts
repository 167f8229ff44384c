/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project,
 * then run the README's in-memory cluster from CommonJS and ESM, typecheck it under
 * TypeScript's module resolutions, and run the `rxraft-kv` program.
 *
 * Slow (a build and an install from the registry), so `npm test` leaves it out:
 * run it with `npm run test:package` (CI does).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { readmeProgram } from './readmeProgram';

const root = path.resolve(__dirname, '../..');
const ownPackage = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, at most `timeoutMs`, and returns what it printed. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs = 60_000): Run {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like run(), but fails with the command's output unless it exits 0. */
function runOk(command: string, args: readonly string[], cwd: string, timeoutMs?: number): Run {
  const r = run(command, args, cwd, timeoutMs);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

let work: string;
let app: string;
let tarballFiles: string[];

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rxraft-pack-'));
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  // prepare builds dist/ first; the build's own output comes before npm's JSON.
  const packed = runOk('npm', ['pack', '--json', '--pack-destination', work], root, 180_000).stdout;
  const [{ filename, files }] = JSON.parse(packed.slice(packed.search(/^\[$/m))) as [{ filename: string; files: { path: string }[] }];
  tarballFiles = files.map((f) => f.path);

  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  runOk(
    'npm',
    [
      'install',
      path.join(work, filename),
      'rxjs',
      `typescript@${ownPackage.devDependencies.typescript}`,
      `@types/node@${ownPackage.devDependencies['@types/node']}`,
      '--no-audit',
      '--no-fund',
    ],
    app,
    240_000,
  );

  const program = readmeProgram(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
  for (const name of ['esm.mts', 'cjs.cts', 'main.ts']) fs.writeFileSync(path.join(app, name), program);
  const emit = (module: ts.ModuleKind) => ts.transpileModule(program, { compilerOptions: { module, target: ts.ScriptTarget.ES2022 } }).outputText;
  fs.writeFileSync(path.join(app, 'esm.mjs'), emit(ts.ModuleKind.ESNext));
  fs.writeFileSync(path.join(app, 'cjs.cjs'), emit(ts.ModuleKind.CommonJS));
}, 420_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  test('ships both builds with types for each entry, the server program, sources, LICENSE and CHANGELOG', () => {
    for (const base of ['dist/index', 'dist/testing/index']) {
      for (const ext of ['.js', '.mjs', '.d.ts', '.d.mts']) expect(tarballFiles).toContain(base + ext);
    }
    expect(tarballFiles).toEqual(expect.arrayContaining(['dist/bin/rxraft-kv.cjs', 'src/index.ts', 'LICENSE', 'CHANGELOG.md', 'README.md']));
    expect(tarballFiles.filter((f) => f.startsWith('test/') || f.startsWith('bench/'))).toEqual([]);
  });

  test('every source map names files that are in the package', () => {
    const installed = path.join(app, 'node_modules', 'rxraft');
    const maps = tarballFiles.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(fs.readFileSync(path.join(installed, map), 'utf8')) as { sources: string[] };
      return sources.map((s) => path.join(path.dirname(map), s)).filter((s) => !fs.existsSync(path.join(installed, s)));
    });
    expect(missing).toEqual([]);
  });
});

describe("the README's in-memory cluster from the installed package", () => {
  const expectRan = (r: Run) => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as { leader: string; index: number; applied: string[][]; stopped: boolean; testingLeader: string; sharedErrors: boolean };
    expect(['n1', 'n2', 'n3']).toContain(result.leader);
    expect(result.index).toBeGreaterThan(0);
    expect(result.applied).toEqual([['set x 1'], ['set x 1'], ['set x 1']]);
    expect(result.stopped).toBe(true);
    expect(result.testingLeader).toMatch(/^n\d$/);
    expect(result.sharedErrors).toBe(true);
  };

  test('runs from CommonJS (require)', () => {
    expect(fs.readFileSync(path.join(app, 'cjs.cjs'), 'utf8')).toContain('require("rxraft/testing")');
    expectRan(run(process.execPath, ['cjs.cjs'], app));
  });

  test('runs from ESM (import)', () => {
    expect(fs.readFileSync(path.join(app, 'esm.mjs'), 'utf8')).toContain("from 'rxraft/testing'");
    expectRan(run(process.execPath, ['esm.mjs'], app));
  });
});

describe('its types, as TypeScript projects resolve them', () => {
  const tsc = (...options: string[]) =>
    run(process.execPath, [path.join(app, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--target', 'es2022', '--types', 'node', ...options], app);
  const cases: [string, string[]][] = [
    ['node16 (ESM and CommonJS files)', ['--module', 'node16', '--moduleResolution', 'node16', 'esm.mts', 'cjs.cts']],
    ['nodenext (ESM and CommonJS files)', ['--module', 'nodenext', '--moduleResolution', 'nodenext', 'esm.mts', 'cjs.cts']],
    ['bundler', ['--module', 'esnext', '--moduleResolution', 'bundler', 'main.ts']],
    ['node (node10, with typesVersions for rxraft/testing)', ['--module', 'commonjs', '--moduleResolution', 'node', 'main.ts']],
  ];
  test.each(cases)('typecheck under %s', (_name, options) => {
    const r = tsc(...options);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the rxraft-kv program', () => {
  const bin = () => path.join(app, 'node_modules', '.bin', 'rxraft-kv');

  test('runs from node_modules/.bin, compiled (no ts-node installed): --help prints the usage', () => {
    expect(fs.existsSync(path.join(app, 'node_modules', 'ts-node'))).toBe(false);
    const r = run(bin(), ['--help'], app, 20_000);
    expect(r.stdout).toMatch(/^usage: rxraft-kv /);
    expect(r.stdout).toMatch(/--raft\b/);
    expect(r.status).toBe(0);
  });

  test('--version prints the installed package version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'rxraft', 'package.json'), 'utf8')) as { version: string };
    const r = run(bin(), ['--version'], app, 20_000);
    expect(r.stdout.trim()).toBe(version);
    expect(r.status).toBe(0);
  });
});
