/**
 * Proxy trusts for the cookie tests. Every test server listens on
 * 127.0.0.1, so "the proxy" is the loopback peer: trustLoopback plays a
 * TLS-terminating proxy on the same host, trustNobody a configured trust
 * that does not include the peer (the forged-header case).
 */
import { ProxyTrust } from '../../src/proxy-trust.js';

/** trustLoopback trusts 127.0.0.1 and ::1 only. */
export function trustLoopback(): ProxyTrust {
  return new ProxyTrust({ trusted: ['127.0.0.1', '::1'] });
}

/** trustNobody trusts a documentation prefix the tests never connect from. */
export function trustNobody(): ProxyTrust {
  return new ProxyTrust({ trusted: ['192.0.2.0/24'] });
}
