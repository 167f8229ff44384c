/**
 * The IP addresses of a TCP transport's configured peers, host names resolved in the
 * background: inbound handshakes from them rank above strangers' in the handshake budget.
 */
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { normalizeIp } from './tcpAddress';

/**
 * The configured peers' IP addresses, recomputed at each change of peers. A host name is
 * resolved once (again only after a failed lookup, at the next change); until it is, its
 * peer's address does not count.
 *
 * @example
 * const sources = new PeerSources(() => ['10.0.0.2', 'db3.internal'], () => closed);
 * sources.update();
 * sources.has('10.0.0.2');  // true; db3.internal's addresses once resolved
 */
export class PeerSources {
  /** The IP addresses of configured peers (host names resolved). */
  private sources = new Set<string>();
  /** Addresses of the peers' host names, as resolved. */
  private readonly resolved = new Map<string, readonly string[]>();

  constructor(
    /** The configured peers' hosts (IP addresses or names; undefined: a peer without address). */
    private readonly hosts: () => Iterable<string | undefined>,
    /** Whether the transport is closing: a lookup that ends then changes nothing. */
    private readonly closing: () => boolean,
  ) {}

  /** Whether `ip` (as `normalizeIp` gives it) is a configured peer's address. */
  has(ip: string): boolean {
    return this.sources.has(ip);
  }

  /** Recomputes the configured peers' IP addresses; host names are resolved (once each) in the background. */
  update(): void {
    const sources = new Set<string>();
    for (const host of this.hosts()) {
      if (host === undefined) continue;
      if (net.isIP(host)) sources.add(normalizeIp(host));
      else for (const ip of this.resolved.get(host) ?? []) sources.add(ip);
      if (!net.isIP(host) && !this.resolved.has(host)) this.resolve(host);
    }
    this.sources = sources;
  }

  private resolve(host: string): void {
    this.resolved.set(host, []);
    lookup(host, { all: true }).then(
      (found) => {
        this.resolved.set(host, found.map((a) => normalizeIp(a.address)));
        if (!this.closing()) this.update();
      },
      () => this.resolved.delete(host), // tried again at the next change of peers
    );
  }
}
