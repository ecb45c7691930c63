// Runs a scenario (scenarios/scenario.ts) and judges it (DESIGN.md §4–6).
//
// Phases:
//   1. Build the cluster (scenarios/cluster.ts) with the scenario's config plus the `--set`
//      overrides; install the invariants and subscribe the guarantee checker (scenarios/checkers.ts)
//      before anything runs, so they see every event.
//   2. Fault phase, [0, durationMs]: the scenario's explicit faults and, with `nemesis`, faults drawn
//      from the seed's `nemesis` stream between startMs and durationMs (each repaired within the
//      phase). An `on` fault whose trigger comes after durationMs never fires. Invariants run after
//      every event; the first to fail stops the run (World semantics).
//   3. At durationMs the world heals everything (world.healAll(): partitions, clogs, disk faults,
//      drift, pauses; crashed nodes restart).
//   4. Liveness phase, up to liveness.withinMs: the run continues until the cluster has converged —
//      every partition led, its ISR all its replicas (in the controller's view, and in fact: each
//      follows the leader's epoch and holds its log end), the leader's high watermark at its log end,
//      every producer done (nothing outstanding, nothing left to send) and every consumer at the high
//      watermark — checked every second of simulated time. A consumer's position is its own (after
//      any reset or detected truncation), not the offset after the last record it read: that record
//      may be gone (an unclean election truncated the log under it), and a position past the leader's
//      log end, or one still to be validated, is not caught up. With fix.kip-320 the consumer must
//      also know the leader's current epoch: until it does it has not validated its position against
//      that leader's log (with the fix off it never validates, so its epoch proves nothing).
//   5. Judgement. `invalid`: an invariant failed (during the run, or at the end: ReplicasConverge,
//      judged only once converged), a node's handler threw, or the guarantee model reports an
//      anomaly it does not allow. Otherwise `unknown`: the cluster did not converge within the
//      bound (the report says what did not), or the event budget ran out. Otherwise `valid`.
//      When the run did not converge, `unseen` anomalies (records no consumer read) are reported but
//      not counted: they are what non-convergence looks like from a consumer.

import type { Broker } from '../core/broker/broker.js';
import type { Consumer } from '../core/client/consumer.js';
import type { ConfigValue } from '../core/config.js';
import type { Controller } from '../core/controller/controller.js';
import { CHANNELS, NO_LEADER, tpKey } from '../core/protocol.js';
import { type FaultAction, installFaults } from '../sim/faults.js';
import { drawNemesis, type NemesisPlan } from '../sim/nemesis.js';
import type { RunStatus } from '../sim/scheduler.js';
import { judges as defaultJudges, type Judges } from './checkers.js';
import type { Anomaly, Verdict, Violation } from './checks.js';
import { buildCluster, type Cluster, type ClusterSpec, CONTROLLER_NODE } from './cluster.js';
import { configValue, DEFAULT_NEMESIS_START_MS, type Expectation, type Scenario } from './scenario.js';

export const DEFAULT_MAX_EVENTS = 20_000_000;
/** How often (simulated ms) the liveness phase checks for convergence. */
const LIVENESS_STEP_MS = 1000;

export interface RunOptions {
  seed: number;
  /** Config overrides (`--set key=value`); strings are converted to the key's type. */
  set?: Readonly<Record<string, ConfigValue>>;
  /** Keep every trace record (for `--trace`). */
  record?: boolean;
  /** Event budget for the whole run (default 20 million); exhausted ⇒ verdict `unknown`. */
  maxEvents?: number;
  /** The invariants and guarantee model (default: scenarios/invariants.ts and guarantees.ts). */
  judges?: Judges;
}

export interface RunStats {
  /** Send operations invoked, acknowledged (ok), certainly not written (fail), and of unknown outcome (info, or never answered). */
  sent: number;
  acked: number;
  failed: number;
  indeterminate: number;
  /** `lost-write` anomalies (allowed or not). */
  lost: number;
  /** Records handed to consumers (with repeats). */
  polled: number;
  /** Faults applied (explicit and drawn). */
  faults: number;
  crashes: number;
  elections: number;
  uncleanElections: number;
  truncations: number;
  messages: number;
  messagesLost: number;
  /** Per partition, the longest time between two acknowledged sends (the worst partition). */
  maxAckGapMs: number;
}

export interface RunSettings {
  /** The config keys the scenario sets, with the `--set` overrides applied (every other key has ksim's default). */
  config: Record<string, ConfigValue>;
  /** The `--set` overrides of this run. */
  set: Record<string, ConfigValue>;
  durationMs: number;
  livenessMs: number;
  /** The nemesis as drawn (kinds, mean interval, swarm mode), or null without one. */
  nemesis: {
    kinds: string[];
    meanIntervalMs: number;
    swarm: boolean;
    startMs: number;
    nodes: string[];
    peers?: string[];
    meanDurationMs?: Record<string, number>;
  } | null;
}

export interface RunReport {
  scenario: string;
  description: string;
  seed: number;
  settings: RunSettings;
  verdict: Verdict;
  /** Why the verdict is `unknown` (what did not converge, or the event budget). */
  notConverged: string[];
  violations: Violation[];
  anomalies: Anomaly[];
  /** Names of the invariants that were checked. */
  invariants: readonly string[];
  traceHash: string;
  events: number;
  simulatedMs: number;
  /** When the liveness phase saw the cluster converged (null if it did not). */
  convergedAtMs: number | null;
  wallMs: number;
  stats: RunStats;
  replay: string;
  /** The concrete fault schedule: explicit faults first, then the nemesis's (ids f0, f1, … in this order). */
  faults: FaultAction[];
  /** Indexes (into `faults`) of `on` faults whose trigger never came within the fault phase. */
  unfiredFaults: number[];
}

export interface DetailedRun {
  report: RunReport;
  cluster: Cluster;
}

export function runScenario(s: Scenario, opts: RunOptions): RunReport {
  return runScenarioDetailed(s, opts).report;
}

/** The report and the cluster it ran on (for `--trace` and for tests that inspect the final state). */
export function runScenarioDetailed(s: Scenario, opts: RunOptions): DetailedRun {
  const t0 = performance.now();
  const set: Record<string, ConfigValue> = {};
  for (const [k, v] of Object.entries(opts.set ?? {})) set[k] = configValue(k, v, '--set');
  const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;
  const j = opts.judges ?? defaultJudges();

  const c = buildCluster(scenarioClusterSpec(s, opts.seed, set, opts.record ?? false));
  const world = c.world;
  const { names: invariantNames } = j.installInvariants(c);
  const checker = j.createGuaranteeChecker(c);
  const observer = observe(c, s);

  // The fault phase: explicit faults and the nemesis. A broker's connections to the controller have
  // channels (heartbeat, AlterPartition, metadata) the nemesis may clog or reset one at a time.
  const controllerChannels = CHANNELS.filter((ch) => ch !== 'default');
  let plan: NemesisPlan | undefined;
  let nemesisSettings: RunSettings['nemesis'] = null;
  const faults: FaultAction[] = [...s.faults];
  if (s.nemesis !== undefined) {
    const startMs = s.nemesis.startMs ?? Math.min(DEFAULT_NEMESIS_START_MS, Math.round(s.durationMs / 10));
    const nodes = s.nemesis.nodes ?? c.brokers;
    plan = drawNemesis(world.streams.stream('nemesis'), {
      ...(s.nemesis.kinds ? { kinds: s.nemesis.kinds } : {}),
      ...(s.nemesis.meanIntervalMs ? { meanIntervalMs: s.nemesis.meanIntervalMs } : {}),
      startMs,
      endMs: s.durationMs,
      nodes,
      ...(s.nemesis.peers ? { peers: s.nemesis.peers } : {}),
      ...(s.nemesis.meanDurationMs ? { meanDurationMs: s.nemesis.meanDurationMs } : {}),
      channels: (from, to) =>
        (c.brokers.includes(from) && to === CONTROLLER_NODE) || (from === CONTROLLER_NODE && c.brokers.includes(to)) ? controllerChannels : [],
    });
    faults.push(...plan.faults);
    nemesisSettings = {
      kinds: plan.kinds,
      meanIntervalMs: plan.meanIntervalMs,
      swarm: plan.swarm,
      startMs,
      nodes: [...nodes],
      ...(s.nemesis.peers ? { peers: [...s.nemesis.peers] } : {}),
      ...(s.nemesis.meanDurationMs ? { meanDurationMs: { ...s.nemesis.meanDurationMs } } : {}),
    };
  }
  // An `on` fault fires only if its trigger and its time fall within the fault phase.
  const installed = installFaults(world, faults, { untilMs: s.durationMs });
  world.at(s.durationMs, 'heal-all', () => world.healAll());
  world.startAll();

  const budget = () => ({ maxEvents: Math.max(0, maxEvents - world.scheduler.eventsExecuted) });
  let status: RunStatus | 'failed' = world.run({ untilMs: s.durationMs, ...budget() }).status;
  // The liveness phase: until converged, or the bound.
  const endMs = s.durationMs + s.liveness.withinMs;
  let notConverged: string[] = [];
  let convergedAtMs: number | null = null;
  while (status === 'time-limit' || status === 'idle') {
    notConverged = convergence(c, s, observer);
    if (notConverged.length === 0) {
      convergedAtMs = world.now;
      break;
    }
    if (world.now >= endMs) break;
    status = world.run({ untilMs: Math.min(endMs, world.now + LIVENESS_STEP_MS), ...budget() }).status;
  }
  if (status === 'event-budget') notConverged = [`event budget of ${maxEvents} events exhausted at ${round(world.now)}ms`];
  // End-of-run invariants (ReplicasConverge) are judged only on a converged cluster.
  if (world.firstFailure === undefined && convergedAtMs !== null) world.checkAtEnd();
  const failure = world.firstFailure;
  const anomalies = checker.finish();

  const violations: Violation[] = [];
  if (failure !== undefined) {
    violations.push({
      invariant: failure.kind === 'node-error' ? 'node-error' : failure.name,
      atMs: round(failure.timeMs),
      ...(failure.node !== undefined ? { node: failure.node } : {}),
      detail: failure.kind === 'node-error' ? `${failure.name}: ${failure.detail}` : failure.detail,
    });
  }
  const converged = convergedAtMs !== null;
  for (const a of anomalies) {
    if (a.allowed) continue;
    if (!converged && a.anomaly === 'unseen') continue;
    const v: Violation = { anomaly: a.anomaly, atMs: round(a.atMs ?? world.now), detail: `${a.detail} — ${a.why}` };
    if (a.node !== undefined) v.node = a.node;
    if (a.partition !== undefined) v.partition = a.partition;
    violations.push(v);
  }
  const verdict: Verdict = violations.length > 0 ? 'invalid' : converged ? 'valid' : 'unknown';
  if (verdict === 'invalid' && failure !== undefined) notConverged = [];

  const h = observer.history();
  const report: RunReport = {
    scenario: s.name,
    description: s.description,
    seed: opts.seed,
    settings: { config: { ...s.config, ...set }, set, durationMs: s.durationMs, livenessMs: s.liveness.withinMs, nemesis: nemesisSettings },
    verdict,
    notConverged: verdict === 'valid' ? [] : notConverged,
    violations,
    anomalies,
    invariants: [...invariantNames],
    traceHash: world.trace.hash,
    events: world.scheduler.eventsExecuted,
    simulatedMs: round(world.now),
    convergedAtMs: convergedAtMs === null ? null : round(convergedAtMs),
    wallMs: Math.round(performance.now() - t0),
    stats: {
      sent: h.sent,
      acked: h.acked,
      failed: h.failed,
      indeterminate: h.indeterminate,
      lost: anomalies.filter((a) => a.anomaly === 'lost-write').length,
      polled: h.polled,
      faults: observer.counts.faults,
      crashes: observer.counts.crashes,
      elections: observer.counts.elections,
      uncleanElections: observer.counts.uncleanElections,
      truncations: observer.counts.truncations,
      messages: world.network.stats.sent,
      messagesLost: world.network.stats.lost,
      maxAckGapMs: round(h.maxAckGapMs),
    },
    replay: replayCommand(s.source, opts.seed, set, opts.maxEvents),
    faults,
    unfiredFaults: installed.unfired(),
  };
  return { report, cluster: c };
}

/**
 * The cluster of a scenario as the runner builds it (also for tests that drive a scenario's cluster
 * and faults themselves): `set` holds config overrides, already of their keys' types.
 */
export function scenarioClusterSpec(s: Scenario, seed: number, set: Readonly<Record<string, ConfigValue>> = {}, record = false): ClusterSpec {
  return {
    seed,
    brokers: s.brokers,
    topics: s.topics,
    config: { ...s.config, ...set },
    producers: s.producers.map((p) => {
      const config = { ...(p.acks !== undefined ? { acks: p.acks } : {}), ...(p.config ?? {}) };
      return {
        id: p.id,
        topic: p.topic,
        ops: p.ops,
        ...(p.ratePerSec !== undefined ? { ratePerSec: p.ratePerSec, stopAtMs: p.stopAtMs ?? s.durationMs } : {}),
        ...(p.ratePerSec === undefined && p.stopAtMs !== undefined ? { stopAtMs: p.stopAtMs } : {}),
        ...(p.partitions !== undefined ? { partitions: p.partitions } : {}),
        ...(Object.keys(config).length > 0 ? { config } : {}),
      };
    }),
    consumers: s.consumers.map((k) => ({
      id: k.id,
      topic: k.topic,
      ...(k.partitions ? { partitions: k.partitions } : {}),
      ...(k.config ? { config: k.config } : {}),
    })),
    record,
    ...(s.disk ? { disk: s.disk } : {}),
    ...(s.network ? { network: s.network } : {}),
  };
}

/** `ksim run <source> --seed N [--set k=v]…` */
export function replayCommand(source: string, seed: number, set: Readonly<Record<string, ConfigValue>>, maxEvents?: number): string {
  const quote = (x: string) => (/^[A-Za-z0-9._/=:,+-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  return [
    'ksim run',
    quote(source),
    `--seed ${seed}`,
    ...Object.entries(set).map(([k, v]) => `--set ${quote(`${k}=${v}`)}`),
    ...(maxEvents !== undefined ? [`--max-events ${maxEvents}`] : []),
  ].join(' ');
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Observing the run: client outcomes and counts, kept by a trace listener (no full trace needed).

interface Observer {
  counts: { faults: number; crashes: number; elections: number; uncleanElections: number; truncations: number };
  /** Values invoked by a producer's current incarnation and not yet answered. */
  pending: Map<string, Set<string>>;
  history(): { sent: number; acked: number; failed: number; indeterminate: number; polled: number; maxAckGapMs: number };
}

function observe(c: Cluster, s: Scenario): Observer {
  const counts = { faults: 0, crashes: 0, elections: 0, uncleanElections: 0, truncations: 0 };
  const pending = new Map<string, Set<string>>(s.producers.map((p) => [p.id, new Set<string>()]));
  let sent = 0;
  let acked = 0;
  let failed = 0;
  let info = 0;
  let abandoned = 0;
  let polled = 0;
  const lastAck = new Map<string, number>();
  let maxAckGapMs = 0;
  c.world.trace.subscribe((r) => {
    switch (r.kind) {
      case 'fault':
        counts.faults++;
        return;
      case 'node.crash':
      case 'node.halt':
      case 'node.wipe': {
        if (r.kind === 'node.crash') counts.crashes++;
        const p = pending.get(r.node);
        if (p !== undefined) {
          abandoned += p.size;
          p.clear();
        }
        return;
      }
      case 'controller.elect':
        counts.elections++;
        if (/unclean/i.test(String(r.fields?.reason ?? ''))) counts.uncleanElections++;
        return;
      case 'replica.truncate':
        counts.truncations++;
        return;
      case 'client.op': {
        const f = r.fields;
        if (f === undefined) return;
        if (f.f === 'send') {
          const p = pending.get(r.node);
          const value = f.value as string;
          if (f.type === 'invoke') {
            sent++;
            p?.add(value);
            return;
          }
          if (p?.delete(value) === false) return; // an answer to an abandoned incarnation's send cannot come
          if (f.type === 'ok') {
            acked++;
            const key = `${f.topic}-${f.partition}`;
            const last = lastAck.get(key);
            if (last !== undefined) maxAckGapMs = Math.max(maxAckGapMs, r.timeMs - last);
            lastAck.set(key, r.timeMs);
          } else if (f.type === 'fail') failed++;
          else info++;
        } else if (f.f === 'poll' && f.type === 'ok') {
          const offsets = (f.offsets as readonly number[] | undefined) ?? [];
          polled += offsets.length;
        }
        return;
      }
    }
  });
  return {
    counts,
    pending,
    history: () => {
      let open = 0;
      for (const p of pending.values()) open += p.size;
      return { sent, acked, failed, indeterminate: info + abandoned + open, polled, maxAckGapMs };
    },
  };
}

/** What has not converged yet (empty: converged). */
function convergence(c: Cluster, s: Scenario, o: Observer): string[] {
  const w = c.world;
  const out: string[] = [];
  for (const n of w.nodeNames) if (!w.isUp(n)) out.push(`${n} is down`);
  const controller = w.nodeState<Controller>(CONTROLLER_NODE);
  const hw = new Map<string, number>();
  const epochs = new Map<string, number>();
  if (controller !== undefined) {
    for (const t of s.topics) {
      for (let p = 0; p < t.partitions; p++) {
        const tp = { topic: t.name, partition: p };
        const key = tpKey(tp);
        const reg = controller.image.partition(tp);
        if (reg === undefined) {
          out.push(`${key}: not created`);
          continue;
        }
        if (reg.leader === NO_LEADER) {
          out.push(`${key}: no leader (ISR [${reg.isr.join(',')}])`);
          continue;
        }
        if (reg.isr.length !== reg.replicas.length) out.push(`${key}: ISR [${reg.isr.join(',')}] of replicas [${reg.replicas.join(',')}]`);
        const leader = `b${reg.leader}`;
        const b = w.nodeState<Broker>(leader);
        const part = b?.partitions.get(key);
        if (b === undefined || part === undefined || !part.isLeader || part.leaderEpoch !== reg.leaderEpoch) {
          out.push(`${key}: ${leader} does not yet act as leader of epoch ${reg.leaderEpoch}`);
          continue;
        }
        const log = part.log;
        hw.set(key, log.highWatermark);
        epochs.set(key, reg.leaderEpoch);
        if (log.highWatermark !== log.logEndOffset) out.push(`${key}: ${leader}'s high watermark ${log.highWatermark} < log end ${log.logEndOffset}`);
        // The controller's ISR can be stale (a broker that just lost power is in it until its
        // session expires): every replica must itself follow this epoch and hold the leader's log end.
        for (const r of reg.replicas) {
          if (r === reg.leader) continue;
          const f = w.nodeState<Broker>(`b${r}`)?.partitions.get(key);
          if (f === undefined || f.isLeader || f.leaderEpoch !== reg.leaderEpoch) out.push(`${key}: b${r} does not yet follow epoch ${reg.leaderEpoch}`);
          else if (f.log.logEndOffset !== log.logEndOffset) out.push(`${key}: b${r} at log end ${f.log.logEndOffset}, leader ${leader} at ${log.logEndOffset}`);
        }
      }
    }
  }
  for (const p of s.producers) {
    const open = o.pending.get(p.id)?.size ?? 0;
    if (open > 0) out.push(`${p.id}: ${open} send${open === 1 ? '' : 's'} outstanding`);
    if (w.isUp(p.id) && p.ops.some((op) => op.atMs > w.localTime(p.id))) out.push(`${p.id}: explicit sends still to come`);
  }
  for (const k of s.consumers) {
    const consumer = w.nodeState<Consumer>(k.id);
    const topic = s.topics.find((t) => t.name === k.topic);
    const parts = k.partitions ?? Array.from({ length: topic?.partitions ?? 0 }, (_, i) => i);
    for (const p of parts) {
      const key = tpKey({ topic: k.topic, partition: p });
      const high = hw.get(key);
      if (high === undefined) continue;
      const pos = consumer?.position(p);
      const epoch = epochs.get(key) as number;
      if (pos === undefined) out.push(`${k.id}: no position on ${key}`);
      else if (pos.state !== 'fetching') out.push(`${k.id}: ${key} ${pos.state} (position ${pos.offset})`);
      else if (consumer?.kip320 === true && pos.currentLeaderEpoch !== epoch)
        out.push(`${k.id}: at ${key} offset ${pos.offset} with leader epoch ${pos.currentLeaderEpoch}, not yet validated against epoch ${epoch}`);
      else if (pos.offset !== high) out.push(`${k.id}: at ${key} offset ${pos.offset}, high watermark ${high}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expectations of built-in scenarios (ksim check, test/scenario/builtin.test.ts)

/** The verdicts an expectation accepts. */
export function expectedVerdicts(e: Expectation): Verdict[] {
  return Array.isArray(e.verdict) ? e.verdict : [e.verdict];
}

/** Whether one run meets an expectation: undefined if it does, else what is wrong (one line). */
export function checkExpectation(r: RunReport, e: Expectation): string | undefined {
  const verdicts = expectedVerdicts(e);
  if (!verdicts.includes(r.verdict)) {
    const first = r.violations[0];
    const why = first ? `: ${first.invariant ?? first.anomaly} ${first.detail}` : r.notConverged[0] ? `: ${r.notConverged[0]}` : '';
    return `seed ${r.seed} is ${r.verdict}, expected ${verdicts.join(' or ')}${why}`.slice(0, 300);
  }
  for (const name of e.allowed ?? []) if (!r.anomalies.some((a) => a.anomaly === name && a.allowed)) return `seed ${r.seed} reports no allowed ${name}`;
  for (const name of e.absent ?? []) {
    const a = r.anomalies.find((x) => x.anomaly === name);
    if (a !== undefined) return `seed ${r.seed} reports ${name} (${a.allowed ? 'allowed' : 'violation'}): ${a.detail}`.slice(0, 300);
  }
  if (e.maxAckGapMs !== undefined && r.stats.maxAckGapMs > e.maxAckGapMs)
    return `seed ${r.seed}: a partition went ${r.stats.maxAckGapMs}ms without an acknowledgement (at most ${e.maxAckGapMs}ms expected)`;
  return undefined;
}

/** `key=value …` of an expectation's setting, or `defaults`. */
export function settingLabel(set: Readonly<Record<string, ConfigValue>>): string {
  const parts = Object.entries(set).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(' ') : 'defaults';
}
