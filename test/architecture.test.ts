/**
 * The architecture rules of ../shared/DESIGN.md ("Import rules") and the size target of
 * issue 16, checked on the source itself: the import graph of `src/` (type-only imports
 * included) and the length of every function in `src/`. Each failure names the file and
 * the import (or function) that breaks the rule.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');

/** One import or re-export of a file inside the repository, resolved to a file. */
interface Edge {
  /** Importing file, relative to the repository root (`src/core/step.ts`). */
  readonly from: string;
  /** Imported file, relative to the repository root, or null when outside it (a package). */
  readonly to: string | null;
  /** The module specifier as written. */
  readonly spec: string;
  readonly line: number;
  /** `import type` / `export type`, or every named binding marked `type`. */
  readonly typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? tsFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [path.join(dir, d.name)] : []));
}

const rel = (file: string): string => path.relative(ROOT, file).split(path.sep).join('/');

function resolve(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return rel(candidate);
  }
  throw new Error(`${rel(fromFile)}: cannot resolve import '${spec}'`);
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'`: runs the module
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

/** Every import, re-export, `import()` type or call and `require()` of a file (`text`: its content). */
function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): Edge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edges: Edge[] = [];
  const add = (specNode: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(specNode)) return;
    const line = source.getLineAndCharacterOfPosition(specNode.getStart()).line + 1;
    edges.push({ from: rel(file), to: resolve(file, specNode.text), spec: specNode.text, line, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node.moduleSpecifier, isTypeOnlyExport(node));
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true);
    else if (ts.isCallExpression(node) && node.arguments.length === 1) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const srcFiles = tsFiles(SRC);
const srcEdges = srcFiles.flatMap((f) => importsOf(f)).filter((e): e is Edge & { to: string } => e.to !== null);

/** The folder of a file under src/ (`core`), or the file itself for top-level files (`node.ts`). */
const unitOf = (file: string): string => file.split('/')[1];

const show = (e: Edge): string => `${e.from}:${e.line} imports '${e.spec}'${e.to ? ` (${e.to})` : ''}`;

/**
 * Every elementary circle of a directed graph, each listed once, starting from its
 * smallest node: a depth-first walk from each node through larger nodes only. Exponential
 * in the worst case, so it stops after 1000 circles (far more than anyone reads).
 */
function circles(nodes: readonly string[], next: (n: string) => readonly string[]): string[][] {
  const found: string[][] = [];
  const sorted = [...nodes].sort();
  for (const start of sorted) {
    const stack: string[] = [start];
    const onStack = new Set([start]);
    const walk = (n: string): void => {
      for (const m of next(n)) {
        if (m === start) found.push([...stack]);
        else if (m > start && !onStack.has(m) && found.length < 1000) {
          stack.push(m);
          onStack.add(m);
          walk(m);
          stack.pop();
          onStack.delete(m);
        }
      }
    };
    walk(start);
  }
  return found;
}

/** Adjacency lists of the edges, without self-loops or repeats. */
function graph(edges: readonly { from: string; to: string }[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    const list = g.get(from) ?? [];
    if (!list.includes(to)) list.push(to);
    g.set(from, list);
  }
  return g;
}

describe('import graph of src/', () => {
  it('parses imports of every kind (sanity check of this test)', () => {
    expect(srcFiles.length).toBeGreaterThan(50);
    const index = srcEdges.filter((e) => e.from === 'src/index.ts').map((e) => e.to);
    expect(index).toEqual(expect.arrayContaining(['src/node.ts', 'src/errors.ts', 'src/messages/entry.ts']));
    expect(srcEdges.some((e) => e.typeOnly)).toBe(true);
  });

  it('has no import circle between files', () => {
    const g = graph(srcEdges);
    const found = circles([...g.keys()], (n) => g.get(n) ?? []);
    expect(found.map((c) => [...c, c[0]].join(' -> '))).toEqual([]);
  });

  it('has no import circle between folders (top-level files count as their own unit)', () => {
    const unitEdges = srcEdges.map((e) => ({ from: unitOf(e.from), to: unitOf(e.to), edge: e }));
    const g = graph(unitEdges);
    const found = circles([...g.keys()], (n) => g.get(n) ?? []);
    const witness = (a: string, b: string) => unitEdges.find((u) => u.from === a && u.to === b)!.edge;
    const described = found.map((c) => c.map((u, i) => show(witness(u, c[(i + 1) % c.length]))).join('; '));
    expect(described).toEqual([]);
  });
});

/** The imports of src/ files under `folder` whose target falls outside `allowed` units. */
function importsLeaving(folder: string, allowed: (to: string, edge: Edge) => boolean): string[] {
  return srcEdges.filter((e) => unitOf(e.from) === folder && !allowed(unitOf(e.to), e)).map(show);
}

describe('import rules of DESIGN.md', () => {
  it('messages/ imports only messages/ and the types of operators/', () => {
    expect(importsLeaving('messages', (to, e) => to === 'messages' || (to === 'operators' && e.typeOnly))).toEqual([]);
  });

  it('operators/ imports only operators/ and the types of messages/', () => {
    const offenders = importsLeaving('operators', (to, e) => to === 'operators' || (to === 'messages' && e.typeOnly));
    expect(offenders).toEqual([]);
  });

  it('core/ imports only core/ and messages/', () => {
    expect(importsLeaving('core', (to) => to === 'core' || to === 'messages')).toEqual([]);
  });

  it.each(['transports', 'storage'])('%s/ never imports core/, states/, streams/ or node.ts', (folder) => {
    expect(importsLeaving(folder, (to) => !['core', 'states', 'streams', 'node.ts'].includes(to))).toEqual([]);
  });

  it('nothing in src/ outside src/testing imports testing/', () => {
    const offenders = srcEdges.filter((e) => unitOf(e.from) !== 'testing' && unitOf(e.to) === 'testing');
    expect(offenders.map(show)).toEqual([]);
  });
});

describe('examples/', () => {
  /** What a user of the package can import: `rxraft` and `rxraft/testing` (package.json "exports"). */
  const PUBLIC_ENTRIES = ['src/index.ts', 'src/testing/index.ts'];

  it('import only the public entries of the package', () => {
    const edges = tsFiles(path.join(ROOT, 'examples')).flatMap((f) => importsOf(f));
    expect(edges.length).toBeGreaterThan(0);
    const deep = edges.filter((e) => e.to !== null && !e.to.startsWith('examples/') && !PUBLIC_ENTRIES.includes(e.to));
    expect(deep.map(show)).toEqual([]);
  });
});

/** A function, method, accessor, constructor or arrow function with a body. */
interface FunctionSize {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return `${(node.parent as ts.ClassLikeDeclaration).name?.text ?? '(class)'}.constructor`;
  const own = node.name?.getText(source);
  const owner = ts.isClassLike(node.parent) ? `${node.parent.name?.text ?? '(class)'}.` : '';
  if (own) return owner + own;
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  return `(anonymous at line ${source.getLineAndCharacterOfPosition(node.getStart()).line + 1})`;
}

/** Every function-like node with a body in `file`, with its length in lines (first to last, inclusive). */
function functionSizes(file: string, text = fs.readFileSync(file, 'utf8')): FunctionSize[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = source.getLineAndCharacterOfPosition(fn.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      out.push({ file: rel(file), name: nameOf(fn, source), line: first + 1, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Issue 16's target: no function in src/ longer than this many lines (first to last line, inclusive). */
const MAX_FUNCTION_LINES = 60;

/**
 * Decoders are exempt from the size rule: each is one flat list of checks, one per field
 * of untrusted input, and splitting it would scatter the list a reviewer checks against
 * the wire format. Exempt by name, one entry per function, with the reason.
 */
const DECODERS: readonly { readonly file: string; readonly name: string; readonly reason: string }[] = [
  { file: 'src/messages/validate.ts', name: 'validateMessage', reason: 'checks every field of every RaftMessage type, one case per type' },
  { file: 'src/transports/tcpLayoutPayload.ts', name: 'readLayoutPayload', reason: 'decodes every field of a positional TCP payload, one check per field' },
];


describe('the facade', () => {
  it('node.ts composes the runtime in at most 250 lines (DESIGN.md: a thin facade)', () => {
    const lines = fs.readFileSync(path.join(SRC, 'node.ts'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(250);
  });
});

describe('function size', () => {
  const sizes = srcFiles.flatMap((f) => functionSizes(f));
  const label = (f: FunctionSize) => `${f.file}: ${f.name}`;
  const tooLong = sizes.filter((f) => f.lines > MAX_FUNCTION_LINES);
  const isDecoder = (f: FunctionSize) => DECODERS.some((d) => d.file === f.file && d.name === f.name);

  it('measures functions, methods, constructors and arrow functions (sanity check of this test)', () => {
    const names = sizes.map(label);
    expect(names).toEqual(expect.arrayContaining(['src/core/step.ts: step', 'src/random.ts: seededRandom']));
    expect(sizes.some((f) => f.name.includes('.constructor'))).toBe(true);
    expect(sizes.every((f) => f.lines >= 1)).toBe(true);
  });

  it(`has no function in src/ longer than ${MAX_FUNCTION_LINES} lines, decoders aside`, () => {
    const offenders = tooLong.filter((f) => !isDecoder(f));
    expect(offenders.map((f) => `${f.file}:${f.line} ${f.name} is ${f.lines} lines`)).toEqual([]);
  });

  it('lists only decoders that still exist and are still too long', () => {
    const stale = [
      ...DECODERS.filter((d) => !tooLong.some((f) => f.file === d.file && f.name === d.name)).map((d) => `${d.file}: ${d.name}`),
    ];
    expect(stale).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('find every kind of import, and tell type-only ones apart', () => {
    const text = [
      "import type { NodeId } from '../messages/types';",
      "import { type RaftState, currentConfig } from './state';",
      "import { type Progress } from './progress';",
      "export * from './effects';",
      "export type { RaftEvent } from './events';",
      "import './quorum';",
      "type Log = import('./log').RaftLog;",
      "const step = require('./step');",
      "import { of } from 'rxjs';",
    ].join('\n');
    const edges = importsOf(path.join(SRC, 'core', 'example.ts'), text);
    expect(edges.map((e) => [e.line, e.to, e.typeOnly])).toEqual([
      [1, 'src/messages/types.ts', true],
      [2, 'src/core/state.ts', false],
      [3, 'src/core/progress.ts', true],
      [4, 'src/core/effects.ts', false],
      [5, 'src/core/events.ts', true],
      [6, 'src/core/quorum.ts', false],
      [7, 'src/core/log.ts', true],
      [8, 'src/core/step.ts', false],
      [9, null, false],
    ]);
  });

  it('list each circle once, and none in a layered graph', () => {
    const circular: Record<string, string[]> = { a: ['b'], b: ['a', 'c'], c: ['b', 'a'], d: ['a'] };
    expect(circles(Object.keys(circular), (n) => circular[n])).toEqual([['a', 'b'], ['a', 'b', 'c'], ['b', 'c']]);
    const layered: Record<string, string[]> = { step: ['replication', 'send'], replication: ['send', 'roles'], roles: ['send'], send: [] };
    expect(circles(Object.keys(layered), (n) => layered[n])).toEqual([]);
  });

  it('measure a function from its first line to its last, nested ones apart', () => {
    const text = ['class C {', '  run(): void {', '    const f = () => {', '      return 1;', '    };', '  }', '}', 'function g() {}'].join('\n');
    const sizes = functionSizes(path.join(SRC, 'example.ts'), text);
    expect(sizes.map((f) => [f.name, f.line, f.lines])).toEqual([
      ['C.run', 2, 5],
      ['f', 3, 3],
      ['g', 8, 1],
    ]);
  });
});
