/**
 * ipgate: IP allowlists, the real client address behind proxies, secure
 * cookies and secret-key checks for Node.js servers.
 *
 * The adapters live in their own entry points: `ipgate/node`,
 * `ipgate/express` and `ipgate/fastify`.
 */
export { canonicalAddress, isAddress } from './address.js';
export { configFromEnv, type GateConfig } from './config.js';
export {
  COOKIE_WARNING_LIMIT,
  type CookieFix,
  CookiePolicy,
  type CookiePolicyOptions,
  isSecureRequest,
  REDIRECT_EXEMPT_SEGMENT,
  type RequestSecurityOptions,
  rewriteSetCookie,
  type SecureCookiesOptions,
  type SetCookieRewrite,
  secureCookies,
} from './cookies.js';
export type { Env, Mode } from './env.js';
export { modeFromEnv } from './env.js';
export { type ErrorCode, type IpgateError, QUOTE_LIMIT, RuleError } from './errors.js';
export {
  createGate,
  Gate,
  type GateOptions,
  type GateRequest,
  type Verdict,
  type VerdictReason,
} from './gate.js';
export { IpMap, IpSet } from './ipset.js';
export { DEFAULT_EXEMPT_PATHS } from './paths.js';
export {
  DEFAULT_MAX_HOPS,
  type HeaderBag,
  ProxyTrust,
  type ProxyTrustOptions,
  type Resolution,
  type ResolveReason,
} from './proxy-trust.js';
export {
  assertSecretKey,
  checkSecretKey,
  generateSecretKey,
  INSECURE_PREFIX,
  SECRET_KEY_BYTES,
  SECRET_KEY_MIN_DISTINCT,
  SECRET_KEY_MIN_LENGTH,
} from './secret.js';
export { CLOCK_SKEW_SECONDS, Signer, type SignerOptions } from './signer.js';
