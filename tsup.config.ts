import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineConfig, type Options } from 'tsup';

/**
 * The published build (`npm run build`; the `prepare` script runs it on `npm install` in this
 * repository, `npm pack`, `npm publish` and installs from git):
 *
 *   dist/index.{js,mjs,d.ts,d.mts}          rxraft           (CommonJS, ESM, types for each)
 *   dist/testing/index.{js,mjs,d.ts,d.mts}  rxraft/testing
 *   dist/chunk-*.{js,mjs}                   code both entries share: one copy per format, so
 *                                           rxraft/testing's nodes throw rxraft's error classes
 *   dist/bin/rxraft-kv.cjs                  the KV server as a program (package.json "bin")
 *
 * esbuild bundles each entry, so the ESM build needs no `.js` extensions in the sources'
 * relative imports (plain `tsc` would). Source maps point into `src/` (and the server's into
 * `examples/kv/`), which are shipped.
 */

/** Maps name the shipped sources instead of embedding a second copy of them. */
const withoutSourcesContent: Options['esbuildOptions'] = (options) => {
  options.sourcesContent = false;
};

const library: Options = {
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['cjs', 'esm'],
  target: 'node20',
  platform: 'node',
  tsconfig: 'tsconfig.build.json',
  dts: true,
  sourcemap: true,
  esbuildOptions: withoutSourcesContent,
  splitting: true,
  onSuccess: async () => relativizeSourceMaps('dist'),
};

/**
 * tsup's CommonJS code splitting lists the intermediate bundle in each map's `sources` by
 * its absolute path on the build machine (and as `file`); rewrite such paths relative to the map.
 */
function relativizeSourceMaps(dir: string): void {
  for (const file of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.map')) continue;
    const mapPath = path.join(dir, file);
    const map = JSON.parse(fs.readFileSync(mapPath, 'utf8')) as { file?: string; sources: string[] };
    const relative = (p: string) => (path.isAbsolute(p) ? path.relative(path.dirname(path.resolve(mapPath)), p) : p);
    if (!map.sources.some((s) => path.isAbsolute(s)) && !(map.file && path.isAbsolute(map.file))) continue;
    map.sources = map.sources.map(relative);
    if (map.file) map.file = relative(map.file);
    fs.writeFileSync(mapPath, JSON.stringify(map));
  }
}

/** The KV server's imports of the public entry (`../../src`) become `require('../index.js')`. */
const publicEntryFromDist = {
  name: 'rxraft-public-entry',
  setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string; resolveDir: string }) => { path: string; external: boolean } | undefined): void }) {
    const publicEntry = path.resolve('src');
    build.onResolve({ filter: /\/src(\/index)?$/ }, (args) =>
      path.resolve(args.resolveDir, args.path).replace(/\/index$/, '') === publicEntry ? { path: '../index.js', external: true } : undefined,
    );
  },
};

const kvServer: Options = {
  entry: { 'bin/rxraft-kv': 'examples/kv-server.ts' },
  format: ['cjs'],
  outExtension: () => ({ js: '.cjs' }),
  target: 'node20',
  platform: 'node',
  tsconfig: 'tsconfig.build.json',
  sourcemap: true,
  esbuildOptions: withoutSourcesContent,
  banner: { js: '#!/usr/bin/env node' },
  esbuildPlugins: [publicEntryFromDist],
};

export default defineConfig([library, kvServer]);
