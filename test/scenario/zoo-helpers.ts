// Helpers shared by the scripted bug-zoo scenarios (test/scenario/zoo-*.test.ts): a run of the
// catalogue's scenario (scenarios/builtin/zoo.ts) with its fix on or off, the trace events a
// scenario asserts on (kept by a listener, so runs need not record the whole trace), and the
// readings the assertions use.
//
// Set KSIM_ZOO_TRACE=1 to print each run's ISR, election and fault events while designing.

import type { Controller } from '../../core/controller/controller.js';
import type { PartitionRegistration } from '../../core/metadata.js';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import { buildCluster, type Cluster, CONTROLLER_NODE, replicaRecords } from '../../scenarios/cluster.js';
import { scenarioClusterSpec } from '../../scenarios/runner.js';
import { installFaults } from '../../sim/faults.js';
import type { TraceRecord } from '../../sim/trace.js';
import type { RunResult } from '../../sim/world.js';

export interface ScenarioRun {
  c: Cluster;
  result: RunResult;
  /** Trace events of the kinds asked for, in order. */
  events: TraceRecord[];
  /** Indexes of `on` faults whose trigger never fired. */
  unfired: number[];
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

/**
 * Run a bug-zoo scenario of the catalogue (scenarios/builtin/zoo.ts, the same name as its `fix.*`
 * key) with that fix on or off, set up as the runner sets it up — its cluster, its faults within
 * its fault phase, a heal-all at its end — until `untilMs`, keeping events of `kinds`.
 */
export function runZooScenario(name: string, seed: number, fix: boolean, untilMs: number, kinds: readonly string[]): ScenarioRun {
  const s = builtinScenario(name);
  const c = buildCluster(scenarioClusterSpec(s, seed, { [`fix.${name}`]: fix }));
  const events: TraceRecord[] = [];
  const wanted = new Set(kinds);
  const debug = process.env.KSIM_ZOO_TRACE === '1';
  c.world.trace.subscribe((r) => {
    if (wanted.has(r.kind)) events.push(r);
    if (debug && DEBUG_KINDS.has(r.kind))
      console.log(`${r.timeMs.toFixed(1).padStart(9)} ${r.node.padEnd(5)} ${r.kind.padEnd(28)} ${JSON.stringify(r.fields ?? {})}`);
  });
  const installed = installFaults(c.world, s.faults, { untilMs: s.durationMs });
  c.world.at(s.durationMs, 'heal-all', () => c.world.healAll());
  c.world.startAll();
  const result = c.world.run({ untilMs });
  return { c, result, events, unfired: installed.unfired() };
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
