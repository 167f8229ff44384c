/**
 * What a host process does while its groups should be idle (issue 19's memory per idle
 * group): over a window, the group messages it received by type and how many groups
 * sent them, its liveness messages, its CPU time, every GC (kind, heap before and after,
 * the young generation's committed size after it, from `v8.GCProfiler`), the bytes it
 * allocated (the growth of the heap between GCs, summed), and optionally where it
 * allocated (V8's sampling heap profiler, counting objects that died young too).
 *
 * V8 gives a young generation it grew back (`Heap::ReduceNewSpaceSize`) only after a GC
 * that sees the allocation throughput under about 1 MB/s, or in a memory-reducing GC:
 * an idle host that keeps allocating more than that keeps up to 32 MiB of empty
 * semi-spaces (bench/groupMemoryKv.ts shows them as "heap committed, free").
 *
 * Run in the host process (bench/shardedNode.ts's `idleTrace` command).
 */
import * as inspector from 'node:inspector';
import * as v8 from 'node:v8';
import type { Observable } from 'rxjs';

/** One GC in the window. */
export interface TracedGc {
  readonly type: string;
  readonly ms: number;
  readonly usedBefore: number;
  readonly usedAfter: number;
  /** The young generation's committed bytes after the GC. */
  readonly newSpaceCommitted: number;
}

/** Where bytes were allocated: a function and its callers, estimated bytes over the window. */
export interface AllocationSite {
  readonly bytes: number;
  readonly stack: string;
}

/** What one host did over one window. */
export interface IdleTrace {
  readonly seconds: number;
  readonly cpuPercent: number;
  /** Group messages received, by message type (a `quiesce` heartbeat counted apart). */
  readonly messages: Record<string, number>;
  /** Groups that received any message. */
  readonly groupsHeard: number;
  readonly livenessMessages: number;
  readonly gcs: readonly TracedGc[];
  /** Bytes allocated on the V8 heap over the window (growth between GCs, summed). */
  readonly allocatedBytes: number;
  readonly newSpaceCommittedStart: number;
  readonly newSpaceCommittedEnd: number;
  readonly heapUsedEnd: number;
  /** The top allocation sites, when asked. */
  readonly sites?: readonly AllocationSite[];
}

/** What the parent asks: the window's length, and whether to sample allocation sites (and at which interval, bytes). */
export interface IdleTraceArgs {
  readonly ms: number;
  readonly sites?: boolean;
  readonly samplingInterval?: number;
}

interface Streams {
  readonly inbound$: Observable<{ group: string; message: { type: string; quiesce?: boolean } }>;
  readonly alive$?: Observable<unknown>;
}

const GC_TYPES: Record<number, string> = { 1: 'scavenge', 2: 'mark-sweep-compact', 4: 'incremental-marking', 8: 'weak-callbacks', 15: 'all', 16: 'minor-mark-sweep' };

const newSpaceCommitted = (spaces: readonly { space_name: string; physical_space_size: number }[]) => spaces.find((s) => s.space_name === 'new_space')?.physical_space_size ?? NaN;

/** Traces this process over `args.ms` (see the file's comment). */
export async function idleTrace(transport: Streams, args: IdleTraceArgs): Promise<IdleTrace> {
  const messages: Record<string, number> = {};
  const groups = new Set<string>();
  let liveness = 0;
  const inbound = transport.inbound$.subscribe(({ group, message }) => {
    const type = message.type === 'AppendEntries' && message.quiesce ? 'AppendEntries(quiesce)' : message.type;
    messages[type] = (messages[type] ?? 0) + 1;
    groups.add(group);
  });
  const alive = transport.alive$?.subscribe(() => liveness++);
  const sampler = args.sites ? await startSampling(args.samplingInterval ?? 4096) : null;
  const startNew = newSpaceCommitted(v8.getHeapSpaceStatistics());
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { allocatedBytes, gcs, heapUsedEnd } = await allocatedDuring(() => new Promise((r) => setTimeout(r, args.ms)));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  inbound.unsubscribe();
  alive?.unsubscribe();
  const sites = sampler ? await sampler() : undefined;
  return {
    seconds,
    cpuPercent: ((used.user + used.system) / 1e6 / seconds) * 100,
    messages,
    groupsHeard: groups.size,
    livenessMessages: liveness,
    gcs,
    allocatedBytes,
    newSpaceCommittedStart: startNew,
    newSpaceCommittedEnd: newSpaceCommitted(v8.getHeapSpaceStatistics()),
    heapUsedEnd,
    ...(sites ? { sites } : {}),
  };
}

/**
 * The bytes this process allocates on the V8 heap while `during` runs (the growth of the
 * heap in use between GCs, summed) and each GC meanwhile (`v8.GCProfiler`).
 *
 * @example
 * const { allocatedBytes } = await allocatedDuring(() => clock.advance(20_000));
 */
export async function allocatedDuring(during: () => Promise<unknown>): Promise<{ allocatedBytes: number; gcs: TracedGc[]; heapUsedEnd: number }> {
  const profiler = new v8.GCProfiler();
  const startUsed = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  await during();
  const profile = profiler.stop() as unknown as { statistics: GcStatistics[] };
  const heapUsedEnd = v8.getHeapStatistics().used_heap_size;
  let allocatedBytes = 0;
  let last = startUsed;
  const gcs = profile.statistics.map((g): TracedGc => {
    allocatedBytes += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - last);
    last = g.afterGC.heapStatistics.usedHeapSize;
    const spaces = g.afterGC.heapSpaceStatistics.map((s) => ({ space_name: s.spaceName, physical_space_size: s.physicalSpaceSize }));
    return { type: GC_TYPES[g.gcType] ?? String(g.gcType), ms: g.cost / 1000, usedBefore: g.beforeGC.heapStatistics.usedHeapSize, usedAfter: last, newSpaceCommitted: newSpaceCommitted(spaces) };
  });
  allocatedBytes += Math.max(0, heapUsedEnd - last);
  return { allocatedBytes, gcs, heapUsedEnd };
}

/** `v8.GCProfiler`'s record of one GC (camel-cased heap statistics). */
interface GcStatistics {
  readonly gcType: number;
  readonly cost: number;
  readonly beforeGC: { heapStatistics: { usedHeapSize: number } };
  readonly afterGC: { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: { spaceName: string; physicalSpaceSize: number }[] };
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** Starts V8's sampling heap profiler (objects collected by either GC included); the function returned stops it and sums the sites. */
export async function startSampling(samplingInterval: number): Promise<() => Promise<AllocationSite[]>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
    session.disconnect();
    const bytes = new Map<string, number>();
    const frame = (n: SamplingNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|examples|bench|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
    const walk = (n: SamplingNode, callers: string[]) => {
      const stack = [frame(n), ...callers].slice(0, 4).join(' < ');
      if (n.selfSize > 0) bytes.set(stack, (bytes.get(stack) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c, [frame(n), ...callers]);
    };
    walk(profile.head, []);
    return [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([stack, b]) => ({ stack, bytes: b }));
  };
}
