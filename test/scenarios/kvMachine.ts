import type { CommittedEntry } from '../../src/messages/entry';
import type { StateMachine } from '../../src/api';
import { TestCluster, TestClusterOptions } from '../../src/testing';

/** A tiny key-value state machine ("key=value" commands) with streaming snapshots. */
export class KvMachine implements StateMachine {
  readonly map = new Map<string, string>();
  appliedIndex = 0;
  restores: { index: number; term: number }[] = [];
  /** Awaited before each restore (a test makes restoring slow). */
  beforeRestore: () => Promise<void> = () => Promise.resolve();

  apply(e: CommittedEntry): void {
    const [key, value] = new TextDecoder().decode(e.data).split('=');
    this.map.set(key, value);
    this.appliedIndex = e.index;
  }

  *snapshot(): Iterable<Uint8Array> {
    for (const pair of this.map) yield Buffer.from(JSON.stringify(pair) + '\n');
  }

  async restore(chunks: AsyncIterable<Uint8Array>, at: { index: number; term: number }): Promise<void> {
    await this.beforeRestore();
    this.map.clear();
    let text = '';
    for await (const chunk of chunks) text += Buffer.from(chunk).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line) continue;
      const [k, v] = JSON.parse(line) as [string, string];
      this.map.set(k, v);
    }
    this.appliedIndex = at.index;
    this.restores.push(at);
  }
}

/** A TestCluster whose every node (and every run of it) has its own KvMachine fed by committed$. */
export function kvCluster(options: TestClusterOptions): { c: TestCluster; machine: (id: string) => KvMachine } {
  const machines = new Map<string, KvMachine>();
  const c = new TestCluster({
    ...options,
    nodeOptionsFor: (id) => {
      const m = new KvMachine();
      machines.set(id, m);
      return { stateMachine: m };
    },
  });
  const wire = (id: string, node = c.node(id)) => {
    const m = machines.get(id)!;
    node.committed$.subscribe((e) => m.apply(e));
  };
  for (const id of c.ids) wire(id);
  c.started$.subscribe(({ id, node }) => wire(id, node)); // restarts and joins
  return { c, machine: (id) => machines.get(id)! };
}
