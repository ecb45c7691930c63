// Shared plumbing of the scripted bug-zoo scenarios for fix.kip-320 and fix.kafka-7128: build the
// cluster, install a fault schedule (JSON data, sim/faults.ts), run, and keep the trace events the
// assertions look at (only those kinds, so a run does not record the whole trace).

import { buildCluster, type Cluster, type ClusterSpec } from '../../scenarios/cluster.js';
import { type FaultAction, installFaults } from '../../sim/faults.js';
import type { TraceRecord } from '../../sim/trace.js';
import type { RunResult } from '../../sim/world.js';

export interface ZooRun {
  readonly c: Cluster;
  readonly result: RunResult;
  /** Indices of `on` faults whose trigger never matched. */
  readonly unfired: number[];
  /** The kept trace events, in order. */
  readonly events: TraceRecord[];
}

/** Build `spec`, install `faults`, run until `untilMs`, keeping the trace events of `kinds`. */
export function runZoo(spec: ClusterSpec, faults: readonly FaultAction[], untilMs: number, kinds: readonly string[]): ZooRun {
  const c = buildCluster(spec);
  const keep = new Set(kinds);
  const events: TraceRecord[] = [];
  c.world.trace.subscribe((r) => {
    if (keep.has(r.kind)) events.push(r);
  });
  const installed = installFaults(c.world, faults);
  c.world.startAll();
  const result = c.world.run({ untilMs });
  return { c, result, unfired: installed.unfired(), events };
}

/** Kept events of one kind (and node, if given). */
export function eventsOf(run: ZooRun, kind: string, node?: string): TraceRecord[] {
  return run.events.filter((e) => e.kind === kind && (node === undefined || e.node === node));
}

/** A timeline of the kept events, for assertion messages: one line per event. */
export function timeline(run: ZooRun): string {
  return run.events.map((e) => `${e.timeMs.toFixed(1)} ${e.node} ${e.kind} ${JSON.stringify(e.fields ?? {})}`).join('\n');
}
