/**
 * Every ```ts block of README.md typechecks against the sources, as a user would write it
 * with `import ... from 'rxraft'` (mapped to `src/`). A block is a module of its own; the
 * names a block leaves to the reader (`node`, `kv`, `apply`, ...) are declared once,
 * globally, in `readmeNames` below, so a block that declares one itself shadows it. And
 * every `npm run <script>` the README shows exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');

/** What the README's snippets take as given: the reader's own code and earlier blocks' names. */
const readmeNames = `
type RaftNode = import('rxraft').RaftNode;
declare const createRaftNode: typeof import('rxraft').createRaftNode;
declare const createRaftHost: typeof import('rxraft').createRaftHost;
declare const options: import('rxraft').RaftNodeOptions;
declare const node: RaftNode;
declare const leader: RaftNode;
declare const transport: import('rxraft').Transport & import('rxraft').HostTransport;
declare const storage: import('rxraft').Storage;
declare const host: import('rxraft').RaftHost;
declare const cmd: Uint8Array;
declare const key: string;
declare const value: string;
declare const kv: Map<string, string>;
declare const stores: { apply(data: Uint8Array): void }[];
declare const router: { setLeader(shard: number, leader: string | undefined): void };
declare const log: { info(o: unknown, msg?: string): void; warn(o: unknown, msg?: string): void };
declare function apply(data: Uint8Array): void;
declare function runLeaderOnlyJobs(): import('rxjs').Observable<unknown>;
declare function rebalance(voters: readonly string[]): void;
declare function encode(command: object): Uint8Array;
declare function encodePair(k: string, v: string): Uint8Array;
declare function decodeInto(kv: Map<string, string>, chunk: Uint8Array): void;
declare function timed(storage: import('rxraft').Storage): import('rxraft').Storage;
`;

/** The README's ```ts blocks, in order, with the line each starts on. */
function readmeBlocks(): { line: number; code: string }[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({
    line: readme.slice(0, m.index).split('\n').length + 1,
    code: m[1],
  }));
}

/** Typechecks the blocks in one program; returns each diagnostic as `README.md:<line>: <message>`. */
function typecheck(blocks: { line: number; code: string }[]): string[] {
  const dir = path.join(root, 'test/readme');
  const names = path.join(dir, '__readmeNames.d.ts');
  const files = new Map<string, string>([[names, readmeNames]]);
  const starts = new Map<string, number>();
  blocks.forEach((b, i) => {
    const file = path.join(dir, `__readme${i}.ts`);
    files.set(file, `${b.code}\nexport {};\n`);
    starts.set(file, b.line);
  });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext, // top-level await, as in an ES module
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    baseUrl: root,
    paths: { rxraft: ['src/index.ts'], 'rxraft/testing': ['src/testing/index.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (file, language, ...rest) => {
    const text = files.get(path.resolve(file));
    return text !== undefined ? ts.createSourceFile(file, text, language) : getSourceFile.call(host, file, language, ...rest);
  };
  host.fileExists = (file) => files.has(path.resolve(file)) || fileExists.call(host, file);
  host.readFile = (file) => files.get(path.resolve(file)) ?? readFile.call(host, file);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const file = d.file ? path.resolve(d.file.fileName) : undefined;
    const start = file !== undefined ? starts.get(file) : undefined;
    if (d.file === undefined || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return start !== undefined ? `README.md:${start + line}: ${message}` : `${path.relative(root, d.file.fileName)}:${line + 1}: ${message}`;
  });
}

/** The scripts README.md runs with `npm run <script>` (a line break may split the command). */
function readmeScripts(): string[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...new Set([...readme.matchAll(/npm run\s+([\w:-]+)/g)].map((m) => m[1]))].sort();
}

describe('README.md', () => {
  test('every `npm run <script>` it shows is a script of package.json', () => {
    const { scripts } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const named = readmeScripts();
    expect(named).toEqual(expect.arrayContaining(['bench', 'example:work-sharing', 'sim']));
    expect(named.filter((s) => !(s in scripts))).toEqual([]);
  });

  test('has ```ts blocks to check', () => {
    expect(readmeBlocks().length).toBeGreaterThan(10);
  });

  test('every ```ts block typechecks against the sources', () => {
    expect(typecheck(readmeBlocks())).toEqual([]);
  }, 120_000);
});
