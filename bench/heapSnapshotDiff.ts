/**
 * What one heap snapshot holds more than another, per unit (a group replica): objects by
 * kind and constructor, and closures by the source line that made them (lines of the
 * code as run: transpiled for `.ts`). Used by bench/groupMemory.ts (one process, the
 * library) and bench/groupMemoryKv.ts (the sharded KV host processes).
 *
 * @example
 * compareHeapSnapshots('1.heapsnapshot', '200.heapsnapshot', 199 * 3); // prints the tables
 */
import * as fs from 'node:fs';

export interface Tally {
  readonly count: number;
  readonly bytes: number;
}

/** A heap snapshot file, with the layout of its flat node and edge arrays (field counts and offsets). */
function readSnapshot(file: string) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { node_fields: nf, node_types: [types], edge_fields: ef, edge_types: [edgeTypes] } = snap.snapshot.meta;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f: string) => nf.indexOf(f));
  return {
    snap, types: types as string[], edgeTypes: edgeTypes as string[], N: nf.length as number, E: ef.length as number, TYPE, NAME, SIZE, EDGES,
    nodes: snap.nodes as number[], edges: snap.edges as number[], strings: snap.strings as string[],
  };
}

/** Objects of a heap snapshot by kind and name, and closures by the script line that made them. */
export function tally(file: string): Map<string, Tally> {
  const { snap, types, edgeTypes, N, E, TYPE, NAME, SIZE, EDGES, nodes, edges, strings } = readSnapshot(file);
  const location = new Map<number, string>();
  for (let i = 0; i < snap.locations.length; i += 4) location.set(snap.locations[i] / N, `${snap.locations[i + 2] + 1}`);
  const out = new Map<string, Tally>();
  const add = (key: string, bytes: number) => {
    const t = out.get(key) ?? { count: 0, bytes: 0 };
    out.set(key, { count: t.count + 1, bytes: t.bytes + bytes });
  };
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * N + EDGES] * E;
  /** The edge named `name` of node `i`, as the index of the node it leads to, or -1. */
  const edge = (i: number, name: string): number => {
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) if (edgeTypes[edges[e]] === 'internal' && strings[edges[e + 1]] === name) return edges[e + 2] / N;
    return -1;
  };
  /** The file a closure's code comes from (its shared info's script), without the checkout's path. */
  const scriptOf = (closure: number): string => {
    const shared = edge(closure, 'shared');
    const script = shared < 0 ? -1 : edge(shared, 'script_or_debug_info');
    return script < 0 ? '?' : strings[nodes[script * N + NAME]].replace(/.*\/(node_modules|rxraft[^/]*|wt-[^/]*)\//, '');
  };
  for (let i = 0; i < count; i++) {
    const type = types[nodes[i * N + TYPE]];
    const name = type === 'object' || type === 'closure' || type === 'array' ? strings[nodes[i * N + NAME]].slice(0, 50) : '';
    add(`${type} ${name}`, nodes[i * N + SIZE]);
    if (type !== 'closure') continue;
    const script = scriptOf(i);
    add(`  closure made at ${script}:${location.get(i) ?? '?'}`, nodes[i * N + SIZE]);
    add(`    closures made in ${script.replace(/^[0-9a-f]{16}\//, '')}`, nodes[i * N + SIZE]);
  }
  return out;
}

export function compareHeapSnapshots(one: string, many: string, replicas: number): void {
  const [a, b] = [tally(one), tally(many)];
  const rows = [...b].map(([key, t]) => ({ key, count: (t.count - (a.get(key)?.count ?? 0)) / replicas, bytes: (t.bytes - (a.get(key)?.bytes ?? 0)) / replicas }));
  const top = (filter: (key: string) => boolean) =>
    rows
      .filter((r) => filter(r.key) && r.bytes > 20)
      .sort((x, y) => y.bytes - x.bytes)
      .slice(0, 25)
      .map((r) => `${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)}  ${r.key.trim()}`);
  console.log(`per group replica, ${replicas} replicas more (bytes, count, kind):`);
  console.log(top((k) => !k.startsWith('  ')).join('\n'));
  console.log('closures by where they are made:');
  console.log(top((k) => k.startsWith('  ') && !k.startsWith('    ')).join('\n'));
  console.log('closures by the file that makes them:');
  console.log(top((k) => k.startsWith('    ')).join('\n'));
}

/**
 * The bytes of a heap snapshot by owner: each object counts for its nearest dominator
 * (over strong edges; Cooper, Harvey and Kennedy's iterative algorithm) that is an
 * instance of one of `owners` (class names), or else a closure (by the file and line
 * that made it), or else "no owner". So a subscriber's arrays, contexts and closures count
 * for the object or closure that alone holds them.
 */
export function bytesByOwner(file: string, owners: ReadonlySet<string>): Map<string, Tally> {
  const { snap, types, edgeTypes, N, E, TYPE, NAME, SIZE, EDGES, nodes, edges, strings } = readSnapshot(file);
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * N + EDGES] * E;
  const strong = (e: number) => edgeTypes[edges[e]] !== 'weak' && edgeTypes[edges[e]] !== 'shortcut';
  // Postorder from the root (node 0), iteratively.
  const post = new Int32Array(count).fill(-1);
  const order = new Int32Array(count);
  let visited = 0;
  const seen = new Uint8Array(count);
  const stack = new Int32Array(count);
  const cursor = new Uint32Array(count);
  let top = 0;
  stack[top++] = 0;
  seen[0] = 1;
  cursor[0] = firstEdge[0];
  while (top > 0) {
    const n = stack[top - 1];
    let pushed = false;
    while (cursor[n] < firstEdge[n + 1]) {
      const e = cursor[n];
      cursor[n] += E;
      const to = edges[e + 2] / N;
      if (!strong(e) || seen[to]) continue;
      seen[to] = 1;
      cursor[to] = firstEdge[to];
      stack[top++] = to;
      pushed = true;
      break;
    }
    if (pushed) continue;
    top--;
    post[n] = visited;
    order[visited++] = n;
  }
  // Predecessors of reachable nodes, as postorder numbers.
  const predStart = new Uint32Array(visited + 1);
  for (let i = 0; i < count; i++) {
    if (post[i] < 0) continue;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) if (strong(e)) predStart[post[edges[e + 2] / N] + 1]++;
  }
  for (let p = 0; p < visited; p++) predStart[p + 1] += predStart[p];
  const preds = new Int32Array(predStart[visited]);
  const fill = predStart.slice();
  for (let i = 0; i < count; i++) {
    if (post[i] < 0) continue;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) if (strong(e)) preds[fill[post[edges[e + 2] / N]]++] = post[i];
  }
  const root = post[0];
  const idom = new Int32Array(visited).fill(-1);
  idom[root] = root;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (a < b) a = idom[a];
      while (b < a) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let p = visited - 2; p >= 0; p--) {
      let best = -1;
      for (let k = predStart[p]; k < predStart[p + 1]; k++) {
        const q = preds[k];
        if (idom[q] < 0) continue;
        best = best < 0 ? q : intersect(q, best);
      }
      if (best >= 0 && idom[p] !== best) {
        idom[p] = best;
        changed = true;
      }
    }
  }
  const location = new Map<number, string>();
  for (let i = 0; i < snap.locations.length; i += 4) location.set(snap.locations[i] / N, `${snap.locations[i + 2] + 1}`);
  const scriptOf = (closure: number): string => {
    for (let e = firstEdge[closure]; e < firstEdge[closure + 1]; e += E) {
      if (strings[edges[e + 1]] !== 'shared') continue;
      const shared = edges[e + 2] / N;
      for (let f = firstEdge[shared]; f < firstEdge[shared + 1]; f += E) {
        if (strings[edges[f + 1]] === 'script_or_debug_info') return strings[nodes[(edges[f + 2] / N) * N + NAME]].replace(/.*\/(node_modules|rxraft[^/]*|wt-[^/]*)\//, '').replace(/^\.cache\/rxraft-js\/[0-9a-f]{16}\//, '');
      }
    }
    return '?';
  };
  // Each node's owner, from the root down (reverse postorder: a dominator comes first).
  const owner: string[] = new Array(visited);
  owner[root] = 'no owner';
  for (let p = visited - 1; p >= 0; p--) {
    if (p === root) continue;
    const n = order[p];
    const type = types[nodes[n * N + TYPE]];
    const name = strings[nodes[n * N + NAME]];
    if (type === 'object' && owners.has(name)) owner[p] = name;
    else if (type === 'closure') owner[p] = `closure at ${scriptOf(n)}:${location.get(n) ?? '?'}`;
    else owner[p] = idom[p] >= 0 ? owner[idom[p]] : 'no owner';
  }
  const out = new Map<string, Tally>();
  for (let p = 0; p < visited; p++) {
    const key = owner[p];
    const t = out.get(key) ?? { count: 0, bytes: 0 };
    const own = types[nodes[order[p] * N + TYPE]] === 'object' && owners.has(strings[nodes[order[p] * N + NAME]]);
    out.set(key, { count: t.count + (own || key.startsWith('closure') && key === owner[p] && types[nodes[order[p] * N + TYPE]] === 'closure' ? 1 : 0), bytes: t.bytes + nodes[order[p] * N + SIZE] });
  }
  return out;
}

/** Prints what the N-group heap holds more than the 1-group heap, per group replica, by owner (see `bytesByOwner`). */
export function compareOwners(one: string, many: string, replicas: number, owners: ReadonlySet<string>, rows = 50): void {
  const [a, b] = [bytesByOwner(one, owners), bytesByOwner(many, owners)];
  const diff = [...b].map(([key, t]) => ({ key, count: (t.count - (a.get(key)?.count ?? 0)) / replicas, bytes: (t.bytes - (a.get(key)?.bytes ?? 0)) / replicas }));
  const total = diff.reduce((n, r) => n + r.bytes, 0);
  console.log(`by owner, per group replica (bytes, instances, owner; ${total.toFixed(0)} B in all):`);
  console.log(
    diff
      .filter((r) => Math.abs(r.bytes) > 50)
      .sort((x, y) => y.bytes - x.bytes)
      .slice(0, rows)
      .map((r) => `${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(7)}  ${r.key}`)
      .join('\n'),
  );
}
