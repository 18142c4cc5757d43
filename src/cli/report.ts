/**
 * How the `ipgate` command describes a configuration and a verdict, the same
 * way in `doctor`, `check`, `serve` and the demo page. Secrets are described
 * by their length only.
 */
import type { GateConfig } from '../config.js';
import type { VerdictReason } from '../gate.js';

/** LIST_LIMIT is how many entries of a long list the report spells out. */
export const LIST_LIMIT = 12;

/** REASON_TEXT explains each verdict reason in a sentence fragment. */
export const REASON_TEXT: Readonly<Record<VerdictReason, string>> = {
  unrestricted: 'ALLOWED_IP_BLOCKS is empty, so every client passes',
  exempt: 'the path is exempt from the allowlist (IPGATE_EXEMPT_PATHS)',
  'untrusted-forwarding': 'the request carries X-Forwarded-For but no proxy is trusted',
  'no-client-address': 'there is no peer, a malformed hop was reached, or too many hops',
  allowed: 'the client matches a rule of the allowlist',
  'not-allowed': 'the client matches no rule of the allowlist',
};

/** modeName names the run mode of `config`. */
export function modeName(config: Pick<GateConfig, 'debug' | 'test'>): string {
  if (config.debug && config.test) return 'debug and test';
  if (config.debug) return 'debug';
  if (config.test) return 'test';
  return 'production';
}

/**
 * configLines describes `config` one setting per line, each named by the
 * environment variable it comes from, aligned for a terminal.
 */
export function configLines(config: GateConfig): string[] {
  const rows: [string, string][] = [
    ['mode', modeName(config)],
    ['ALLOWED_IP_BLOCKS', listText(config.allow, 'none: every client passes')],
    ['TRUSTED_PROXIES', listText(config.trustedProxies, 'none')],
    ['TRUST_ALL_PROXIES', String(config.trustAllProxies)],
    ['IS_BEHIND_PROXY', behindProxyText(config)],
    ['IPGATE_EXEMPT_PATHS', listText(config.exemptPaths, 'none')],
    ['SECURE_COOKIES', String(config.secureCookies)],
    ['DISABLE_SECURE_SSL_REDIRECT', String(config.disableSslRedirect)],
    ['SECRET_KEY', keyText(config.secretKey)],
    ['SECRET_KEY_FALLBACKS', fallbacksText(config.secretKeyFallbacks)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  return rows.map(([name, value]) => `${name.padEnd(width)}${value}`);
}

/** listText joins a list, spelling out at most LIST_LIMIT entries. */
export function listText(entries: readonly string[], empty: string): string {
  if (entries.length === 0) return empty;
  const shown = entries.slice(0, LIST_LIMIT).join(', ');
  const rest = entries.length - LIST_LIMIT;
  return rest > 0 ? `${shown} and ${rest} more` : shown;
}

/** behindProxyText says where the client address comes from. */
function behindProxyText(config: GateConfig): string {
  if (!config.behindProxy) return 'false: the client is the socket peer';
  return 'true: the client is read from X-Forwarded-For';
}

/** keyText describes a secret key by its length. */
function keyText(key: string | undefined): string {
  return key === undefined ? 'not set' : `set, ${key.length} characters`;
}

/** fallbacksText describes the fallback keys by their lengths. */
function fallbacksText(keys: readonly string[]): string {
  if (keys.length === 0) return 'none';
  const lengths = keys.map((key) => String(key.length)).join(', ');
  return `${keys.length} ${keys.length === 1 ? 'key' : 'keys'} of ${lengths} characters`;
}
