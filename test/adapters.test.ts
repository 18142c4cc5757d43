import { Agent, createServer, IncomingMessage, type Server, ServerResponse } from 'node:http';
import { connect as connectHttp2, createServer as createHttp2Server } from 'node:http2';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import websocket from '@fastify/websocket';
import express from 'express';
import fastify, { type FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { middleware } from '../src/adapters/express.js';
import { plugin } from '../src/adapters/fastify.js';
import { guard, guardUpgrade } from '../src/adapters/node.js';
import { checkNodeRequest, DENIED_JSON, DENIED_TEXT, prefersJson } from '../src/adapters/shared.js';
import { createGate, type Gate, type GateOptions, type Verdict } from '../src/gate.js';
import {
  close,
  type Latch,
  LOOPBACKS,
  type Loopback,
  latch,
  listen,
  type Reply,
  type SendOptions,
  send,
  sendRaw,
  sendUpgrade,
  until,
} from './support/http.js';

/**
 * Kind names an adapter, and for Express the major version: the peer range
 * takes 4 and 5, so both run every shared test. Express 4 comes as the
 * `express4` alias and has the same API as far as these tests go.
 */
type Kind = 'node' | 'express' | 'express4' | 'fastify';
const KINDS: readonly Kind[] = ['node', 'express', 'express4', 'fastify'];
const express4 = createRequire(import.meta.url)('express4') as typeof express;

/** expressOf returns the Express that `kind` names. */
function expressOf(kind: Kind): typeof express {
  return kind === 'express4' ? express4 : express;
}

/**
 * App is a running server behind one adapter. The application answers 200
 * with the verdict it was handed; `hits` counts the requests it saw and
 * `parsed` those whose body a parser read. `hold`, while set, keeps the
 * application waiting on a latch so that requests stay in flight.
 */
interface App {
  host: Loopback;
  port: number;
  hits: number;
  parsed: number;
  hold: Latch | null;
  close(): Promise<void>;
  send(options?: Partial<SendOptions>): Promise<Reply>;
}

/** answer is the application's response: the verdict it was handed. */
function answer(verdict: Verdict | null | undefined, path: string): string {
  return JSON.stringify({ verdict: verdict ?? null, path });
}

/** start serves the counting application on `host` behind `kind`. */
async function start(kind: Kind, gate: Gate, host: Loopback): Promise<App> {
  const app: App = {
    host,
    port: 0,
    hits: 0,
    parsed: 0,
    hold: null,
    close: async () => {},
    send: (options = {}) => send({ host, port: app.port, ...options }),
  };
  if (kind === 'fastify') {
    const server = fastifyApp(gate, app);
    await server.listen({ port: 0, host });
    app.port = (server.server.address() as { port: number }).port;
    app.close = () => server.close();
    return app;
  }

  const server = kind === 'node' ? nodeApp(gate, app) : expressApp(expressOf(kind), gate, app);
  app.port = await listen(server, host);
  app.close = () => close(server);
  return app;
}

function nodeApp(gate: Gate, app: App): Server {
  return createServer(
    guard(gate, async (req, res) => {
      app.hits++;
      let body = '';
      for await (const chunk of req) body += chunk;
      if (body !== '') app.parsed++;
      await app.hold?.promise;
      res.setHeader('content-type', 'application/json');
      res.end(answer(req.ipgate, req.url ?? ''));
    }),
  );
}

function expressApp(framework: typeof express, gate: Gate, app: App): Server {
  const server = framework();
  server.use(middleware(gate));
  server.use(framework.json(), (req, _res, next) => {
    if (req.body !== undefined) app.parsed++;
    next();
  });
  server.use(async (req, res) => {
    app.hits++;
    await app.hold?.promise;
    res.type('application/json').send(answer(req.ipgate, req.url));
  });
  return createServer(server);
}

function fastifyApp(gate: Gate, app: App): FastifyInstance {
  const server = fastify();
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    app.parsed++;
    done(null, body);
  });
  server.register(plugin, { gate });
  server.all('/*', async (request, reply) => {
    app.hits++;
    await app.hold?.promise;
    reply.type('application/json').send(answer(request.ipgate, request.url));
  });
  return server;
}

/** verdictOf reads the verdict the application echoed. */
function verdictOf(reply: Reply): Verdict {
  assert.is(reply.status, 200, `Expected 200, got ${reply.status}: ${reply.body}`);
  return (JSON.parse(reply.body) as { verdict: Verdict }).verdict;
}

/** assertDenied checks the default denial: 403, neutral, uncached. */
function assertDenied(reply: Reply, isJson = false): void {
  assert.is(reply.status, 403, `Expected 403, got ${reply.status}: ${reply.body}`);
  assert.is(reply.body, isJson ? DENIED_JSON : DENIED_TEXT);
  const type = isJson ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
  assert.is(reply.headers['content-type'], type);
  assert.is(reply.headers['cache-control'], 'no-store');
}

/** loopbackRules allows both loopback addresses. */
const LOOPBACK_RULES = ['127.0.0.0/8', '::1'];
/** ELSEWHERE allows nobody who can reach a loopback server. */
const ELSEWHERE = ['192.0.2.0/24'];
/** PROXIED treats loopback as the proxy in front of clients in 192.0.2.0/24. */
const PROXIED: GateOptions = {
  allow: ['192.0.2.0/24'],
  behindProxy: true,
  trustedProxies: ['127.0.0.1', '::1'],
};

/**
 * withApp runs `fn` against a fresh server and always closes it, so a
 * failing assertion never leaves a port open.
 */
async function withApp(
  kind: Kind,
  host: Loopback,
  options: GateOptions,
  fn: (app: App, gate: Gate) => Promise<void>,
): Promise<void> {
  const gate = createGate(options);
  const app = await start(kind, gate, host);
  try {
    await fn(app, gate);
  } finally {
    app.hold?.release();
    await app.close();
  }
}

for (const kind of KINDS) {
  for (const host of LOOPBACKS) {
    const test = suite(`${kind} adapter on ${host}`);
    const peer = host === '::1' ? '::1' : '127.0.0.1';

    test('lets an allowed client through with its verdict', async () => {
      await withApp(kind, host, { allow: LOOPBACK_RULES }, async (app) => {
        const rule = host === '::1' ? '::1' : '127.0.0.0/8';
        const verdict = verdictOf(await app.send({ path: '/admin?tab=1' }));
        assert.equal(verdict, { allowed: true, clientIp: peer, reason: 'allowed', rule });
        assert.is(app.hits, 1);
      });
    });

    test('denies a client outside the allowlist before any handler or parser', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        const headers = { 'content-type': 'application/json' };
        const reply = await app.send({ method: 'POST', path: '/admin', headers, body: '{"a":1}' });
        assertDenied(reply);
        assert.is(app.hits, 0);
        assert.is(app.parsed, 0);
      });
    });

    test('parses the body of an allowed request as usual', async () => {
      await withApp(kind, host, { allow: LOOPBACK_RULES }, async (app) => {
        const headers = { 'content-type': 'application/json' };
        const reply = await app.send({ method: 'POST', path: '/admin', headers, body: '{"a":1}' });
        assert.is(reply.status, 200);
        assert.is(app.parsed, 1);
      });
    });

    test('answers JSON to a client that prefers it', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        const reply = await app.send({ headers: { accept: 'application/json' } });
        assertDenied(reply, true);
        const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
        assertDenied(await app.send({ headers: { accept: browser } }));
      });
    });

    test('answers HEAD with a 403 and no body', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        const reply = await app.send({ method: 'HEAD' });
        assert.is(reply.status, 403);
        assert.is(reply.body, '');
        assert.is(app.hits, 0);
      });
    });

    test('ignores a forged X-Forwarded-For on a direct connection', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        const forged = { 'x-forwarded-for': '192.0.2.1', forwarded: 'for=192.0.2.1' };
        assertDenied(await app.send({ headers: forged }));
        assert.is(app.hits, 0);
      });
    });

    test('reads the client behind a trusted proxy', async () => {
      await withApp(kind, host, PROXIED, async (app) => {
        const cases: Array<[string | string[], string]> = [
          ['192.0.2.5', '192.0.2.5'],
          // Ports and brackets are stripped; the address is canonical.
          ['192.0.2.5:4711', '192.0.2.5'],
          // A forged entry left of the real client is never reached.
          ['203.0.113.9, 192.0.2.5', '192.0.2.5'],
          ['garbage, 192.0.2.5', '192.0.2.5'],
          // Several lines are one list, in order.
          [['203.0.113.9', '192.0.2.5'], '192.0.2.5'],
        ];
        for (const [header, clientIp] of cases) {
          const reply = await app.send({ headers: { 'x-forwarded-for': header } });
          const expected = { allowed: true, clientIp, reason: 'allowed', rule: '192.0.2.0/24' };
          assert.equal(verdictOf(reply), expected, String(header));
        }
        assert.is(app.hits, cases.length);
      });
    });

    test('denies spoofed, garbage and missing hops behind a trusted proxy', async () => {
      await withApp(kind, host, PROXIED, async (app) => {
        const cases: Array<string | string[]> = [
          // The client put an allowed address on the left; the proxy
          // appended the real one.
          '192.0.2.5, 203.0.113.9',
          // Reading only the first line would pick the allowed address.
          ['192.0.2.5', '203.0.113.9'],
          '[2001:db8::1]:443',
          'unknown',
          '192.0.2.5, _hidden',
          '192.0.2.5, 010.0.0.1',
          '192.0.2.5:99999',
          'proxy.example',
        ];
        for (const header of cases) {
          assertDenied(await app.send({ headers: { 'x-forwarded-for': header } }));
        }
        // Without a header the proxy itself is the client.
        assertDenied(await app.send());
        assert.is(app.hits, 0);
      });
    });

    test('denies forwarded requests behind a proxy it is not told to trust', async () => {
      const options = { allow: LOOPBACK_RULES, behindProxy: true };
      await withApp(kind, host, options, async (app) => {
        assertDenied(await app.send({ headers: { 'x-forwarded-for': peer } }));
        assertDenied(await app.send({ headers: { forwarded: 'for=127.0.0.1' } }));
        assert.is(app.hits, 0);
        assert.is(verdictOf(await app.send()).reason, 'allowed');
      });
    });

    test('keeps exempt paths open to everyone', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        for (const path of ['/capture', '/e/?ip=1&_=1700000000', '/static/app.js', '/_health']) {
          const verdict = verdictOf(await app.send({ path }));
          assert.equal(verdict, { allowed: true, clientIp: peer, reason: 'exempt' }, path);
        }
      });
    });

    test('denies the dot-segment and encoding tricks on exempt paths', async () => {
      await withApp(kind, host, { allow: ELSEWHERE }, async (app) => {
        const paths = [
          '/capture/../admin',
          '/capture/./../admin',
          '/capture/%2e%2e/admin',
          '/capture/%2E%2E/admin',
          '/capture/.%2e/admin',
          '/capture%2f..%2fadmin',
          '/capture/%252e%252e/admin',
          '/capture\\..\\admin',
          '/capture/..%5cadmin',
          '/capture;x',
          '/capture/..;/admin',
          '//capture',
          '/./capture',
          '/CAPTURE',
          `http://${host === '::1' ? '[::1]' : host}/capture`,
        ];
        for (const path of paths) assertDenied(await app.send({ path }));
        // Targets node:http will not send: refused by the parser (400) or
        // by the gate (403), never served.
        const raw = async (target: string) =>
          sendRaw(host, app.port, `GET ${target} HTTP/1.1\r\nHost: x`);
        assert.is(await raw('*'), 403);
        assert.is(await raw('/capture#/../admin'), 403);
        assert.is(await raw('/capture/%00/../admin'), 403);
        assert.ok([400, 403].includes(await raw('/capture/.\t./admin')));
        assert.is(app.hits, 0);
      });
    });

    test('lets update change the decision while requests are in flight', async () => {
      await withApp(kind, host, { allow: LOOPBACK_RULES }, async (app, gate) => {
        // Requests already checked finish with the old configuration.
        app.hold = latch();
        const inFlight = Array.from({ length: 8 }, () => app.send({ path: '/slow' }));
        await until(() => app.hits === 8, 'eight requests in the handler');
        gate.update({ allow: ELSEWHERE });
        const denied = await Promise.all(Array.from({ length: 8 }, () => app.send()));
        app.hold.release();
        for (const reply of await Promise.all(inFlight))
          assert.is(verdictOf(reply).reason, 'allowed');
        for (const reply of denied) assertDenied(reply);
        assert.is(app.hits, 8);

        // A bad update throws and keeps the configuration it found.
        assert.throws(() => gate.update({ allow: ['127.0.0.1/40'] }), /exceeds 32/);
        assertDenied(await app.send());
        gate.update({ allow: LOOPBACK_RULES });
        assert.is(verdictOf(await app.send()).reason, 'allowed');
      });
    });

    test('judges each request on a kept-alive connection afresh', async () => {
      await withApp(kind, host, PROXIED, async (app, gate) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const from = (client: string) =>
          app.send({ agent, headers: { 'x-forwarded-for': client } });
        try {
          const first = await from('192.0.2.7');
          assert.is(verdictOf(first).clientIp, '192.0.2.7');
          const other = await from('198.51.100.1');
          assertDenied(other);
          gate.update({ ...PROXIED, allow: ['198.51.100.0/24'] });
          assert.is(verdictOf(await from('198.51.100.1')).reason, 'allowed');
          assertDenied(await from('192.0.2.7'));
          // Every request after the first went over the first one's connection.
          assert.is(first.isReused, false);
          assert.is(other.isReused, true);
        } finally {
          agent.destroy();
        }
      });
    });

    test('never mixes configurations while updates race requests', async () => {
      await withApp(kind, host, { allow: LOOPBACK_RULES }, async (app, gate) => {
        let isOpen = true;
        const flipping = setInterval(() => {
          isOpen = !isOpen;
          gate.update({ allow: isOpen ? LOOPBACK_RULES : ELSEWHERE });
        }, 1);
        try {
          const replies = await Promise.all(Array.from({ length: 40 }, () => app.send()));
          let allowed = 0;
          for (const reply of replies) {
            if (reply.status === 200) {
              allowed++;
              assert.is(verdictOf(reply).reason, 'allowed');
            } else {
              assertDenied(reply);
            }
          }
          // The application saw exactly the allowed requests.
          assert.is(app.hits, allowed);
        } finally {
          clearInterval(flipping);
        }
      });
    });

    test.run();
  }
}

const spoof = suite('a client beside the proxy');

for (const kind of KINDS) {
  spoof(`${kind}: cannot pass as a proxy by forging the header`, async () => {
    // 127.0.0.1 is the proxy; 127.0.0.2 is a client on the same network.
    const options = { allow: ['192.0.2.0/24'], behindProxy: true, trustedProxies: ['127.0.0.1'] };
    await withApp(kind, '127.0.0.1', options, async (app) => {
      const headers = { 'x-forwarded-for': '192.0.2.5' };
      assertDenied(await app.send({ headers, localAddress: '127.0.0.2' }));
      assert.is(verdictOf(await app.send({ headers })).clientIp, '192.0.2.5');
      assert.is(app.hits, 1);
    });
  });
}

const cookies = suite('cookie policy through the adapters');

for (const kind of KINDS) {
  cookies(
    `${kind}: redirects plain HTTP with secure cookies on, before the application`,
    async () => {
      await withApp(kind, '127.0.0.1', { secureCookies: true }, async (app) => {
        const reply = await app.send({ path: '/login?next=%2F', headers: { host: 'app.example' } });
        assert.is(reply.status, 301);
        assert.is(reply.headers.location, 'https://app.example/login?next=%2F');
        assert.is(app.hits, 0);
      });
    },
  );

  cookies(`${kind}: does not redirect an exempt health check`, async () => {
    await withApp(kind, '127.0.0.1', { secureCookies: true }, async (app) => {
      assert.is((await app.send({ path: '/_health' })).status, 200);
    });
  });

  cookies(`${kind}: denies before it redirects`, async () => {
    const options = { allow: ELSEWHERE, secureCookies: true };
    await withApp(kind, '127.0.0.1', options, async (app) => {
      assertDenied(await app.send({ path: '/login' }));
    });
  });
}

/** cookieApp serves an application that sets one SameSite=None cookie. */
async function cookieApp(kind: Kind, gate: Gate): Promise<{ port: number; stop(): Promise<void> }> {
  const cookie = 'sid=1; Path=/; SameSite=None';
  if (kind === 'fastify') {
    const server = fastify();
    server.register(plugin, { gate });
    server.get('/', async (_request, reply) => reply.header('set-cookie', cookie).send('ok'));
    await server.listen({ port: 0, host: '127.0.0.1' });
    return { port: (server.server.address() as { port: number }).port, stop: () => server.close() };
  }
  let server: Server;
  if (kind === 'node') {
    server = createServer(
      guard(gate, (_req, res) => {
        res.setHeader('set-cookie', cookie);
        res.end('ok');
      }),
    );
  } else {
    const app = expressOf(kind)();
    app.use(middleware(gate));
    app.get('/', (_req, res) => {
      res.setHeader('set-cookie', cookie);
      res.send('ok');
    });
    server = createServer(app);
  }
  return { port: await listen(server, '127.0.0.1'), stop: () => close(server) };
}

for (const kind of KINDS) {
  cookies(`${kind}: makes the application's cookies valid with secure cookies off`, async () => {
    const app = await cookieApp(kind, createGate({ secureCookies: false }));
    try {
      const reply = await send({ host: '127.0.0.1', port: app.port });
      assert.equal(reply.headers['set-cookie'], ['sid=1; Path=/; SameSite=None; Secure']);
    } finally {
      await app.stop();
    }
  });

  cookies(`${kind}: leaves cookies alone without a cookie policy`, async () => {
    const app = await cookieApp(kind, createGate({}));
    try {
      const reply = await send({ host: '127.0.0.1', port: app.port });
      assert.equal(reply.headers['set-cookie'], ['sid=1; Path=/; SameSite=None']);
    } finally {
      await app.stop();
    }
  });
}

const nodeOnly = suite('ipgate/node');

nodeOnly('refuses arguments of the wrong type at once', () => {
  const gate = createGate();
  const handler = () => {};
  const cases: Array<[() => unknown, string]> = [
    [
      () => guard(undefined as unknown as Gate, handler),
      'guard: gate must be a Gate from createGate, not undefined',
    ],
    [() => guard({} as Gate, handler), 'guard: gate must be a Gate from createGate, not an object'],
    [
      () => guard(gate, 'app' as unknown as () => void),
      'guard: handler must be a function, not "app" (a string)',
    ],
    [
      () => guard(gate, handler, null as unknown as object),
      'guard: options must be an object, not null',
    ],
    [
      () => guard(gate, handler, { onDenied: 1 as unknown as () => void }),
      'guard: onDenied must be a function, not "1" (a number)',
    ],
  ];
  for (const [fn, message] of cases) {
    const error = raisesError(fn);
    assert.is(error.code, 'ERR_INVALID_OPTION');
    assert.is(error.message, message);
  }
});

nodeOnly('lets onDenied answer in its own way', async () => {
  const gate = createGate({ allow: ELSEWHERE });
  let hits = 0;
  const seen: Verdict[] = [];
  const server = createServer(
    guard(
      gate,
      () => {
        hits++;
      },
      {
        onDenied: (_req, res, verdict) => {
          seen.push(verdict);
          res.writeHead(404).end('Not Found');
        },
      },
    ),
  );
  const port = await listen(server, '127.0.0.1');
  try {
    const reply = await send({ host: '127.0.0.1', port });
    assert.is(reply.status, 404);
    assert.is(reply.body, 'Not Found');
    assert.equal(seen, [{ allowed: false, clientIp: '127.0.0.1', reason: 'not-allowed' }]);
    assert.is(hits, 0);
  } finally {
    await close(server);
  }
});

nodeOnly('sends the default denial after an onDenied that only looks', async () => {
  const gate = createGate({ allow: ELSEWHERE });
  const seen: string[] = [];
  const server = createServer(
    guard(gate, () => {}, {
      onDenied: async (req, _res, verdict) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(`${verdict.reason} ${req.url}`);
      },
    }),
  );
  const port = await listen(server, '127.0.0.1');
  try {
    assertDenied(await send({ host: '127.0.0.1', port, path: '/x' }));
    assert.equal(seen, ['not-allowed /x']);
  } finally {
    await close(server);
  }
});

nodeOnly('denies, then throws on, when onDenied throws', () => {
  const gate = createGate({ allow: ELSEWHERE });
  const listener = guard(gate, () => {}, {
    onDenied: () => {
      throw new Error('log sink down');
    },
  });
  const { req: request, res } = fakeExchange();
  const error = raisesError(() => listener(request, res));
  assert.is(error.message, 'log sink down');
  assert.is(res.statusCode, 403);
  assert.is(res.writableEnded, true);
});

nodeOnly('judges every socket by its own peer, a frozen one too', () => {
  const gate = createGate({ allow: ['127.0.0.1'] });
  for (const isFrozen of [false, true]) {
    for (const [peer, allowed] of [
      ['127.0.0.1', true],
      ['192.0.2.1', false],
    ] as const) {
      const { req } = fakeExchange(peer);
      if (isFrozen) Object.freeze(req.socket);
      // The second check reads the peer the first one kept, where it could.
      for (let i = 0; i < 2; i++) {
        const verdict = checkNodeRequest(gate, req);
        assert.is(verdict.clientIp, peer);
        assert.is(verdict.allowed, allowed);
      }
    }
  }
});

/**
 * upgradeServer serves `guard` for requests and `guardUpgrade` for
 * upgrades; an allowed upgrade is answered 101 with the client address it
 * was given, and counted.
 */
function upgradeServer(gate: Gate) {
  const counts = { requests: 0, upgrades: 0 };
  const server = createServer(
    guard(gate, (_req, res) => {
      counts.requests++;
      res.end('ok');
    }),
  );
  server.on(
    'upgrade',
    guardUpgrade(gate, (req, socket) => {
      counts.upgrades++;
      socket.end(
        'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
          `x-client: ${req.ipgate?.clientIp}\r\n\r\n`,
      );
    }),
  );
  return { server, counts };
}

/** assertUpgradeDenied checks the refusal of an upgrade. */
function assertUpgradeDenied(reply: Awaited<ReturnType<typeof sendUpgrade>>, isJson = false) {
  assertDenied(reply, isJson);
  assert.ok(reply.isClosed, 'Expected the refused connection to be closed');
}

nodeOnly('guards WebSocket upgrades on IPv4 and ::1', async () => {
  for (const host of LOOPBACKS) {
    const gate = createGate({ allow: [host], exemptPaths: [] });
    const { server, counts } = upgradeServer(gate);
    const port = await listen(server, host);
    try {
      const allowed = await sendUpgrade({ host, port, path: '/socket' });
      assert.is(allowed.status, 101);
      assert.is(allowed.headers['x-client'], host);
      gate.update({ allow: ELSEWHERE, exemptPaths: [] });
      assertUpgradeDenied(await sendUpgrade({ host, port, path: '/socket' }));
      assertUpgradeDenied(
        await sendUpgrade({ host, port, headers: { accept: 'application/json' } }),
        true,
      );
      assert.equal(counts, { requests: 0, upgrades: 1 });
    } finally {
      await close(server);
    }
  }
});

nodeOnly('judges an upgrade behind a proxy as it judges a request', async () => {
  const gate = createGate(PROXIED);
  const { server, counts } = upgradeServer(gate);
  const port = await listen(server, '127.0.0.1');
  try {
    const upgrade = (forwarded?: string) =>
      sendUpgrade({
        host: '127.0.0.1',
        port,
        headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
      });
    const allowed = await upgrade('6.6.6.6, 192.0.2.7:5000');
    assert.is(allowed.status, 101);
    assert.is(allowed.headers['x-client'], '192.0.2.7');
    assertUpgradeDenied(await upgrade('192.0.2.7, 6.6.6.6'));
    assertUpgradeDenied(await upgrade('192.0.2.7, garbage'));
    assertUpgradeDenied(await upgrade());
    assert.is(counts.upgrades, 1);
  } finally {
    await close(server);
  }

  // Not behind a proxy, a forged header names nobody.
  const direct = upgradeServer(createGate({ allow: ELSEWHERE }));
  const directPort = await listen(direct.server, '127.0.0.1');
  try {
    const forged = { 'x-forwarded-for': '192.0.2.7' };
    assertUpgradeDenied(
      await sendUpgrade({ host: '127.0.0.1', port: directPort, headers: forged }),
    );
    assert.is(direct.counts.upgrades, 0);
  } finally {
    await close(direct.server);
  }
});

/** fakeUpgrade is an upgrade request from 127.0.0.1 and a socket that records what is written. */
function fakeUpgrade() {
  const req = { socket: { remoteAddress: '127.0.0.1' }, headers: {}, url: '/socket' };
  const socket = new PassThrough();
  let written = '';
  socket.on('data', (chunk: Buffer) => {
    written += chunk.toString('latin1');
  });
  return { req: req as unknown as IncomingMessage, socket, written: () => written };
}

nodeOnly('lets onDenied answer a denied upgrade, or only look', async () => {
  const gate = createGate({ allow: ELSEWHERE });
  const handler = () => {
    throw new Error('Expected the handler never to run');
  };
  const seen: string[] = [];

  // An answer of its own stands.
  const answered = fakeUpgrade();
  guardUpgrade(gate, handler, {
    onDenied: (_req, socket: Duplex, verdict) => {
      seen.push(verdict.reason);
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    },
  })(answered.req, answered.socket, Buffer.alloc(0));
  await until(() => answered.socket.writableFinished, 'the socket to finish');
  assert.is(answered.written(), 'HTTP/1.1 404 Not Found\r\n\r\n');

  // A hook that only looks, even later, is followed by the default.
  const looked = fakeUpgrade();
  await guardUpgrade(gate, handler, {
    onDenied: async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(`looked ${req.ipgate?.reason}`);
    },
  })(looked.req, looked.socket, Buffer.alloc(0));
  await until(() => looked.socket.writableFinished, 'the socket to finish');
  assert.match(looked.written(), /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.ok(looked.written().endsWith(`\r\n\r\n${DENIED_TEXT}`));

  // A hook that throws still sees the upgrade refused, then the error thrown on.
  const failed = fakeUpgrade();
  const listener = guardUpgrade(gate, handler, {
    onDenied: () => {
      throw new Error('log sink down');
    },
  });
  const error = raisesError(() => listener(failed.req, failed.socket, Buffer.alloc(0)));
  assert.is(error.message, 'log sink down');
  await until(() => failed.socket.writableFinished, 'the socket to finish');
  assert.match(failed.written(), /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.equal(seen, ['not-allowed', 'looked not-allowed']);
});

nodeOnly('refuses guardUpgrade arguments of the wrong type at once', () => {
  const gate = createGate();
  const handler = () => {};
  const cases: Array<[() => unknown, string]> = [
    [
      () => guardUpgrade(null as unknown as Gate, handler),
      'guardUpgrade: gate must be a Gate from createGate, not null',
    ],
    [
      () => guardUpgrade(gate, undefined as unknown as () => void),
      'guardUpgrade: handler must be a function, not undefined',
    ],
    [
      () => guardUpgrade(gate, handler, [] as unknown as object),
      'guardUpgrade: options must be an object, not an array',
    ],
    [
      () => guardUpgrade(gate, handler, { onDenied: 'log' as unknown as () => void }),
      'guardUpgrade: onDenied must be a function, not "log" (a string)',
    ],
  ];
  for (const [fn, message] of cases) {
    const error = raisesError(fn);
    assert.is(error.code, 'ERR_INVALID_OPTION');
    assert.is(error.message, message);
  }
});

nodeOnly('serves http2 in compatibility mode', async () => {
  const gate = createGate({ allow: ['127.0.0.1'], exemptPaths: [] });
  let hits = 0;
  const server = createHttp2Server(
    guard(gate, (req, res) => {
      hits++;
      res.end(req.ipgate?.reason ?? 'none');
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const ask = async (address: string) => {
      const session = connectHttp2(`http://${address}:${port}`);
      try {
        const stream = session.request({ ':path': '/admin' });
        let body = '';
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.setEncoding('utf8');
        for await (const chunk of stream) body += chunk;
        return { status, body };
      } finally {
        session.close();
      }
    };
    assert.equal(await ask('127.0.0.1'), { status: 200, body: 'allowed' });
    gate.update({ allow: ELSEWHERE });
    assert.equal(await ask('127.0.0.1'), { status: 403, body: DENIED_TEXT });
    assert.is(hits, 1);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

const expressOnly = suite('ipgate/express');

expressOnly('refuses arguments of the wrong type at once', () => {
  const cases: Array<[() => unknown, string]> = [
    [
      () => middleware(null as unknown as Gate),
      'middleware: gate must be a Gate from createGate, not null',
    ],
    [
      () => middleware(createGate(), { onDenied: 'x' as unknown as () => void }),
      'middleware: onDenied must be a function, not "x" (a string)',
    ],
  ];
  for (const [fn, message] of cases) assert.is(raisesError(fn).message, message);
});

/** expressWith serves an Express app whose gate denies loopback. */
async function expressWith(
  onDenied: NonNullable<Parameters<typeof middleware>[1]>['onDenied'],
  fn: (port: number, counts: { hits: number; errors: unknown[] }) => Promise<void>,
): Promise<void> {
  const counts = { hits: 0, errors: [] as unknown[] };
  const app = express();
  app.use(middleware(createGate({ allow: ELSEWHERE }), { onDenied }));
  app.use((_req, res) => {
    counts.hits++;
    res.end('app');
  });
  app.use((error: unknown, _req: IncomingMessage, res: ServerResponse, _next: () => void) => {
    counts.errors.push(error);
    res.statusCode = 500;
    res.end('error handler');
  });
  const server = createServer(app);
  const port = await listen(server, '127.0.0.1');
  try {
    await fn(port, counts);
  } finally {
    await close(server);
  }
}

expressOnly('judges the whole path when mounted under a prefix, in Express 4 and 5', async () => {
  // Inside app.use('/admin', ...) Express shows req.url as '/capture'.
  for (const framework of [express, express4]) {
    let hits = 0;
    const app = framework();
    app.use('/admin', middleware(createGate({ allow: ELSEWHERE })), (_req, res) => {
      hits++;
      res.end('admin');
    });
    const server = createServer(app);
    const port = await listen(server, '127.0.0.1');
    try {
      for (const path of ['/admin/capture', '/admin/e/', '/admin/x']) {
        assertDenied(await send({ host: '127.0.0.1', port, path }));
      }
      assert.is(hits, 0);
    } finally {
      await close(server);
    }
  }
});

expressOnly('lets onDenied answer, or only look', async () => {
  await expressWith(
    (_req, res, verdict) => {
      res.statusCode = 451;
      res.end(verdict.reason);
    },
    async (port, counts) => {
      const reply = await send({ host: '127.0.0.1', port });
      assert.equal([reply.status, reply.body], [451, 'not-allowed']);
      assert.is(counts.hits, 0);
    },
  );
  await expressWith(
    () => {},
    async (port, counts) => {
      assertDenied(await send({ host: '127.0.0.1', port }));
      assert.is(counts.hits, 0);
    },
  );
});

expressOnly('sends a failing onDenied to the error handlers, never to the routes', async () => {
  const failures: Array<() => unknown> = [
    () => {
      throw new Error('sync');
    },
    () => Promise.reject(new Error('async')),
    // 'route' would mean "carry on" to Express's next().
    () => {
      throw 'route';
    },
    () => Promise.reject(undefined),
  ];
  for (const onDenied of failures) {
    await expressWith(onDenied, async (port, counts) => {
      const reply = await send({ host: '127.0.0.1', port });
      assert.equal([reply.status, reply.body], [500, 'error handler']);
      assert.is(counts.hits, 0);
      assert.instance(counts.errors[0], Error);
    });
  }
});

const fastifyOnly = suite('ipgate/fastify');

fastifyOnly('covers routes of every plugin and unknown routes', async () => {
  const server = fastify();
  let hits = 0;
  server.get('/before', async () => {
    hits++;
    return 'before';
  });
  server.register(async (child) => {
    child.get('/child', async () => {
      hits++;
      return 'child';
    });
  });
  server.register(plugin, { gate: createGate({ allow: ELSEWHERE }) });
  server.register(
    async (child) => {
      child.get('/after', async () => {
        hits++;
        return 'after';
      });
    },
    { prefix: '/api' },
  );
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    for (const path of ['/before', '/child', '/api/after', '/nowhere']) {
      assertDenied(await send({ host: '127.0.0.1', port, path }));
    }
    assert.is(hits, 0);
  } finally {
    await server.close();
  }
});

fastifyOnly('judges the rewritten path too when rewriteUrl changes it', async () => {
  // The client asks for the exempt /static/...; Fastify routes it to /admin.
  const server = fastify({ rewriteUrl: (req) => (req.url ?? '/').replace(/^\/static\/v\d+/, '') });
  let hits = 0;
  server.get('/admin', async () => {
    hits++;
    return 'admin';
  });
  server.get('/static/app.js', async () => 'asset');
  server.register(plugin, { gate: createGate({ allow: ELSEWHERE }) });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    assertDenied(await send({ host: '127.0.0.1', port, path: '/static/v1/admin' }));
    assert.is(hits, 0);
    const asset = await send({ host: '127.0.0.1', port, path: '/static/app.js' });
    assert.equal([asset.status, asset.body], [200, 'asset']);
  } finally {
    await server.close();
  }
});

fastifyOnly('runs before the onRequest hooks of plugins registered after it', async () => {
  // Fastify runs hooks in the order they were added, so ipgate goes first.
  const server = fastify();
  let hits = 0;
  server.register(plugin, { gate: createGate({ allow: ELSEWHERE }) });
  server.addHook('onRequest', async (_request, reply) => {
    hits++;
    return reply.send('from a root hook');
  });
  server.register(async (child) => {
    child.addHook('onRequest', async (_request, reply) => {
      hits++;
      return reply.send('from a child hook');
    });
    child.get('/child', async () => 'child');
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    for (const path of ['/child', '/nowhere']) {
      assertDenied(await send({ host: '127.0.0.1', port, path }));
    }
    assert.is(hits, 0);
  } finally {
    await server.close();
  }
});

fastifyOnly('guards @fastify/websocket routes in the same hook', async () => {
  // @fastify/websocket sends each upgrade through the instance's router, so
  // the onRequest hook sees it before any handshake.
  const handshake = {
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
  };
  for (const host of LOOPBACKS) {
    const gate = createGate({ allow: [host], exemptPaths: [] });
    const server = fastify();
    const clients: (string | null | undefined)[] = [];
    await server.register(websocket);
    await server.register(plugin, { gate });
    server.get('/socket', { websocket: true }, (socket, request) => {
      clients.push(request.ipgate?.clientIp);
      socket.close();
    });
    await server.listen({ port: 0, host });
    const { port } = server.server.address() as { port: number };
    try {
      const allowed = await sendUpgrade({ host, port, path: '/socket', headers: handshake });
      assert.is(allowed.status, 101);
      gate.update({ allow: ELSEWHERE, exemptPaths: [] });
      assertUpgradeDenied(await sendUpgrade({ host, port, path: '/socket', headers: handshake }));
      const json = { ...handshake, accept: 'application/json' };
      assertUpgradeDenied(await sendUpgrade({ host, port, path: '/socket', headers: json }), true);
      assert.equal(clients, [host]);
    } finally {
      await server.close();
    }
  }
});

fastifyOnly('refuses registration without a gate', async () => {
  const cases: Array<[unknown, string]> = [
    [{}, 'ipgate/fastify: gate must be a Gate from createGate, not undefined'],
    [
      { gate: createGate(), onDenied: true },
      'ipgate/fastify: onDenied must be a function, not "true" (a boolean)',
    ],
  ];
  for (const [options, message] of cases) {
    const server = fastify();
    server.register(plugin, options as never);
    try {
      const error = await server.ready().then(
        () => null,
        (reason: Error & { code?: string }) => reason,
      );
      assert.is(error?.message, message);
      assert.is(error?.code, 'ERR_INVALID_OPTION');
    } finally {
      await server.close();
    }
  }
});

fastifyOnly('can be registered twice, and both gates decide', async () => {
  const server = fastify();
  server.register(plugin, { gate: createGate({ allow: LOOPBACK_RULES }) });
  server.register(plugin, { gate: createGate({ allow: ['127.0.0.2'] }) });
  server.get('/', async () => 'ok');
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    assertDenied(await send({ host: '127.0.0.1', port }));
    assert.is((await send({ host: '127.0.0.1', port, localAddress: '127.0.0.2' })).status, 200);
  } finally {
    await server.close();
  }
});

/** fastifyWith serves a Fastify app whose gate denies loopback. */
async function fastifyWith(
  onDenied: import('../src/adapters/fastify.js').DeniedHandler,
  fn: (port: number, counts: { hits: number }) => Promise<void>,
): Promise<void> {
  const counts = { hits: 0 };
  const server = fastify();
  server.register(plugin, { gate: createGate({ allow: ELSEWHERE }), onDenied });
  server.get('/', async () => {
    counts.hits++;
    return 'app';
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    await fn(port, counts);
  } finally {
    await server.close();
  }
}

fastifyOnly('lets onDenied answer, or only look', async () => {
  const seen: Verdict[] = [];
  await fastifyWith(
    (request, reply, verdict) => {
      seen.push(verdict);
      assert.equal(request.ipgate, verdict);
      reply.code(404).send('Not Found');
    },
    async (port, counts) => {
      const reply = await send({ host: '127.0.0.1', port });
      assert.equal([reply.status, reply.body], [404, 'Not Found']);
      assert.is(counts.hits, 0);
    },
  );
  assert.equal(seen, [{ allowed: false, clientIp: '127.0.0.1', reason: 'not-allowed' }]);
  await fastifyWith(
    async () => {},
    async (port, counts) => {
      assertDenied(await send({ host: '127.0.0.1', port }));
      assert.is(counts.hits, 0);
    },
  );
  // reply.header returns the reply, which has a then method of its own.
  await fastifyWith(
    (_request, reply, verdict) => reply.header('x-denied', verdict.reason),
    async (port, counts) => {
      const reply = await send({ host: '127.0.0.1', port });
      assertDenied(reply);
      assert.is(reply.headers['x-denied'], 'not-allowed');
      assert.is(counts.hits, 0);
    },
  );
});

fastifyOnly('sends once when onDenied replies through an asynchronous onSend hook', async () => {
  const server = fastify();
  server.addHook('onSend', async (_request, _reply, payload) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return payload;
  });
  server.register(plugin, {
    gate: createGate({ allow: ELSEWHERE }),
    onDenied: (_request, reply) => {
      reply.code(401).send('custom');
    },
  });
  server.get('/', async () => 'app');
  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as { port: number };
  try {
    const reply = await send({ host: '127.0.0.1', port });
    assert.equal([reply.status, reply.body], [401, 'custom']);
  } finally {
    await server.close();
  }
});

fastifyOnly('sends a failing onDenied to the error handler, never to the route', async () => {
  const failures: Array<() => unknown> = [
    () => {
      throw new Error('sync');
    },
    () => Promise.reject(new Error('async')),
    () => Promise.reject(undefined),
  ];
  for (const onDenied of failures) {
    await fastifyWith(onDenied, async (port, counts) => {
      const reply = await send({ host: '127.0.0.1', port });
      assert.is(reply.status, 500);
      assert.is(counts.hits, 0);
    });
  }
});

const shared = suite('prefersJson');

const ACCEPTS: Array<[why: string, accept: string | string[] | undefined, expected: boolean]> = [
  ['no header', undefined, false],
  ['JSON only', 'application/json', true],
  ['JSON in upper case', 'Application/JSON', true],
  ['JSON above text', 'application/json, text/plain;q=0.5', true],
  ['text above JSON', 'text/plain, application/json;q=0.9', false],
  // A tie goes to plain text, the default.
  ['a tie', 'application/json, text/plain', false],
  ['anything', '*/*', false],
  [
    "a browser's navigation",
    'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    false,
  ],
  ["fetch's default", '*/*', false],
  ['JSON over a wildcard', 'application/json, */*;q=0.1', true],
  ['text/* ranks text below JSON', 'text/*;q=0.2, application/json', true],
  ['JSON refused', 'application/json;q=0', false],
  ['a malformed weight is ignored', 'application/json;q=high', false],
  ['several lines', ['text/plain;q=0.1', 'application/json'], true],
  ['another JSON type', 'application/problem+json', false],
];

for (const [why, accept, expected] of ACCEPTS) {
  shared(why, () => {
    assert.is(prefersJson(accept), expected);
  });
}

/** raisesError returns what `fn` throws. */
function raisesError(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('Expected the call to throw');
}

/** fakeExchange is a request from `peer` and its response, unconnected. */
function fakeExchange(peer = '127.0.0.1'): { req: IncomingMessage; res: ServerResponse } {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  const req = new IncomingMessage(socket);
  req.url = '/';
  req.headers = {};
  return { req, res: new ServerResponse(req) };
}

spoof.run();
cookies.run();
nodeOnly.run();
expressOnly.run();
fastifyOnly.run();
shared.run();
