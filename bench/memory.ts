/**
 * Memory benchmark: three KV server processes (examples/kv-server.ts, compiled to JS)
 * on loopback with FileStorage, and closed-loop HTTP clients writing to the leader. The
 * RSS of every process (from /proc) and its V8 heap in use (`nodejs_heap_size_used_bytes`
 * from the server's /metrics) are sampled every few seconds, printed as a table and an
 * ASCII chart, and written as JSON under bench/results/. Then, when `etcd` is installed
 * (`apt-get install etcd-server`), the same load on a three-member etcd cluster in the
 * same run, and the two side by side (issue 17: RSS flat after warm-up, and no higher than etcd's).
 *
 *   npm run bench:memory                                  # 64 clients, 5 minutes each
 *   npm run bench:memory -- --duration 60 --interval 5    # a short run while iterating
 *   npm run bench:memory -- --flags "--snapshot-every 100000" --against none
 *   npm run bench:memory -- --against none --duration 150 --stall 300,80,4   # SIGSTOP stalls (bench/memoryStalls.ts)
 *
 * Keys come from a bounded key space (`--keys`, default 10,000: `k0` … `k9999`), so the
 * store itself stops growing once every key was written; what grows after that is the
 * node's own. The verdict compares the median of the last minute with that of the second
 * minute (within 10%: flat).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { etcdBinary } from './etcdCluster';
import { MemoryLoad, MemoryPhaseResult, runMemoryPhase } from './memoryPhase';
import { parseStallPlan, StallPlan, stallMembers } from './memoryStalls';
import { MemoryTarget, startEtcd, startKvServers } from './memoryTargets';

interface Options extends MemoryLoad {
  /** The KV servers' extra flags. */
  readonly flags: string[];
  /** The cluster loaded after rxraft's, in the same run (default etcd, when installed). */
  readonly against: 'etcd' | 'none';
  /** Stalls of every member while loading (`--stall <stallMs>,<skewMs>,<everyS>`), or none. */
  readonly stall: StallPlan | null;
}

const USAGE = `usage: npm run bench:memory -- [options]

RSS and V8 heap of three KV server processes under closed-loop HTTP writes, sampled as
they run; then the same load on a three-member etcd cluster when etcd is installed.

  --duration <s>       length of each phase (default 300)
  --interval <s>       sampling interval (default 5)
  --clients <n>        closed-loop HTTP clients (default 64)
  --keys <n>           size of the key space (default 10000)
  --value-bytes <n>    value size (default 100)
  --flags "<flags>"    extra flags of the KV servers
  --against etcd|none  the cluster loaded after rxraft's (default etcd, when installed)
  --stall <ms>,<skewMs>,<everyS>   SIGSTOP stalls of every member while loading
  --help               this text`;

/** A flag this benchmark does not take, or a value it cannot use: printed with the usage, exit 2. */
class UsageError extends Error {}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const o = { durationS: 300, intervalS: 5, clients: 64, keys: 10_000, valueBytes: 100, flags: [] as string[], against: 'etcd' as Options['against'], stall: null as StallPlan | null };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const num = (name: string) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got ${value}`);
      i++;
      return n;
    };
    switch (argv[i]) {
      case '--help': return 'help';
      case '--duration': o.durationS = num('--duration'); break;
      case '--interval': o.intervalS = num('--interval'); break;
      case '--clients': o.clients = num('--clients'); break;
      case '--keys': o.keys = num('--keys'); break;
      case '--value-bytes': o.valueBytes = num('--value-bytes'); break;
      case '--flags': o.flags = (value ?? '').split(/\s+/).filter(Boolean); i++; break;
      case '--stall':
        try {
          o.stall = parseStallPlan(value ?? '');
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        i++;
        break;
      case '--against':
        if (value !== 'etcd' && value !== 'none') throw new UsageError(`--against must be etcd or none, got ${value}`);
        o.against = value;
        i++;
        break;
      default: throw new UsageError(`unknown flag ${argv[i]}`);
    }
  }
  return o;
}

/** Starts a cluster, loads it for the phase, stops it whatever happens. */
async function phase(start: () => Promise<MemoryTarget>, load: MemoryLoad, plan: StallPlan | null): Promise<MemoryPhaseResult> {
  const target = await start();
  const stalls = plan ? stallMembers(target.members.map((m) => m.pid), plan) : null;
  const stop = () => void (stalls?.stop() ?? Promise.resolve(0)).then(() => target.stop()).then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    return await runMemoryPhase(target, load);
  } finally {
    process.removeListener('SIGINT', stop);
    if (stalls) console.log(`stalls: ${await stalls.stop()} (${plan!.stallMs} ms, resumed up to ${plan!.skewMs} ms apart, every ~${plan!.everyS} s)`);
    await target.stop();
  }
}

/** rxraft's last-minute medians against etcd's: the largest of the three (where the leader is) and the smallest (a follower). */
function compare(rxraft: MemoryPhaseResult, etcd: MemoryPhaseResult): Record<string, { rxraftMb: number | null; etcdMb: number | null; ratio: number | null }> {
  const out: Record<string, { rxraftMb: number | null; etcdMb: number | null; ratio: number | null }> = {};
  console.log('last-minute median RSS, same load, same run:');
  for (const series of ['largest of the three', 'smallest of the three']) {
    const a = rxraft.verdicts[series].lastMinuteMedianMb;
    const b = etcd.verdicts[series].lastMinuteMedianMb;
    const ratio = a !== null && b !== null ? a / b : null;
    out[series] = { rxraftMb: a, etcdMb: b, ratio };
    const verdict = ratio === null ? '(run at least 180 s for a verdict)' : `${ratio.toFixed(2)}× etcd's, ${ratio <= 1 ? 'NO HIGHER' : 'HIGHER'}`;
    console.log(`  ${series.padEnd(22)} rxraft ${a?.toFixed(0) ?? '-'} MB, etcd ${b?.toFixed(0) ?? '-'} MB: ${verdict}`);
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === 'help') return console.log(USAGE);
  console.log(`flags of the KV servers: ${o.flags.join(' ') || '(none)'}`);
  const rxraft = await phase(() => startKvServers(o.flags), o, o.stall);
  let etcd: MemoryPhaseResult | null = null;
  if (o.against === 'etcd' && !etcdBinary()) console.log('etcd is not installed (apt-get install etcd-server): no side-by-side run');
  else if (o.against === 'etcd') etcd = await phase(startEtcd, o, o.stall);
  const comparison = etcd ? compare(rxraft, etcd) : null;
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ options: o, rxraft, etcd, comparison }, null, 2));
  console.log(`results: ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  if (e instanceof UsageError) {
    console.error(`${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(1);
});
