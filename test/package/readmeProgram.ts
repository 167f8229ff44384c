/**
 * The program the packed-package test runs: the README tutorial's in-memory cluster and its
 * `rxraft/testing` example, taken verbatim from README.md, then a leader, a write, reads and
 * a stop. Written in TypeScript; the test typechecks it as users' projects would and
 * transpiles it to CommonJS (`require`) and ESM (`import`) to run it.
 */

/** The body of the README's first ```ts block that contains `marker`. */
export function readmeBlock(readme: string, marker: string): string {
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).find((code) => code.includes(marker));
  if (block === undefined) throw new Error(`README.md has no \`\`\`ts block containing ${JSON.stringify(marker)}`);
  return block;
}

/** Splits a code block into its import declarations (kept at the top) and the rest. */
function splitImports(block: string): { imports: string[]; body: string } {
  const lines = block.split('\n');
  return {
    imports: lines.filter((line) => line.startsWith('import ')),
    body: lines.filter((line) => !line.startsWith('import ')).join('\n'),
  };
}

const indent = (code: string) => code.replace(/^(?=.)/gm, '  ');

/**
 * The program. It prints one JSON line, `{ "leader", "index", "applied", "stopped",
 * "testingLeader", "sharedErrors" }`; on a failure it prints the error, stops its nodes and
 * exits non-zero.
 */
export function readmeProgram(readme: string): string {
  const inMemory = splitImports(readmeBlock(readme, 'new MemoryHub'));
  const testing = splitImports(readmeBlock(readme, "from 'rxraft/testing'"));
  return `${[...inMemory.imports, ...testing.imports].join('\n')}
import { NodeStoppedError, type LeaderInfo } from 'rxraft';
import { combineLatest, filter, firstValueFrom, map, timeout } from 'rxjs';

/** The README's in-memory cluster: elect, propose through a follower, read on all, stop. */
async function inMemoryCluster() {
${indent(inMemory.body)}
  try {
    const applied = nodes.map(() => [] as string[]);
    nodes.forEach((n, i) => n.committed$.subscribe((e) => applied[i].push(new TextDecoder().decode(e.data))));
    const agreed = (ls: (LeaderInfo | null)[]): ls is LeaderInfo[] => ls.every((l) => l !== null && l.id === ls[0]?.id);
    const elected = await firstValueFrom(
      combineLatest(nodes.map((n) => n.leader$)).pipe(filter(agreed), map((ls) => ls[0]), timeout(10_000)),
    );
    const follower = nodes.find((n) => n.id !== elected.id)!;
    const { index } = await follower.propose(new TextEncoder().encode('set x 1'));
    await Promise.all(nodes.map((n) => n.read()));
    await Promise.all(nodes.map((n) => n.stop()));
    const stopped = await follower.propose(new TextEncoder().encode('set y 2')).then(
      () => false,
      (e: unknown) => e instanceof NodeStoppedError,
    );
    return { leader: elected.id, index, applied: applied.map((a) => a.filter((d) => d !== '')), stopped };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

/** The README's rxraft/testing example, on virtual time. */
async function testCluster() {
${indent(testing.body)}
  return leader;
}

/** A node made by rxraft/testing throws the error classes that rxraft exports. */
async function sharedErrorClasses() {
  const cluster = new TestCluster({ nodes: 3, seed: 7 });
  const node = cluster.node(await cluster.waitForLeader());
  await cluster.stop();
  return node.propose(new Uint8Array([1])).then(
    () => false,
    (e: unknown) => e instanceof NodeStoppedError,
  );
}

async function main() {
  const result = { ...(await inMemoryCluster()), testingLeader: await testCluster(), sharedErrors: await sharedErrorClasses() };
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
`;
}
