// `ksim bench`: performance figures, all measured in this one process run.
//
// - kernelEventsPerSec: the bare scheduler moving no-op events through a queue of 1,000 pending
//   events — the ceiling every other figure is compared with.
// - scenarios[]: each scenario's events, simulated time, wall time, events per second, speed-up
//   (simulated ms per wall ms) and heap in use after the run.
// Figures are measured here, never asserted by tests (CI machines vary).

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

export function runBench(): BenchReport {
  const kernel = benchKernel();
  return { node: process.version, kernelEvents: kernel.events, kernelEventsPerSec: kernel.eventsPerSec, scenarios: [benchDemo(10), benchCluster(5)] };
}
