// Helpers shared by the scripted bug-zoo scenarios (test/scenario/zoo-*.test.ts): explicit producer
// sends, a cluster run with a fault script (plus, where a scenario needs one, a fault set fired by
// the first of several trace events), the trace events a scenario asserts on (kept by a listener,
// so runs need not record the whole trace), and the readings the assertions use.
//
// Set KSIM_ZOO_TRACE=1 to print each run's ISR, election and fault events while designing.

import type { Controller } from '../../core/controller/controller.js';
import type { PartitionRegistration } from '../../core/metadata.js';
import { buildCluster, type Cluster, type ClusterSpec, CONTROLLER_NODE, replicaRecords } from '../../scenarios/cluster.js';
import { applyFault, describeFault, type FaultAction, type FaultBody, installFaults, matches, type TraceMatch } from '../../sim/faults.js';
import type { TraceRecord } from '../../sim/trace.js';
import type { RunResult } from '../../sim/world.js';

/** `count` sends on partition 0, valued `${prefix}${first}…`, one every `stepMs` from `fromMs` (producer-local time). */
export function sends(prefix: string, fromMs: number, count: number, stepMs: number, first = 0): { atMs: number; partition: number; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: fromMs + i * stepMs, partition: 0, value: `${prefix}${first + i}` }));
}

/** Faults applied once, together, on the first trace event matching any of `on` (plus `delayMs`). */
export interface FirstOfFaults {
  on: TraceMatch[];
  delayMs?: number;
  faults: FaultBody[];
}

export interface ScenarioRun {
  c: Cluster;
  result: RunResult;
  /** Trace events of the kinds asked for, in order. */
  events: TraceRecord[];
  /** Indexes of `on` faults whose trigger never fired. */
  unfired: number[];
  /** Per FirstOfFaults: the event that fired it, if any. */
  firstOfFired: (TraceRecord | undefined)[];
}

/** The kinds printed with KSIM_ZOO_TRACE=1. */
const DEBUG_KINDS = new Set([
  'fault',
  'node.crash',
  'node.restart',
  'node.wipe',
  'broker.registered',
  'controller.register',
  'controller.fence',
  'controller.unfence',
  'controller.unclean-shutdown',
  'controller.elect',
  'controller.partition-change',
  'controller.alter-partition',
  'isr.expand-proposed',
  'isr.shrink-proposed',
  'isr.changed',
  'isr.change-rejected',
  'partition.leader',
  'replica.truncate',
  'produce.append',
]);

/** Build the cluster, install the fault script, run until `untilMs`, keeping events of `kinds`. */
export function runScenario(
  spec: ClusterSpec,
  faults: readonly FaultAction[],
  untilMs: number,
  kinds: readonly string[],
  firstOf: readonly FirstOfFaults[] = [],
): ScenarioRun {
  const c = buildCluster(spec);
  const events: TraceRecord[] = [];
  const wanted = new Set(kinds);
  const debug = process.env.KSIM_ZOO_TRACE === '1';
  c.world.trace.subscribe((r) => {
    if (wanted.has(r.kind)) events.push(r);
    if (debug && DEBUG_KINDS.has(r.kind))
      console.log(`${r.timeMs.toFixed(1).padStart(9)} ${r.node.padEnd(5)} ${r.kind.padEnd(28)} ${JSON.stringify(r.fields ?? {})}`);
  });
  const installed = installFaults(c.world, faults);
  const firstOfFired = firstOf.map((f, i) => installFirstOf(c, f, `first-of-${i}`));
  c.world.startAll();
  const result = c.world.run({ untilMs });
  return { c, result, events, unfired: installed.unfired(), firstOfFired: firstOfFired.map((get) => get()) };
}

/** Apply `f.faults` once, on the first event matching any of `f.on`; returns the event that fired it. */
function installFirstOf(c: Cluster, f: FirstOfFaults, id: string): () => TraceRecord | undefined {
  let fired: TraceRecord | undefined;
  const unsubscribe = c.world.trace.subscribe((r) => {
    if (fired !== undefined || !f.on.some((m) => matches(m, r))) return;
    fired = r;
    unsubscribe();
    c.world.at(c.world.now + (f.delayMs ?? 0), id, () => {
      for (const body of f.faults) {
        c.world.emit('fault', { id, what: describeFault(body) });
        applyFault(c.world, body);
      }
    });
  });
  return () => fired;
}

/** Kept events of one kind (optionally on one node) whose fields include `fields`. */
export function eventsOf(run: ScenarioRun, kind: string, node?: string, fields: Record<string, unknown> = {}): TraceRecord[] {
  return run.events.filter((e) => e.kind === kind && (node === undefined || e.node === node) && Object.entries(fields).every(([k, v]) => e.fields?.[k] === v));
}

/** A timeline of the kept events, for assertion messages: one line per event. */
export function timeline(run: ScenarioRun): string {
  return run.events.map((e) => `${e.timeMs.toFixed(1)} ${e.node} ${e.kind} ${JSON.stringify(e.fields ?? {})}`).join('\n');
}

/** The controller's committed registration of a partition. */
export function registration(c: Cluster, topic: string, partition: number): PartitionRegistration | undefined {
  return c.world.nodeState<Controller>(CONTROLLER_NODE)?.image.partition({ topic, partition });
}

/** The first recorded event of `kind` on `node` whose fields include `fields`. */
export function firstEvent(events: readonly TraceRecord[], kind: string, node?: string, fields: Record<string, unknown> = {}): TraceRecord | undefined {
  return events.find((r) => r.kind === kind && (node === undefined || r.node === node) && Object.entries(fields).every(([k, v]) => r.fields?.[k] === v));
}

/** Values a producer had acknowledged (ok), with the offsets and the time of the acknowledgement. */
export function acked(run: ScenarioRun, producer: string): { value: string; offset: number; atMs: number }[] {
  return run.events
    .filter((r) => r.kind === 'client.op' && r.node === producer && r.fields?.f === 'send' && r.fields?.type === 'ok')
    .map((r) => ({ value: r.fields?.value as string, offset: r.fields?.offset as number, atMs: r.timeMs }));
}

/** Every value consumer `consumer` polled (only committed records are served to consumers). */
export function polled(c: Cluster, consumer: string): string[] {
  return c.history.filter((o) => o.process === consumer && o.f === 'poll' && o.type === 'ok').flatMap((o) => o.values ?? []);
}

/** Values `consumer` polled that are at no offset of some replica's final log of `topic`-`partition`. */
export function polledButLost(c: Cluster, consumer: string, topic: string, partition: number): string[] {
  const problems: string[] = [];
  for (const b of c.brokers) {
    const held = new Set((replicaRecords(c.world, b, topic, partition) ?? []).map((r) => r.value));
    for (const v of polled(c, consumer))
      if (!held.has(v)) problems.push(`${v} was served to ${consumer} (committed), but ${b}'s final log of ${topic}-${partition} lacks it`);
  }
  return problems;
}

/** The values of a replica's final log, in offset order. */
export function logValues(c: Cluster, broker: string, topic: string, partition: number): (string | null)[] {
  return (replicaRecords(c.world, broker, topic, partition) ?? []).map((r) => r.value);
}

/** The same cluster with only the history of `processes` (for checks scoped to some clients). */
export function withHistoryOf(c: Cluster, ...processes: string[]): Cluster {
  return { ...c, history: c.history.filter((o) => processes.includes(o.process)) };
}
