/**
 * Proxy trusts for the cookie tests. Every test server listens on
 * 127.0.0.1, so "the proxy" is the loopback peer: LOOPBACK plays a
 * TLS-terminating proxy on the same host, ELSEWHERE a configured trust
 * that does not include the peer (the forged-header case).
 */
import { ProxyTrust } from '../../src/proxy-trust.js';

/** LOOPBACK trusts 127.0.0.1 and ::1 only. */
export const LOOPBACK = ['127.0.0.1', '::1'];

/** ELSEWHERE trusts a documentation prefix the tests never connect from. */
export const ELSEWHERE = ['192.0.2.0/24'];

/** trustLoopback is a ProxyTrust of LOOPBACK. */
export function trustLoopback(): ProxyTrust {
  return new ProxyTrust({ trusted: LOOPBACK });
}
