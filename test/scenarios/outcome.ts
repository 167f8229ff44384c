import type { TestCluster } from '../../src/testing';

export type Outcome<T> = { ok: true; value: T; at: number } | { ok: false; error: unknown; at: number };

/** Advances the cluster's virtual time until `promise` settles, and says how (and when). */
export async function outcome<T>(c: TestCluster, promise: Promise<T>, timeout = 5000): Promise<Outcome<T>> {
  let result: Outcome<T> | undefined;
  promise.then(
    (value) => (result = { ok: true, value, at: c.clock.now() }),
    (error) => (result = { ok: false, error, at: c.clock.now() }),
  );
  await c.waitFor(() => result !== undefined, timeout, 1);
  return result!;
}
