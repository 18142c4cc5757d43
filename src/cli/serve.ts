/**
 * `ipgate serve`: a small guarded node:http server that shows what the gate
 * decides, configured from the environment like a real deployment, with
 * demo settings when no ipgate variable is set. The library logs nothing;
 * this command logs one line per decision.
 */
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { guard } from '../adapters/node.js';
import { prefersJson } from '../adapters/shared.js';
import { configFromEnv, type GateConfig } from '../config.js';
import type { Env } from '../env.js';
import { quote } from '../errors.js';
import { createGate, type Gate, type Verdict } from '../gate.js';
import { assertSecretKey } from '../secret.js';
import { noPositionals, parseCommand, UsageError } from './args.js';
import type { Io } from './io.js';
import { captureText, renderPage, verdictJson } from './page.js';
import { configLines } from './report.js';

/** DEMO_ALLOW is the demo allowlist: loopback and the private ranges. */
export const DEMO_ALLOW: readonly string[] = Object.freeze([
  '127.0.0.0/8',
  '::1',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  'fe80::/10',
]);

/** DEMO_ENV is the environment the demo settings stand for. */
export const DEMO_ENV: Env = Object.freeze({
  DEBUG: 'true',
  ALLOWED_IP_BLOCKS: DEMO_ALLOW.join(','),
});

/** SERVE_HELP is the text of `ipgate serve --help`. */
export const SERVE_HELP = `\
Usage: ipgate serve [--port PORT] [--host HOST]

Runs a small web server guarded by ipgate. Its page shows your client
address, the gate's verdict and its reason; /capture shows an exempt path.
It prints the policy and every warning at start, and one line per request:
time, verdict, client address, socket peer, reason, method and path.

The settings come from the environment (ALLOWED_IP_BLOCKS, TRUSTED_PROXIES,
TRUST_ALL_PROXIES, IS_BEHIND_PROXY, SECURE_COOKIES, DEBUG, SECRET_KEY, ...).
When none of them is set, the demo settings apply:
  DEBUG=true
  ALLOWED_IP_BLOCKS=${DEMO_ALLOW.join(',')}
In production mode (no DEBUG or TEST) it refuses to start without a strong
SECRET_KEY, and redirects plain HTTP to HTTPS unless SECURE_COOKIES=false.

Options:
  --port PORT  the port, default PORT or 8080; 0 picks a free one
  --host HOST  the address to listen on, default HOST or 127.0.0.1
  -h, --help   show this help

Stop it with Ctrl-C (SIGINT) or SIGTERM; it closes its connections first.
Exit status: 0 after a clean stop, 1 when the start is refused, 2 for bad
usage.
`;

/**
 * GATE_VARIABLES are the variables that configure a start. When none is
 * set (even to an empty value), DEMO_ENV applies.
 */
export const GATE_VARIABLES: readonly string[] = [
  'ALLOWED_IP_BLOCKS',
  'TRUSTED_PROXIES',
  'TRUST_ALL_PROXIES',
  'IS_BEHIND_PROXY',
  'SECURE_COOKIES',
  'DISABLE_SECURE_SSL_REDIRECT',
  'IPGATE_EXEMPT_PATHS',
  'DEBUG',
  'TEST',
  'NODE_ENV',
  'SECRET_KEY',
  'SECRET_KEY_FALLBACKS',
];

/** DEFAULT_PORT and DEFAULT_HOST apply when neither option nor variable is set. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

/** CLOSE_GRACE_MS is how long requests in flight may run after a stop signal. */
export const CLOSE_GRACE_MS = 5000;

const OPTIONS = { port: { type: 'string' }, host: { type: 'string' } } as const;

/**
 * serve runs `ipgate serve` until SIGINT or SIGTERM and returns its exit
 * status: 0 after a clean stop, 1 when the start is refused (a bad setting,
 * a weak secret key in production, a port that cannot be bound).
 */
export async function serve(args: string[], env: Env, io: Io): Promise<number> {
  const parsed = parseCommand(args, OPTIONS);
  if (parsed.flags.has('help')) {
    io.out(SERVE_HELP);
    return 0;
  }
  noPositionals(parsed);
  const port = readPort(parsed.strings.get('port'), env.PORT);
  const host = parsed.strings.get('host') ?? nonBlank(env.HOST) ?? DEFAULT_HOST;

  const isDemo = !GATE_VARIABLES.some((name) => env[name] !== undefined);
  const settings = isDemo ? { ...env, ...DEMO_ENV } : env;
  let config: GateConfig;
  try {
    config = configFromEnv(settings);
    assertSecretKey(settings);
  } catch (error) {
    io.err(`ipgate serve: refusing to start: ${(error as Error).message}\n`);
    return 1;
  }

  io.out(policyText(config, isDemo));
  for (const warning of startWarnings(config)) io.err(`warning: ${warning}\n`);
  const gate = createGate({ ...config, onWarning: (message) => io.err(`warning: ${message}\n`) });
  const server = createServer(listener(gate, io, config, isDemo));

  try {
    await listen(server, port, host);
  } catch (error) {
    io.err(`ipgate serve: cannot listen: ${(error as Error).message}\n`);
    return 1;
  }
  io.out(`Listening on ${origin(server.address() as AddressInfo)} (stop with Ctrl-C)\n`);
  return untilStopped(server, io);
}

/** readPort reads the port from the option, else PORT, else DEFAULT_PORT. */
function readPort(option: string | undefined, variable: string | undefined): number {
  const label = option !== undefined ? '--port' : 'PORT';
  const text = option ?? nonBlank(variable);
  if (text === undefined) return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${label} ${quote(text)} is not a port number from 0 to 65535`);
  }
  return Number(text);
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** policyText is what `serve` prints at start: where it came from, and it. */
function policyText(config: GateConfig, isDemo: boolean): string {
  const lines = isDemo
    ? [
        'No ipgate variable is set, so the demo settings apply:',
        ...Object.entries(DEMO_ENV).map(([name, value]) => `  ${name}=${value}`),
      ]
    : ['Settings from the environment.'];
  lines.push('Policy:', ...configLines(config).map((line) => `  ${line}`));
  if (config.secretKey === undefined) {
    lines.push('A random secret key is used for this run (debug or test mode).');
  }
  return `${lines.join('\n')}\n`;
}

/** startWarnings are the configuration's warnings and the server's own. */
function startWarnings(config: GateConfig): string[] {
  const warnings = [...config.warnings];
  if (config.secureCookies && !config.disableSslRedirect && !config.behindProxy) {
    warnings.push(
      'secure cookies are on and this server speaks plain HTTP, so requests are ' +
        'redirected to HTTPS: serve it behind a TLS proxy (IS_BEHIND_PROXY, ' +
        'TRUSTED_PROXIES), or set SECURE_COOKIES=false to try it locally',
    );
  }
  return warnings;
}

/**
 * listener guards the demo application with `gate`, and logs each decision:
 * denied ones through the adapter's onDenied hook, allowed ones once the
 * adapter has handed them on (to the application or to a redirect).
 */
function listener(gate: Gate, io: Io, config: GateConfig, isDemo: boolean): RequestListener {
  const application = (req: IncomingMessage, res: ServerResponse): void => {
    respond(req, res, config, isDemo);
  };
  const guarded = guard(gate, application, {
    onDenied: (req, _res, verdict) => io.out(logLine(req, verdict)),
  });

  return (req, res) => {
    guarded(req, res);
    const verdict = req.ipgate;
    if (verdict?.allowed) io.out(logLine(req, verdict));
  };
}

/** logLine is the log entry of one decision. */
export function logLine(req: IncomingMessage, verdict: Verdict): string {
  return (
    `${new Date().toISOString()} ${verdict.allowed ? 'allowed' : 'denied'} ` +
    `client=${verdict.clientIp ?? '-'} peer=${req.socket.remoteAddress ?? '-'} ` +
    `reason=${verdict.reason} ${req.method ?? '-'} ${quote(req.url ?? '')}\n`
  );
}

/** respond is the demo application, reached only by allowed requests. */
function respond(
  req: IncomingMessage,
  res: ServerResponse,
  config: GateConfig,
  isDemo: boolean,
): void {
  req.resume();
  const [status, kind, body] = route(req, config, isDemo);
  res.writeHead(status, {
    'content-type': CONTENT_TYPES[kind],
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** route picks the demo's answer: status, content type and body. */
function route(
  req: IncomingMessage,
  config: GateConfig,
  isDemo: boolean,
): [number, keyof typeof CONTENT_TYPES, string] {
  const verdict = req.ipgate as Verdict;
  const peer = req.socket.remoteAddress;
  const path = (req.url ?? '').split('?')[0];

  if (path === '/') {
    const view = { verdict, peer, config, isDemo };
    if (prefersJson(req.headers.accept)) return [200, 'json', verdictJson(view)];
    return [200, 'html', renderPage(view)];
  }
  if (path === '/capture' || path === '/capture/') {
    return [200, 'text', captureText(verdict, peer)];
  }
  if (path === '/_health' || path === '/_health/') return [200, 'text', 'ok\n'];
  return [404, 'text', 'Not found\n'];
}

const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
} as const;

/** listen binds `server`, rejecting with the bind error. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** origin is the URL of a bound address. */
function origin(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}/`;
}

/**
 * untilStopped resolves with 0 once a SIGINT or SIGTERM has closed
 * `server`. Idle connections close at once; requests in flight get
 * CLOSE_GRACE_MS to finish. A second signal takes Node's default action.
 */
function untilStopped(server: Server, io: Io): Promise<number> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.out(`Received ${signal}, closing\n`);
      server.close(() => {
        io.out('Closed\n');
        resolve(0);
      });
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
