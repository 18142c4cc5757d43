// Forwarding chains for the client-address and gate benchmarks: a client,
// then proxies in the trusted blocks, as a request arrives behind them.
import { formatAddress } from '../scripts/geoip.js';
import { flat, loadPools, random } from './data.js';

/** TRUSTED are the proxy blocks the issue names. */
export const TRUSTED = ['10.0.0.0/8', '172.16.0.0/12', 'fd00::/8'];

/** Chain is one request as a server sees it, and the client it must find. */
export interface Chain {
  /** The socket's peer as Node reports it; half the IPv4 ones dual-stack mapped. */
  remoteAddress: string;
  headers: Record<string, string>;
  client: string;
}

/** proxyAddress returns a random address in the k-th trusted block (k mod 3). */
function proxyAddress(next: () => number, k: number): string {
  switch (k % 3) {
    case 0:
      return formatAddress(4, 0x0a000000n + BigInt(next() & 0xffffff));
    case 1:
      return formatAddress(4, 0xac100000n + BigInt(next() & 0xfffff));
    default:
      return formatAddress(6, (0xfdn << 120n) | (BigInt(next()) << 64n) | BigInt(next()));
  }
}

/** clientAddress returns a random address in a random upstream prefix of the family. */
function clientAddress(next: () => number, family: 4 | 6): string {
  const pool = loadPools()[family];
  const i = next() % pool.addrs.length;
  const hostBits = (family === 4 ? 32 : 128) - pool.bits[i]!;
  const host = hostBits === 0 ? 0n : BigInt(next()) & ((1n << BigInt(Math.min(hostBits, 32))) - 1n);
  return formatAddress(family, pool.addrs[i]! + host);
}

/**
 * makeChains returns `count` requests with `hops` entries in
 * X-Forwarded-For: the client leftmost, then hops - 1 trusted proxies, and a
 * trusted proxy as the peer. A walk from the peer therefore examines every
 * entry before it reaches the client. `clientOf(i)` may supply the client.
 */
export function makeChains(
  hops: number,
  count: number,
  clientOf?: (i: number, next: () => number) => string,
): Chain[] {
  const next = random(hops * 7919 + count);
  const chains: Chain[] = [];
  for (let i = 0; i < count; i++) {
    const client = clientOf ? clientOf(i, next) : clientAddress(next, i % 2 === 0 ? 4 : 6);
    const entries = [client];
    for (let k = 1; k < hops; k++) entries.push(proxyAddress(next, i + k));
    let peer = proxyAddress(next, i + hops);
    if (!peer.includes(':') && (next() & 1) === 1) peer = `::ffff:${peer}`;
    chains.push({
      remoteAddress: flat(peer),
      headers: { host: 'app.example', 'x-forwarded-for': flat(entries.join(', ')) },
      client,
    });
  }
  return chains;
}
