import * as net from 'node:net';

/**
 * Hostile clients for the resource tests: idle TCP connections to one port that never
 * send a byte, each reopened as soon as it is closed (the attacker of issue 18, finding
 * 4). Connections come from the given loopback source addresses in turn (127.0.0.2,
 * 127.0.0.3, ...: Linux routes all of 127/8 to loopback), so per-source limits can be
 * exercised. Bounded: at most `maxOpens` connections in all; `stop()` destroys them.
 *
 * @example
 * const flood = new IdleFlood(port, ['127.0.0.2', '127.0.0.3'], 70);
 * flood.start();
 * // ... the node under attack keeps working ...
 * flood.stop();
 */
export class IdleFlood {
  private readonly sockets = new Set<net.Socket>();
  private stopped = false;
  /** Connections opened so far (the initial ones and every reopen). */
  opened = 0;

  constructor(
    private readonly port: number,
    private readonly sources: readonly string[],
    private readonly connections: number,
    private readonly maxOpens = 200_000,
  ) {}

  start(): void {
    for (let i = 0; i < this.connections; i++) this.open(this.sources[i % this.sources.length]);
  }

  /** Connections currently open (from this side's view). */
  get open$(): number {
    return this.sockets.size;
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private open(source: string): void {
    if (this.stopped || this.opened >= this.maxOpens) return;
    this.opened++;
    const socket = net.connect({ port: this.port, host: '127.0.0.1', localAddress: source });
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.sockets.delete(socket);
      // Reopened at once (on the next loop turn, so the process still serves its own I/O).
      if (!this.stopped) setImmediate(() => this.open(source));
    });
  }
}

/** Loopback source addresses 127.0.0.<from> .. 127.0.0.<from + count - 1>. */
export function loopbackSources(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${from + i}`);
}
