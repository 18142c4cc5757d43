// Draws the set-membership results (bench/results/match.json) as a log-log
// SVG chart, nanoseconds per lookup against list size, one line per
// library, into docs/match-chart.svg.
//
//   node --import tsx bench/chart.ts [results.json] [out.svg]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './match.bench.js';
import { type Machine, machineLine, RESULTS_DIR } from './report.js';

const OUT = fileURLToPath(new URL('../docs/match-chart.svg', import.meta.url));

const WIDTH = 760;
const HEIGHT = 470;
const PLOT = { left: 78, right: 560, top: 62, bottom: 390 };

/** STYLES gives each library a colour (Okabe-Ito, safe for colour blindness) and a dash. */
const STYLES: Record<string, { color: string; dash: string; width: number }> = {
  ipgate: { color: '#0072B2', dash: '', width: 3 },
  'net.BlockList': { color: '#E69F00', dash: '8 4', width: 2 },
  'proxy-addr': { color: '#009E73', dash: '2 3', width: 2 },
  'ipaddr.js': { color: '#CC79A7', dash: '10 3 2 3', width: 2 },
  'cidr-matcher': { color: '#D55E00', dash: '4 4', width: 2 },
};
const FALLBACK = { color: '#555555', dash: '6 2', width: 2 };

/** escapeXml makes text safe inside SVG markup. */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** sizeLabel writes a list size for an axis: 4, 64, 1k, 10k, 1M. */
function sizeLabel(n: number): string {
  if (n >= 1e6) return `${n / 1e6}M`;
  if (n >= 1e3) return `${n / 1e3}k`;
  return String(n);
}

/** timeLabel writes a time for an axis: 10 ns, 1 µs, 1 ms, 1 s. */
function timeLabel(ns: number): string {
  if (ns >= 1e9) return `${ns / 1e9} s`;
  if (ns >= 1e6) return `${ns / 1e6} ms`;
  if (ns >= 1e3) return `${ns / 1e3} µs`;
  return `${ns} ns`;
}

/** render returns the SVG text for the rows. */
export function render(rows: Row[], machine: Machine): string {
  const timed = rows.filter((row) => row.nsPerLookup !== null);
  const sizes = [...new Set(rows.map((row) => row.size))].sort((a, b) => a - b);
  const libraries = [...new Set(rows.map((row) => row.library))];
  const times = timed.map((row) => row.nsPerLookup!);
  const low = 10 ** Math.floor(Math.log10(Math.min(...times)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...times)));
  const xMin = Math.log10(sizes[0]!);
  const xMax = Math.log10(sizes.at(-1)!);

  const x = (size: number) =>
    PLOT.left + ((Math.log10(size) - xMin) / (xMax - xMin || 1)) * (PLOT.right - PLOT.left);
  const y = (ns: number) =>
    PLOT.bottom -
    ((Math.log10(ns) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) *
      (PLOT.bottom - PLOT.top);
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
      `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', ` +
      `Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="26" font-size="17" font-weight="600">` +
      'Time per lookup against list size (log-log; lower is better)</text>',
    `<text x="${PLOT.left}" y="46" font-size="11" fill="#555">` +
      `${escapeXml(machineLine(machine))}</text>`,
  );

  // Grid: a line per decade of time, a line per measured size.
  for (let ns = low; ns <= high; ns *= 10) {
    parts.push(
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${f(y(ns))}" y2="${f(y(ns))}" ` +
        'stroke="#dddddd"/>',
      `<text x="${PLOT.left - 8}" y="${f(y(ns) + 4)}" text-anchor="end">${timeLabel(ns)}</text>`,
    );
  }
  for (const size of sizes) {
    parts.push(
      `<line x1="${f(x(size))}" x2="${f(x(size))}" y1="${PLOT.top}" y2="${PLOT.bottom}" ` +
        'stroke="#eeeeee"/>',
      `<text x="${f(x(size))}" y="${PLOT.bottom + 18}" text-anchor="middle">` +
        `${sizeLabel(size)}</text>`,
    );
  }
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" ` +
      `height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888888"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 42}" text-anchor="middle">` +
      'rules in the list (half IPv4, half IPv6, from IPFire data)</text>',
    `<text transform="translate(20 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" ` +
      'text-anchor="middle">time per lookup (median)</text>',
  );

  // One line per library; a gap where a size was skipped, hollow marks
  // where the library was timed on fewer queries.
  libraries.forEach((library, index) => {
    const style = STYLES[library] ?? FALLBACK;
    const points = sizes.map((size) => timed.find((r) => r.library === library && r.size === size));
    let path = '';
    let isDrawing = false;
    for (const point of points) {
      if (!point) {
        isDrawing = false;
        continue;
      }
      path += `${isDrawing ? 'L' : 'M'}${f(x(point.size))} ${f(y(point.nsPerLookup!))} `;
      isDrawing = true;
    }
    parts.push(
      `<path d="${path.trim()}" fill="none" stroke="${style.color}" ` +
        `stroke-width="${style.width}" stroke-dasharray="${style.dash}" stroke-linejoin="round"/>`,
    );
    for (const point of points) {
      if (!point) continue;
      const isReduced = point.queriesTimed < 1_000;
      parts.push(
        `<circle cx="${f(x(point.size))}" cy="${f(y(point.nsPerLookup!))}" r="4" ` +
          `fill="${isReduced ? '#ffffff' : style.color}" stroke="${style.color}" ` +
          'stroke-width="2"/>',
      );
    }

    // Legend entry.
    const ly = PLOT.top + 14 + index * 24;
    const lx = PLOT.right + 20;
    parts.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${style.color}" ` +
        `stroke-width="${style.width}" stroke-dasharray="${style.dash}"/>`,
      `<circle cx="${lx + 15}" cy="${ly}" r="4" fill="${style.color}"/>`,
      `<text x="${lx + 38}" y="${ly + 4}">${escapeXml(library)}</text>`,
    );
  });

  const notesY = PLOT.top + 14 + libraries.length * 24 + 10;
  const notes = [
    'Hollow mark: timed on',
    'fewer queries (slow',
    'linear scan).',
    'No mark: skipped.',
  ];
  notes.forEach((note, i) => {
    parts.push(
      `<text x="${PLOT.right + 20}" y="${notesY + i * 16}" font-size="11" fill="#555">` +
        `${note}</text>`,
    );
  });

  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function main(args: string[]): void {
  const input = args[0] ?? `${RESULTS_DIR}match.json`;
  const output = args[1] ?? OUT;
  const results = JSON.parse(readFileSync(input, 'utf8')) as { rows: Row[]; machine: Machine };
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, render(results.rows, results.machine));
  process.stdout.write(`${output}\n`);
}

main(process.argv.slice(2));
