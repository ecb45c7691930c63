// Sweeps on worker threads (scenarios/sweep.ts, scenarios/pool.ts): the same per-seed results
// with 1 or 2 workers, across shards and in this thread; every failing seed re-run and its
// failure file written; failure files that replay to the recorded trace hash; shrinking that keeps
// the same invariant failing.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import { failureFromReport, readFailureFile, violationName } from '../../scenarios/failure.js';
import { RunPool } from '../../scenarios/pool.js';
import { runScenario } from '../../scenarios/runner.js';
import { parseScenario, scenarioToJson } from '../../scenarios/scenario.js';
import { shrinkFailure } from '../../scenarios/shrink.js';
import { sampledForRecheck, shardSeeds, sweep } from '../../scenarios/sweep.js';

/** Small and quick: one partition on three brokers, crashes and partitions for 8 s. */
const SMALL = {
  name: 'small',
  brokers: 3,
  topics: [{ name: 't', partitions: 1, replicationFactor: 3 }],
  config: { 'min.insync.replicas': 2, 'log.flush.interval.messages': 1 },
  producers: [{ id: 'p1', topic: 't', ratePerSec: 20 }],
  nemesis: { kinds: ['crash', 'partition'], meanIntervalMs: 1500, startMs: 1000 },
  durationMs: 8000,
  liveness: { withinMs: 20_000 },
};

const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

describe('sweep', () => {
  const small = parseScenario(SMALL, 'small');
  let one: RunPool;
  let two: RunPool;
  beforeAll(() => {
    one = new RunPool([{ json: scenarioToJson(small), source: 'small' }], 1);
    two = new RunPool([{ json: scenarioToJson(small), source: 'small' }], 2);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
  });
  const opts = { scenario: small, poolScenario: 0, set: {}, recheckRatio: 0.25, outDir: null };
  const essence = (rs: { seed: number; verdict: string; traceHash: string; events: number }[]) =>
    rs.map(({ seed, verdict, traceHash, events }) => ({ seed, verdict, traceHash, events }));

  it('gives the same per-seed results with 1 and 2 workers, in seed order, as runs in this thread', async () => {
    const [a, b] = await Promise.all([sweep(one, { ...opts, seeds: SEEDS }), sweep(two, { ...opts, seeds: SEEDS })]);
    expect(a.results.map((r) => r.seed)).toEqual(SEEDS);
    expect(essence(b.results)).toEqual(essence(a.results));
    expect(new Set(a.results.map((r) => r.traceHash)).size).toBe(SEEDS.length);
    for (const seed of [1, 7]) {
      const here = runScenario(small, { seed });
      expect(here.traceHash).toBe(a.results[seed - 1]?.traceHash);
    }
    // Every seed sampled for a re-run, and every failing one, ran twice with the same hash.
    const again = a.results.filter((r) => r.recheck !== undefined);
    expect(again.map((r) => r.seed)).toEqual(a.results.filter((r) => r.verdict !== 'valid' || sampledForRecheck(r.seed, 0.25)).map((r) => r.seed));
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((r) => r.recheck?.same === true)).toBe(true);
    expect(a.counts.nondeterministic).toBe(0);
  });

  it('splits seeds into disjoint shards whose results together are the whole sweep', async () => {
    const whole = await sweep(two, { ...opts, seeds: SEEDS, recheckRatio: 0 });
    const parts = [];
    for (let i = 1; i <= 3; i++) parts.push(await sweep(two, { ...opts, seeds: shardSeeds(SEEDS, { index: i, count: 3 }), recheckRatio: 0 }));
    const seen = parts.flatMap((p) => p.results.map((r) => r.seed));
    expect([...seen].sort((x, y) => x - y)).toEqual(SEEDS);
    expect(shardSeeds(SEEDS, { index: 2, count: 3 })).toEqual([2, 5, 8, 11]);
    const merged = parts.flatMap((p) => p.results).sort((x, y) => x.seed - y.seed);
    expect(essence(merged)).toEqual(essence(whole.results));
  });

  it('writes a failure file for every failing seed, and each replays to its recorded trace hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-sweep-'));
    const zoo = builtinScenario('kip-101');
    const pool = new RunPool([{ json: scenarioToJson(zoo), source: 'kip-101' }], 2);
    const seeds = [1, 2, 3, 4, 5, 6];
    const r = await sweep(pool, { scenario: zoo, poolScenario: 0, seeds, set: { 'fix.kip-101': false }, recheckRatio: 0, outDir: dir }).finally(() =>
      pool.close(),
    );
    expect(r.failures.map((f) => f.seed)).toEqual(seeds);
    expect(readdirSync(dir).sort()).toEqual(r.failures.map((f) => f.file?.slice(dir.length + 1)).sort());
    for (const f of r.failures) {
      expect(f.recheck?.same).toBe(true); // failing seeds always run twice
      const { failure, scenario } = readFailureFile(f.file as string);
      expect(failure.seed).toBe(f.seed);
      expect(failure.set).toEqual({ 'fix.kip-101': false });
      const replayed = runScenario(scenario, { seed: failure.seed, set: failure.set });
      expect(replayed.traceHash).toBe(f.traceHash);
      expect(replayed.verdict).toBe('invalid');
      expect(replayed.violations[0]).toEqual(failure.firstViolation);
    }
  });
});

describe('failure files of random searches', () => {
  it('every failure of three random-nemesis searches replays, in this thread, to the hash the workers recorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-replay-'));
    let replayed = 0;
    for (const [name, set] of [
      ['search-kip-966', { 'fix.kip-966': false }],
      ['search-kafka-7128', { 'fix.kafka-7128': false }],
      ['search-kip-903', { 'fix.kip-903': false }],
    ] as const) {
      const s = builtinScenario(name);
      const pool = new RunPool([{ json: scenarioToJson(s), source: name }], 2);
      // Each failing seed named by its scenario's expectation, plus (kip-966) a dozen seeds in a row.
      const named = (s.expect ?? []).flatMap((e) => e.seeds ?? []);
      const seeds = name === 'search-kip-966' ? Array.from({ length: 12 }, (_, i) => i + 1) : named;
      const r = await sweep(pool, { scenario: s, poolScenario: 0, seeds, set, recheckRatio: 0, outDir: dir }).finally(() => pool.close());
      for (const f of r.failures) {
        const { failure, scenario } = readFailureFile(f.file as string);
        expect(scenario.faults.length).toBe(f.faults); // the nemesis's draws, made explicit
        const again = runScenario(scenario, { seed: failure.seed, set: failure.set });
        expect({ seed: f.seed, hash: again.traceHash, verdict: again.verdict }).toEqual({ seed: f.seed, hash: failure.traceHash, verdict: failure.verdict });
        replayed++;
      }
    }
    expect(replayed).toBeGreaterThanOrEqual(13);
  });
});

describe('the re-run pass', () => {
  it('reports a seed whose second run gives another trace hash as nondeterministic, naming where two recorded runs differ', async () => {
    const small = parseScenario(SMALL, 'small');
    const real = runScenario(small, { seed: 3 });
    let calls = 0;
    // A pool whose second run of seed 3 comes back with another hash (as a stray Math.random would cause).
    const pool = {
      size: 1,
      run: async (job: { seed: number }) => {
        calls++;
        const r = runScenario(small, { seed: job.seed });
        return job.seed === 3 && calls > 4 ? { ...r, traceHash: 'ffffffffffffffff' } : r;
      },
      determinism: async () => ({ deterministic: false, hashes: ['a', 'b'], divergesAt: 42, first: 'x', second: 'y' }),
    } as unknown as RunPool;
    const dir = mkdtempSync(join(tmpdir(), 'ksim-nd-'));
    const r = await sweep(pool, { scenario: small, poolScenario: 0, seeds: [1, 2, 3, 4], set: {}, recheckRatio: 1, outDir: dir });
    expect(r.counts.nondeterministic).toBe(1);
    const f = r.failures.find((x) => x.seed === 3);
    expect(f?.recheck).toMatchObject({ same: false, traceHash: 'ffffffffffffffff' });
    expect(f?.recheck?.detail).toContain('first differ at trace event 42: x | y');
    expect(r.results.map((x) => x.verdict)).toEqual(['valid', 'valid', 'valid', 'valid']);
    expect(r.failures.map((x) => x.seed)).toEqual([3]); // valid, but not reproducible: a failure
    const { failure } = readFailureFile(f?.file as string);
    expect(failure.nondeterministic?.hashes).toEqual([real.traceHash, 'ffffffffffffffff']);
  });
});

describe('sampledForRecheck', () => {
  it('picks about the given fraction, by seed alone', () => {
    const picked = Array.from({ length: 10_000 }, (_, i) => i).filter((s) => sampledForRecheck(s, 0.05)).length;
    expect(picked).toBeGreaterThan(400);
    expect(picked).toBeLessThan(600);
    expect(sampledForRecheck(17, 0)).toBe(false);
    expect(sampledForRecheck(17, 1)).toBe(true);
  });
});

describe('shrinking', () => {
  it('cuts the scripted KIP-101 failure down while LeaderCompleteness still fails, in this thread and on workers', async () => {
    const s = builtinScenario('kip-101');
    const report = runScenario(s, { seed: 1, set: { 'fix.kip-101': false } });
    expect(report.verdict).toBe('invalid');
    const failure = failureFromReport(s, report);
    const target = violationName(failure.firstViolation);
    const here = await shrinkFailure({ failure });
    const pool = new RunPool([], 2);
    const there = await shrinkFailure({ failure, pool }).finally(() => pool.close());
    for (const r of [here, there]) {
      expect(r.reproduced).toBe(true);
      expect(r.target).toBe(target);
      expect(r.after.faults).toBeLessThan(r.before.faults);
      expect(r.after.faults).toBeLessThanOrEqual(2);
      expect(r.after.ops).toBeLessThan(r.before.ops);
      // The shrunk scenario fails the same way when run from its JSON, as a user would.
      const again = runScenario(parseScenario(r.scenario, 'shrunk'), { seed: 1, set: { 'fix.kip-101': false } });
      expect(again.verdict).toBe('invalid');
      expect(violationName(again.violations[0])).toBe(target);
      expect(again.traceHash).toBe(r.report?.traceHash);
    }
    // Speculation on workers changes the cost, never the answer.
    expect(there.scenario).toEqual(here.scenario);
  });

  it('says so when the failure does not reproduce', async () => {
    const s = builtinScenario('kip-101');
    const report = runScenario(s, { seed: 1, set: { 'fix.kip-101': false } });
    const failure = { ...failureFromReport(s, report), set: {} }; // with the fix in, the run is valid
    const r = await shrinkFailure({ failure });
    expect(r.reproduced).toBe(false);
    expect(r.runs).toBe(1);
  });
});
