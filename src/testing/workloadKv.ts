import type { CommittedEntry } from '../messages/entry';

/** A key-value command as the simulator's clients propose it. `id` names the operation. */
export type KvCommand =
  | { readonly id: string; readonly op: 'get'; readonly key: string }
  | { readonly id: string; readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly id: string; readonly op: 'append'; readonly key: string; readonly value: string }
  | { readonly id: string; readonly op: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

/** What applying a command returns: get → the value (null: absent); cas → whether it swapped; put, append → null. */
export type KvResult = string | null | boolean;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a command as the bytes that go into the log (JSON, UTF-8).
 *
 * @example
 * decodeKvCommand(encodeKvCommand({ id: 'c1.1', op: 'put', key: 'x', value: '1' }));
 * // → { id: 'c1.1', op: 'put', key: 'x', value: '1' }
 */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/**
 * Decoded commands by the buffer that holds their bytes, then by offset (small buffers
 * may share a pool): in a simulated cluster every node applies the same bytes (entries
 * are shared in memory), so each command is decoded once, not once per node.
 */
const decoded = new WeakMap<ArrayBufferLike, Map<number, { readonly length: number; readonly command: KvCommand }>>();

/** Decodes what `encodeKvCommand` encoded; throws on anything else. */
export function decodeKvCommand(data: Uint8Array): KvCommand {
  let inBuffer = decoded.get(data.buffer);
  const cached = inBuffer?.get(data.byteOffset);
  if (cached && cached.length === data.byteLength) return cached.command;
  const c = JSON.parse(decoder.decode(data)) as KvCommand;
  if (typeof c !== 'object' || c === null || typeof c.id !== 'string' || typeof c.key !== 'string') {
    throw new Error('not a key-value command');
  }
  if (!inBuffer) decoded.set(data.buffer, (inBuffer = new Map()));
  inBuffer.set(data.byteOffset, { length: data.byteLength, command: c });
  return c;
}

/** Results of the last this-many indices travel in a snapshot (for proposals answered after a restore). */
const SNAPSHOT_RESULTS = 256;
/** Snapshot chunk size: small, so that snapshots stream in several chunks. */
const SNAPSHOT_CHUNK = 256;

/**
 * One node's replicated key-value map, fed from its `committed$` (one instance per run
 * of the node: a restarted node replays its log into a fresh one). It remembers, for
 * every index it applied, the command's id and result, so a client whose proposal
 * resolved with `{ index }` reads what its command returned on that node.
 *
 * It is also a `StateMachine` for rxraft's snapshots: `snapshot` serializes the map
 * (and the latest results) at once, `restore` replaces them.
 *
 * @example
 * const kv = new KvStateMachine();
 * node.committed$.subscribe(e => kv.apply(e));
 * const { index } = await node.propose(encodeKvCommand({ id: 'c0.1', op: 'append', key: 'x', value: 'a' }));
 * kv.takeResult(index); // { id: 'c0.1', result: null }
 * kv.get('x');        // 'a'
 */
export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private readonly results = new Map<number, { readonly id: string; readonly result: KvResult }>();
  /** The last index applied (0: nothing yet). */
  lastIndex = 0;

  /** Applies one committed entry. Undecodable entries are applied as no-ops with the id `''`. */
  apply(entry: CommittedEntry): void {
    this.lastIndex = entry.index;
    let command: KvCommand;
    try {
      command = decodeKvCommand(entry.data);
    } catch {
      this.results.set(entry.index, { id: '', result: null });
      return;
    }
    this.results.set(entry.index, { id: command.id, result: this.execute(command) });
  }

  /** The id and result of the command applied at `index`, once (the record is then dropped). */
  takeResult(index: number): { readonly id: string; readonly result: KvResult } | undefined {
    const r = this.results.get(index);
    this.results.delete(index);
    return r;
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** The state as of `at` (the last applied entry), in chunks; serialized now, not lazily. */
  snapshot(at: { readonly index: number }): Uint8Array[] {
    const results = [...this.results].filter(([i]) => i > at.index - SNAPSHOT_RESULTS && i <= at.index);
    const bytes = encoder.encode(JSON.stringify({ data: [...this.data], results }));
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += SNAPSHOT_CHUNK) chunks.push(bytes.slice(i, i + SNAPSHOT_CHUNK));
    return chunks;
  }

  /** Replaces the state with a snapshot's. */
  async restore(chunks: AsyncIterable<Uint8Array>, at: { readonly index: number }): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.byteLength;
    }
    const state = JSON.parse(decoder.decode(bytes)) as {
      data: [string, string][];
      results: [number, { id: string; result: KvResult }][];
    };
    this.data.clear();
    for (const [k, v] of state.data) this.data.set(k, v);
    this.results.clear();
    for (const [i, r] of state.results) this.results.set(i, r);
    this.lastIndex = at.index;
  }

  /** The map, canonically ordered: two machines in the same state dump the same string. */
  dump(): string {
    return JSON.stringify([...this.data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private execute(c: KvCommand): KvResult {
    const current = this.data.get(c.key) ?? null;
    switch (c.op) {
      case 'get':
        return current;
      case 'put':
        this.data.set(c.key, c.value);
        return null;
      case 'append':
        this.data.set(c.key, (current ?? '') + c.value);
        return null;
      case 'cas':
        if (current !== c.expected) return false;
        this.data.set(c.key, c.value);
        return true;
    }
  }
}
