// A sweep (DESIGN.md §6, `ksim sweep`): one scenario over many seeds on worker threads.
//
// - Results are ordered by seed, whatever the workers' timing: a sweep with 1, 2 or N workers,
//   or split into shards, gives the same per-seed results (verdict, trace hash, events).
// - `--shard i/n` keeps the seeds at positions i-1, i-1+n, i-1+2n, … of the seed list, so shards
//   are disjoint, cover the list, and each gets a fair mix of early and late seeds.
// - Determinism in practice: after the first pass every failing seed (invalid or unknown) and a
//   sample of the passing ones (`recheckRatio`, chosen by seed value, so the same seeds whatever the
//   sharding) run again, on whichever worker is free and after other runs; a different trace hash
//   is a failure of its own. For such a seed the sweep then runs it twice more with the trace
//   recorded and names the first event at which they differ.
// - Every failure gets a failure file (scenarios/failure.ts) in `outDir`.

import type { ConfigValue } from '../core/config.js';
import type { Verdict, Violation } from './checks.js';
import { type FailureFile, failureFromReport, writeFailureFile } from './failure.js';
import type { RunPool } from './pool.js';
import type { RunReport } from './runner.js';
import type { Scenario } from './scenario.js';

export interface SweepOptions {
  scenario: Scenario;
  /** Index of the scenario in the pool. */
  poolScenario: number;
  seeds: readonly number[];
  set: Readonly<Record<string, ConfigValue>>;
  maxEvents?: number;
  /** Fraction of passing seeds to run twice (0..1); failing seeds are always run twice. */
  recheckRatio: number;
  /** Where failure files go; null: write none. */
  outDir: string | null;
  /** Called as each first-pass run finishes (in completion order). */
  onResult?: (r: SeedResult) => void;
  /** Called when the recheck pass begins, with the number of seeds it re-runs. */
  onRecheck?: (count: number) => void;
}

export interface SeedResult {
  seed: number;
  verdict: Verdict;
  traceHash: string;
  events: number;
  simulatedMs: number;
  wallMs: number;
  faults: number;
  firstViolation: Violation | null;
  notConverged: string[];
  replay: string;
  /** Set when the seed ran twice. */
  recheck?: { traceHash: string; same: boolean; detail?: string };
  /** The failure file written for it. */
  file?: string;
}

export interface SweepResult {
  scenario: string;
  seeds: number;
  results: SeedResult[];
  /** Failing seeds, in seed order: invalid, unknown, or nondeterministic. */
  failures: SeedResult[];
  counts: { valid: number; invalid: number; unknown: number; nondeterministic: number };
  rechecked: number;
  /** The failure files, by seed (with the first failure's report for shrinking). */
  failureFiles: { seed: number; path: string | null; failure: FailureFile }[];
  wallMs: number;
}

/** Whether a passing seed is re-run at this ratio: a hash of the seed, so independent of sharding and workers. */
export function sampledForRecheck(seed: number, ratio: number): boolean {
  if (ratio <= 0) return false;
  if (ratio >= 1) return true;
  const h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return (Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0) / 2 ** 32 < ratio;
}

/** The seeds of shard i of n (numbered from 1). */
export function shardSeeds(seeds: readonly number[], shard: { index: number; count: number } | undefined): number[] {
  if (shard === undefined) return [...seeds];
  return seeds.filter((_, i) => i % shard.count === shard.index - 1);
}

export function isFailing(r: SeedResult): boolean {
  return r.verdict !== 'valid' || (r.recheck !== undefined && !r.recheck.same);
}

export async function sweep(pool: RunPool, o: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const job = (seed: number) => ({
    scenario: o.poolScenario,
    seed,
    set: o.set,
    ...(o.maxEvents !== undefined ? { maxEvents: o.maxEvents } : {}),
  });
  const reports = new Map<number, RunReport>();
  const results = await Promise.all(
    o.seeds.map(async (seed) => {
      const report = await pool.run(job(seed));
      // Reports are kept only for seeds that may need a failure file (not for every passing seed).
      if (report.verdict !== 'valid' || sampledForRecheck(seed, o.recheckRatio)) reports.set(seed, report);
      const r = seedResult(report);
      o.onResult?.(r);
      return r;
    }),
  );

  // The recheck pass.
  const again = results.filter((r) => r.verdict !== 'valid' || sampledForRecheck(r.seed, o.recheckRatio));
  o.onRecheck?.(again.length);
  await Promise.all(
    again.map(async (r) => {
      const second = await pool.run(job(r.seed));
      r.recheck = { traceHash: second.traceHash, same: second.traceHash === r.traceHash };
      if (!r.recheck.same) {
        const d = await pool.determinism(job(r.seed));
        r.recheck.detail = d.deterministic
          ? `first run ${r.traceHash}, re-run ${second.traceHash}; two fresh recorded runs agree (${d.hashes[0]}): state carried over between runs in one worker?`
          : `first run ${r.traceHash}, re-run ${second.traceHash}; two fresh recorded runs first differ at trace event ${d.divergesAt}: ${d.first} | ${d.second}`;
      }
    }),
  );

  const failures = results.filter(isFailing);
  const failureFiles: SweepResult['failureFiles'] = [];
  for (const r of failures) {
    const report = reports.get(r.seed) as RunReport;
    const failure = failureFromReport(o.scenario, report, o.maxEvents !== undefined ? { maxEvents: o.maxEvents } : {});
    if (r.recheck !== undefined && !r.recheck.same) failure.nondeterministic = { hashes: [r.traceHash, r.recheck.traceHash], detail: r.recheck.detail ?? '' };
    const path = o.outDir === null ? null : writeFailureFile(o.outDir, failure);
    if (path !== null) r.file = path;
    failureFiles.push({ seed: r.seed, path, failure });
  }
  const counts = { valid: 0, invalid: 0, unknown: 0, nondeterministic: 0 };
  for (const r of results) {
    counts[r.verdict]++;
    if (r.recheck !== undefined && !r.recheck.same) counts.nondeterministic++;
  }
  return {
    scenario: o.scenario.name,
    seeds: results.length,
    results,
    failures,
    counts,
    rechecked: again.length,
    failureFiles,
    wallMs: Math.round(performance.now() - t0),
  };
}

function seedResult(report: RunReport): SeedResult {
  return {
    seed: report.seed,
    verdict: report.verdict,
    traceHash: report.traceHash,
    events: report.events,
    simulatedMs: report.simulatedMs,
    wallMs: report.wallMs,
    faults: report.faults.length,
    firstViolation: report.violations[0] ?? null,
    notConverged: report.notConverged,
    replay: report.replay,
  };
}
