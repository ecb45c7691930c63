#!/usr/bin/env node
// Regenerates the bug-zoo table in README.md from a fresh `ksim zoo --json` run (`npm run zoo-table`).
// Arguments are passed to `ksim zoo` (e.g. `npm run zoo-table -- --clean-seeds 200` for a quick run);
// `--render` runs nothing and only re-renders the table from the kept results.
//
// The measured rows are kept in docs/zoo-results.json, each with the commit, date and command that
// measured it. A run over every key replaces them all; a run with `--keys k1,k2` re-measures those
// keys only and keeps the other rows as they were measured (the table's last line then names each
// run). The median is taken over the rows in the table. The table goes between the README's
// `<!-- zoo-table:start -->` and `<!-- zoo-table:end -->` lines.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsPath = `${root}docs/zoo-results.json`;
const args = process.argv.slice(2);
// `--render`: no run, only the table re-rendered from docs/zoo-results.json.
const renderOnly = args.includes('--render');
if (!args.includes('--clean-seeds')) args.push('--clean-seeds', '2000');
const partial = args.includes('--keys');

let rows;
if (renderOnly) {
  rows = JSON.parse(readFileSync(resultsPath, 'utf8')).rows;
} else {
  const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  const commit = head.status === 0 ? `${head.stdout.trim()}${dirty ? '+changes' : ''}` : 'unknown';

  const r = spawnSync(process.execPath, [`${root}bin/ksim`, 'zoo', '--json', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0 && r.status !== 1) {
    process.stderr.write(`zoo-table: ksim zoo exited with ${r.status}\n`);
    process.exit(r.status ?? 255);
  }
  const doc = JSON.parse(r.stdout);
  const measured = {
    commit,
    date: new Date().toISOString().slice(0, 10),
    command: `ksim zoo ${args.join(' ')}`,
    workers: doc.workers,
    cores: availableParallelism(),
    node: doc.node,
  };
  const fresh = doc.rows.map((row) => ({ ...row, measured }));

  rows = fresh;
  if (partial && existsSync(resultsPath)) {
    const kept = JSON.parse(readFileSync(resultsPath, 'utf8')).rows;
    const byKey = new Map(fresh.map((row) => [row.key, row]));
    rows = kept.map((row) => byKey.get(row.key) ?? row);
    for (const row of fresh) if (!kept.some((k) => k.key === row.key)) rows.push(row);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const searched = rows.filter((row) => row.scenario !== null);
const medianWallMs = searched.every((row) => row.foundAtSeed !== null) ? median(searched.map((row) => row.wallMs)) : null;
if (!renderOnly) writeFileSync(resultsPath, `${JSON.stringify({ medianWallMs, rows }, null, 2)}\n`);

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
for (const row of rows) {
  if (row.scenario === null) {
    lines.push(`| \`${row.key}\` | — | ${row.note ?? ''} | | | | | | |`);
    continue;
  }
  const found = row.foundAtSeed !== null;
  const c = row.clean;
  const clean =
    c === null ? '' : `${c.seeds - c.invalid} / ${c.seeds}${c.invalid ? ` (**${c.invalid} invalid**)` : ''}${c.unknown ? ` (${c.unknown} unknown)` : ''}`;
  lines.push(
    `| \`${row.key}\` | \`${row.scenario}\` | ${found ? `\`${row.violation}\` (seed ${row.foundAtSeed})` : `not found in ${row.seedsRun} seeds`} | ${row.seedsRun} | ${dur(row.wallMs)} | ${dur(row.simulatedMs)} | ${row.faults === null ? '' : `${row.faults} → ${row.shrunkFaults ?? '?'}`} | ${row.shrinkMs === null ? '' : dur(row.shrinkMs)} | ${clean} |`,
  );
}
lines.push('');
lines.push(`Median time to the first violation: **${medianWallMs === null ? '— (not every key found)' : dur(medianWallMs)}**`);
// One line per run the rows come from.
const runs = new Map();
for (const row of rows) {
  const m = row.measured ?? { commit: 'unknown', date: '?', command: 'ksim zoo', workers: '?', cores: '?', node: '?' };
  const id = JSON.stringify(m);
  if (!runs.has(id)) runs.set(id, { m, keys: [] });
  runs.get(id).keys.push(row.key);
}
for (const { m, keys } of runs.values()) {
  const which = runs.size === 1 ? 'every row' : keys.map((k) => `\`${k}\``).join(', ');
  lines.push(
    `- ${which}: \`${m.command}\` at ${m.commit} on ${m.date}, ${m.workers} workers on ${m.cores} cores, Node ${m.node}${m.contention ? ` (${m.contention})` : ''}`,
  );
}
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
