import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/**
 * Transpiles a child-process fixture and every repository file it imports (relative
 * imports, followed transitively) to JavaScript under `outDir`, keeping the layout
 * relative to the repository root; returns the entry's `.js` path. Crash tests start
 * many children: plain `node` on the output starts in tens of milliseconds, where
 * `ts-node` takes a second or more of CPU per child. Run the output with
 * `NODE_PATH=<repo>/node_modules` so packages resolve.
 *
 * @example
 * const script = transpileFixture(path.join(__dirname, 'fixtures', 'walChild.ts'), dirs.make());
 * spawn(process.execPath, [script, 'append', dir], { env: { ...process.env, NODE_PATH: NODE_MODULES } });
 */
export function transpileFixture(entry: string, outDir: string): string {
  const seen = new Set<string>();
  const pending = [path.resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    const target = outputPath(file, outDir);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
    for (const match of source.matchAll(IMPORT)) {
      const base = path.resolve(path.dirname(file), match[1]);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (found) pending.push(found);
    }
  }
  return outputPath(path.resolve(entry), outDir);
}

/** Where packages resolve from for a transpiled fixture (pass as NODE_PATH). */
export const NODE_MODULES = path.join(ROOT, 'node_modules');

function outputPath(file: string, outDir: string): string {
  return path.join(outDir, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
}
