// Throughput of a minimal node:http server with and without `guard`, under
// autocannon on loopback. Each server runs in a child process. Measured in
// turns, identical servers on this kind of machine came out up to 7% apart
// from one turn to the next, as its speed drifts; so all servers here share
// the last CPU and are loaded at the same time, each by its own autocannon,
// and a drift falls on all of them at once. Identical processes also differ
// by a few per cent for good, so there are two of each kind, and how far
// each pair lies apart shows what the run can resolve. The order in which
// the load starts rotates every round; the load generator keeps the other
// CPUs.
//
//   node --import tsx bench/load.ts [--seconds 1.5] [--rounds 15] [--baseline DIR]
//
// With --baseline, the plain servers are replaced by servers guarded with
// the src/ of another checkout in DIR (its build/ built too), and the run
// prints how the current gate compares with that one instead of the cost
// of a gate; nothing is written to bench/results.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
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
/** PATH is what every request asks for: no exempt path. */
const PATH = '/dashboard';

type Mode = 'plain' | 'gated';

/** Headers are one request's headers. */
type Headers = Record<string, string>;

interface Server {
  mode: Mode;
  /** index counts the servers of one mode from 0. */
  index: number;
  child: ChildProcess;
  url: string;
}

/**
 * pin moves every thread of process `pid` onto `cpuList` (taskset's
 * syntax) and reports whether it could: only Linux with taskset can.
 */
function pin(pid: number, cpuList: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * start forks a server, pins it to `cpuList` when given and waits for its
 * port. With a `baseline` checkout, the plain servers are guarded by its
 * gate instead.
 */
async function start(
  mode: Mode,
  index: number,
  setup: Setup,
  cpuList: string | null,
  baseline: string | null,
): Promise<Server> {
  const args = mode === 'plain' && baseline !== null ? ['gated', baseline] : [mode];
  const child = fork(SERVER, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  if (cpuList !== null) pin(child.pid!, cpuList);
  child.send(setup);
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return { mode, index, child, url: `http://127.0.0.1:${message.port}${PATH}` };
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
async function load(server: Server, seconds: number, clients: readonly Headers[]) {
  const cpuBefore = await cpuMicros(server);
  const started = performance.now();
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    // Each connection sends these in turn.
    requests: clients.map((headers) => ({ method: 'GET', path: PATH, headers })),
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    const { errors, timeouts, non2xx } = result;
    throw new Error(`${server.mode}: ${errors} errors, ${timeouts} timeouts, ${non2xx} non-2xx`);
  }
  const busy = (await cpuMicros(server)) - cpuBefore;
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    cpu: busy / 1000 / (performance.now() - started),
    cpuMicros: busy,
  };
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

/** directoryOption returns the directory given after `name`, resolved; null without `name`. */
function directoryOption(args: string[], name: string): string | null {
  const at = args.indexOf(name);
  if (at < 0) return null;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--'))
    throw new Error(`load: ${name} needs a directory`);
  return resolve(value);
}

/** Sample is one server's round. */
interface Sample {
  round: number;
  mode: Mode;
  server: number;
  requestsPerSecond: number;
  requests: number;
  cpu: number;
  cpuMicros: number;
}

/**
 * placement pins this process (the load generator) to every CPU but the
 * last and returns the last, for the servers; null when there is one CPU
 * or nothing to pin with, and then nobody is pinned.
 */
function placement(): string | null {
  const count = cpus().length;
  if (count < 2) return null;
  const last = String(count - 1);
  return pin(process.pid, count === 2 ? '0' : `0-${count - 2}`) ? last : null;
}

/** main runs the rounds, prints the report and writes bench/results/load.json. */
export async function main(args: string[]): Promise<void> {
  const seconds = option(args, '--seconds', 1.5);
  const rounds = option(args, '--rounds', 15);
  const baseline = directoryOption(args, '--baseline');
  const serverCpu = placement();
  const m = machine();

  // The gate sees three hops behind the load generator's loopback address,
  // with a client in its 1,000-rule allowlist: an IPv4 and an IPv6 one in
  // turn, as in the gate benchmark. The plain servers get the same headers
  // and ignore them.
  const list = drawRules(1_000);
  const queries = makeQueries(list, 20);
  const clients = (['ipv4', 'ipv6'] as const).map((family) => {
    const i = queries.addrs.findIndex(
      (_addr, k) => queries.expected[k] && queries.families[k] === family && !queries.mapped[k],
    );
    return { 'x-forwarded-for': `${queries.addrs[i]}, 172.16.4.5, fd00::17` };
  });
  const setup: Setup = { allow: list.rules, trustedProxies: [...TRUSTED, '127.0.0.1/32'] };

  const servers: Server[] = [];
  for (const index of [0, 1]) {
    for (const mode of ['plain', 'gated'] as const) {
      servers.push(await start(mode, index, setup, serverCpu, baseline));
    }
  }
  try {
    // The gate must be doing its work: the clients pass, the bare peer does not.
    for (const gated of servers.filter((s) => s.mode === 'gated' || baseline !== null)) {
      for (const headers of clients) {
        if ((await status(gated.url, headers)) !== 200) throw new Error('gated: client refused');
      }
      if ((await status(gated.url, {})) !== 403) throw new Error('gated: bare peer let in');
    }
    await loadAll(servers, WARMUP_SECONDS, clients);

    const samples: Sample[] = [];
    const reference = baseline === null ? 'plain' : 'baseline';
    for (let round = 0; round < rounds; round++) {
      const shift = round % servers.length;
      const order = [...servers.slice(shift), ...servers.slice(0, shift)];
      const results = await loadAll(order, seconds, clients);
      order.forEach((server, i) => {
        samples.push({ round, mode: server.mode, server: server.index, ...results[i]! });
      });
      const { cost, plainControl, gatedControl } = roundCosts(samples, round);
      process.stderr.write(
        `load round ${round + 1}/${rounds}: cost ${fixed(cost)}%, controls ` +
          `${fixed(plainControl)}% (${reference}) and ${fixed(gatedControl)}% (gated)\n`,
      );
    }
    if (baseline === null) report(samples, { seconds, rounds, serverCpu, machine: m });
    else compare(samples, rounds, baseline);
  } finally {
    for (const server of servers) server.child.disconnect();
  }
}

/** loadAll loads `servers` at the same time, starting in the order given. */
function loadAll(servers: readonly Server[], seconds: number, clients: readonly Headers[]) {
  return Promise.all(servers.map((server) => load(server, seconds, clients)));
}

/**
 * roundCosts returns one round's cost of the gate in per cent (how far the
 * gated servers' mean throughput fell short of the plain servers' mean)
 * and the controls: how far the second server of each kind fell short of
 * the first.
 */
function roundCosts(samples: readonly Sample[], round: number) {
  const at = (mode: Mode, server: number) =>
    samples.find((s) => s.round === round && s.mode === mode && s.server === server)!
      .requestsPerSecond;
  const mean = (mode: Mode) => (at(mode, 0) + at(mode, 1)) / 2;
  const control = (mode: Mode) => (1 - at(mode, 1) / at(mode, 0)) * 100;
  return {
    cost: (1 - mean('gated') / mean('plain')) * 100,
    plainControl: control('plain'),
    gatedControl: control('gated'),
  };
}

interface Run {
  seconds: number;
  rounds: number;
  serverCpu: string | null;
  machine: ReturnType<typeof machine>;
}

/**
 * cpuPerRequest is the CPU time the servers of `mode` spent per request, in
 * µs: a reading of the gate's own cost that does not depend on how the CPU
 * was shared.
 */
function cpuPerRequest(samples: readonly Sample[], mode: Mode): number {
  const ofMode = samples.filter((s) => s.mode === mode);
  const micros = ofMode.reduce((sum, s) => sum + s.cpuMicros, 0);
  return micros / ofMode.reduce((sum, s) => sum + s.requests, 0);
}

/**
 * compare prints how the current gate fared against the `baseline`
 * checkout's, which the plain servers ran: a positive difference is a
 * current gate that is slower.
 */
function compare(samples: readonly Sample[], rounds: number, baseline: string): void {
  const perRound = Array.from({ length: rounds }, (_, round) => roundCosts(samples, round));
  const cpuPer = (mode: Mode) => cpuPerRequest(samples, mode);
  print(
    [
      `## Load: the current gate against ${baseline}`,
      '',
      `Throughput lost against the baseline, median of ${rounds} rounds: ` +
        `${fixed(median(perRound.map((each) => each.cost)))}%. CPU µs per request: ` +
        `${fixed(cpuPer('plain'))} (baseline), ${fixed(cpuPer('gated'))} (current). ` +
        'Controls: ' +
        `${fixed(median(perRound.map((each) => each.plainControl)))}% (baseline), ` +
        `${fixed(median(perRound.map((each) => each.gatedControl)))}% (current).`,
    ].join('\n'),
  );
}

/** report prints the markdown report and writes the JSON results. */
function report(samples: readonly Sample[], run: Run): void {
  const { seconds, rounds, serverCpu } = run;
  const ofMode = (mode: Mode) => samples.filter((s) => s.mode === mode);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const throughput = (mode: Mode) => mean(ofMode(mode).map((s) => s.requestsPerSecond));
  const busy = (mode: Mode) => mean(ofMode(mode).map((s) => s.cpu));
  const cpuPer = (mode: Mode) => cpuPerRequest(samples, mode);

  const plain = throughput('plain');
  const gated = throughput('gated');
  const meanCost = (1 - gated / plain) * 100;
  const perRound = Array.from({ length: rounds }, (_, round) => roundCosts(samples, round));
  const costs = perRound.map((each) => each.cost);
  const plainControls = perRound.map((each) => each.plainControl);
  const gatedControls = perRound.map((each) => each.gatedControl);
  const medianCost = median(costs);
  const medianPlainControl = median(plainControls);
  const medianGatedControl = median(gatedControls);
  const percent = (share: number) => `${fixed(share * 100)}%`;
  const list = (values: number[]) => values.map((value) => `${fixed(value)}%`).join(', ');
  const placed =
    serverCpu === null ? 'unpinned' : `sharing CPU ${serverCpu}, the load generator on the others`;

  const out = ['## Load (`bench/load.ts`)', '', `Machine: ${machineLine(run.machine)}`, ''];
  out.push(
    `autocannon ${versionOf('autocannon')}, ${CONNECTIONS} connections a server, loopback. ` +
      `Four server processes (${placed}) answer \`ok\`: two plain, and two that wrap the ` +
      'same handler in `guard(gate, handler)` with a 1,000-rule allowlist and three ' +
      'X-Forwarded-For hops to walk, whose client is an IPv4 and an IPv6 address in ' +
      'turn. They are loaded at the same time, so that the ' +
      `machine's drift falls on all four at once; after a ${WARMUP_SECONDS} s warm-up, ` +
      `${rounds} rounds of ${seconds} s rotate the order in which the load starts. A ` +
      "round's cost compares the gated servers' mean throughput with the plain " +
      "servers'; the figure is the median of the rounds. The controls compare the two " +
      'servers of each kind the same way: they show how finely the run can tell ' +
      "servers apart. Server CPU is a server's share of the CPU time over the round.",
    '',
    table(
      ['server', 'requests/s (mean)', 'server CPU', 'CPU µs per request', 'cost (means)'],
      [
        ['node:http (two)', fixed(plain), percent(busy('plain')), fixed(cpuPer('plain')), '-'],
        [
          'node:http + guard (two)',
          fixed(gated),
          percent(busy('gated')),
          fixed(cpuPer('gated')),
          `${fixed(meanCost)}%`,
        ],
      ],
    ),
    '',
    `Cost per round: ${list(costs)}; median ${fixed(medianCost)}%.`,
    '',
    `Controls per round, plain against plain: ${list(plainControls)}; median ` +
      `${fixed(medianPlainControl)}%. Gated against gated: ${list(gatedControls)}; median ` +
      `${fixed(medianGatedControl)}%.`,
    '',
    '### Target (issue 4)',
    '',
    table(
      ['target', 'measured', 'met'],
      [
        [
          'gate costs <= 3% of throughput',
          `${fixed(medianCost)}% (median of rounds; ${fixed(meanCost)}% from the means; ` +
            `controls ${fixed(medianPlainControl)}% and ${fixed(medianGatedControl)}%)`,
          medianCost <= 3 ? 'yes' : 'NO',
        ],
      ],
    ),
  );
  print(out.join('\n'));

  const file = writeResults('load', {
    machine: run.machine,
    connections: CONNECTIONS,
    seconds,
    rounds,
    serverCpu,
    samples,
    plainRequestsPerSecond: plain,
    gatedRequestsPerSecond: gated,
    plainCpuMicrosPerRequest: cpuPer('plain'),
    gatedCpuMicrosPerRequest: cpuPer('gated'),
    costPercent: meanCost,
    medianCostPercent: medianCost,
    roundCostsPercent: costs,
    medianPlainControlPercent: medianPlainControl,
    roundPlainControlsPercent: plainControls,
    medianGatedControlPercent: medianGatedControl,
    roundGatedControlsPercent: gatedControls,
  });
  print(`\nResults: ${file}`);
}

if (isMain(import.meta.url)) await main(process.argv.slice(2));
