// `ksim zoo`: how fast random search finds each historical Kafka bug (DESIGN.md §3's bug zoo).
//
// For each `fix.*` key that has a search scenario (`search-<key>`, a built-in random-nemesis
// scenario — not the key's scripted scenario), with the fix switched off: run seeds 1, 2, 3, … on
// all workers until the lowest failing seed is known (every seed below it ran and passed); report
// the seeds that took, the wall time until then, the simulated time of those runs, the violation,
// and the size of the failing schedule before and after shrinking. Then, with the fix on, run
// `--clean-seeds` seeds of the same scenario and report how many gave no violation.
// `npm run zoo-table` writes this table into the README.

import { join } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { FIX_KEYS } from '../core/config.js';
import { duration } from '../reports/progress.js';
import { makeChalk, table } from '../reports/text.js';
import { builtinScenario, isBuiltin } from '../scenarios/builtin/index.js';
import { failureFromReport, violationName, writeFailureFile } from '../scenarios/failure.js';
import { defaultWorkers, RunPool } from '../scenarios/pool.js';
import type { RunReport } from '../scenarios/runner.js';
import { scenarioToJson } from '../scenarios/scenario.js';
import { shrinkFailure } from '../scenarios/shrink.js';
import { sweep } from '../scenarios/sweep.js';
import { InputError } from '../sim/input.js';
import { parseArgs } from './args.js';
import { EXIT, median, positiveInt } from './common.js';

const DEFAULT_MAX_SEEDS = 2000;
const DEFAULT_CLEAN_SEEDS = 200;
const DEFAULT_SHRINK_SECONDS = 300;
const OUT = join('ksim-out', 'zoo');

export interface ZooRow {
  key: string;
  scenario: string | null;
  /** Lowest seed that failed with the fix off (null: none within maxSeeds). */
  foundAtSeed: number | null;
  seedsRun: number;
  /** Wall time until the lowest failing seed was known. */
  wallMs: number;
  /** Simulated time of the runs up to and including that seed. */
  simulatedMs: number;
  violation: string | null;
  detail: string | null;
  faults: number | null;
  shrunkFaults: number | null;
  shrinkMs: number | null;
  shrinkRuns: number | null;
  failureFile: string | null;
  shrunkFile: string | null;
  clean: { seeds: number; valid: number; unknown: number; invalid: number } | null;
  note?: string;
}

/** Why a key has no search scenario yet. */
const NO_SEARCH: Record<string, string> = {
  'fix.generation-fencing': 'consumer groups are not built yet',
};

export function searchScenarioName(key: string): string {
  return `search-${key.replace(/^fix\./, '')}`;
}

export async function zooCommand(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(
    argv,
    {
      json: { type: 'boolean' },
      keys: { type: 'list' },
      'max-seeds': { type: 'int' },
      'clean-seeds': { type: 'int' },
      workers: { type: 'int' },
      'no-shrink': { type: 'boolean' },
      'shrink-seconds': { type: 'int' },
    },
    'zoo',
  );
  if (positional.length > 0) throw new InputError(`ksim zoo: unexpected argument "${positional[0]}"`);
  const keys = ((flags.get('keys') as string[] | undefined) ?? FIX_KEYS).map((k) => (k.startsWith('fix.') ? k : `fix.${k}`));
  for (const k of keys) if (!FIX_KEYS.includes(k)) throw new InputError(`ksim zoo: unknown key "${k}" (bug-zoo keys: ${FIX_KEYS.join(', ')})`);
  const maxSeeds = positiveInt(flags.get('max-seeds'), 'max-seeds', 'zoo', 10_000_000) ?? DEFAULT_MAX_SEEDS;
  const cleanSeeds = flags.get('clean-seeds') === 0 ? 0 : (positiveInt(flags.get('clean-seeds'), 'clean-seeds', 'zoo', 10_000_000) ?? DEFAULT_CLEAN_SEEDS);
  const workers = positiveInt(flags.get('workers'), 'workers', 'zoo', 256) ?? defaultWorkers();
  const shrinkSeconds = positiveInt(flags.get('shrink-seconds'), 'shrink-seconds', 'zoo') ?? DEFAULT_SHRINK_SECONDS;
  const shrink = flags.get('no-shrink') !== true;
  const json = flags.get('json') === true;
  const c = makeChalk();
  // Progress goes to stderr, with --json too (the document alone is on stdout).
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (!json)
    process.stdout.write(
      `${c.bold('ksim zoo')} · ${keys.length} keys · fix off: seeds 1.. until the first violation (at most ${maxSeeds}) · fix on: ${cleanSeeds} seeds · ${workers} workers\n`,
    );

  const rows: ZooRow[] = [];
  for (const key of keys) {
    const name = searchScenarioName(key);
    if (!isBuiltin(name)) {
      const note = NO_SEARCH[key] ?? 'no search scenario yet';
      rows.push(emptyRow(key, note));
      say(`${key}: no search scenario (${name}): ${note}`);
      continue;
    }
    const s = builtinScenario(name);
    const pool = new RunPool([{ json: scenarioToJson(s), source: s.source }], workers);
    try {
      say(`${key}: searching ${name} with ${key}=false …`);
      const found = await firstFailure(pool, maxSeeds, { [key]: false });
      const row: ZooRow = {
        ...emptyRow(key),
        scenario: name,
        seedsRun: found.seedsRun,
        wallMs: found.wallMs,
        simulatedMs: found.simulatedMs,
      };
      if (found.report !== undefined) {
        const r = found.report;
        const v = r.violations[0];
        row.foundAtSeed = r.seed;
        row.violation = violationName(v);
        row.detail = v?.detail ?? null;
        row.faults = r.faults.length;
        const failure = failureFromReport(s, r);
        row.failureFile = writeFailureFile(join(OUT, 'failures'), failure);
        say(`${key}: seed ${r.seed} fails (${row.violation}) after ${duration(found.wallMs)}; ${r.faults.length} faults`);
        if (shrink) {
          const sr = await shrinkFailure({ failure, pool, timeLimitMs: shrinkSeconds * 1000 });
          row.shrunkFaults = sr.after.faults;
          row.shrinkMs = sr.wallMs;
          row.shrinkRuns = sr.runs;
          if (sr.shrunkFailure !== undefined) row.shrunkFile = writeFailureFile(join(OUT, 'shrunk'), sr.shrunkFailure);
          say(`${key}: shrunk ${sr.before.faults} → ${sr.after.faults} faults in ${duration(sr.wallMs)} (${sr.runs} runs)`);
        }
      } else {
        say(`${key}: no violation in ${found.seedsRun} seeds`);
      }
      if (cleanSeeds > 0) {
        say(`${key}: ${cleanSeeds} seeds with the fix on …`);
        const clean = await sweep(pool, {
          scenario: s,
          poolScenario: 0,
          seeds: Array.from({ length: cleanSeeds }, (_, i) => i + 1),
          set: {},
          recheckRatio: 0,
          outDir: join(OUT, 'failures'),
        });
        row.clean = { seeds: clean.seeds, valid: clean.counts.valid, unknown: clean.counts.unknown, invalid: clean.counts.invalid };
        say(`${key}: fix on: ${clean.counts.valid} valid, ${clean.counts.unknown} unknown, ${clean.counts.invalid} invalid in ${duration(clean.wallMs)}`);
      }
      rows.push(row);
    } finally {
      await pool.close();
    }
  }

  const found = rows.filter((r) => r.foundAtSeed !== null).map((r) => r.wallMs);
  const searched = rows.filter((r) => r.scenario !== null);
  const medianWallMs = searched.length === found.length && found.length > 0 ? Math.round(median(found)) : null;
  const ok = searched.every((r) => r.foundAtSeed !== null && (r.clean === null || r.clean.invalid === 0));
  if (json) {
    process.stdout.write(`${JSON.stringify({ workers, maxSeeds, cleanSeeds, node: process.version, medianWallMs, ok, rows }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatZoo(rows, c)}\n`);
    process.stdout.write(
      `median time to the first violation: ${medianWallMs === null ? `— (${searched.length - found.length} key(s) not found)` : duration(medianWallMs)} · ${workers} workers\n`,
    );
  }
  return ok ? EXIT.valid : EXIT.invalid;
}

function emptyRow(key: string, note?: string): ZooRow {
  return {
    key,
    scenario: null,
    foundAtSeed: null,
    seedsRun: 0,
    wallMs: 0,
    simulatedMs: 0,
    violation: null,
    detail: null,
    faults: null,
    shrunkFaults: null,
    shrinkMs: null,
    shrinkRuns: null,
    failureFile: null,
    shrunkFile: null,
    clean: null,
    ...(note !== undefined ? { note } : {}),
  };
}

/**
 * Seeds 1.. on the pool, a few per worker in flight, until the lowest invalid seed is known: once
 * seed f fails, no seed above f is started, and the search waits for the seeds below f.
 */
async function firstFailure(
  pool: RunPool,
  maxSeeds: number,
  set: Record<string, boolean>,
): Promise<{ report: RunReport | undefined; seedsRun: number; wallMs: number; simulatedMs: number }> {
  const t0 = performance.now();
  const inFlight = pool.size * 2;
  const simulated = new Map<number, number>();
  let next = 1;
  let best: RunReport | undefined;
  let running = 0;
  return new Promise((resolve, reject) => {
    const finish = () => {
      const limit = best?.seed ?? maxSeeds;
      let simulatedMs = 0;
      let seedsRun = 0;
      for (const [seed, ms] of simulated) {
        if (seed > limit) continue;
        simulatedMs += ms;
        seedsRun++;
      }
      resolve({ report: best, seedsRun, wallMs: Math.round(performance.now() - t0), simulatedMs: Math.round(simulatedMs) });
    };
    const launch = () => {
      while (running < inFlight && next <= maxSeeds && (best === undefined || next < best.seed)) {
        const seed = next++;
        running++;
        pool.run({ scenario: 0, seed, set }).then((r) => {
          running--;
          simulated.set(seed, r.simulatedMs);
          if (r.verdict === 'invalid' && (best === undefined || seed < best.seed)) best = r;
          launch();
          if (running === 0) finish();
        }, reject);
      }
    };
    launch();
  });
}

function formatZoo(rows: readonly ZooRow[], c: ChalkInstance): string {
  const out = [['key', 'search scenario', 'first violation', 'seeds', 'wall', 'simulated', 'faults → shrunk', 'shrink', 'fix on: clean']];
  for (const r of rows) {
    if (r.scenario === null) {
      out.push([r.key, c.dim(r.note ?? ''), '', '', '', '', '', '', '']);
      continue;
    }
    out.push([
      r.key,
      r.scenario,
      r.violation ?? c.red('not found'),
      r.foundAtSeed === null ? `${r.seedsRun} (none)` : String(r.seedsRun),
      duration(r.wallMs),
      duration(r.simulatedMs),
      r.faults === null ? '' : `${r.faults} → ${r.shrunkFaults ?? '?'}`,
      r.shrinkMs === null ? '' : duration(r.shrinkMs),
      r.clean === null ? '' : `${r.clean.seeds - r.clean.invalid}/${r.clean.seeds}${r.clean.invalid > 0 ? c.red(` (${r.clean.invalid} invalid)`) : ''}`,
    ]);
  }
  return table(out);
}
