/**
 * `ipgate check`: the gate's verdict on one client address, from the
 * environment's settings or from options that replace them, so that an
 * operator can test a deployment before a client does.
 */
import { buildRuleSet, configFromEnv, type GateConfig } from '../config.js';
import type { Env } from '../env.js';
import { createGate, type Verdict } from '../gate.js';
import type { HeaderBag } from '../proxy-trust.js';
import { parseCommand, requireAddress, splitList, UsageError } from './args.js';
import type { Io } from './io.js';
import { REASON_TEXT } from './report.js';

/** CHECK_HELP is the text of `ipgate check --help`. */
export const CHECK_HELP = `\
Usage: ipgate check ADDRESS [--allow RULES] [--trusted RULES]
                            [--xff HEADER] [--peer ADDRESS]

Prints whether a request from ADDRESS would be allowed, and why. The
settings come from the environment (ALLOWED_IP_BLOCKS, TRUSTED_PROXIES,
TRUST_ALL_PROXIES, IS_BEHIND_PROXY, ...); each option replaces one of them.

ADDRESS is the machine that sent the request. Without --peer it connected
directly, so it is the socket peer. With --peer it connected to that proxy,
which appends ADDRESS to X-Forwarded-For, as real proxies do:

  options             socket peer   X-Forwarded-For
  (none)              ADDRESS       (none)
  --xff H             ADDRESS       H
  --peer P            P             ADDRESS
  --peer P --xff H    P             H, ADDRESS

Options:
  --allow RULES    the allowlist, as ALLOWED_IP_BLOCKS: addresses and blocks,
                   comma-separated; "" means no restriction
  --trusted RULES  the trusted proxies, as TRUSTED_PROXIES, with
                   IS_BEHIND_PROXY on and TRUST_ALL_PROXIES off
  --xff HEADER     the X-Forwarded-For header ADDRESS sent (forged, or
                   written by proxies in front of it)
  --peer ADDRESS   the proxy the request reached this server from
  -h, --help       show this help

Exit status: 0 allowed, 1 denied, 2 bad input.

Examples:
  ipgate check 10.1.2.3 --allow 10.0.0.0/8
  ipgate check 203.0.113.7 --peer 10.0.0.2 --trusted 10.0.0.0/8 \\
    --allow 203.0.113.0/24
  ipgate check 198.51.100.9 --xff 203.0.113.7 --peer 10.0.0.2 \\
    --trusted 10.0.0.0/8 --allow 203.0.113.0/24     # a forged hop: denied
`;

const OPTIONS = {
  allow: { type: 'string' },
  trusted: { type: 'string' },
  xff: { type: 'string' },
  peer: { type: 'string' },
} as const;

/** CheckRequest is the request `check` simulates. */
export interface CheckRequest {
  remoteAddress: string;
  headers: HeaderBag;
}

/**
 * check runs `ipgate check` and returns its exit status: 0 when allowed, 1
 * when denied. Bad arguments or environment throw a UsageError.
 */
export function check(args: string[], env: Env, io: Io): number {
  const parsed = parseCommand(args, OPTIONS);
  if (parsed.flags.has('help')) {
    io.out(CHECK_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`expected one ADDRESS, got ${parsed.positionals.length}`, true);
  }

  const address = requireAddress('ADDRESS', parsed.positionals[0] as string);
  const peer = parsed.strings.get('peer');
  if (peer !== undefined) requireAddress('--peer', peer);
  const config = readConfig(env, parsed.strings);
  const request = simulate(address, peer, parsed.strings.get('xff'));

  for (const warning of checkWarnings(config, request)) io.err(`warning: ${warning}\n`);
  const verdict = createGate(config).check(request);
  io.out(verdictText(verdict, request.remoteAddress));
  return verdict.allowed ? 0 : 1;
}

/**
 * readConfig reads the environment with the options in place of the
 * variables they replace. A bad rule in an option is reported under the
 * option's name; a bad variable under the variable's.
 */
function readConfig(env: Env, strings: ReadonlyMap<string, string>): GateConfig {
  const overrides: Record<string, string | undefined> = {};
  const allow = strings.get('allow');
  if (allow !== undefined) {
    checkRules('--allow', allow);
    overrides.ALLOWED_IP_BLOCKS = allow;
  }
  const trusted = strings.get('trusted');
  if (trusted !== undefined) {
    checkRules('--trusted', trusted);
    overrides.TRUSTED_PROXIES = trusted;
    overrides.IS_BEHIND_PROXY = 'true';
    overrides.TRUST_ALL_PROXIES = undefined;
  }

  try {
    return configFromEnv({ ...env, ...overrides });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** checkRules throws a UsageError naming `label` for a bad rule in `value`. */
function checkRules(label: string, value: string): void {
  try {
    buildRuleSet(label, splitList(value));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** simulate builds the request of the table in CHECK_HELP. */
export function simulate(
  address: string,
  peer: string | undefined,
  xff: string | undefined,
): CheckRequest {
  const given = peer === undefined ? [xff] : [xff, address];
  const hops = given.filter((hop) => hop !== undefined);
  const headers: HeaderBag = hops.length === 0 ? {} : { 'x-forwarded-for': hops.join(', ') };
  return { remoteAddress: peer ?? address, headers };
}

/** checkWarnings are the configuration's warnings, and a forwarding note. */
function checkWarnings(config: GateConfig, request: CheckRequest): string[] {
  const warnings = [...config.warnings];
  if (request.headers['x-forwarded-for'] !== undefined && !config.behindProxy) {
    warnings.push(
      'IS_BEHIND_PROXY is off, so X-Forwarded-For is not read and the socket peer is ' +
        'judged as the client; give --trusted to read it',
    );
  }
  return warnings;
}

/** verdictText is what `check` prints: one aligned field per line. */
export function verdictText(verdict: Verdict, peer: string): string {
  return [
    `verdict  ${verdict.allowed ? 'allowed' : 'denied'}`,
    `reason   ${verdict.reason}: ${REASON_TEXT[verdict.reason]}`,
    `client   ${verdict.clientIp ?? '-'}`,
    `peer     ${peer}`,
    `rule     ${verdict.rule ?? '-'}`,
    '',
  ].join('\n');
}
