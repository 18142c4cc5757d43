// Set membership on real prefix lists: ipgate's IpSet against the Node
// libraries people use for allowlists, in one process, on the same lists and
// the same queries. See bench/data.ts for how lists and queries are drawn.
//
//   node --expose-gc --import tsx bench/match.bench.ts [--sizes 4,64]
import { IpSet, matcherOf } from '../src/ipset.js';
import { drawRules, makeQueries, QUERY_BLOCK, type QuerySet, sliceQueries } from './data.js';
import { type Lookup, PEER_PACKAGES, PEERS, versionOf } from './peers.js';
import {
  batchLoop,
  type Footprint,
  fixed,
  footprint,
  isMain,
  machine,
  machineLine,
  print,
  ROUNDS,
  type RoundTask,
  ratio,
  table,
  timeInRounds,
  writeResults,
} from './report.js';

/** SIZES are the list lengths the issue asks for. */
export const SIZES = [4, 64, 1_000, 10_000, 100_000, 1_000_000];

/** QUERIES is the query set per size, timed in one batch when a library is fast enough. */
const QUERIES = 1_000;

/**
 * A library slower than FULL_BATCH_LIMIT_NS per lookup (a linear scan over a
 * long list) is timed on fewer queries, REDUCED_RUNS times; one that would
 * need more than SKIP_LIMIT_MS for that is skipped. Both are printed.
 */
const FULL_BATCH_LIMIT_NS = 20_000;
const REDUCED_TASK_MS = 20;
const REDUCED_RUNS = 5;
const SKIP_LIMIT_MS = 30_000;

/** Row is one library at one list size. */
export interface Row {
  library: string;
  size: number;
  buildMs: number | null;
  bytesPerRule: number | null;
  /** Growth of the process across the build (RSS for net.BlockList), per rule. */
  processBytesPerRule: number;
  memoryMeasure: string;
  nsPerLookup: number | null;
  meanNsPerLookup: number | null;
  rmePercent: number | null;
  /** The median of each round; nsPerLookup is the fastest of them. */
  roundNsPerLookup: number[];
  medianRoundNsPerLookup: number | null;
  queriesTimed: number;
  runs: string;
  checked: number;
  disagreements: number;
  disagreementsMapped: number;
  note: string;
}

/** Built is a built structure: its lookup and, where known exactly, its size. */
interface Built {
  lookup: Lookup;
  exactBytes?: number;
}

interface Subject {
  name: string;
  build(rules: readonly string[]): Built;
  /** Which part of the process holds the structure, for the memory column. */
  measure: (before: Footprint, after: Footprint) => number;
  measureName: string;
}

const heapAndExternal = (before: Footprint, after: Footprint) =>
  after.heap + after.external - before.heap - before.external;

const SUBJECTS: Subject[] = [
  {
    name: 'ipgate',
    build(rules) {
      const set = IpSet.from(rules);
      // Each set owns one WebAssembly instance; its memory holds the trie.
      const exactBytes = matcherOf(set).core.memory.buffer.byteLength;
      return { lookup: (addr) => set.has(addr), exactBytes };
    },
    measure: heapAndExternal,
    measureName: 'WebAssembly memory of the set',
  },
  ...PEERS.map((peer) => ({
    name: peer.name,
    build: (rules: readonly string[]) => ({ lookup: peer.build(rules) }),
    // BlockList keeps its rules in C++, outside V8's heap: only RSS sees them.
    measure:
      peer.name === 'net.BlockList'
        ? (before: Footprint, after: Footprint) => after.rss - before.rss
        : heapAndExternal,
    measureName:
      peer.name === 'net.BlockList' ? 'RSS growth (native)' : 'V8 heap + external growth',
  })),
];

/** MEMORY_RULES is how many rules, over copies of a short list, a memory reading spans. */
const MEMORY_RULES = 20_000;

/**
 * build measures memory, then times `repeats` builds in all and returns the
 * median. A short list is built in enough copies to span MEMORY_RULES rules,
 * all kept until the reading, so that the delta rises above the noise of a
 * collection. Memory comes first so that instances from the timing builds,
 * not yet finalised, cannot leak into the delta.
 */
function build(subject: Subject, rules: readonly string[], repeats: number) {
  const before = footprint();
  let start = performance.now();
  const built = subject.build(rules);
  const times = [performance.now() - start];
  const copies =
    built.exactBytes === undefined ? Math.max(1, Math.floor(MEMORY_RULES / rules.length)) : 1;
  const kept: Built[] = [];
  for (let i = 1; i < copies; i++) kept.push(subject.build(rules));
  const after = footprint();
  kept.length = 0;

  for (let i = 1; i < repeats; i++) {
    start = performance.now();
    subject.build(rules);
    times.push(performance.now() - start);
  }

  times.sort((a, b) => a - b);
  const buildMs = times[Math.floor(times.length / 2)]!;
  const processBytes = subject.measure(before, after) / copies;
  return { lookup: built.lookup, buildMs, bytes: built.exactBytes ?? processBytes, processBytes };
}

/** warmUp builds every library once on a short list, so first-use costs fall outside. */
function warmUp(): void {
  const list = drawRules(64);
  const queries = makeQueries(list, QUERY_BLOCK);
  for (const subject of SUBJECTS) answer(subject.build(list.rules).lookup, queries);
}

/** answer runs the lookup over the queries once. */
function answer(lookup: Lookup, queries: QuerySet): boolean[] {
  return queries.addrs.map((addr, i) => lookup(addr, queries.families[i]!));
}

/** probeNs estimates one lookup's cost from a warm pass over one query block. */
function probeNs(lookup: Lookup, queries: QuerySet): number {
  const probe = sliceQueries(queries, QUERY_BLOCK);
  answer(lookup, probe);
  const start = performance.now();
  answer(lookup, probe);
  return ((performance.now() - start) * 1e6) / QUERY_BLOCK;
}

/** compare counts where `got` differs from `want`, listing the first few. */
function compare(name: string, queries: QuerySet, got: boolean[], want: boolean[]) {
  let disagreements = 0;
  let mapped = 0;
  const examples: string[] = [];
  for (let i = 0; i < got.length; i++) {
    if (got[i] === want[i]) continue;
    disagreements++;
    if (queries.mapped[i]) mapped++;
    if (examples.length < 5) {
      examples.push(`  ${name}: ${queries.addrs[i]} -> ${got[i]}, expected ${want[i]}`);
    }
  }
  return { disagreements, mapped, examples };
}

/** harnessNs times the loop around the lookups with a lookup that does nothing. */
function harnessNs(): Promise<number> {
  return loopNs('harness', (addr) => addr.length === 0);
}

/**
 * floorNs times the part of every lookup that does not depend on the list:
 * copying the query into WebAssembly memory and parsing it there, in a set
 * with no rules, so with nothing to search. No list, however short, can be
 * searched in less.
 */
function floorNs(): Promise<number> {
  const empty = IpSet.from([]);
  return loopNs('floor', (addr) => empty.has(addr));
}

/** loopNs times `lookup` over the queries of a 4-rule list, in the loop the libraries run in. */
async function loopNs(name: string, lookup: Lookup): Promise<number> {
  const queries = makeQueries(drawRules(4), QUERIES);
  const { addrs, families } = queries;
  const loop = batchLoop<string, 'ipv4' | 'ipv6'>();
  let sink = 0;
  const fn = () => {
    sink += loop(lookup, addrs, families);
  };
  const [timing] = await timeInRounds([{ name, fn }]);
  if (sink < 0) print('unreachable');
  return timing!.medianNs / QUERIES;
}

/** runSize measures every library on one list size. */
async function runSize(size: number, rows: Row[], log: string[]): Promise<void> {
  const list = drawRules(size);
  const queries = makeQueries(list, QUERIES);
  const repeats = size <= 1_000 ? 11 : 1;
  let reference: boolean[] = [];
  const timed: { row: Row; task: RoundTask }[] = [];
  let sink = 0;

  for (const subject of SUBJECTS) {
    const { lookup, buildMs, bytes, processBytes } = build(subject, list.rules, repeats);
    const row: Row = {
      library: subject.name,
      size,
      buildMs,
      bytesPerRule: bytes / size,
      processBytesPerRule: processBytes / size,
      memoryMeasure: subject.measureName,
      nsPerLookup: null,
      meanNsPerLookup: null,
      rmePercent: null,
      roundNsPerLookup: [],
      medianRoundNsPerLookup: null,
      queriesTimed: 0,
      runs: '',
      checked: 0,
      disagreements: 0,
      disagreementsMapped: 0,
      note: '',
    };
    rows.push(row);

    // Decide how much of the query set this library can be timed on.
    const estimate = probeNs(lookup, queries);
    let batch = QUERIES;
    let runs = { time: 500, iterations: 20, warmupIterations: 10 };
    row.runs = `tinybench, ${ROUNDS} rounds of >=${500 / ROUNDS} ms and >=${20 / ROUNDS} runs`;
    if (estimate > FULL_BATCH_LIMIT_NS) {
      const fit = Math.floor((REDUCED_TASK_MS * 1e6) / estimate / QUERY_BLOCK) * QUERY_BLOCK;
      batch = Math.min(QUERIES, Math.max(QUERY_BLOCK, fit));
      runs = { time: 0, iterations: REDUCED_RUNS, warmupIterations: 1 };
      row.runs = `reduced: ${ROUNDS} rounds of one run`;
      const expectedMs = (estimate * batch * (REDUCED_RUNS + 2)) / 1e6;
      if (expectedMs > SKIP_LIMIT_MS) {
        row.note = `skipped: about ${fixed(estimate / 1e6)} ms per lookup`;
        log.push(`${subject.name} at ${size}: ${row.note}`);
        continue;
      }
      const perLookup = `about ${fixed(estimate / 1e6)} ms per lookup`;
      row.note = `timed on ${batch} of ${QUERIES} queries (${perLookup})`;
      log.push(`${subject.name} at ${size}: ${row.note}`);
    }
    const slice = sliceQueries(queries, batch);

    // Correctness guard: ipgate against the construction, peers against ipgate.
    const got = answer(lookup, slice);
    const want = subject.name === 'ipgate' ? slice.expected : reference.slice(0, batch);
    if (subject.name === 'ipgate') reference = got;
    const check = compare(subject.name, slice, got, want);
    row.checked = batch;
    row.queriesTimed = batch;
    row.disagreements = check.disagreements;
    row.disagreementsMapped = check.mapped;
    if (check.disagreements > 0) {
      const against = subject.name === 'ipgate' ? 'the construction' : 'ipgate';
      log.push(
        `${subject.name} at ${size}: ${check.disagreements} of ${batch} answers differ from ` +
          `${against} (${check.mapped} on mapped queries)`,
        ...check.examples,
      );
    }

    const { addrs, families } = slice;
    const loop = batchLoop<string, 'ipv4' | 'ipv6'>();
    const fn = () => {
      sink += loop(lookup, addrs, families);
    };
    timed.push({ row, task: { name: `${subject.name} ${size}`, fn, options: runs } });
  }

  // Every library in turns, so that a slow spell of the machine falls on all.
  const timings = await timeInRounds(timed.map((each) => each.task));
  if (sink < 0) print('unreachable');
  const ipgateNs = timings[0]!.medianNs / timed[0]!.row.queriesTimed;
  for (const [i, { row }] of timed.entries()) {
    const timing = timings[i]!;
    const batch = row.queriesTimed;
    row.nsPerLookup = timing.medianNs / batch;
    row.meanNsPerLookup = timing.meanNs / batch;
    row.rmePercent = timing.rmePercent;
    row.roundNsPerLookup = timing.roundMedianNs.map((ns) => ns / batch);
    row.medianRoundNsPerLookup = timing.medianRoundNs / batch;
    row.runs += ` (${timing.samples} samples)`;
    process.stderr.write(
      `match ${size} ${row.library}: ${fixed(row.nsPerLookup)} ns/lookup` +
        ` (${ratio(row.nsPerLookup, ipgateNs)})\n`,
    );
  }
}

/** Target is one of issue 2's targets and whether this run met it. */
interface Target {
  target: string;
  measured: string;
  isMet: boolean;
}

function targets(rows: Row[]): Target[] {
  const ipgate = rows.filter((row) => row.library === 'ipgate');
  const at = (size: number) => ipgate.find((row) => row.size === size);
  const fastestPeer = (size: number) =>
    Math.min(
      ...rows
        .filter((row) => row.size === size && row.library !== 'ipgate' && row.nsPerLookup)
        .map((row) => row.nsPerLookup!),
    );
  const worst = Math.max(...ipgate.map((row) => row.nsPerLookup ?? Number.POSITIVE_INFINITY));
  const speedup = (size: number) => fastestPeer(size) / (at(size)?.nsPerLookup ?? Number.NaN);
  const million = at(1_000_000);

  const list: Target[] = [
    {
      target: '< 100 ns per lookup at every size',
      measured: `${fixed(worst)} ns worst`,
      isMet: worst < 100,
    },
  ];
  if (at(4)) {
    list.push({
      target: '>= 3x the fastest peer at 4 rules',
      measured: `${fixed(speedup(4))}x`,
      isMet: speedup(4) >= 3,
    });
  }
  if (at(10_000)) {
    list.push({
      target: '>= 100x the fastest peer at 10,000 rules',
      measured: `${fixed(speedup(10_000))}x`,
      isMet: speedup(10_000) >= 100,
    });
  }
  if (million) {
    list.push(
      {
        target: '1,000,000 rules built in < 2 s',
        measured: `${fixed(million.buildMs!)} ms`,
        isMet: million.buildMs! < 2_000,
      },
      {
        target: '1,000,000 rules in < 48 bytes per rule',
        measured: `${fixed(million.bytesPerRule!)} B`,
        isMet: million.bytesPerRule! < 48,
      },
    );
  }
  return list;
}

/** memoryCell writes bytes per rule; an RSS reading is a lower bound, useless at or below 0. */
function memoryCell(row: Row): string {
  if (row.bytesPerRule === null) return '-';
  if (!row.memoryMeasure.startsWith('RSS')) return fixed(row.bytesPerRule);
  return row.bytesPerRule > 0 ? `>= ${fixed(row.bytesPerRule)}` : 'n/a';
}

/** render writes the report as markdown. */
function render(
  rows: Row[],
  sizes: number[],
  log: string[],
  m: ReturnType<typeof machine>,
  harness: number,
  floor: number,
) {
  const out: string[] = [];
  out.push('## Set membership (`bench/match.bench.ts`)', '', `Machine: ${machineLine(m)}`, '');
  out.push(
    `Rules: prefixes drawn from the IPFire ranges in tor-geoipdb, half IPv4 and half IPv6. ` +
      `Queries: ${QUERIES} per size as strings, half hits and half misses (misses lie in ` +
      'allocated prefixes the list did not draw), half IPv4 and half IPv6, 30% of the IPv4 ' +
      'ones written `::ffff:a.b.c.d`. The libraries of a size are timed in turns, ' +
      `${ROUNDS} rounds of tinybench runs of a whole batch each; a time is a library's ` +
      "fastest round (the median of its runs) divided by the batch, since the shared machine's " +
      'speed flips between two levels, and ratios are against ipgate at the same size. The ' +
      'JSON results hold every round.',
    '',
  );

  const ipgateAt = new Map(rows.filter((r) => r.library === 'ipgate').map((r) => [r.size, r]));
  const libraries = [...new Set(rows.map((row) => row.library))];
  out.push('### ns per lookup', '');
  out.push(
    table(
      ['library', ...sizes.map((size) => size.toLocaleString('en-US'))],
      libraries.map((library) => [
        library,
        ...sizes.map((size) => {
          const row = rows.find((r) => r.library === library && r.size === size);
          if (!row || row.nsPerLookup === null)
            return row?.note.startsWith('skipped') ? 'skipped' : '-';
          const base = ipgateAt.get(size)?.nsPerLookup;
          const mark = row.queriesTimed < QUERIES ? '*' : '';
          const vs = library === 'ipgate' || !base ? '' : ` (${ratio(row.nsPerLookup, base)})`;
          return `${fixed(row.nsPerLookup)}${mark}${vs}`;
        }),
      ]),
    ),
    '',
    `\\* timed on fewer than ${QUERIES} queries (see the notes below).`,
    '',
  );

  out.push('### Every measurement', '');
  out.push(
    table(
      [
        'size',
        'library',
        'build ms',
        'bytes/rule',
        'ns/lookup',
        '±%',
        'vs ipgate',
        'checked',
        'differ',
      ],
      rows.map((row) => [
        row.size.toLocaleString('en-US'),
        row.library,
        row.buildMs === null ? '-' : fixed(row.buildMs),
        memoryCell(row),
        row.nsPerLookup === null ? row.note : fixed(row.nsPerLookup),
        row.rmePercent === null ? '-' : fixed(row.rmePercent),
        row.nsPerLookup === null || !ipgateAt.get(row.size)?.nsPerLookup
          ? '-'
          : ratio(row.nsPerLookup, ipgateAt.get(row.size)!.nsPerLookup!),
        row.checked,
        row.disagreements,
      ]),
    ),
    '',
  );

  out.push('### Targets (issue 2)', '');
  out.push(
    table(
      ['target', 'measured', 'met'],
      targets(rows).map((t) => [t.target, t.measured, t.isMet ? 'yes' : 'NO']),
    ),
    '',
  );

  out.push('### Notes', '');
  out.push(
    "- Memory: for ipgate, the size of the set's WebAssembly memory (at least " +
      '64 KiB, so large per rule in short lists; the set also keeps its rule ' +
      'strings, as the peers do); for the JavaScript peers, the growth of V8 heap ' +
      'plus external memory across one build, read after two full collections; ' +
      'net.BlockList keeps its rules in C++, so the growth of RSS, a lower bound ' +
      'since malloc reuses freed pages. Lists shorter than ' +
      `${MEMORY_RULES.toLocaleString('en-US')} rules are built in copies spanning that many ` +
      'rules, read together. The JSON results also hold the process growth for ipgate.',
    `- Harness: the timing loop around a lookup that does nothing costs ` +
      `${fixed(harness)} ns per query; every figure includes it.`,
    `- Floor: copying a query into WebAssembly memory and parsing it there, in a set ` +
      `with no rules, costs ${fixed(floor)} ns per query on this mix (harness included); ` +
      'no lookup can cost less.',
    '- Build time: median of 11 builds up to 1,000 rules, one build above.',
    '- Mapped queries: net.BlockList is given the family a socket reports ' +
      "(`remoteFamily`), so 'ipv6', and matches them against IPv4 rules itself; " +
      'proxy-addr, ipaddr.js (`ipaddr.process`) and cidr-matcher unwrap them too. ' +
      'Differences between peers on mapped forms would be expected otherwise; ' +
      'the differ column shows whether any occurred.',
    '- Guard: before timing, ipgate is checked against how each query was made ' +
      '(hit or miss by construction) and each peer against ipgate, on exactly ' +
      'the queries it is timed on.',
    ...log.map((line) => (line.startsWith('  ') ? `  - ${line.trim()}` : `- ${line}`)),
  );
  return out.join('\n');
}

/** main runs the benchmark, prints the report and writes bench/results/match.json. */
export async function main(args: string[]): Promise<void> {
  const at = args.indexOf('--sizes');
  const sizes = at >= 0 ? args[at + 1]!.split(',').map(Number) : SIZES;
  const m = machine();
  const rows: Row[] = [];
  const log: string[] = [];
  const harnessFirst = await harnessNs();
  const floorFirst = await floorNs();
  warmUp();
  for (const size of sizes) await runSize(size, rows, log);
  // The harness and the floor are timed once more at the end and keep the
  // faster figure, as every library keeps its fastest round: timed only at
  // start-up, a slow spell there once put the floor above a 4-rule lookup.
  const harness = Math.min(harnessFirst, await harnessNs());
  const floor = Math.min(floorFirst, await floorNs());

  print(render(rows, sizes, log, m, harness, floor));
  const versions = Object.fromEntries(
    Object.entries(PEER_PACKAGES).map(([name, pkg]) => [
      name,
      pkg ? versionOf(pkg) : process.version,
    ]),
  );
  const file = writeResults('match', {
    machine: m,
    versions,
    queries: QUERIES,
    harnessNsPerLookup: harness,
    floorNsPerLookup: floor,
    sizes,
    rows,
    targets: targets(rows),
    notes: log,
  });
  print(`\nResults: ${file}`);
}

if (isMain(import.meta.url)) await main(process.argv.slice(2));
