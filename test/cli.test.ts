import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECK_HELP } from '../src/cli/check.js';
import { DOCTOR_HELP } from '../src/cli/doctor.js';
import { HELP } from '../src/cli/main.js';
import { SECRET_HELP } from '../src/cli/secret.js';
import { SERVE_HELP } from '../src/cli/serve.js';
import { assertFreshBuild, describe, ROOT, type Run, runCli, startServe } from './support/cli.js';
import { send } from './support/http.js';

/** STRONG_KEY passes every secret-key check. */
const STRONG_KEY = 'f3c1a9e07b5d42c8a6e1b0d9c7f3a5e2b4d6c8a0e2f4b6d8c0a2e4f6b8d0c2a4';

/** expectRun asserts a run's status and exact output. */
function expectRun(run: Run, status: number, stdout: string, stderr = ''): void {
  const detail = describe(run);
  assert.is(run.status, status, `Expected status ${status}: ${detail}`);
  assert.is(run.stdout, stdout, `Expected the exact stdout: ${detail}`);
  assert.is(run.stderr, stderr, `Expected the exact stderr: ${detail}`);
}

/** verdictBlock is the exact output of `ipgate check`. */
function verdictBlock(fields: {
  verdict: string;
  reason: string;
  client: string;
  peer: string;
  rule?: string;
}): string {
  return [
    `verdict  ${fields.verdict}`,
    `reason   ${fields.reason}`,
    `client   ${fields.client}`,
    `peer     ${fields.peer}`,
    `rule     ${fields.rule ?? '-'}`,
    '',
  ].join('\n');
}

const ALLOWED = 'allowed: the client matches a rule of the allowlist';
const NOT_ALLOWED = 'not-allowed: the client matches no rule of the allowlist';

const help = suite('ipgate --help');

help('runs against a fresh build', assertFreshBuild);

help('prints each text exactly, on stdout, with status 0', async () => {
  const cases: [string[], string][] = [
    [[], HELP], // a bare `ipgate` shows the overview
    [['--help'], HELP],
    [['-h'], HELP],
    [['help'], HELP],
    [['help', 'check'], CHECK_HELP], // `help COMMAND` is `COMMAND --help`
    [['serve', '--help'], SERVE_HELP],
    [['check', '--help'], CHECK_HELP],
    [['check', '-h'], CHECK_HELP],
    [['doctor', '--help'], DOCTOR_HELP],
    [['secret', '--help'], SECRET_HELP],
    // --help wins over what would otherwise be bad input
    [['check', 'not-an-address', '--help'], CHECK_HELP],
  ];
  const runs = await Promise.all(cases.map(([args]) => runCli(args)));
  runs.forEach((run, i) => {
    expectRun(run, 0, cases[i]?.[1] as string);
  });
});

help('names the demo allowlist in serve --help', () => {
  assert.match(SERVE_HELP, 'ALLOWED_IP_BLOCKS=127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,');
});

help('prints the version from package.json', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expectRun(await runCli(['--version']), 0, `${version}\n`);
});

help.run();

const usage = suite('usage errors');

usage('runs against a fresh build', assertFreshBuild);

usage('print one line on stderr and exit with status 2', async () => {
  const see = (command: string) => `; see \`${command} --help\``;
  const cases: [string[], Record<string, string>, string][] = [
    [['frob'], {}, `ipgate: unknown command "frob"${see('ipgate')}`],
    [['--frob'], {}, `ipgate: unknown option --frob${see('ipgate')}`],
    [['help', 'frob'], {}, `ipgate: unknown command "frob"${see('ipgate')}`],
    // an inherited property name is not a command
    [['toString'], {}, `ipgate: unknown command "toString"${see('ipgate')}`],
    [['check'], {}, `ipgate check: expected one ADDRESS, got 0${see('ipgate check')}`],
    [
      ['check', '10.0.0.1', '10.0.0.2'],
      {},
      `ipgate check: expected one ADDRESS, got 2${see('ipgate check')}`,
    ],
    [
      ['check', '10.0.0.1', '--bogus'],
      {},
      `ipgate check: unknown option --bogus${see('ipgate check')}`,
    ],
    [['check', '10.0.0.1', '-x'], {}, `ipgate check: unknown option -x${see('ipgate check')}`],
    [
      ['check', '10.0.0.1', '--allow'],
      {},
      `ipgate check: --allow needs a value${see('ipgate check')}`,
    ],
    // an option where a value belongs is a forgotten value, not the value
    [
      ['check', '10.0.0.1', '--allow', '--peer', '10.0.0.2'],
      {},
      `ipgate check: --allow needs a value${see('ipgate check')}`,
    ],
    [
      ['check', '10.0.0.1', '--help=yes'],
      {},
      `ipgate check: --help takes no value${see('ipgate check')}`,
    ],
    [
      ['check', '10.0.0.1', '--allow', '10.0.0.0/8', '--allow=10.0.0.1'],
      {},
      `ipgate check: --allow is given more than once${see('ipgate check')}`,
    ],
    [['check', 'localhost'], {}, 'ipgate check: ADDRESS "localhost" is not an IP address'],
    // a port is not part of an address
    [['check', '10.0.0.1:80'], {}, 'ipgate check: ADDRESS "10.0.0.1:80" is not an IP address'],
    [
      ['check', '10.0.0.1', '--peer', 'proxy'],
      {},
      'ipgate check: --peer "proxy" is not an IP address',
    ],
    [
      ['check', '10.0.0.1', '--allow', '10.0.0.0/8, 10.0.0.0/33'],
      {},
      'ipgate check: --allow entry "10.0.0.0/33": prefix length 33 exceeds 32',
    ],
    [
      ['check', '10.0.0.1', '--trusted', '10.0.0.300'],
      {},
      'ipgate check: --trusted entry "10.0.0.300": IPv4 field 300 exceeds 255',
    ],
    // the environment is input too; its errors name the variable
    [
      ['check', '10.0.0.1'],
      { ALLOWED_IP_BLOCKS: 'bogus' },
      'ipgate check: ALLOWED_IP_BLOCKS entry "bogus": hostnames are not supported; give an address',
    ],
    [
      ['check', '10.0.0.1'],
      { DEBUG: 'maybe' },
      'ipgate check: DEBUG="maybe": not a boolean; use one of true, yes, on, 1 or false, no, off, 0',
    ],
    [['doctor', 'now'], {}, `ipgate doctor: unexpected argument "now"${see('ipgate doctor')}`],
    [['doctor', '--fix'], {}, `ipgate doctor: unknown option --fix${see('ipgate doctor')}`],
    [
      ['secret', '--length', '32'],
      {},
      `ipgate secret: unknown option --length${see('ipgate secret')}`,
    ],
    [
      ['serve', '--port', '65536'],
      {},
      'ipgate serve: --port "65536" is not a port number from 0 to 65535',
    ],
    [['serve'], { PORT: 'http' }, 'ipgate serve: PORT "http" is not a port number from 0 to 65535'],
    [['serve', 'now'], {}, `ipgate serve: unexpected argument "now"${see('ipgate serve')}`],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
  runs.forEach((run, i) => {
    expectRun(run, 2, '', `${cases[i]?.[2]}\n`);
  });
});

usage.run();

const check = suite('ipgate check');

check('runs against a fresh build', assertFreshBuild);

check('prints the verdict, with status 0 when allowed and 1 when denied', async () => {
  const cases: [string[], Record<string, string>, number, string, string?][] = [
    [
      ['check', '10.1.2.3', '--allow', '10.0.0.0/8'],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '10.1.2.3',
        peer: '10.1.2.3',
        rule: '10.0.0.0/8',
      }),
    ],
    [
      ['check', '192.0.2.1', '--allow', '10.0.0.0/8'],
      {},
      1,
      verdictBlock({
        verdict: 'denied',
        reason: NOT_ALLOWED,
        client: '192.0.2.1',
        peer: '192.0.2.1',
      }),
    ],
    // without options the environment decides
    [
      ['check', '192.168.1.5'],
      { ALLOWED_IP_BLOCKS: '192.168.0.0/16' },
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '192.168.1.5',
        peer: '192.168.1.5',
        rule: '192.168.0.0/16',
      }),
    ],
    // --allow replaces ALLOWED_IP_BLOCKS
    [
      ['check', '192.168.1.5', '--allow', '10.0.0.0/8'],
      { ALLOWED_IP_BLOCKS: '192.168.0.0/16' },
      1,
      verdictBlock({
        verdict: 'denied',
        reason: NOT_ALLOWED,
        client: '192.168.1.5',
        peer: '192.168.1.5',
      }),
    ],
    // no allowlist at all: everything passes, as the gate says
    [
      ['check', '192.0.2.1'],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: 'unrestricted: ALLOWED_IP_BLOCKS is empty, so every client passes',
        client: '192.0.2.1',
        peer: '192.0.2.1',
      }),
    ],
    // an empty --allow clears the environment's allowlist
    [
      ['check', '192.0.2.1', '--allow='],
      { ALLOWED_IP_BLOCKS: '10.0.0.0/8' },
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: 'unrestricted: ALLOWED_IP_BLOCKS is empty, so every client passes',
        client: '192.0.2.1',
        peer: '192.0.2.1',
      }),
    ],
    // the client is shown canonical, the peer as given
    [
      ['check', '::ffff:10.1.2.3', '--allow', '10.0.0.0/8'],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '10.1.2.3',
        peer: '::ffff:10.1.2.3',
        rule: '10.0.0.0/8',
      }),
    ],
    [
      ['check', '2001:DB8::1', '--allow', '2001:db8::/32'],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '2001:db8::1',
        peer: '2001:DB8::1',
        rule: '2001:db8::/32',
      }),
    ],
    // behind a trusted proxy, the address it forwards is the client
    [
      [
        'check',
        '203.0.113.7',
        '--peer',
        '10.0.0.2',
        '--trusted',
        '10.0.0.0/8',
        '--allow',
        '203.0.113.0/24',
      ],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '203.0.113.7',
        peer: '10.0.0.2',
        rule: '203.0.113.0/24',
      }),
    ],
    // a hop the client forged before the proxy appended its address
    [
      [
        'check',
        '198.51.100.9',
        '--xff',
        '203.0.113.7',
        '--peer',
        '10.0.0.2',
        '--trusted',
        '10.0.0.0/8',
        '--allow',
        '203.0.113.0/24',
      ],
      {},
      1,
      verdictBlock({
        verdict: 'denied',
        reason: NOT_ALLOWED,
        client: '198.51.100.9',
        peer: '10.0.0.2',
      }),
    ],
    // two trusted proxies: ADDRESS is the inner one, --xff what it received
    [
      [
        'check',
        '10.0.0.3',
        '--xff',
        '203.0.113.7',
        '--peer',
        '10.0.0.2',
        '--trusted',
        '10.0.0.0/8',
        '--allow',
        '203.0.113.7',
      ],
      {},
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '203.0.113.7',
        peer: '10.0.0.2',
        rule: '203.0.113.7',
      }),
    ],
    // the walk reaches a hop that is not an address: fail closed
    [
      [
        'check',
        '10.0.0.3',
        '--xff',
        'garbage',
        '--peer',
        '10.0.0.2',
        '--trusted',
        '10.0.0.0/8',
        '--allow',
        '10.0.0.0/8',
      ],
      {},
      1,
      verdictBlock({
        verdict: 'denied',
        reason:
          'no-client-address: there is no peer, a malformed hop was reached, or too many hops',
        client: '-',
        peer: '10.0.0.2',
      }),
    ],
    // behind a proxy that nothing says to trust, a forwarded request is refused
    [
      ['check', '10.0.0.1', '--peer', '10.0.0.2', '--allow', '10.0.0.0/8'],
      { IS_BEHIND_PROXY: 'true' },
      1,
      verdictBlock({
        verdict: 'denied',
        reason: 'untrusted-forwarding: the request carries X-Forwarded-For but no proxy is trusted',
        client: '-',
        peer: '10.0.0.2',
      }),
      'warning: IS_BEHIND_PROXY is on but neither TRUSTED_PROXIES nor TRUST_ALL_PROXIES is set: ' +
        'client addresses cannot be read from X-Forwarded-For, and forwarded requests are ' +
        'denied when ALLOWED_IP_BLOCKS is set\n',
    ],
    // TRUSTED_PROXIES from the environment is used when --trusted is absent
    [
      ['check', '203.0.113.7', '--peer', '10.0.0.2', '--allow', '203.0.113.0/24'],
      { IS_BEHIND_PROXY: 'yes', TRUSTED_PROXIES: '10.0.0.2' },
      0,
      verdictBlock({
        verdict: 'allowed',
        reason: ALLOWED,
        client: '203.0.113.7',
        peer: '10.0.0.2',
        rule: '203.0.113.0/24',
      }),
    ],
  ];
  const runs = await Promise.all(cases.map(([args, env]) => runCli(args, env)));
  runs.forEach((run, i) => {
    const [, , status, stdout, stderr] = cases[i] as (typeof cases)[number];
    expectRun(run, status, stdout, stderr);
  });
});

check('warns on stderr when forwarding headers would not be read', async () => {
  const run = await runCli(['check', '192.0.2.1', '--xff', '10.0.0.1', '--allow', '10.0.0.0/8']);
  expectRun(
    run,
    1,
    verdictBlock({
      verdict: 'denied',
      reason: NOT_ALLOWED,
      client: '192.0.2.1',
      peer: '192.0.2.1',
    }),
    'warning: IS_BEHIND_PROXY is off, so X-Forwarded-For is not read and the socket peer is ' +
      'judged as the client; give --trusted to read it\n',
  );
});

check("prints the configuration's warnings on stderr", async () => {
  const run = await runCli(['check', '192.0.2.1', '--allow', '0.0.0.0/0']);
  assert.is(run.status, 0, describe(run));
  assert.is(
    run.stderr,
    'warning: ALLOWED_IP_BLOCKS entry "0.0.0.0/0" lets every IPv4 address in\n',
  );
});

check.run();

const doctor = suite('ipgate doctor');

doctor('runs against a fresh build', assertFreshBuild);

doctor('prints the configuration and exits 0 when a production start would succeed', async () => {
  const env = {
    ALLOWED_IP_BLOCKS: '10.0.0.0/8, 192.168.0.0/16',
    IS_BEHIND_PROXY: 'true',
    TRUSTED_PROXIES: '10.0.0.2',
    SECRET_KEY: STRONG_KEY,
    SECRET_KEY_FALLBACKS: STRONG_KEY.toUpperCase(),
  };
  expectRun(
    await runCli(['doctor'], env),
    0,
    [
      'Configuration:',
      '  mode                         production',
      '  ALLOWED_IP_BLOCKS            10.0.0.0/8, 192.168.0.0/16',
      '  TRUSTED_PROXIES              10.0.0.2',
      '  TRUST_ALL_PROXIES            false',
      '  IS_BEHIND_PROXY              true: the client is read from X-Forwarded-For',
      '  IPGATE_EXEMPT_PATHS          e, s, i, capture, batch, decide, engage, track, flags, static, _health',
      '  SECURE_COOKIES               true',
      '  DISABLE_SECURE_SSL_REDIRECT  false',
      '  SECRET_KEY                   set, 64 characters',
      '  SECRET_KEY_FALLBACKS         1 key of 64 characters',
      '',
      'Warnings: none',
      '',
      'Secret key: none',
      '',
      'Ready: a start would succeed.',
      '',
    ].join('\n'),
  );
});

doctor('refuses a production start without a key, with status 1', async () => {
  const run = await runCli(['doctor'], { ALLOWED_IP_BLOCKS: '10.0.0.0/8' });
  assert.is(run.status, 1, describe(run));
  assert.ok(run.stdout.includes('\nSecret key:\n  - SECRET_KEY: the key is missing\n'), run.stdout);
  assert.ok(
    run.stdout.endsWith(
      'Refused: a production start would fail on the secret key; `ipgate secret` makes one.\n',
    ),
    run.stdout,
  );
});

doctor('lists every key problem and never prints a key', async () => {
  const weak = 'changeme-changeme';
  const placeholder = 'please-change-me-before-going-live-with-this-instance';
  const run = await runCli(['doctor'], {
    SECRET_KEY: weak,
    SECRET_KEY_FALLBACKS: `${STRONG_KEY},${placeholder}`,
  });
  assert.is(run.status, 1, describe(run));
  assert.ok(
    run.stdout.includes(
      [
        'Secret key:',
        '  - SECRET_KEY: the key (length 17) is a known placeholder, not a secret',
        '  - SECRET_KEY: the key has 17 characters; at least 50 are needed',
        '  - SECRET_KEY_FALLBACKS[1]: the key (length 53) is a known placeholder, not a secret',
        '',
      ].join('\n'),
    ),
    run.stdout,
  );
  assert.ok(run.stdout.includes('  SECRET_KEY_FALLBACKS         2 keys of 64, 53 characters\n'));
  for (const key of [weak, STRONG_KEY, placeholder]) {
    assert.not.ok(run.stdout.includes(key) || run.stderr.includes(key), 'Expected no key printed');
  }
});

doctor('accepts a weak key in debug mode, but not with --production', async () => {
  const env = { DEBUG: 'true', SECRET_KEY: 'short' };
  const [debug, production] = await Promise.all([
    runCli(['doctor'], env),
    runCli(['doctor', '--production'], env),
  ]);
  assert.is(debug.status, 0, describe(debug));
  assert.ok(debug.stdout.includes('  mode                         debug\n'));
  assert.ok(
    debug.stdout.includes(
      'Secret key (not enforced in debug or test mode; production would refuse these):\n' +
        '  - SECRET_KEY: the key has 5 characters; at least 50 are needed\n',
    ),
    debug.stdout,
  );
  assert.ok(
    debug.stdout.endsWith('Ready for debug or test mode only: production would refuse the key.\n'),
  );
  assert.is(production.status, 1, describe(production));
  assert.ok(production.stdout.includes('\nSecret key:\n  - SECRET_KEY: the key has 5 characters'));
});

doctor('reports every configuration error, not only the first', async () => {
  const run = await runCli(['doctor'], {
    DEBUG: 'maybe',
    ALLOWED_IP_BLOCKS: '10.0.0.0/8,1.2.3.4/40',
    TRUST_ALL_PROXIES: 'sure',
    SECRET_KEY: STRONG_KEY,
  });
  expectRun(
    run,
    1,
    [
      'Errors:',
      '  - DEBUG="maybe": not a boolean; use one of true, yes, on, 1 or false, no, off, 0',
      '  - ALLOWED_IP_BLOCKS entry "1.2.3.4/40": prefix length 40 exceeds 32',
      '  - TRUST_ALL_PROXIES="sure": not a boolean; use one of true, yes, on, 1 or false, no, off, 0',
      '',
      'Secret key: none',
      '',
      'Refused: a start would fail on the errors above.',
      '',
    ].join('\n'),
  );
});

doctor('lists the warnings', async () => {
  const run = await runCli(['doctor'], {
    DEBUG: '1',
    TRUSTED_PROXIES: '10.0.0.2',
  });
  assert.is(run.status, 0, describe(run));
  assert.ok(
    run.stdout.includes(
      'Warnings:\n  - TRUSTED_PROXIES has no effect unless IS_BEHIND_PROXY is on\n',
    ),
    run.stdout,
  );
});

doctor.run();

const secret = suite('ipgate secret');

secret('runs against a fresh build', assertFreshBuild);

secret('prints a new 64-character hex key each time', async () => {
  const [first, second] = await Promise.all([runCli(['secret']), runCli(['secret'])]);
  for (const run of [first, second]) {
    assert.is(run.status, 0, describe(run));
    assert.match(run.stdout, /^[0-9a-f]{64}\n$/);
    assert.is(run.stderr, '');
  }
  assert.is.not(first.stdout, second.stdout);
});

secret.run();

const serve = suite('ipgate serve');

serve('runs against a fresh build', assertFreshBuild);

/** LOG matches one decision line: time, verdict, client, peer, reason, request. */
function logPattern(rest: string): RegExp {
  const escaped = rest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${escaped}$`);
}

serve('runs the demo settings when nothing is set, and stops on SIGTERM', async () => {
  const server = await startServe();
  const at = { host: '127.0.0.1', port: server.port };

  const start = server.stdout.split('Listening on')[0];
  assert.is(
    start,
    [
      'No ipgate variable is set, so the demo settings apply:',
      '  DEBUG=true',
      '  ALLOWED_IP_BLOCKS=127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,fe80::/10',
      'Policy:',
      '  mode                         debug',
      '  ALLOWED_IP_BLOCKS            127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, fe80::/10',
      '  TRUSTED_PROXIES              none',
      '  TRUST_ALL_PROXIES            false',
      '  IS_BEHIND_PROXY              false: the client is the socket peer',
      '  IPGATE_EXEMPT_PATHS          e, s, i, capture, batch, decide, engage, track, flags, static, _health',
      '  SECURE_COOKIES               false',
      '  DISABLE_SECURE_SSL_REDIRECT  false',
      '  SECRET_KEY                   not set',
      '  SECRET_KEY_FALLBACKS         none',
      'A random secret key is used for this run (debug or test mode).',
      '',
    ].join('\n'),
  );
  assert.is(server.stderr, '');

  const json = await send({ ...at, path: '/', headers: { accept: 'application/json' } });
  assert.is(json.status, 200);
  assert.equal(JSON.parse(json.body), {
    allowed: true,
    reason: 'allowed',
    clientIp: '127.0.0.1',
    peer: '127.0.0.1',
    rule: '127.0.0.0/8',
  });
  await server.waitFor(
    logPattern('allowed client=127.0.0.1 peer=127.0.0.1 reason=allowed GET "/"'),
  );

  const page = await send({ ...at, path: '/' });
  assert.is(page.status, 200);
  assert.is(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.ok(page.body.includes('<tr><th>Your client address</th><td>127.0.0.1</td></tr>'));
  assert.ok(page.body.includes('<tr><th>Matching rule</th><td>127.0.0.0/8</td></tr>'));
  assert.ok(page.body.includes('ALLOWED_IP_BLOCKS=127.0.0.1,203.0.113.0/24 DEBUG=true'));
  assert.not.ok(page.body.includes('SECRET_KEY  '), 'Expected no secret-key line on the page');

  const missing = await send({ ...at, path: '/nowhere' });
  assert.is(missing.status, 404);

  const run = await server.stop('SIGTERM');
  assert.is(run.status, 0, describe(run));
  assert.ok(run.stdout.endsWith('Received SIGTERM, closing\nClosed\n'), run.stdout);
});

serve('denies a client outside the allowlist, logs it, and leaves /capture open', async () => {
  const server = await startServe({ DEBUG: 'true', ALLOWED_IP_BLOCKS: '127.0.0.2' });
  const at = { host: '127.0.0.1', port: server.port };
  assert.ok(server.stdout.startsWith('Settings from the environment.\nPolicy:\n'), server.stdout);

  const denied = await send({ ...at, path: '/' });
  assert.is(denied.status, 403);
  assert.is(denied.body, 'Forbidden\n');
  await server.waitFor(
    logPattern('denied client=127.0.0.1 peer=127.0.0.1 reason=not-allowed GET "/"'),
  );

  const capture = await send({ ...at, path: '/capture?ip=1', method: 'POST', body: '{}' });
  assert.is(capture.status, 200);
  assert.ok(
    capture.body.startsWith(
      'captured\nverdict  allowed\n' +
        'reason   exempt: the path is exempt from the allowlist (IPGATE_EXEMPT_PATHS)\n' +
        'client   127.0.0.1\npeer     127.0.0.1\n',
    ),
    capture.body,
  );
  await server.waitFor(
    logPattern('allowed client=127.0.0.1 peer=127.0.0.1 reason=exempt POST "/capture?ip=1"'),
  );

  // a dot segment makes the path judged, not exempt
  const tricked = await send({ ...at, path: '/capture/../' });
  assert.is(tricked.status, 403);

  const allowed = await send({
    ...at,
    path: '/',
    localAddress: '127.0.0.2',
    headers: { accept: 'application/json' },
  });
  assert.is(allowed.status, 200);
  assert.is(JSON.parse(allowed.body).rule, '127.0.0.2');
  await server.waitFor(
    logPattern('allowed client=127.0.0.2 peer=127.0.0.2 reason=allowed GET "/"'),
  );

  const run = await server.stop('SIGINT');
  assert.is(run.status, 0, describe(run));
  assert.ok(run.stdout.endsWith('Received SIGINT, closing\nClosed\n'), run.stdout);
});

serve('reads the client from X-Forwarded-For behind a trusted proxy', async () => {
  const server = await startServe({
    DEBUG: 'true',
    ALLOWED_IP_BLOCKS: '203.0.113.0/24',
    IS_BEHIND_PROXY: 'true',
    TRUSTED_PROXIES: '127.0.0.1',
  });
  const at = { host: '127.0.0.1', port: server.port };

  const forwarded = await send({
    ...at,
    path: '/',
    headers: { accept: 'application/json', 'x-forwarded-for': '203.0.113.7' },
  });
  assert.is(forwarded.status, 200);
  assert.is(JSON.parse(forwarded.body).clientIp, '203.0.113.7');
  await server.waitFor(
    logPattern('allowed client=203.0.113.7 peer=127.0.0.1 reason=allowed GET "/"'),
  );

  const direct = await send({ ...at, path: '/' });
  assert.is(direct.status, 403);
  await server.stop('SIGTERM');
});

serve('prints every warning at start, on stderr', async () => {
  const server = await startServe({ DEBUG: 'true', TRUST_ALL_PROXIES: 'true' });
  assert.is(
    server.stderr,
    'warning: TRUST_ALL_PROXIES has no effect unless IS_BEHIND_PROXY is on\n' +
      'warning: TRUST_ALL_PROXIES believes every X-Forwarded-For hop, which any client can ' +
      'forge unless the nearest proxy overwrites the header; list the proxies in TRUSTED_PROXIES\n',
  );
  await server.stop('SIGTERM');
});

serve('refuses a production start with a weak key, with status 1', async () => {
  const run = await runCli(['serve'], {
    PORT: '0',
    ALLOWED_IP_BLOCKS: '10.0.0.0/8',
    SECRET_KEY: 'changeme',
  });
  assert.is(run.status, 1, describe(run));
  assert.is(run.stdout, '');
  assert.ok(
    run.stderr.startsWith(
      'ipgate serve: refusing to start: assertSecretKey: refusing to run in production ' +
        'with a weak secret key: SECRET_KEY: the key (length 8) is a known placeholder',
    ),
    run.stderr,
  );
  assert.not.ok(run.stderr.includes('changeme'), 'Expected the key not to be printed');
});

serve('refuses a start with a bad setting, with status 1', async () => {
  const run = await runCli(['serve'], { PORT: '0', DEBUG: 'true', IS_BEHIND_PROXY: 'perhaps' });
  expectRun(
    run,
    1,
    '',
    'ipgate serve: refusing to start: IS_BEHIND_PROXY="perhaps": not a boolean; ' +
      'use one of true, yes, on, 1 or false, no, off, 0\n',
  );
});

serve('exits with status 1 when the port is taken', async () => {
  const first = await startServe();
  const run = await runCli(['serve', '--port', String(first.port)]);
  assert.is(run.status, 1, describe(run));
  assert.ok(run.stderr.startsWith('ipgate serve: cannot listen: listen EADDRINUSE'), run.stderr);
  await first.stop('SIGTERM');
});

serve.run();
