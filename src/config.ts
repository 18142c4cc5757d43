/**
 * The gate's configuration, read from the environment variables PostHog
 * documents for a self-hosted install, strictly: every boolean and every
 * list entry is checked at start-up, so that a typo stops the server instead
 * of opening it.
 */
import { type InspectOptions, inspect } from 'node:util';
import { type Env, modeFromEnv, readBoolean, readList } from './env.js';
import { invalid, quote, RuleError } from './errors.js';
import { IpSet } from './ipset.js';
import { DEFAULT_EXEMPT_PATHS, segmentProblem } from './paths.js';

/** GateConfig is what `configFromEnv` reads; `createGate` accepts it as is. */
export interface GateConfig {
  /** allow is `ALLOWED_IP_BLOCKS`: address rules; empty means no restriction. */
  allow: string[];
  /** trustedProxies is `TRUSTED_PROXIES`: the proxies whose hops are believed. */
  trustedProxies: string[];
  /** trustAllProxies is `TRUST_ALL_PROXIES`: believe every hop (spoofable). */
  trustAllProxies: boolean;
  /** behindProxy is `IS_BEHIND_PROXY`: only then are forwarding headers read. */
  behindProxy: boolean;
  /** exemptPaths is `IPGATE_EXEMPT_PATHS`: first path segments open to all. */
  exemptPaths: string[];
  /** secureCookies is `SECURE_COOKIES`, by default on unless debug or test. */
  secureCookies: boolean;
  /** disableSslRedirect is `DISABLE_SECURE_SSL_REDIRECT`. */
  disableSslRedirect: boolean;
  /** debug is `DEBUG`, or `NODE_ENV=development`. */
  debug: boolean;
  /** test is `TEST`, or `NODE_ENV=test`. */
  test: boolean;
  /** secretKey is `SECRET_KEY` as given, or undefined when unset or empty. */
  secretKey: string | undefined;
  /** secretKeyFallbacks is `SECRET_KEY_FALLBACKS`, a comma-separated list. */
  secretKeyFallbacks: string[];
  /** warnings names each questionable setting, one sentence per setting. */
  warnings: string[];
}

/**
 * configFromEnv reads the gate's settings from `env` (by default
 * `process.env`) and returns them as a plain object.
 *
 * Booleans take PostHog's tokens in any case (`true t yes y on 1`,
 * `false f no n off 0`); an empty value counts as unset. Lists are split on
 * commas with entries trimmed and empty ones dropped.
 *
 * `IPGATE_EXEMPT_PATHS`, when set, replaces `DEFAULT_EXEMPT_PATHS` entirely:
 * set but blank exempts nothing, which is the fail-closed reading of an
 * empty list; only an unset variable gives the default list.
 *
 * Throws, at start-up rather than per request:
 * - `ERR_INVALID_ENV` (TypeError) for a boolean that is not a token, or an
 *   exempt path entry that is not a single path segment;
 * - `ERR_INVALID_RULE` (TypeError) for an `ALLOWED_IP_BLOCKS` or
 *   `TRUSTED_PROXIES` entry that `IpSet` rejects, naming the variable and the
 *   entry, e.g. `ALLOWED_IP_BLOCKS entry "10.0.0.0/33": prefix length 33
 *   exceeds 32`.
 * No message ever contains `SECRET_KEY` or its fallbacks, and neither does
 * the object as `JSON.stringify` or `util.inspect` (so `console.log`) show
 * it; its fields hold them as they are.
 */
export function configFromEnv(env: Env = process.env): GateConfig {
  const mode = modeFromEnv(env);
  const allow = readRules(env, 'ALLOWED_IP_BLOCKS');
  const trustedProxies = readRules(env, 'TRUSTED_PROXIES').rules;
  const trustAllProxies = readBoolean(env, 'TRUST_ALL_PROXIES') ?? false;
  const behindProxy = readBoolean(env, 'IS_BEHIND_PROXY') ?? false;

  const config: GateConfig = {
    allow: allow.rules,
    trustedProxies,
    trustAllProxies,
    behindProxy,
    exemptPaths: readExemptPaths(env),
    secureCookies: readBoolean(env, 'SECURE_COOKIES') ?? !(mode.debug || mode.test),
    disableSslRedirect: readBoolean(env, 'DISABLE_SECURE_SSL_REDIRECT') ?? false,
    debug: mode.debug,
    test: mode.test,
    secretKey: env.SECRET_KEY === '' ? undefined : env.SECRET_KEY,
    secretKeyFallbacks: readList(env, 'SECRET_KEY_FALLBACKS'),
    warnings: [],
  };
  config.warnings = [...proxyWarnings(config), ...wholeFamilyWarnings(allow.set)];
  return hideSecrets(config);
}

/**
 * hideSecrets gives `config` a `toJSON` and a `util.inspect` view that
 * show the secret keys by their lengths only, so that logging the
 * configuration does not log the key. Both are non-enumerable: the object
 * keeps its fields, and a spread copy is plain again.
 */
function hideSecrets(config: GateConfig): GateConfig {
  const shown = (): Record<string, unknown> => ({
    ...config,
    secretKey: config.secretKey === undefined ? undefined : hidden(config.secretKey),
    secretKeyFallbacks: config.secretKeyFallbacks.map(hidden),
  });
  Object.defineProperties(config, {
    toJSON: { value: shown },
    [inspect.custom]: {
      value: (_depth: number, options: InspectOptions) => inspect(shown(), options),
    },
  });
  return config;
}

/** hidden stands for a secret key in a logged configuration. */
function hidden(key: string): string {
  return `[hidden, length ${key.length}]`;
}

/**
 * readRules reads a list of rules and checks them by building an IpSet,
 * which it returns alongside.
 */
function readRules(env: Env, name: string): { rules: string[]; set: IpSet } {
  const rules = readList(env, name);
  return { rules, set: buildRuleSet(name, rules) };
}

/**
 * buildRuleSet builds an IpSet from `rules`, restating a RuleError as one
 * that names where the rules came from: `${label} entry "rule": reason`.
 */
export function buildRuleSet(label: string, rules: readonly string[]): IpSet {
  try {
    return IpSet.from(rules);
  } catch (error) {
    if (!(error instanceof RuleError)) throw error;
    // RuleError keeps only the first QUOTE_LIMIT characters of the rule.
    const entry = rules[error.index] ?? error.rule;
    throw invalid('ERR_INVALID_RULE', `${label} entry ${quote(entry)}: ${error.reason}`);
  }
}

/** readExemptPaths reads `IPGATE_EXEMPT_PATHS`; see `configFromEnv`. */
function readExemptPaths(env: Env): string[] {
  const name = 'IPGATE_EXEMPT_PATHS';
  if (env[name] === undefined) return [...DEFAULT_EXEMPT_PATHS];

  const entries = readList(env, name);
  for (const entry of entries) {
    const problem = segmentProblem(entry);
    if (problem !== null) {
      throw invalid('ERR_INVALID_ENV', `${name} entry ${quote(entry)}: ${problem}`);
    }
  }
  return entries;
}

/**
 * proxyWarnings lists the proxy settings in `config` that are allowed but
 * probably not what the operator meant, one sentence each.
 */
function proxyWarnings(config: GateConfig): string[] {
  const warnings: string[] = [];
  const hasProxies = config.trustedProxies.length > 0;

  if (config.behindProxy && !hasProxies && !config.trustAllProxies) {
    warnings.push(
      'IS_BEHIND_PROXY is on but neither TRUSTED_PROXIES nor TRUST_ALL_PROXIES is set: ' +
        'client addresses cannot be read from X-Forwarded-For, and forwarded requests are ' +
        'denied when ALLOWED_IP_BLOCKS is set',
    );
  }
  if (!config.behindProxy) {
    if (hasProxies) {
      warnings.push('TRUSTED_PROXIES has no effect unless IS_BEHIND_PROXY is on');
    }
    if (config.trustAllProxies) {
      warnings.push('TRUST_ALL_PROXIES has no effect unless IS_BEHIND_PROXY is on');
    }
  }
  if (config.trustAllProxies) {
    warnings.push(
      'TRUST_ALL_PROXIES believes every X-Forwarded-For hop, which any client can forge ' +
        'unless the nearest proxy overwrites the header; list the proxies in TRUSTED_PROXIES',
    );
    if (hasProxies) {
      warnings.push('TRUSTED_PROXIES is ignored because TRUST_ALL_PROXIES is on');
    }
  }
  return warnings;
}

/** FAMILY_ENDS are the lowest and highest address of each family. */
const FAMILY_ENDS = [
  ['IPv4', '0.0.0.0', '255.255.255.255'],
  ['IPv6', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
] as const;

/**
 * wholeFamilyWarnings names each allowlist rule that lets a whole address
 * family in: `0.0.0.0/0` and `::/0` (RFC 4632 section 3.1), but also the
 * netmask, hostmask, range and mapped spellings of them. Every rule is one
 * contiguous block, so a rule that holds both ends of a family holds all of
 * it; an explicit `/0` is named even where longer rules hide its ends.
 */
function wholeFamilyWarnings(allow: IpSet): string[] {
  const rules = new Map<string, string>();
  for (const [family, lowest, highest] of FAMILY_ENDS) {
    const rule = allow.match(lowest);
    if (rule !== undefined && rule === allow.match(highest)) rules.set(rule, family);
  }
  for (const rule of allow.rules) {
    if (/\/0+$/.test(rule)) rules.set(rule, rule.includes(':') ? 'IPv6' : 'IPv4');
  }

  const warnings: string[] = [];
  for (const [rule, family] of rules) {
    warnings.push(`ALLOWED_IP_BLOCKS entry ${quote(rule)} lets every ${family} address in`);
  }
  return warnings;
}
