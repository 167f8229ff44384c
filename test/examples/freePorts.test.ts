/**
 * Ports for local clusters: distinct, free, and below the kernel's ephemeral range, so
 * that no outgoing connection (a cluster's reconnects to a node that is down) can take a
 * node's port while it restarts.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { freePorts } from '../../examples/kv/processes';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

it('gives distinct ports that can be listened on, below the ephemeral range', async () => {
  const ports = await freePorts(8);
  expect(new Set(ports).size).toBe(8);
  if (fs.existsSync(RANGE_FILE)) {
    const first = Number(fs.readFileSync(RANGE_FILE, 'utf8').trim().split(/\s+/)[0]);
    if (first > 21_000) for (const port of ports) expect(port).toBeLessThan(first);
  }
  const servers = await Promise.all(
    ports.map(
      (port) =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

it('skips a port that is taken', async () => {
  const held = await Promise.all(
    (await freePorts(4)).map(
      (port) =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(port, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const heldPorts = held.map((s) => (s.address() as net.AddressInfo).port);
  try {
    const ports = await freePorts(16);
    for (const port of ports) expect(heldPorts).not.toContain(port);
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
});
