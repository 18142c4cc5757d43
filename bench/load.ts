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
// It runs twice over: with every connection sending the same two clients in
// turn, whom the gate remembers after their first requests, and with every
// request from a client the gate has not seen lately, which it walks.
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
import { CAPACITY } from '../src/recent.js';
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

/**
 * Traffic is what the connections send. With repeated clients, each
 * connection sends `clients` in turn. With new clients, each connection
 * sends a slice of its own of `clients` in turn, so that a client comes
 * round again only after every other connection has sent as many others:
 * twice what a gate remembers. (Twice as many clients measured about the
 * same CPU time per request, with controls three times as wide.)
 */
interface Traffic {
  name: 'repeated clients' | 'new clients';
  clients: readonly Headers[];
}

/** NEW_CLIENTS is the size of the new clients' pool. */
const NEW_CLIENTS = 2 * CAPACITY;

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
async function load(server: Server, seconds: number, traffic: Traffic) {
  const cpuBefore = await cpuMicros(server);
  const started = performance.now();
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    // New clients' connections each get their own list from setupClient.
    requests: requestsOf(
      traffic.name === 'new clients' ? traffic.clients.slice(0, 1) : traffic.clients,
    ),
    setupClient: setupOf(traffic),
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

/** requestsOf is autocannon's list of requests from `clients`. */
function requestsOf(clients: readonly Headers[]): autocannon.Request[] {
  return clients.map((headers) => ({ method: 'GET', path: PATH, headers }));
}

/**
 * setupOf gives each connection of new clients its own slice of them;
 * undefined for repeated clients, whose connections all send the same.
 */
function setupOf(traffic: Traffic): ((client: autocannon.Client) => void) | undefined {
  if (traffic.name === 'repeated clients') return undefined;
  const share = traffic.clients.length / CONNECTIONS;
  let connection = 0;
  return (client) => {
    const at = (connection++ % CONNECTIONS) * share;
    client.setRequests(requestsOf(traffic.clients.slice(at, at + share)));
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
  traffic: Traffic['name'];
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

/**
 * traffics draws the clients: all in the 1,000-rule allowlist, three hops
 * behind the load generator's loopback address, IPv4 and IPv6 in turn.
 */
function traffics(list: ReturnType<typeof drawRules>): Traffic[] {
  const queries = makeQueries(list, 5 * NEW_CLIENTS);
  const allowed = (['ipv4', 'ipv6'] as const).map((family) =>
    queries.addrs.filter(
      (_addr, k) => queries.expected[k] && queries.families[k] === family && !queries.mapped[k],
    ),
  );
  const pool = Array.from({ length: NEW_CLIENTS }, (_, i) => allowed[i % 2]![i >> 1]);
  if (pool.some((addr) => addr === undefined)) throw new Error('load: too few allowed clients');
  const headers = (addr: string | undefined) => ({
    'x-forwarded-for': `${addr}, 172.16.4.5, fd00::17`,
  });
  return [
    { name: 'repeated clients', clients: pool.slice(0, 2).map(headers) },
    { name: 'new clients', clients: pool.map(headers) },
  ];
}

/** main runs the rounds, prints the report and writes bench/results/load.json. */
export async function main(args: string[]): Promise<void> {
  const seconds = option(args, '--seconds', 1.5);
  const rounds = option(args, '--rounds', 15);
  const baseline = directoryOption(args, '--baseline');
  const serverCpu = placement();
  const m = machine();

  // The plain servers get the same headers as the gated ones and ignore them.
  const list = drawRules(1_000);
  const kinds = traffics(list);
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
      for (const headers of kinds[1]!.clients.slice(0, 4)) {
        if ((await status(gated.url, headers)) !== 200) throw new Error('gated: client refused');
      }
      if ((await status(gated.url, {})) !== 403) throw new Error('gated: bare peer let in');
    }

    const samples: Sample[] = [];
    const reference = baseline === null ? 'plain' : 'baseline';
    for (const traffic of kinds) {
      await loadAll(servers, WARMUP_SECONDS, traffic);
      for (let round = 0; round < rounds; round++) {
        const shift = round % servers.length;
        const order = [...servers.slice(shift), ...servers.slice(0, shift)];
        const results = await loadAll(order, seconds, traffic);
        order.forEach((server, i) => {
          samples.push({
            traffic: traffic.name,
            round,
            mode: server.mode,
            server: server.index,
            ...results[i]!,
          });
        });
        const { cost, plainControl, gatedControl } = roundCosts(samples, traffic.name, round);
        process.stderr.write(
          `load ${traffic.name} round ${round + 1}/${rounds}: cost ${fixed(cost)}%, controls ` +
            `${fixed(plainControl)}% (${reference}) and ${fixed(gatedControl)}% (gated)\n`,
        );
      }
    }
    if (baseline === null) report(samples, { seconds, rounds, serverCpu, machine: m });
    else compare(samples, rounds, baseline);
  } finally {
    for (const server of servers) server.child.disconnect();
  }
}

/** loadAll loads `servers` at the same time, starting in the order given. */
function loadAll(servers: readonly Server[], seconds: number, traffic: Traffic) {
  return Promise.all(servers.map((server) => load(server, seconds, traffic)));
}

/**
 * roundCosts returns one round's cost of the gate under `traffic` in per
 * cent (how far the gated servers' mean throughput fell short of the plain
 * servers' mean) and the controls: how far the second server of each kind
 * fell short of the first.
 */
function roundCosts(samples: readonly Sample[], traffic: Traffic['name'], round: number) {
  const at = (mode: Mode, server: number) =>
    samples.find(
      (s) => s.traffic === traffic && s.round === round && s.mode === mode && s.server === server,
    )!.requestsPerSecond;
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

/** Summary is what one kind of traffic's rounds came to. */
interface Summary {
  traffic: Traffic['name'];
  plainRequestsPerSecond: number;
  gatedRequestsPerSecond: number;
  plainCpu: number;
  gatedCpu: number;
  plainCpuMicrosPerRequest: number;
  gatedCpuMicrosPerRequest: number;
  /** costPercent is the cost from the means of all rounds. */
  costPercent: number;
  medianCostPercent: number;
  roundCostsPercent: number[];
  medianPlainControlPercent: number;
  roundPlainControlsPercent: number[];
  medianGatedControlPercent: number;
  roundGatedControlsPercent: number[];
}

/** summarise sums up the rounds of `traffic`. */
function summarise(samples: readonly Sample[], traffic: Traffic['name'], rounds: number): Summary {
  const ofTraffic = samples.filter((s) => s.traffic === traffic);
  const ofMode = (mode: Mode) => ofTraffic.filter((s) => s.mode === mode);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const throughput = (mode: Mode) => mean(ofMode(mode).map((s) => s.requestsPerSecond));
  const busy = (mode: Mode) => mean(ofMode(mode).map((s) => s.cpu));
  const perRound = Array.from({ length: rounds }, (_, round) =>
    roundCosts(samples, traffic, round),
  );
  const costs = perRound.map((each) => each.cost);
  const plainControls = perRound.map((each) => each.plainControl);
  const gatedControls = perRound.map((each) => each.gatedControl);
  return {
    traffic,
    plainRequestsPerSecond: throughput('plain'),
    gatedRequestsPerSecond: throughput('gated'),
    plainCpu: busy('plain'),
    gatedCpu: busy('gated'),
    plainCpuMicrosPerRequest: cpuPerRequest(ofTraffic, 'plain'),
    gatedCpuMicrosPerRequest: cpuPerRequest(ofTraffic, 'gated'),
    costPercent: (1 - throughput('gated') / throughput('plain')) * 100,
    medianCostPercent: median(costs),
    roundCostsPercent: costs,
    medianPlainControlPercent: median(plainControls),
    roundPlainControlsPercent: plainControls,
    medianGatedControlPercent: median(gatedControls),
    roundGatedControlsPercent: gatedControls,
  };
}

/** summaries sums up each kind of traffic, in the order they ran. */
function summaries(samples: readonly Sample[], rounds: number): Summary[] {
  const names = [...new Set(samples.map((s) => s.traffic))];
  return names.map((traffic) => summarise(samples, traffic, rounds));
}

/**
 * compare prints how the current gate fared against the `baseline`
 * checkout's, which the plain servers ran: a positive difference is a
 * current gate that is slower.
 */
function compare(samples: readonly Sample[], rounds: number, baseline: string): void {
  const out = [`## Load: the current gate against ${baseline}`];
  for (const each of summaries(samples, rounds)) {
    out.push(
      '',
      `${each.traffic}: throughput lost against the baseline, median of ${rounds} rounds: ` +
        `${fixed(each.medianCostPercent)}%. CPU µs per request: ` +
        `${fixed(each.plainCpuMicrosPerRequest)} (baseline), ` +
        `${fixed(each.gatedCpuMicrosPerRequest)} (current). Controls: ` +
        `${fixed(each.medianPlainControlPercent)}% (baseline), ` +
        `${fixed(each.medianGatedControlPercent)}% (current).`,
    );
  }
  print(out.join('\n'));
}

/** report prints the markdown report and writes the JSON results. */
function report(samples: readonly Sample[], run: Run): void {
  const { seconds, rounds, serverCpu } = run;
  const all = summaries(samples, rounds);
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
    'This runs for two kinds of traffic. With repeated clients, every connection sends ' +
      'the same two clients in turn, and the gate answers from its memory of recent ' +
      'clients. With new clients, each connection sends its own ' +
      `${NEW_CLIENTS / CONNECTIONS} of ${NEW_CLIENTS.toLocaleString('en-US')} clients in ` +
      `turn, so that a client comes round again only after some ` +
      `${NEW_CLIENTS.toLocaleString('en-US')} other requests, more than the ` +
      `${CAPACITY.toLocaleString('en-US')} a gate remembers, and the gate walks every ` +
      'request. The two kinds run one ' +
      'after the other, each after its own warm-up.',
    '',
    table(
      ['traffic', 'server', 'requests/s (mean)', 'server CPU', 'CPU µs per request', 'cost'],
      all.flatMap((each) => [
        [
          each.traffic,
          'node:http (two)',
          fixed(each.plainRequestsPerSecond),
          percent(each.plainCpu),
          fixed(each.plainCpuMicrosPerRequest),
          '-',
        ],
        [
          each.traffic,
          'node:http + guard (two)',
          fixed(each.gatedRequestsPerSecond),
          percent(each.gatedCpu),
          fixed(each.gatedCpuMicrosPerRequest),
          `${fixed(each.medianCostPercent)}% (median), ${fixed(each.costPercent)}% (means)`,
        ],
      ]),
    ),
  );
  for (const each of all) {
    out.push(
      '',
      `${each.traffic}: cost per round ${list(each.roundCostsPercent)}; median ` +
        `${fixed(each.medianCostPercent)}%. Controls per round, plain against plain: ` +
        `${list(each.roundPlainControlsPercent)}; median ` +
        `${fixed(each.medianPlainControlPercent)}%. Gated against gated: ` +
        `${list(each.roundGatedControlsPercent)}; median ` +
        `${fixed(each.medianGatedControlPercent)}%.`,
    );
  }
  out.push(
    '',
    '### Target (issue 4)',
    '',
    table(
      ['target', 'measured', 'met'],
      all.map((each) => [
        `gate costs <= 3% of throughput, ${each.traffic}`,
        `${fixed(each.medianCostPercent)}% (median of rounds; ${fixed(each.costPercent)}% ` +
          `from the means; controls ${fixed(each.medianPlainControlPercent)}% and ` +
          `${fixed(each.medianGatedControlPercent)}%)`,
        each.medianCostPercent <= 3 ? 'yes' : 'NO',
      ]),
    ),
  );
  print(out.join('\n'));

  const file = writeResults('load', {
    machine: run.machine,
    connections: CONNECTIONS,
    seconds,
    rounds,
    serverCpu,
    newClients: NEW_CLIENTS,
    summaries: all,
    samples,
  });
  print(`\nResults: ${file}`);
}

if (isMain(import.meta.url)) await main(process.argv.slice(2));
