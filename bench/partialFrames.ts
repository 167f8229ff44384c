/**
 * Memory a TCP transport holds for half-sent frames (issue 18, finding 5): a separate
 * attacker process opens 20 connections that authenticate with the secret as 20
 * different node ids, and each sends 15 MiB of a 16 MiB frame and stops. Prints the
 * transport's RSS before and 10 s after, how many attacker connections are still open,
 * and what the transport's own accounting says it holds.
 *
 *     npx ts-node --transpile-only bench/partialFrames.ts            # ids unknown to the node (acceptUnknownPeers)
 *     npx ts-node --transpile-only bench/partialFrames.ts configured  # ids that are configured peers
 *
 * Run as `partialFrames.ts attack <port> <count>` it is the attacker.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { FrameReader, joinFrames } from '../src/transports/tcpFrames';
import { authProof, decodeHandshake, encodeAuth, encodeHello, NONCE_BYTES } from '../src/transports/tcpHandshake';
import { tcpTransport } from '../src/transports/tcpTransport';

const CLUSTER = 'bench';
const SECRET = 'bench-secret';
const CONNECTIONS = 20;
const MIB = 1024 * 1024;

/** Authenticates as `id`, then sends 15 MiB of a 16 MiB frame. */
function attack(port: number, id: string, onClose: () => void): void {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.once('close', onClose);
  const nonce = randomBytes(NONCE_BYTES);
  const reader = new FrameReader(4096);
  let acceptor: { id: string; nonce: Buffer } | undefined;
  socket.once('connect', () => socket.write(joinFrames([encodeHello(CLUSTER, id, nonce)])));
  socket.on('data', (chunk: Buffer) =>
    reader.push(chunk, (body) => {
      const frame = decodeHandshake(body);
      if (frame.kind === 'hello') acceptor = frame;
      else if (acceptor) {
        socket.write(joinFrames([encodeAuth(authProof(SECRET, CLUSTER, id, acceptor.id, acceptor.nonce, nonce))]));
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(16 * MIB, 0);
        socket.write(prefix);
        socket.write(Buffer.alloc(15 * MIB, 0x61));
      }
      return true;
    }),
  );
}

async function measure(configured: boolean): Promise<void> {
  const peers: Record<string, string> = {};
  if (configured) for (let i = 0; i < CONNECTIONS; i++) peers[`p${i}`] = `127.0.0.1:${1000 + i}`;
  const transport = tcpTransport({
    id: 'target', listen: { host: '127.0.0.1', port: 0 }, peers, clusterId: CLUSTER, secret: SECRET, acceptUnknownPeers: true,
  });
  transport.errors$.subscribe(() => undefined);
  const { port } = await transport.listening();
  const before = process.memoryUsage().rss;
  const attacker = fork(__filename, ['attack', String(port), String(CONNECTIONS)], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
  let open = CONNECTIONS;
  attacker.on('message', (m) => (open = Number(m)));
  await new Promise((r) => setTimeout(r, 10_000));
  const { partialFrames } = transport.stats();
  const mib = (n: number) => (n / MIB).toFixed(0);
  console.log(
    `${configured ? 'configured' : 'unknown'} ids: RSS ${mib(before)} -> ${mib(process.memoryUsage().rss)} MiB after 10 s; ` +
      `${open}/${CONNECTIONS} attacker connections open; held ${mib(partialFrames.bytes)} MiB ` +
      `(peak ${mib(partialFrames.peakBytes)}, budget ${mib(partialFrames.budget)})`,
  );
  attacker.kill('SIGKILL');
  await transport.close();
}

if (process.argv[2] === 'attack') {
  let open = Number(process.argv[4]);
  for (let i = 0; i < Number(process.argv[4]); i++) attack(Number(process.argv[3]), `p${i}`, () => open--);
  setInterval(() => process.send?.(open), 200);
} else {
  void measure(process.argv[2] === 'configured');
}
