// The libraries ipgate is measured against, each wrapped the way an
// application would use it for "is this address in my list?".
import { createRequire } from 'node:module';
import { BlockList } from 'node:net';
import CidrMatcher from 'cidr-matcher';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/** Lookup answers one query; `family` is what the socket reports (remoteFamily). */
export type Lookup = (addr: string, family: 'ipv4' | 'ipv6') => boolean;

/** Peer builds a lookup from rule text such as "10.0.0.0/8" or "2001:db8::/32". */
export interface Peer {
  name: string;
  /** How the peer's lookup treats `::ffff:a.b.c.d`, for the report. */
  mapped: string;
  build(rules: readonly string[]): Lookup;
}

const require = createRequire(import.meta.url);

/** versionOf reports the installed version of a package, for the report. */
export function versionOf(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

/** splitRule reads "addr/bits" into its parts; the lists hold nothing else. */
function splitRule(rule: string): [string, number, 'ipv4' | 'ipv6'] {
  const slash = rule.indexOf('/');
  const addr = rule.slice(0, slash);
  return [addr, Number(rule.slice(slash + 1)), addr.includes(':') ? 'ipv6' : 'ipv4'];
}

/** blockList: Node's net.BlockList, every rule added with its family. */
const blockList: Peer = {
  name: 'net.BlockList',
  mapped: "given family 'ipv6' as a socket reports it; matches IPv4 rules itself",
  build(rules) {
    const list = new BlockList();
    for (const rule of rules) list.addSubnet(...splitRule(rule));
    return (addr, family) => list.check(addr, family);
  },
};

/** proxyAddr: proxy-addr's compiled trust function, asked about hop 0. */
const proxyAddr: Peer = {
  name: 'proxy-addr',
  mapped: 'unwraps mapped addresses itself',
  build(rules) {
    const trust = proxyaddr.compile([...rules]);
    return (addr) => trust(addr, 0);
  },
};

/**
 * ipaddrJs: ipaddr.js, rules parsed once and split by kind; a query is parsed
 * with `ipaddr.process` (which unwraps mapped addresses) and matched in a loop
 * against the rules of its kind, since `match` throws across kinds.
 */
const ipaddrJs: Peer = {
  name: 'ipaddr.js',
  mapped: 'ipaddr.process unwraps mapped addresses',
  build(rules) {
    const v4: [ipaddr.IPv4, number][] = [];
    const v6: [ipaddr.IPv6, number][] = [];
    for (const rule of rules) {
      const [addr, bits] = ipaddr.parseCIDR(rule);
      if (addr.kind() === 'ipv4') v4.push([addr as ipaddr.IPv4, bits]);
      else v6.push([addr as ipaddr.IPv6, bits]);
    }
    return (text) => {
      const addr = ipaddr.process(text);
      if (addr.kind() === 'ipv4') {
        const ip = addr as ipaddr.IPv4;
        for (let i = 0; i < v4.length; i++) if (ip.match(v4[i]!)) return true;
        return false;
      }
      const ip = addr as ipaddr.IPv6;
      for (let i = 0; i < v6.length; i++) if (ip.match(v6[i]!)) return true;
      return false;
    };
  },
};

/** cidrMatcher: cidr-matcher's `contains`. */
const cidrMatcher: Peer = {
  name: 'cidr-matcher',
  mapped: 'ip6addr parses mapped addresses as IPv4',
  build(rules) {
    const matcher = new CidrMatcher([...rules]);
    return (addr) => matcher.contains(addr);
  },
};

/** PEERS lists the peers in the order the reports show them. */
export const PEERS: readonly Peer[] = [blockList, proxyAddr, ipaddrJs, cidrMatcher];

/** PEER_PACKAGES maps each peer to the package whose version the reports give. */
export const PEER_PACKAGES: Record<string, string | null> = {
  'net.BlockList': null,
  'proxy-addr': 'proxy-addr',
  'ipaddr.js': 'ipaddr.js',
  'cidr-matcher': 'cidr-matcher',
};
