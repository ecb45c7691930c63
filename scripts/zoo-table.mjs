#!/usr/bin/env node
// Regenerates the bug-zoo table in README.md from a fresh `ksim zoo --json` run (`npm run zoo-table`).
// Arguments are passed to `ksim zoo` (e.g. `npm run zoo-table -- --clean-seeds 200` for a quick run).
// The table goes between the README's `<!-- zoo-table:start -->` and `<!-- zoo-table:end -->` lines.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
if (!args.includes('--clean-seeds')) args.push('--clean-seeds', '2000');
const r = spawnSync(process.execPath, [`${root}bin/ksim`, 'zoo', '--json', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (r.status !== 0 && r.status !== 1) {
  process.stderr.write(`zoo-table: ksim zoo exited with ${r.status}\n`);
  process.exit(r.status ?? 255);
}
const doc = JSON.parse(r.stdout);

const dur = (ms) => {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
};
const lines = [
  '| key | search scenario | first violation (fix off) | seeds to find | wall | simulated | faults → shrunk | shrink time | fix on: seeds without a violation |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const row of doc.rows) {
  if (row.scenario === null) {
    lines.push(`| \`${row.key}\` | — | ${row.note ?? ''} | | | | | | |`);
    continue;
  }
  const found = row.foundAtSeed !== null;
  const clean =
    row.clean === null ? '' : `${row.clean.seeds - row.clean.invalid} / ${row.clean.seeds}${row.clean.unknown ? ` (${row.clean.unknown} unknown)` : ''}`;
  lines.push(
    `| \`${row.key}\` | \`${row.scenario}\` | ${found ? `\`${row.violation}\` (seed ${row.foundAtSeed})` : `not found in ${row.seedsRun} seeds`} | ${row.seedsRun} | ${dur(row.wallMs)} | ${dur(row.simulatedMs)} | ${row.faults === null ? '' : `${row.faults} → ${row.shrunkFaults ?? '?'}`} | ${row.shrinkMs === null ? '' : dur(row.shrinkMs)} | ${clean} |`,
  );
}
const cores = availableParallelism();
lines.push('');
lines.push(
  `Median time to the first violation: **${doc.medianWallMs === null ? '— (not every key found)' : dur(doc.medianWallMs)}** · ${doc.workers} workers on ${cores} cores · Node ${doc.node} · ` +
    `\`ksim zoo --clean-seeds ${doc.cleanSeeds}${args
      .filter((a, i) => a !== '--clean-seeds' && args[i - 1] !== '--clean-seeds')
      .map((a) => ` ${a}`)
      .join('')}\` (\`npm run zoo-table\`)`,
);
const table = lines.join('\n');
const readmePath = `${root}README.md`;
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- zoo-table:start -->';
const end = '<!-- zoo-table:end -->';
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a < 0 || b < a) {
  process.stderr.write('zoo-table: README.md has no zoo-table markers\n');
  process.exit(254);
}
writeFileSync(readmePath, `${readme.slice(0, a + start.length)}\n${table}\n${readme.slice(b)}`);
process.stdout.write(`${table}\n`);
