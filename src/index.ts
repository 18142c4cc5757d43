/**
 * ipgate: IP allowlists, the real client address behind proxies, secure
 * cookies and secret-key checks for Node.js servers.
 */
export { canonicalAddress, isAddress } from './address.js';
export { type ErrorCode, type IpgateError, QUOTE_LIMIT, RuleError } from './errors.js';
export { IpMap, IpSet } from './ipset.js';
export {
  DEFAULT_MAX_HOPS,
  type HeaderBag,
  ProxyTrust,
  type ProxyTrustOptions,
  type Resolution,
  type ResolveReason,
} from './proxy-trust.js';
