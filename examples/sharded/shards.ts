/**
 * Which group holds a key: a stable hash of the key (32-bit FNV-1a of its UTF-8 bytes)
 * modulo the number of groups. Every process computes the same answer without asking
 * anyone, so any process can route any key.
 */

/** The id of shard `index`: `kv-0`, `kv-1`, ... */
export const shardId = (index: number): string => `kv-${index}`;

/**
 * 32-bit FNV-1a of the UTF-8 bytes of `text`.
 *
 * @example
 * fnv1a32('a'); // 0xe40c292c
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The index of the shard (group) that holds `key`, out of `shards`.
 *
 * @example
 * shardOf('user:42', 8); // the same number on every process, for as long as there are 8 shards
 */
export function shardOf(key: string, shards: number): number {
  if (!Number.isSafeInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  return fnv1a32(key) % shards;
}
