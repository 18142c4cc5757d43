// Throughput of a minimal node:http server with and without `guard`, under
// autocannon on loopback. Each server runs in a child process; rounds
// alternate (plain, gated, gated, plain, ...) so that drift on a shared
// machine falls on both alike.
//
//   node --import tsx bench/load.ts [--seconds 5] [--rounds 6]
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { TRUSTED } from './chains.js';
import { drawRules, makeQueries } from './data.js';
import type { Setup } from './load-server.js';
import { versionOf } from './peers.js';
import {
  fixed,
  isMain,
  machine,
  machineLine,
  median,
  print,
  table,
  writeResults,
} from './report.js';

const SERVER = fileURLToPath(new URL('./load-server.ts', import.meta.url));
const CONNECTIONS = 16;
const WARMUP_SECONDS = 2;

type Mode = 'plain' | 'gated';

interface Server {
  mode: Mode;
  child: ChildProcess;
  url: string;
}

/** start forks a server and waits for its port. */
async function start(mode: Mode, setup: Setup): Promise<Server> {
  const child = fork(SERVER, [mode], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  child.send(setup);
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return { mode, child, url: `http://127.0.0.1:${message.port}/dashboard` };
}

/** status sends one request and returns the response's status code. */
async function status(url: string, headers: Record<string, string>): Promise<number> {
  const req = request(url, { headers });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  res.resume();
  return res.statusCode ?? 0;
}

/** cpuMicros asks a server how much CPU time it has used. */
async function cpuMicros(server: Server): Promise<number> {
  server.child.send('cpu');
  const [message] = (await once(server.child, 'message')) as [{ cpuMicros: number }];
  return message.cpuMicros;
}

/**
 * load runs autocannon against one server and returns its requests per
 * second and how busy the server's CPU was meanwhile (1 is saturated).
 */
async function load(server: Server, seconds: number, headers: Record<string, string>) {
  const cpuBefore = await cpuMicros(server);
  const started = performance.now();
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    const { errors, timeouts, non2xx } = result;
    throw new Error(`${server.mode}: ${errors} errors, ${timeouts} timeouts, ${non2xx} non-2xx`);
  }
  const busy = (await cpuMicros(server)) - cpuBefore;
  return {
    requestsPerSecond: result.requests.average,
    cpu: busy / 1000 / (performance.now() - started),
  };
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

/** main runs the rounds, prints the report and writes bench/results/load.json. */
export async function main(args: string[]): Promise<void> {
  const seconds = option(args, '--seconds', 5);
  const rounds = option(args, '--rounds', 6);
  const m = machine();

  // The gate sees three hops behind the load generator's loopback address,
  // with a client in its 1,000-rule allowlist; the plain server gets the
  // same headers and ignores them.
  const list = drawRules(1_000);
  const queries = makeQueries(list, 20);
  const client = queries.addrs.find((_addr, i) => queries.expected[i] && !queries.mapped[i])!;
  const headers = { 'x-forwarded-for': `${client}, 172.16.4.5, fd00::17` };
  const setup: Setup = { allow: list.rules, trustedProxies: [...TRUSTED, '127.0.0.1/32'] };

  const servers = { plain: await start('plain', setup), gated: await start('gated', setup) };
  try {
    // The gate must be doing its work: the client passes, the bare peer does not.
    const gatedUrl = servers.gated.url;
    if ((await status(gatedUrl, headers)) !== 200) throw new Error('gated: client refused');
    if ((await status(gatedUrl, {})) !== 403) throw new Error('gated: bare loopback peer let in');

    await load(servers.plain, WARMUP_SECONDS, headers);
    await load(servers.gated, WARMUP_SECONDS, headers);

    const samples: { round: number; mode: Mode; requestsPerSecond: number; cpu: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      // ABBA order: plain first in rounds 0, 3, 4, 7, ...
      const order: Mode[] = [0, 3].includes(round % 4) ? ['plain', 'gated'] : ['gated', 'plain'];
      for (const mode of order) {
        const { requestsPerSecond, cpu } = await load(servers[mode], seconds, headers);
        samples.push({ round, mode, requestsPerSecond, cpu });
        process.stderr.write(
          `load round ${round} ${mode}: ${fixed(requestsPerSecond)} req/s, ` +
            `server CPU ${fixed(cpu * 100)}%\n`,
        );
      }
    }

    const mean = (mode: Mode, key: 'requestsPerSecond' | 'cpu') => {
      const values = samples.filter((s) => s.mode === mode).map((s) => s[key]);
      return values.reduce((a, b) => a + b, 0) / values.length;
    };
    const plain = mean('plain', 'requestsPerSecond');
    const gated = mean('gated', 'requestsPerSecond');
    // The server's CPU time per request, in µs: a reading of the gate's own
    // cost that does not depend on how fast the load generator was.
    const cpuPer = (mode: Mode) => (mean(mode, 'cpu') * 1e6) / mean(mode, 'requestsPerSecond');
    const percent = (share: number) => `${fixed(share * 100)}%`;
    const costPercent = ((plain - gated) / plain) * 100;
    const roundCosts = Array.from({ length: rounds }, (_, round) => {
      const at = (mode: Mode) => samples.find((s) => s.round === round && s.mode === mode)!;
      return (
        ((at('plain').requestsPerSecond - at('gated').requestsPerSecond) /
          at('plain').requestsPerSecond) *
        100
      );
    });

    // The median of the rounds' costs: one round disturbed by another
    // process on a shared machine moves the mean of throughputs far more.
    const medianCost = median(roundCosts);

    const out = ['## Load (`bench/load.ts`)', '', `Machine: ${machineLine(m)}`, ''];
    out.push(
      `autocannon ${versionOf('autocannon')}, ${CONNECTIONS} connections, loopback, ` +
        `${rounds} rounds of ${seconds} s per server after a ${WARMUP_SECONDS} s warm-up, ` +
        'alternating (ABBA). Each server is a child process answering `ok`; the gated one ' +
        'wraps the same handler in `guard(gate, handler)` with a 1,000-rule allowlist and ' +
        'three X-Forwarded-For hops to walk. Server CPU is the CPU time the server used ' +
        'over the round: near 100% or above, the server, not the load generator, set ' +
        'the pace.',
      '',
      table(
        ['server', 'requests/s (mean of rounds)', 'server CPU', 'CPU µs per request', 'cost'],
        [
          ['node:http', fixed(plain), percent(mean('plain', 'cpu')), fixed(cpuPer('plain')), '-'],
          [
            'node:http + guard',
            fixed(gated),
            percent(mean('gated', 'cpu')),
            fixed(cpuPer('gated')),
            `${fixed(costPercent)}%`,
          ],
        ],
      ),
      '',
      `Cost per round: ${roundCosts.map((c) => `${fixed(c)}%`).join(', ')}; ` +
        `median ${fixed(medianCost)}%.`,
      '',
      '### Target (issue 4)',
      '',
      table(
        ['target', 'measured', 'met'],
        [
          [
            'gate costs <= 3% of throughput',
            `${fixed(medianCost)}% (median of rounds; ${fixed(costPercent)}% from the means)`,
            medianCost <= 3 ? 'yes' : 'NO',
          ],
        ],
      ),
    );
    print(out.join('\n'));

    const file = writeResults('load', {
      machine: m,
      connections: CONNECTIONS,
      seconds,
      rounds,
      samples,
      plainRequestsPerSecond: plain,
      gatedRequestsPerSecond: gated,
      plainCpuMicrosPerRequest: cpuPer('plain'),
      gatedCpuMicrosPerRequest: cpuPer('gated'),
      costPercent,
      medianCostPercent: medianCost,
      roundCostsPercent: roundCosts,
    });
    print(`\nResults: ${file}`);
  } finally {
    servers.plain.child.disconnect();
    servers.gated.child.disconnect();
  }
}

if (isMain(import.meta.url)) await main(process.argv.slice(2));
