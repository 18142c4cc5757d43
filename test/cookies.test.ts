import { once } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { connect as connectHttp2, createServer as createHttp2Server } from 'node:http2';
import { type AddressInfo, Socket } from 'node:net';
import { parseSetCookie, type SetCookie, stringifySetCookie } from 'cookie';
import express from 'express';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  COOKIE_WARNING_LIMIT,
  type CookieFix,
  CookiePolicy,
  type CookiePolicyOptions,
  isSecureRequest,
  rewriteSetCookie,
  secureCookies,
} from '../src/cookies.js';
import {
  APP_COOKIES,
  type Reply,
  type ServerOptions,
  send,
  startExpress,
  startFastify,
  startHelper,
  startRaw,
  type TestServer,
} from './support/cookie-servers.js';
import { ELSEWHERE, LOOPBACK, trustLoopback } from './support/cookie-trust.js';

/** cookiesByName parses a response's Set-Cookie lines with the cookie package. */
function cookiesByName(reply: Reply): Map<string, SetCookie> {
  return new Map(reply.cookies.map((line) => [parseSetCookie(line).name, parseSetCookie(line)]));
}

/**
 * assertAppCookies checks the five APP_COOKIES as they arrived: all there,
 * Secure on each when `isSecure`, otherwise only where a rule requires it,
 * and the `__Host-` cookie moved to the whole host.
 */
function assertAppCookies(reply: Reply, isSecure: boolean): void {
  const cookies = cookiesByName(reply);
  assert.equal([...cookies.keys()].sort(), ['__Host-b', '__Secure-a', 'already', 'cross', 'plain']);
  assert.is(cookies.get('plain')!.secure === true, isSecure, 'plain');
  for (const name of ['cross', '__Secure-a', '__Host-b', 'already']) {
    assert.ok(cookies.get(name)!.secure, `Expected ${name} to be Secure`);
  }
  assert.is(cookies.get('__Host-b')!.path, '/');
  assert.is(cookies.get('__Host-b')!.domain, undefined);
  assert.is(cookies.get('cross')!.sameSite, 'none');
  assert.ok(cookies.get('plain')!.httpOnly, 'Expected other attributes to stay');
}

// ---------------------------------------------------------------------------

const rewrite = suite('rewriteSetCookie');

const REWRITES: Array<
  [why: string, addSecure: boolean, input: string, output: string, changes: CookieFix[]]
> = [
  // The policy's own job.
  [
    'adds Secure when asked',
    true,
    'sid=1; Path=/; HttpOnly',
    'sid=1; Path=/; HttpOnly; Secure',
    ['add-secure'],
  ],
  // Secure is an attribute name; its case and any value do not matter.
  ['keeps an existing Secure', true, 'sid=1; secure', 'sid=1; secure', []],
  ['keeps Secure written with a value', true, 'sid=1; Secure=yes', 'sid=1; Secure=yes', []],
  // RFC 6265bis 5.6: browsers ignore an attribute whose value passes 1024 octets.
  [
    'keeps Secure with a 1024-octet value',
    true,
    `sid=1; Secure=${'x'.repeat(1024)}`,
    `sid=1; Secure=${'x'.repeat(1024)}`,
    [],
  ],
  [
    'adds Secure beside one whose value browsers ignore',
    true,
    `sid=1; Secure=${'x'.repeat(1025)}`,
    `sid=1; Secure=${'x'.repeat(1025)}; Secure`,
    ['add-secure'],
  ],
  [
    'counts octets, not characters, of a Secure value',
    false,
    `__Secure-id=1; Secure=${'é'.repeat(513)}`,
    `__Secure-id=1; Secure=${'é'.repeat(513)}; Secure`,
    ['add-secure-prefix'],
  ],
  // A trailing ";" must not leave an empty attribute behind.
  ['tidies a trailing semicolon', true, 'sid=1; ', 'sid=1; Secure', ['add-secure']],
  ['leaves a plain cookie alone when off', false, 'sid=1; Path=/', 'sid=1; Path=/', []],
  // RFC 6265bis 5.6.7: browsers reject SameSite=None without Secure.
  [
    'fixes SameSite=None',
    false,
    'c=1; SameSite=None',
    'c=1; SameSite=None; Secure',
    ['add-secure-same-site-none'],
  ],
  [
    'fixes SameSite=none in lower case',
    false,
    'c=1; samesite=none',
    'c=1; samesite=none; Secure',
    ['add-secure-same-site-none'],
  ],
  ['leaves SameSite=Lax alone', false, 'c=1; SameSite=Lax', 'c=1; SameSite=Lax', []],
  // CHIPS: browsers ignore a Partitioned cookie without Secure.
  [
    'fixes Partitioned',
    false,
    'c=1; Path=/; Partitioned',
    'c=1; Path=/; Partitioned; Secure',
    ['add-secure-partitioned'],
  ],
  [
    'keeps a Secure Partitioned cookie',
    false,
    'c=1; Secure; partitioned',
    'c=1; Secure; partitioned',
    [],
  ],
  // When the policy adds Secure anyway, the reason reported is the policy.
  [
    'names the policy first',
    true,
    'c=1; SameSite=None',
    'c=1; SameSite=None; Secure',
    ['add-secure'],
  ],
  ['fixes __Secure-', false, '__Secure-id=1', '__Secure-id=1; Secure', ['add-secure-prefix']],
  // Browsers match the prefixes without regard to case.
  [
    'fixes __secure- in lower case',
    false,
    '__secure-id=1',
    '__secure-id=1; Secure',
    ['add-secure-prefix'],
  ],
  [
    'fixes __Host- missing Secure',
    false,
    '__Host-id=1; Path=/',
    '__Host-id=1; Path=/; Secure',
    ['add-secure-prefix'],
  ],
  [
    'removes Domain from __Host-',
    false,
    '__Host-id=1; Domain=example.com; Path=/; Secure',
    '__Host-id=1; Path=/; Secure',
    ['remove-domain-host-prefix'],
  ],
  [
    'sets Path=/ on __Host- without a Path',
    false,
    '__Host-id=1; Secure',
    '__Host-id=1; Secure; Path=/',
    ['set-path-host-prefix'],
  ],
  [
    'fixes every __Host- rule at once',
    true,
    '__HOST-id=1; Path=/app; domain=.example.com; HttpOnly',
    '__HOST-id=1; HttpOnly; Secure; Path=/',
    ['add-secure', 'remove-domain-host-prefix', 'set-path-host-prefix'],
  ],
  // The last Path wins in browsers and in the parser, so all are replaced.
  [
    'replaces every Path when the last is wrong',
    false,
    '__Host-id=1; Path=/; Secure; Path=/x',
    '__Host-id=1; Secure; Path=/',
    ['set-path-host-prefix'],
  ],
  // The rewrite must not touch what it does not know.
  [
    'keeps the value and unknown attributes byte for byte',
    true,
    'a="x%20y=z";Foo=bar;  Priority=High',
    'a="x%20y=z";Foo=bar;  Priority=High; Secure',
    ['add-secure'],
  ],
  // A name that only contains a prefix is not prefixed.
  ['ignores a prefix inside a name', false, 'my__Host-id=1', 'my__Host-id=1', []],
  ['returns a blank header as it is', true, '  ', '  ', []],
];

for (const [why, addSecure, input, output, changes] of REWRITES) {
  rewrite(why, () => {
    const result = rewriteSetCookie(input, { addSecure });
    assert.is(result.header, output);
    assert.equal(result.changes, changes);
  });
}

rewrite('is idempotent on every table case', () => {
  for (const [, addSecure, input] of REWRITES) {
    const once = rewriteSetCookie(input, { addSecure }).header;
    const twice = rewriteSetCookie(once, { addSecure });
    assert.is(twice.header, once);
    assert.equal(twice.changes, []);
  }
});

rewrite('adds Secure by default', () => {
  assert.is(rewriteSetCookie('a=1').header, 'a=1; Secure');
});

rewrite('reports the parsed name', () => {
  assert.is(rewriteSetCookie(' __Host-x = 1; Secure').name, '__Host-x');
});

rewrite('agrees with the cookie package on random cookies', () => {
  const cookie = fc.record(
    {
      name: fc.oneof(
        fc.constantFrom('sid', '__Secure-sid', '__Host-sid', '__host-SID', 'x__Host-'),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
      ),
      value: fc.stringMatching(/^[A-Za-z0-9%=._-]{0,20}$/),
      domain: fc.constantFrom('example.com', '.example.com'),
      path: fc.constantFrom('/', '/app', '/a/b'),
      httpOnly: fc.boolean(),
      secure: fc.boolean(),
      partitioned: fc.boolean(),
      sameSite: fc.constantFrom('lax' as const, 'strict' as const, 'none' as const),
      maxAge: fc.integer({ min: -1, max: 1e6 }),
    },
    { requiredKeys: ['name', 'value'] },
  );
  fc.assert(
    fc.property(cookie, fc.boolean(), (input, addSecure) => {
      const header = stringifySetCookie(input, { encode: (text) => text });
      const before = parseSetCookie(header, { decode: (text) => text });
      const result = rewriteSetCookie(header, { addSecure });
      const after = parseSetCookie(result.header, { decode: (text) => text });
      const name = input.name.toLowerCase();
      const isHost = name.startsWith('__host-');
      const needsSecure =
        addSecure ||
        input.sameSite === 'none' ||
        input.partitioned === true ||
        isHost ||
        name.startsWith('__secure-');

      // The rules hold afterwards...
      assert.is(after.secure === true, before.secure === true || needsSecure);
      if (isHost) assert.is(after.path, '/');
      if (isHost) assert.is(after.domain, undefined);
      // ...and nothing else changed.
      const { secure: _secure, path, domain, ...rest } = after;
      const { secure: _was, path: pathBefore, domain: domainBefore, ...restBefore } = before;
      assert.equal(rest, restBefore);
      if (!isHost) assert.equal([path, domain], [pathBefore, domainBefore]);
      assert.equal(rewriteSetCookie(result.header, { addSecure }).changes, []);
    }),
    { numRuns: 500, seed: 5 },
  );
});

// ---------------------------------------------------------------------------

const secure = suite('isSecureRequest');

/** fakeRequest is just enough of an IncomingMessage for isSecureRequest. */
function fakeRequest(
  headers: Record<string, string | string[]>,
  socket: { remoteAddress?: string; encrypted?: boolean } = { remoteAddress: '127.0.0.1' },
): IncomingMessage {
  return { headers, socket } as unknown as IncomingMessage;
}

const BEHIND = { behindProxy: true, trust: trustLoopback() };

const PROTOS: Array<[why: string, header: string | string[], expected: boolean]> = [
  ['https', 'https', true],
  // Proxies and clients vary the case and spacing.
  ['in capitals, with spaces', '  HTTPS ', true],
  ['http', 'http', false],
  // The rightmost value is the nearest proxy's; the left is client input.
  ['https appended after a forged http', 'http, https', true],
  ['http appended after a forged https', 'https, http', false],
  // Two header lines arrive as two list entries from a header bag.
  ['two lines, https last', ['http', 'https'], true],
  ['two lines, http last', ['https', 'http'], false],
  ['a trailing comma', 'https,', false],
  ['empty', '', false],
  ['a look-alike', 'https2', false],
];

for (const [why, header, expected] of PROTOS) {
  secure(`X-Forwarded-Proto from a trusted proxy: ${why}`, () => {
    assert.is(isSecureRequest(fakeRequest({ 'x-forwarded-proto': header }), BEHIND), expected);
  });
}

secure('a TLS socket is secure whatever the headers say', () => {
  const req = fakeRequest({ 'x-forwarded-proto': 'http' }, { encrypted: true });
  assert.ok(isSecureRequest(req, { behindProxy: false, trust: null }));
});

secure('ignores X-Forwarded-Proto from a peer that is not trusted', () => {
  const req = fakeRequest({ 'x-forwarded-proto': 'https' }, { remoteAddress: '203.0.113.9' });
  assert.not.ok(isSecureRequest(req, BEHIND));
});

secure('ignores X-Forwarded-Proto unless behindProxy is set', () => {
  const req = fakeRequest({ 'x-forwarded-proto': 'https' });
  assert.not.ok(isSecureRequest(req, { behindProxy: false, trust: trustLoopback() }));
});

secure('ignores X-Forwarded-Proto without a trust', () => {
  const req = fakeRequest({ 'x-forwarded-proto': 'https' });
  assert.not.ok(isSecureRequest(req, { behindProxy: true, trust: null }));
});

secure('does not throw for a request without a socket', () => {
  const req = { headers: { 'x-forwarded-proto': 'https' } } as unknown as IncomingMessage;
  assert.not.ok(isSecureRequest(req, BEHIND));
});

// ---------------------------------------------------------------------------

const construct = suite('new CookiePolicy');

const GOOD_OPTIONS: CookiePolicyOptions = {
  secureCookies: true,
  disableSslRedirect: false,
  behindProxy: false,
  trust: null,
};

const BAD_POLICIES: Array<[why: string, options: unknown, message: string]> = [
  ['no options', undefined, 'new CookiePolicy: secureCookies must be a boolean'],
  [
    'a string for a boolean',
    { ...GOOD_OPTIONS, behindProxy: 'yes' },
    'new CookiePolicy: behindProxy must be a boolean',
  ],
  [
    'a trust without isTrusted',
    { ...GOOD_OPTIONS, trust: {} },
    'new CookiePolicy: trust must be a ProxyTrust or null',
  ],
  [
    'a hook that is not a function',
    { ...GOOD_OPTIONS, onWarning: 'log' },
    'new CookiePolicy: onWarning must be a function',
  ],
];

for (const [why, options, message] of BAD_POLICIES) {
  construct(`throws ERR_INVALID_OPTION for ${why}`, () => {
    try {
      new CookiePolicy(options as CookiePolicyOptions);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_INVALID_OPTION');
      assert.is((error as Error).message, message);
      return;
    }
    assert.unreachable('Expected the constructor to throw');
  });
}

construct('accepts an undefined onWarning, as the gate passes it', () => {
  new CookiePolicy({ ...GOOD_OPTIONS, onWarning: undefined });
});

construct('survives a throwing onWarning', () => {
  const policy = new CookiePolicy({
    ...GOOD_OPTIONS,
    disableSslRedirect: true,
    onWarning: () => {
      throw new Error('hook failed');
    },
  });
  const req = fakeRequest({ host: 'a' }, { remoteAddress: '127.0.0.1' });
  const res = { setHeader() {}, writeHead() {} } as unknown as ServerResponse;
  assert.is(policy.handle(req, res), false);
});

// ---------------------------------------------------------------------------

type Start = (options: ServerOptions) => Promise<TestServer>;

const FRAMEWORKS: Array<[name: string, start: Start]> = [
  ['node:http with a CookiePolicy', (options) => startRaw(options, 'policy')],
  ['Express with a CookiePolicy', (options) => startExpress(options, 'policy')],
  ['Fastify with a CookiePolicy', (options) => startFastify(options, 'policy')],
  ['node:http through ipgate/node', (options) => startRaw(options, 'adapter')],
  ['Express through ipgate/express', (options) => startExpress(options, 'adapter')],
  ['Fastify through ipgate/fastify', (options) => startFastify(options, 'adapter')],
];

const ON: ServerOptions = { secureCookies: true };

/**
 * HOST_FIXES are the warnings the broken `__Host-b` of APP_COOKIES earns
 * when the policy adds Secure anyway: once each, whatever the request.
 */
const HOST_FIXES = [
  'Set-Cookie "__Host-b": removed Domain, which the __Host- prefix forbids',
  'Set-Cookie "__Host-b": set Path=/, which the __Host- prefix requires',
];

/** serve runs `fn` against a fresh server and always closes it. */
async function serve(start: Start, options: ServerOptions, fn: (server: TestServer) => unknown) {
  const server = await start(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

for (const [name, start] of FRAMEWORKS) {
  const framework = suite(`real ${name}`);

  framework('redirects a plain GET to https with 301, keeping host, path and query', () =>
    serve(start, ON, async (server) => {
      const reply = await send(server.port, { path: '/login?next=%2Fhome' });
      assert.is(reply.status, 301);
      assert.is(reply.location, 'https://app.example/login?next=%2Fhome');
      assert.equal(reply.cookies, []);
      assert.is(server.hits, 0);
    }),
  );

  framework('redirects HEAD with 301 and other methods with 308', () =>
    serve(start, ON, async (server) => {
      assert.is((await send(server.port, { method: 'HEAD', path: '/x' })).status, 301);
      const post = await send(server.port, { method: 'POST', path: '/api/event' });
      assert.is(post.status, 308);
      assert.is(post.location, 'https://app.example/api/event');
      assert.is((await send(server.port, { method: 'DELETE' })).status, 308);
      assert.is(server.hits, 0);
    }),
  );

  framework('keeps the port of the Host header, except the plain-HTTP port 80', () =>
    serve(start, ON, async (server) => {
      const cases: Array<[string, string]> = [
        ['app.example:80', 'https://app.example/'],
        ['app.example:8443', 'https://app.example:8443/'],
        ['192.0.2.7', 'https://192.0.2.7/'],
        ['[2001:db8::1]:8080', 'https://[2001:db8::1]:8080/'],
      ];
      for (const [host, location] of cases) {
        assert.is((await send(server.port, { headers: { host } })).location, location, host);
      }
    }),
  );

  framework('answers 400, not a redirect, for a Host that is not host[:port]', () =>
    serve(start, ON, async (server) => {
      const hosts = [
        'evil.example/path',
        'user@evil.example',
        'app.example\\@evil.example',
        'evil.example?x',
        'evil.example#x',
        'app.example:99999',
        'app.example:',
        '[::1',
        'a b',
        `${'a'.repeat(300)}.example`,
      ];
      for (const host of hosts) {
        const reply = await send(server.port, { headers: { host } });
        assert.is(reply.status, 400, host);
        assert.is(reply.location, undefined, host);
      }
      assert.is(server.hits, 0);
    }),
  );

  framework('never redirects /_health, and does not warn for it', () =>
    serve(start, ON, async (server) => {
      for (const path of ['/_health', '/_health/', '/_health/ready', '/_health?probe=1']) {
        const reply = await send(server.port, { path });
        assert.is(reply.status, 200, path);
        assertAppCookies(reply, true);
      }
      assert.equal(server.warnings, HOST_FIXES);
    }),
  );

  framework('redirects paths that only look like /_health', () =>
    serve(start, ON, async (server) => {
      for (const path of ['/_healthz', '/x/_health', '/_health/../login', '/%5Fhealth']) {
        assert.is((await send(server.port, { path })).status, 301, path);
      }
    }),
  );

  framework('with the redirect disabled, runs the app, adds Secure and warns once', () =>
    serve(start, { ...ON, disableSslRedirect: true }, async (server) => {
      for (let i = 0; i < 3; i++) {
        const reply = await send(server.port, { path: '/login' });
        assert.is(reply.status, 200);
        assertAppCookies(reply, true);
      }
      assert.is(server.hits, 3);
      assert.equal(server.warnings.slice(1), HOST_FIXES);
      assert.match(server.warnings[0]!, /^secure cookies are on, but a request was answered/);
    }),
  );

  framework('behind a trusted TLS proxy, X-Forwarded-Proto: https stops the redirect', () =>
    serve(start, { ...ON, behindProxy: true, trusted: LOOPBACK }, async (server) => {
      // What a TLS-terminating proxy on the same host sends: no loop.
      const reply = await send(server.port, { headers: { 'x-forwarded-proto': 'https' } });
      assert.is(reply.status, 200);
      assertAppCookies(reply, true);
      // The proxy forwards plain HTTP as http: that is redirected.
      const plain = await send(server.port, { headers: { 'x-forwarded-proto': 'http' } });
      assert.is(plain.status, 301);
      assert.equal(server.warnings, HOST_FIXES);
    }),
  );

  framework('reads the rightmost X-Forwarded-Proto across header lines', () =>
    serve(start, { ...ON, behindProxy: true, trusted: LOOPBACK }, async (server) => {
      const appended = { 'x-forwarded-proto': ['http', 'https'] };
      assert.is((await send(server.port, { headers: appended })).status, 200);
      const forged = { 'x-forwarded-proto': ['https', 'http'] };
      assert.is((await send(server.port, { headers: forged })).status, 301);
      assert.is(
        (await send(server.port, { headers: { 'x-forwarded-proto': 'https, http' } })).status,
        301,
      );
    }),
  );

  framework('a forged X-Forwarded-Proto from an untrusted peer changes nothing', () =>
    serve(start, { ...ON, behindProxy: true, trusted: ELSEWHERE }, async (server) => {
      for (let i = 0; i < 3; i++) {
        const reply = await send(server.port, { headers: { 'x-forwarded-proto': 'https' } });
        assert.is(reply.status, 301);
        assert.is(reply.location, 'https://app.example/');
      }
      assert.is(server.hits, 0);
      assert.equal(server.warnings, [
        'X-Forwarded-Proto: https from "127.0.0.1" was ignored because the peer is not ' +
          'a trusted proxy. If that address is your TLS proxy, set IS_BEHIND_PROXY and ' +
          'list it in TRUSTED_PROXIES, or the redirect to HTTPS will loop',
      ]);
    }),
  );

  framework('without behindProxy, even a trusted peer cannot vouch for https', () =>
    serve(start, { ...ON, trusted: LOOPBACK }, async (server) => {
      const reply = await send(server.port, { headers: { 'x-forwarded-proto': 'https' } });
      assert.is(reply.status, 301);
      assert.match(server.warnings[0]!, /because behindProxy \(IS_BEHIND_PROXY\) is off/);
    }),
  );

  framework('a TLS connection is secure: no redirect, Secure cookies', () =>
    serve(start, { ...ON, tls: true }, async (server) => {
      const reply = await send(server.port, { tls: true, path: '/login' });
      assert.is(reply.status, 200);
      assertAppCookies(reply, true);
      assert.equal(server.warnings, HOST_FIXES);
    }),
  );

  framework('with secure cookies off: no redirect, and only the rules add Secure', () =>
    serve(start, { secureCookies: false }, async (server) => {
      const reply = await send(server.port, { path: '/login' });
      assert.is(reply.status, 200);
      assertAppCookies(reply, false);
      // Each fix made for the application is reported once per cookie.
      await send(server.port);
      assert.equal(server.warnings, [
        'Set-Cookie "cross": added Secure, which SameSite=None requires (RFC 6265bis)',
        'Set-Cookie "__Secure-a": added Secure, which the __Secure- and __Host- prefixes require',
        'Set-Cookie "__Host-b": added Secure, which the __Secure- and __Host- prefixes require',
        'Set-Cookie "__Host-b": removed Domain, which the __Host- prefix forbids',
        'Set-Cookie "__Host-b": set Path=/, which the __Host- prefix requires',
      ]);
    }),
  );

  framework.run();
}

// ---------------------------------------------------------------------------

const helper = suite('secureCookies on a real node:http server');

const HELPER_FORMS: Array<[path: string, how: string]> = [
  ['/object', 'passed to writeHead as an object'],
  ['/pairs', 'passed to writeHead as pairs'],
  ['/flat', 'passed to writeHead as a flat list'],
  ['/undefined-reason', 'passed to writeHead after an undefined reason'],
  ['/null-reason', 'passed to writeHead after a null reason'],
  ['/early', 'set before secureCookies was called'],
];

for (const [form, how] of HELPER_FORMS) {
  helper(`rewrites cookies ${how}`, async () => {
    const server = await startHelper(true);
    try {
      const reply = await send(server.port, { path: form });
      assert.is(reply.status, 200);
      assert.is(reply.cookies.length, APP_COOKIES.length);
      assertAppCookies(reply, true);
      assert.equal(server.warnings, [
        'plain: add-secure',
        'cross: add-secure',
        '__Secure-a: add-secure',
        '__Host-b: add-secure remove-domain-host-prefix set-path-host-prefix',
      ]);
    } finally {
      await server.close();
    }
  });
}

helper('with addSecure off, enforces only the rules', async () => {
  const server = await startHelper(false);
  try {
    assertAppCookies(await send(server.port, { path: '/object' }), false);
  } finally {
    await server.close();
  }
});

helper('applies the options of the latest call, wrapping only once', () => {
  const res = exchange({}).res;
  const setHeader = secureCookies(res, { addSecure: false }).setHeader;
  secureCookies(res, { addSecure: true });
  assert.is(res.setHeader, setHeader);
  res.setHeader('Set-Cookie', 'a=1');
  assert.equal(res.getHeader('set-cookie'), 'a=1; Secure');
});

helper('leaves other headers and non-string values alone', () => {
  const res = secureCookies(exchange({}).res);
  res.setHeader('X-Cookie-Note', 'a=1');
  res.setHeader('Set-Cookie', 42);
  res.appendHeader('set-cookie', ['b=2', 'c=3; Secure']);
  assert.is(res.getHeader('x-cookie-note'), 'a=1');
  assert.equal(res.getHeader('set-cookie'), [42, 'b=2; Secure', 'c=3; Secure']);
});

helper('sees cookies given to setHeaders as a Map', () => {
  const res = secureCookies(exchange({}).res);
  res.setHeaders(new Map([['set-cookie', ['a=1', '__Host-b=2']]]));
  assert.equal(res.getHeader('set-cookie'), ['a=1; Secure', '__Host-b=2; Secure; Path=/']);
});

helper('sees names that http2 trims before sending', async () => {
  // node:http refuses ' set-cookie' as a name; http2 trims it to set-cookie.
  const server = createHttp2Server((req, res) => {
    secureCookies(res as unknown as ServerResponse);
    if (req.url === '/set') res.setHeader(' Set-Cookie ', 'a=1');
    else res.writeHead(200, { 'set-cookie\t': 'b=2' });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = connectHttp2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const cookiesAt = async (path: string) => {
    const stream = session.request({ ':path': path });
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
    stream.resume();
    await once(stream, 'end');
    return headers['set-cookie'];
  };
  try {
    assert.equal(await cookiesAt('/set'), ['a=1; Secure']);
    assert.equal(await cookiesAt('/write'), ['b=2; Secure']);
  } finally {
    session.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

// ---------------------------------------------------------------------------

const handle = suite('CookiePolicy.handle');

/**
 * exchange builds a request and its response with no connection behind
 * them: headers set on the response can be read back with getHeader.
 */
function exchange(
  headers: Record<string, string>,
  { url = '/', method = 'GET', peer = '127.0.0.1' } = {},
): { req: IncomingMessage; res: ServerResponse } {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  const req = new IncomingMessage(socket);
  Object.assign(req, { headers, url, method });
  return { req, res: new ServerResponse(req) };
}

function policy(options: Partial<CookiePolicyOptions> = {}, warnings: string[] = []) {
  return new CookiePolicy({
    ...GOOD_OPTIONS,
    onWarning: (text) => warnings.push(text),
    ...options,
  });
}

handle('redirects with a Location built from Host and the original URL', () => {
  const { req, res } = exchange({ host: 'app.example' }, { url: '/a?b=c' });
  assert.is(policy().handle(req, res), true);
  assert.is(res.statusCode, 301);
  assert.is(res.getHeader('location'), 'https://app.example/a?b=c');
});

handle('answers 400 for a missing Host or a target that is not a path', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, '/'],
    [{ host: 'app.example' }, 'http://evil.example/'],
    [{ host: 'app.example' }, '*'],
    // Raw bytes above ASCII would be sent on unescaped into Location.
    [{ host: 'app.example' }, '/caf\u00e9'],
    [{ host: 'app.example' }, '/a b'],
  ];
  for (const [headers, url] of cases) {
    const { req, res } = exchange(headers, { url });
    assert.is(policy().handle(req, res), true, url);
    assert.is(res.statusCode, 400, url);
    assert.is(res.getHeader('location'), undefined, url);
  }
});

handle("uses Express's originalUrl, which keeps the mount point", () => {
  const { req, res } = exchange({ host: 'app.example' }, { url: '/login' });
  Object.assign(req, { originalUrl: '/admin/login' });
  policy().handle(req, res);
  assert.is(res.getHeader('location'), 'https://app.example/admin/login');
});

handle('judges the _health exemption on the original URL too', () => {
  const { req, res } = exchange({ host: 'app.example' }, { url: '/_health' });
  Object.assign(req, { originalUrl: '/admin/_health' });
  assert.is(policy().handle(req, res), true);
});

handle('returns false and adds Secure on an encrypted socket', () => {
  const { req, res } = exchange({ host: 'app.example' });
  Object.defineProperty(req.socket, 'encrypted', { value: true });
  assert.is(policy().handle(req, res), false);
  res.setHeader('Set-Cookie', 'a=1');
  assert.is(res.getHeader('set-cookie'), 'a=1; Secure');
});

handle('names a missing trust as the reason X-Forwarded-Proto was ignored', () => {
  const warnings: string[] = [];
  const { req, res } = exchange({ host: 'a', 'x-forwarded-proto': 'https' });
  policy({ behindProxy: true, trust: null }, warnings).handle(req, res);
  assert.match(warnings[0]!, /because no proxy is trusted\./);
});

handle('warns about at most COOKIE_WARNING_LIMIT cookie fixes', () => {
  const warnings: string[] = [];
  const cookies = policy({ secureCookies: false }, warnings);
  for (let i = 0; i < 3 * COOKIE_WARNING_LIMIT; i++) {
    const { req, res } = exchange({ host: 'a' });
    cookies.handle(req, res);
    res.setHeader('Set-Cookie', `__Secure-n${i}=1`);
  }
  assert.is(warnings.length, COOKIE_WARNING_LIMIT);
});

handle('does not redirect once the headers are sent', () => {
  const { req, res } = exchange({ host: 'app.example' });
  Object.defineProperty(res, 'headersSent', { value: true });
  assert.is(policy().handle(req, res), true);
  assert.is(res.getHeader('location'), undefined);
});

const mounted = suite('CookiePolicy under a mounted Express middleware');

mounted('redirects to the whole path, not the part below the mount point', async () => {
  const cookies = policy();
  const app = express();
  app.use('/admin', (req, res, next) => {
    if (!cookies.handle(req, res)) next();
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const reply = await send(port, { path: '/admin/login?x=1' });
    assert.is(reply.status, 301);
    assert.is(reply.location, 'https://app.example/admin/login?x=1');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

rewrite.run();
secure.run();
construct.run();
helper.run();
handle.run();
mounted.run();
