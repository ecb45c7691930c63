// `ksim bench`: performance figures, all measured in this one process run.
//
// - kernelEventsPerSec: the bare scheduler moving no-op events through a queue of 1,000 pending
//   events — the ceiling every other figure is compared with.
// - scenarios[]: each scenario's events, simulated time, wall time, events per second, speed-up
//   (simulated ms per wall ms) and heap in use after the run.
// - sweep: the `nemesis` built-in over the same seeds with `--workers 1` and `--workers 2` (or
//   more), wall time of each, the speed-up, and whether the per-seed results (verdict, trace hash,
//   events) are identical — as they must be.
// Figures are measured here, never asserted by tests (CI machines vary).

import { spawnSync } from 'node:child_process';
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

export interface SweepBench {
  scenario: string;
  seeds: number;
  cores: number;
  /** Wall ms of the same sweep per worker count. */
  wallMs: Record<string, number>;
  /** wallMs with 1 worker / wallMs with the most workers. */
  speedup: number;
  /** Whether every worker count gave the same per-seed verdicts, trace hashes and event counts. */
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
 * `ksim sweep nemesis` over seeds 1..`seeds` with 1 worker, then with `workers`, each in a child
 * process exactly as a user runs it (bin/ksim, which starts Node with --single-threaded-gc).
 */
export async function benchSweep(seeds: number, workers = Math.max(2, availableParallelism())): Promise<SweepBench> {
  const ksim = fileURLToPath(new URL('../../bin/ksim', import.meta.url));
  const out = mkdtempSync(join(tmpdir(), 'ksim-bench-'));
  const wallMs: Record<string, number> = {};
  const essences: string[] = [];
  for (const n of [1, workers]) {
    const args = [ksim, 'sweep', 'nemesis', '--seeds', String(seeds), '--workers', String(n), '--no-shrink', '--recheck-ratio', '0', '--out', out, '--json'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0 && r.status !== 1 && r.status !== 2) throw new Error(`bench: ksim sweep exited with ${r.status}: ${r.stderr.split('\n')[0]}`);
    const doc = JSON.parse(r.stdout) as { wallMs: number; results: { seed: number; verdict: string; traceHash: string; events: number }[] };
    wallMs[`workers=${n}`] = doc.wallMs;
    essences.push(JSON.stringify(doc.results.map((x) => [x.seed, x.verdict, x.traceHash, x.events])));
  }
  const one = wallMs['workers=1'] as number;
  const many = wallMs[`workers=${workers}`] as number;
  return {
    scenario: 'nemesis',
    seeds,
    cores: availableParallelism(),
    wallMs,
    speedup: Math.round((one / many) * 100) / 100,
    identical: essences.every((e) => e === essences[0]),
  };
}

export async function runBench(sweepSeeds = 24): Promise<BenchReport> {
  const kernel = benchKernel();
  const scenarios = [benchDemo(10), benchCluster(5)];
  return { node: process.version, kernelEvents: kernel.events, kernelEventsPerSec: kernel.eventsPerSec, scenarios, sweep: await benchSweep(sweepSeeds) };
}
