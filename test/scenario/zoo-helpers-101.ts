// Small helpers for the scripted bug-zoo scenarios of fix.kip-101 and fix.kip-279
// (zoo-kip-101.test.ts, zoo-kip-279.test.ts): explicit producer sends, a cluster run with a fault
// script, and the trace events a scenario asserts on (kept by a listener, so runs need not record
// the whole trace).

import type { Controller } from '../../core/controller/controller.js';
import type { PartitionRegistration } from '../../core/metadata.js';
import { buildCluster, type Cluster, type ClusterSpec, CONTROLLER_NODE } from '../../scenarios/cluster.js';
import { type FaultAction, installFaults } from '../../sim/faults.js';
import type { TraceRecord } from '../../sim/trace.js';
import type { RunResult } from '../../sim/world.js';

/** `count` sends on `partition`, valued `${prefix}0…`, one every `stepMs` from `fromMs` (producer-local time). */
export function sends(prefix: string, fromMs: number, count: number, stepMs: number, partition = 0): { atMs: number; partition: number; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: fromMs + i * stepMs, partition, value: `${prefix}${i}` }));
}

export interface ScenarioRun {
  c: Cluster;
  result: RunResult;
  /** Trace events of the kinds asked for, in order. */
  events: TraceRecord[];
  /** Indexes of `on` faults whose trigger never fired. */
  unfired: number[];
}

/** Build the cluster, install the fault script, run until `untilMs`, keeping events of `kinds`. */
export function runScenario(spec: ClusterSpec, faults: readonly FaultAction[], untilMs: number, kinds: readonly string[]): ScenarioRun {
  const c = buildCluster(spec);
  const events: TraceRecord[] = [];
  const wanted = new Set(kinds);
  c.world.trace.subscribe((r) => {
    if (wanted.has(r.kind)) events.push(r);
  });
  const installed = installFaults(c.world, faults);
  c.world.startAll();
  const result = c.world.run({ untilMs });
  return { c, result, events, unfired: installed.unfired() };
}

/** Events of one kind (optionally on one node) whose fields include `fields`. */
export function eventsOf(run: ScenarioRun, kind: string, node?: string, fields: Record<string, unknown> = {}): TraceRecord[] {
  return run.events.filter((e) => e.kind === kind && (node === undefined || e.node === node) && Object.entries(fields).every(([k, v]) => e.fields?.[k] === v));
}

/** The controller's committed registration of a partition. */
export function registration(c: Cluster, topic: string, partition: number): PartitionRegistration | undefined {
  return c.world.nodeState<Controller>(CONTROLLER_NODE)?.image.partition({ topic, partition });
}
