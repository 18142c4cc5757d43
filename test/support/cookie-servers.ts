/**
 * Real servers on loopback for the cookie tests: node:http, Express and
 * Fastify, each setting the same cookies through its own API, with the
 * cookie policy in front in one of two ways: a CookiePolicy called from the
 * framework's own request hook, or the package's adapter for it around a
 * Gate. Plus a plain client that can speak TLS without a certificate.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import express from 'express';
import Fastify from 'fastify';
import { middleware } from '../../src/adapters/express.js';
import { plugin } from '../../src/adapters/fastify.js';
import { guard } from '../../src/adapters/node.js';
import { CookiePolicy, secureCookies } from '../../src/cookies.js';
import { createGate, type Gate } from '../../src/gate.js';
import { ProxyTrust } from '../../src/proxy-trust.js';

/**
 * APP_COOKIES are what every test application sets, one per rule:
 * a plain cookie, SameSite=None, both prefixes (the `__Host-` one breaking
 * all its rules) and one that is already Secure.
 */
export const APP_COOKIES = [
  'plain=1; Path=/; HttpOnly',
  'cross=2; SameSite=None',
  '__Secure-a=3',
  '__Host-b=4; Domain=localhost; Path=/app',
  'already=5; Path=/; Secure',
] as const;

/** A running test server. */
export interface TestServer {
  port: number;
  /** warnings holds what the policy passed to onWarning, in order. */
  warnings: string[];
  /** hits counts requests that reached the application. */
  hits: number;
  close(): Promise<void>;
}

/** Options of the test servers, as a gate's configuration names them. */
export interface ServerOptions {
  secureCookies: boolean;
  disableSslRedirect?: boolean;
  behindProxy?: boolean;
  /** trusted lists the trusted proxies' rules; none by default. */
  trusted?: string[];
  /** tls serves HTTPS with a pre-shared key instead of a certificate. */
  tls?: boolean;
}

/**
 * Front says what stands before the application: `policy`, a CookiePolicy
 * called from the framework's request hook, or `adapter`, the package's
 * adapter for the framework around a Gate (which calls `gate.secure`).
 */
export type Front = 'policy' | 'adapter';

/** PSK is the pre-shared key of the TLS tests; no certificate is needed. */
const PSK = Buffer.alloc(32, 0x5a);
const PSK_CIPHERS = 'PSK-AES128-GCM-SHA256';

// TLS-PSK is defined for TLS 1.2 in Node, and needs neither a certificate
// nor the openssl command, so the test runs on any machine Node runs on.
const TLS_SERVER = {
  pskCallback: () => PSK,
  ciphers: PSK_CIPHERS,
  maxVersion: 'TLSv1.2' as const,
};
const TLS_CLIENT = {
  pskCallback: () => ({ psk: PSK, identity: 'ipgate-test' }),
  ciphers: PSK_CIPHERS,
  maxVersion: 'TLSv1.2' as const,
  checkServerIdentity: () => undefined,
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function policyFor(options: ServerOptions, warnings: string[]): CookiePolicy {
  const { trusted = [] } = options;
  return new CookiePolicy({
    secureCookies: options.secureCookies,
    disableSslRedirect: options.disableSslRedirect ?? false,
    behindProxy: options.behindProxy ?? false,
    trust: trusted.length > 0 ? new ProxyTrust({ trusted }) : null,
    onWarning: (text) => warnings.push(text),
  });
}

/** gateFor builds an unrestricted Gate with the same cookie settings. */
function gateFor(options: ServerOptions, warnings: string[]): Gate {
  return createGate({
    secureCookies: options.secureCookies,
    disableSslRedirect: options.disableSslRedirect ?? false,
    behindProxy: options.behindProxy ?? false,
    trustedProxies: options.trusted ?? [],
    onWarning: (text) => warnings.push(text),
  });
}

function createServer(options: ServerOptions, handler: Handler): http.Server {
  return options.tls ? https.createServer(TLS_SERVER, handler) : http.createServer(handler);
}

async function listen(server: http.Server, state: Omit<TestServer, 'port' | 'close'>) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const result = state as TestServer;
  result.port = (server.address() as AddressInfo).port;
  result.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return result;
}

/**
 * startRaw serves node:http, an application that sets the cookies with
 * setHeader and appendHeader, then calls writeHead.
 */
export async function startRaw(options: ServerOptions, front: Front): Promise<TestServer> {
  const state = { warnings: [] as string[], hits: 0 };
  const app: Handler = (_req, res) => {
    state.hits++;
    res.setHeader('Set-Cookie', [APP_COOKIES[0], APP_COOKIES[1]]);
    res.appendHeader('Set-Cookie', APP_COOKIES[2]);
    res.appendHeader('Set-Cookie', APP_COOKIES.slice(3));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('app');
  };
  let handler: Handler;
  if (front === 'adapter') {
    handler = guard(gateFor(options, state.warnings), app) as Handler;
  } else {
    const policy = policyFor(options, state.warnings);
    handler = (req, res) => {
      if (!policy.handle(req, res)) app(req, res);
    };
  }
  return listen(createServer(options, handler), state);
}

/**
 * startHelper serves node:http with the standalone helper alone, no
 * policy: `secureCookies(res, { addSecure })`, whose onChange reports land
 * in `warnings` as "name: change change". The application passes the
 * cookies to writeHead only, in the form the path names: `/object`,
 * `/pairs` (a list of [name, value]), `/flat` ([name, value, ...]), or
 * an object after an `undefined` or `null` reason (`/undefined-reason`,
 * `/null-reason`), which Node reads as the headers too. At `/early` they
 * are set with setHeader before the helper is called.
 */
export async function startHelper(addSecure: boolean): Promise<TestServer> {
  const state = { warnings: [] as string[], hits: 0 };
  const onChange = (name: string, changes: readonly string[]) => {
    state.warnings.push(`${name}: ${changes.join(' ')}`);
  };
  const server = http.createServer((req, res) => {
    state.hits++;
    if (req.url === '/early') res.setHeader('Set-Cookie', [...APP_COOKIES]);
    secureCookies(res, { addSecure, onChange });
    const type = ['Content-Type', 'text/plain'];
    const headers = { 'Content-Type': 'text/plain', 'Set-Cookie': [...APP_COOKIES] };
    if (req.url === '/early') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
    } else if (req.url === '/object') {
      res.writeHead(200, headers);
    } else if (req.url === '/undefined-reason') {
      res.writeHead(200, undefined, headers);
    } else if (req.url === '/null-reason') {
      (res.writeHead as (...args: unknown[]) => unknown)(200, null, headers);
    } else if (req.url === '/pairs') {
      res.writeHead(200, [type, ...APP_COOKIES.map((cookie) => ['set-cookie', cookie])]);
    } else {
      res.writeHead(200, 'Fine', [...type, ...APP_COOKIES.flatMap((c) => ['Set-Cookie', c])]);
    }
    res.end('app');
  });
  return listen(server, state);
}

/**
 * startExpress serves Express with the policy or the adapter as the first
 * middleware, and an application that uses res.cookie and res.append.
 */
export async function startExpress(options: ServerOptions, front: Front): Promise<TestServer> {
  const state = { warnings: [] as string[], hits: 0 };
  const app = express();
  if (front === 'adapter') {
    app.use(middleware(gateFor(options, state.warnings)));
  } else {
    const policy = policyFor(options, state.warnings);
    app.use((req, res, next) => {
      if (!policy.handle(req, res)) next();
    });
  }
  app.use((_req, res) => {
    state.hits++;
    res.cookie('plain', '1', { httpOnly: true });
    res.cookie('cross', '2', { sameSite: 'none' });
    res.cookie('__Secure-a', '3');
    res.cookie('__Host-b', '4', { domain: 'localhost', path: '/app' });
    res.append('Set-Cookie', APP_COOKIES[4]);
    res.type('text/plain').send('app');
  });
  return listen(createServer(options, app as unknown as Handler), state);
}

/**
 * startFastify serves Fastify with the policy in an onRequest hook or the
 * adapter's plugin, and an application that uses reply.header and
 * @fastify/cookie's setCookie.
 */
export async function startFastify(options: ServerOptions, front: Front): Promise<TestServer> {
  const state = { warnings: [] as string[], hits: 0 };
  let server: http.Server | undefined;
  const fastify = Fastify({
    serverFactory: (handler) => {
      server = createServer(options, handler as Handler);
      return server;
    },
  });
  await fastify.register(fastifyCookie);
  if (front === 'adapter') {
    await fastify.register(plugin, { gate: gateFor(options, state.warnings) });
  } else {
    const policy = policyFor(options, state.warnings);
    fastify.addHook('onRequest', (request, reply, done) => {
      // The policy answered on the raw response; Fastify must not answer too.
      if (policy.handle(request.raw, reply.raw)) reply.hijack();
      done();
    });
  }
  fastify.all('/*', (_request, reply) => {
    state.hits++;
    reply.header('set-cookie', [APP_COOKIES[0], APP_COOKIES[1]]);
    reply.setCookie('__Secure-a', '3');
    reply.setCookie('__Host-b', '4', { domain: 'localhost', path: '/app' });
    reply.setCookie('already', '5', { path: '/', secure: true });
    reply.type('text/plain').send('app');
  });
  await fastify.ready();
  const result = await listen(server!, state);
  const closeServer = result.close;
  // Fastify closes only a server it started listening itself.
  result.close = async () => {
    await fastify.close();
    await closeServer();
  };
  return result;
}

/** A response as the tests see it. */
export interface Reply {
  status: number;
  location: string | undefined;
  cookies: string[];
  body: string;
}

/** Options of send. */
export interface SendOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  tls?: boolean;
}

/**
 * send makes one request to 127.0.0.1:`port`, by default GET / with Host
 * `app.example`. Node's client passes header values through as given, so a
 * test can send a forged Host or X-Forwarded-Proto.
 */
export function send(port: number, options: SendOptions = {}): Promise<Reply> {
  const { method = 'GET', path = '/', tls = false } = options;
  const headers = { host: 'app.example', ...options.headers };
  const request = tls ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, agent: false, ...(tls ? TLS_CLIENT : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            cookies: res.headers['set-cookie'] ?? [],
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
