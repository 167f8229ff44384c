/**
 * Addresses as a TCP transport reads them: peer addresses in its configuration
 * (`host:port`), and IP addresses compared between sockets and configuration.
 */
import * as net from 'node:net';
import { TransportConfigError } from './tcpErrors';
import type { PeerAddress } from './tcpPeerLink';

/** An IP address as compared between sockets and configuration (IPv4-mapped IPv6 as IPv4, lower case). */
export function normalizeIp(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7)) ? lower.slice(7) : lower;
}

/** Parses `host:port` or `[v6]:port`. */
export function parseAddress(address: string): PeerAddress {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon <= 0 || !host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TransportConfigError(`peer address ${JSON.stringify(address)} is not host:port`);
  }
  return { host, port };
}
