// `ksim bench`: performance figures, all measured in this one process run.
//
// - kernelEventsPerSec: the bare scheduler moving no-op events through a queue of 1,000 pending
//   events — the ceiling every other figure is compared with.
// - scenarios[]: each scenario's events, simulated time, wall time, events per second, speed-up
//   (simulated ms per wall ms) and heap in use after the run.
// - sweep: the `nemesis` built-in over the same seeds with `--workers 1` and `--workers 2` (or
//   more), in alternating rounds (a shared host's speed drifts between runs: one pair of runs says
//   little), the speed-up of each round and their median, and whether the per-seed results
//   (verdict, trace hash, events) are identical — as they must be. Each round also runs a control:
//   two separate 1-worker processes at once, each on half the seeds. What the pool gains over one
//   worker, compared with what two independent processes gain, tells the pool's own overhead from
//   the host's (cores slowing each other down, and the JIT warming up once per worker).
// Figures are measured here, never asserted by tests (CI machines vary).

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCluster } from '../scenarios/cluster.js';
import { runDemo } from '../scenarios/kernel-demo/run.js';
import { installFaults } from '../sim/faults.js';
import { drawNemesis } from '../sim/nemesis.js';
import { Rng } from '../sim/rng.js';
import { Scheduler } from '../sim/scheduler.js';
import { DEFAULT_BENCH_ROUNDS, DEFAULT_BENCH_SWEEP_SEEDS, median } from './common.js';

export interface ScenarioBench {
  name: string;
  seeds: number;
  events: number;
  simulatedMs: number;
  wallMs: number;
  eventsPerSec: number;
  speedup: number;
  heapMb: number;
}

export interface BenchReport {
  node: string;
  kernelEvents: number;
  kernelEventsPerSec: number;
  scenarios: ScenarioBench[];
  sweep: SweepBench;
}

export interface SweepRound {
  /** Wall ms of the whole sweep with 1 worker. */
  oneWorkerMs: number;
  /** Wall ms with `workers` workers. */
  poolMs: number;
  /** Wall ms of the control: two 1-worker processes at once, each on half the seeds (the slower one). */
  twoProcessesMs: number;
  /** oneWorkerMs / poolMs. */
  speedup: number;
  /** oneWorkerMs / twoProcessesMs: what the host gives two independent runs. */
  controlSpeedup: number;
}

export interface SweepBench {
  scenario: string;
  seeds: number;
  cores: number;
  workers: number;
  rounds: SweepRound[];
  /** The median of the rounds' speed-ups. */
  speedup: number;
  /** The median of the rounds' control speed-ups. */
  controlSpeedup: number;
  /** Whether every run gave the same per-seed verdicts, trace hashes and event counts. */
  identical: boolean;
}

/** Bare-scheduler throughput: every event schedules its successor a random delay ahead. */
export function benchKernel(events = 3_000_000, pending = 1_000): { events: number; eventsPerSec: number } {
  const sched = new Scheduler();
  const rng = new Rng(1, 'bench');
  const delays = Float64Array.from({ length: 4096 }, () => rng.uniform(0, 10));
  let k = 0;
  const step = (): void => {
    sched.after(delays[k++ & 4095] as number, step);
  };
  for (let i = 0; i < pending; i++) sched.after(delays[i & 4095] as number, step);
  // Warm up the JIT, then measure.
  sched.run({ maxEvents: Math.min(200_000, events) });
  const t0 = performance.now();
  sched.run({ maxEvents: events });
  const wall = performance.now() - t0;
  return { events, eventsPerSec: Math.round(events / (wall / 1000)) };
}

/** Run `runOne` over seeds 1..`seeds` (after one warm-up run) and measure the whole. */
function measure(name: string, seeds: number, runOne: (seed: number) => { events: number; simulatedMs: number }): ScenarioBench {
  runOne(0);
  let events = 0;
  let simulatedMs = 0;
  const t0 = performance.now();
  for (let s = 1; s <= seeds; s++) {
    const r = runOne(s);
    events += r.events;
    simulatedMs += r.simulatedMs;
  }
  const wallMs = performance.now() - t0;
  return {
    name,
    seeds,
    events,
    simulatedMs,
    wallMs: Math.round(wallMs),
    eventsPerSec: Math.round(events / (wallMs / 1000)),
    speedup: Math.round((simulatedMs / wallMs) * 10) / 10,
    heapMb: Math.round((process.memoryUsage().heapUsed / (1024 * 1024)) * 10) / 10,
  };
}

export function benchDemo(seeds: number): ScenarioBench {
  return measure('kernel-demo (3-node replicated log, random nemesis)', seeds, (seed) => runDemo({ seed }));
}

/** One run of a 3-broker cluster (RF 3, 6 partitions, a producer at 100/s, a consumer) under a random nemesis. */
function clusterRun(seed: number): { events: number; simulatedMs: number } {
  const faultPhaseMs = 60_000;
  const c = buildCluster({
    seed,
    brokers: 3,
    topics: [{ name: 't', partitions: 6, replicationFactor: 3 }],
    config: { 'min.insync.replicas': 2 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 100, stopAtMs: faultPhaseMs }],
    consumers: [{ id: 'k1', topic: 't' }],
  });
  const plan = drawNemesis(c.world.streams.stream('nemesis'), {
    kinds: ['partition', 'crash', 'pause', 'clock', 'disk'],
    startMs: 3000,
    endMs: faultPhaseMs,
    nodes: c.brokers,
  });
  installFaults(c.world, plan.faults);
  c.world.at(faultPhaseMs, 'heal-all', () => c.world.healAll());
  c.world.startAll();
  const r = c.world.run({ untilMs: faultPhaseMs + 30_000 });
  return { events: r.events, simulatedMs: r.simulatedMs };
}

export function benchCluster(seeds: number): ScenarioBench {
  return measure('kafka-3-brokers (RF 3, 6 partitions, 100 writes/s, random nemesis)', seeds, clusterRun);
}

/**
 * Start a sweep of `nemesis` in a child process exactly as a user runs it (bin/ksim, which starts
 * Node with its pooled V8 flags); resolves to its wall time and per-seed results.
 */
function startSweep(seedRange: string, workers: number, out: string): Promise<{ wallMs: number; results: unknown[] }> {
  const ksim = fileURLToPath(new URL('../../bin/ksim', import.meta.url));
  const args = [
    ksim,
    'sweep',
    'nemesis',
    '--seed-range',
    seedRange,
    '--workers',
    String(workers),
    '--no-shrink',
    '--recheck-ratio',
    '0',
    '--out',
    out,
    '--json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && code !== 1 && code !== 2) return reject(new Error(`bench: ksim sweep exited with ${code}: ${stderr.split('\n')[0]}`));
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        wallMs: number;
        results: { seed: number; verdict: string; traceHash: string; events: number }[];
      };
      resolve({ wallMs: doc.wallMs, results: doc.results.map((x) => [x.seed, x.verdict, x.traceHash, x.events]) });
    });
  });
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * `ksim sweep nemesis` over seeds 1..`seeds`: in each of `rounds` rounds, with 1 worker, with
 * `workers`, and the two-process control (the order alternates between rounds, so that a drift of
 * the host's speed does not favour one side).
 */
export async function benchSweep(
  seeds: number,
  rounds = DEFAULT_BENCH_ROUNDS,
  workers = Math.max(2, availableParallelism()),
  onRound?: (r: SweepRound, i: number) => void,
): Promise<SweepBench> {
  const out = mkdtempSync(join(tmpdir(), 'ksim-bench-'));
  if (seeds < 2) throw new Error(`benchSweep: ${seeds} seed cannot be split in two halves for the control`);
  const half = Math.ceil(seeds / 2);
  const essences = new Set<string>();
  const whole = async (n: number) => {
    const r = await startSweep(`1..${seeds}`, n, out);
    essences.add(JSON.stringify(r.results));
    return r.wallMs;
  };
  const one = () => whole(1);
  const pool = () => whole(workers);
  const control = async () => {
    const [a, b] = await Promise.all([startSweep(`1..${half}`, 1, out), startSweep(`${half + 1}..${seeds}`, 1, out)]);
    essences.add(JSON.stringify([...a.results, ...b.results])); // the halves, joined, are the whole sweep
    return Math.max(a.wallMs, b.wallMs);
  };
  const result: SweepRound[] = [];
  for (let i = 0; i < rounds; i++) {
    let oneWorkerMs: number;
    let poolMs: number;
    let twoProcessesMs: number;
    if (i % 2 === 0) {
      oneWorkerMs = await one();
      poolMs = await pool();
      twoProcessesMs = await control();
    } else {
      twoProcessesMs = await control();
      poolMs = await pool();
      oneWorkerMs = await one();
    }
    const r = { oneWorkerMs, poolMs, twoProcessesMs, speedup: round2(oneWorkerMs / poolMs), controlSpeedup: round2(oneWorkerMs / twoProcessesMs) };
    result.push(r);
    onRound?.(r, i);
  }
  return {
    scenario: 'nemesis',
    seeds,
    cores: availableParallelism(),
    workers,
    rounds: result,
    // Medians of the unrounded ratios (the rounds' own figures are rounded for display).
    speedup: round2(median(result.map((r) => r.oneWorkerMs / r.poolMs))),
    controlSpeedup: round2(median(result.map((r) => r.oneWorkerMs / r.twoProcessesMs))),
    identical: essences.size === 1,
  };
}

export async function runBench(
  sweepSeeds = DEFAULT_BENCH_SWEEP_SEEDS,
  sweepRounds = DEFAULT_BENCH_ROUNDS,
  onRound?: (r: SweepRound, i: number) => void,
): Promise<BenchReport> {
  const kernel = benchKernel();
  const scenarios = [benchDemo(10), benchCluster(5)];
  const sweep = await benchSweep(sweepSeeds, sweepRounds, undefined, onRound);
  return { node: process.version, kernelEvents: kernel.events, kernelEventsPerSec: kernel.eventsPerSec, scenarios, sweep };
}
