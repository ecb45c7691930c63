// Shrinking a failure (`ksim shrink`): the failing run's concrete scenario is cut down, one edit at
// a time, while the same invariant or anomaly still fails with the same seed and settings. The
// walk is fast-check's: the failing scenario is the one value of a custom arbitrary whose `shrink`
// lists smaller scenarios, biggest cuts first; fast-check runs them in order, moves to the first that
// still fails, asks for its shrinks, and stops when none fails. What comes out is a scenario JSON a
// person can read and commit as a regression test.
//
// The edits, in the order tried:
//   1. drop half, then a quarter, … of the fault schedule (delta debugging's chunks);
//   2. a smaller cluster: one broker fewer (where every topic still fits), one partition fewer,
//      replication factor one lower; faults naming a node that no longer exists are dropped;
//   3. drop a consumer or a producer; end the fault phase just after its last fault or send;
//   4. drop chunks of explicit sends, down to single ones; drop single faults;
//   5. make one fault milder: halve a pause, clog or disk fault's duration, a clock step or drift;
//      halve a producer's rate;
//   6. drop faults that belong together (a race found by the nemesis often needs all of a dozen
//      faults but one, yet fails again without two of them): an outage with its repair (a crash,
//      wipe or shutdown and the node's next restart, a partition and its heal); a repair with the
//      next outage of the same thing (a restart and the node's next crash: one longer outage; a heal
//      and the next partition); any two faults, in schedules of at most PAIR_LIMIT faults. Each of
//      these also drops the repairs it leaves with nothing to repair (a restart of a running node,
//      a heal with no partition or clog in force);
//   7. rewrite without dropping: two partitions in a row become one (the second's shape from the
//      first's time); a simpler partition shape (a one-node side becomes `isolate`, three sides
//      become two); a fault moved to the time of the fault before or after it, its repair moving
//      with it, where this leaves fewer different fault times.
// Every candidate is checked by parseScenario; one that does not parse is not tried. No edit adds
// faults, and those that keep every fault leave something smaller: fewer different fault times (a
// move), fewer named nodes or sides (a simpler shape), a shorter duration or a lower rate; so the
// walk cannot go round in a circle. As a guard, a candidate the walk has already moved through is
// not tried again, nor one listed twice (two drops that orphan the same repair).
//
// Runs go to a worker pool when one is given: while fast-check waits for candidate i, candidates
// i+1 … i+W-1 of the same list already run on the other workers (speculation; at most W-1 runs
// are wasted when candidate i still fails and the walk moves on).

import fc from 'fast-check';
import type { ConfigValue } from '../core/config.js';
import type { Violation } from './checks.js';
import { type FailureFile, failureFromReport, violationName } from './failure.js';
import type { RunPool } from './pool.js';
import { type RunReport, runScenario } from './runner.js';
import { parseScenario } from './scenario.js';

type Json = Record<string, unknown>;

export interface ScenarioSize {
  faults: number;
  ops: number;
  durationMs: number;
  brokers: number;
  partitions: number;
  producers: number;
  consumers: number;
}

export interface ShrinkOptions {
  /** The failure to shrink (its concrete scenario, seed and settings). */
  failure: FailureFile;
  /** Run candidates here (speculatively in parallel); absent: in this thread. */
  pool?: RunPool;
  /** Stop trying new candidates after this long (default 10 minutes). */
  timeLimitMs?: number;
  /** Called after every candidate run. */
  onRun?: (info: { runs: number; size: ScenarioSize; failed: boolean }) => void;
}

export interface ShrinkResult {
  /** What must keep failing: the invariant or anomaly name, or `liveness`. */
  target: string;
  reproduced: boolean;
  before: ScenarioSize;
  after: ScenarioSize;
  /** Candidate runs (including the first, which reproduces the failure). */
  runs: number;
  /** Shrink steps taken (candidates that still failed). */
  steps: number;
  wallMs: number;
  timedOut: boolean;
  /** The smallest failing scenario, with an `expect` entry naming the failure: commit it as a regression test. */
  scenario: Json;
  /** Its run (seed and settings as the original). */
  report: RunReport | undefined;
  /** A failure file for the shrunk run (replays it). */
  shrunkFailure: FailureFile | undefined;
}

const DEFAULT_TIME_LIMIT_MS = 10 * 60_000;

export async function shrinkFailure(o: ShrinkOptions): Promise<ShrinkResult> {
  const t0 = performance.now();
  const f = o.failure;
  const target = violationName(f.firstViolation);
  const deadline = t0 + (o.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS);
  const original = JSON.parse(JSON.stringify(f.scenario)) as Json;
  // Evaluations by candidate JSON text: a run is a pure function of it (seed and settings fixed).
  const runs = new Map<string, Promise<RunReport>>();
  const done = new Map<string, RunReport>();
  let runCount = 0;
  let steps = 0;
  let timedOut = false;
  // The scenarios the walk has moved through (each failed).
  const walked = new Set<string>([JSON.stringify(original)]);

  const evaluate = (json: Json): Promise<RunReport> => {
    const key = JSON.stringify(json);
    let p = runs.get(key);
    if (p === undefined) {
      p = runCandidate(json, f, o.pool).then((r) => {
        done.set(key, r);
        runCount++;
        o.onRun?.({ runs: runCount, size: sizeOf(json), failed: stillFails(r, f, target) });
        return r;
      });
      runs.set(key, p);
    }
    return p;
  };
  const lookahead = o.pool === undefined ? 1 : o.pool.size;

  class CandidateArbitrary extends fc.Arbitrary<Json> {
    generate(): fc.Value<Json> {
      return new fc.Value(original, undefined);
    }
    canShrinkWithoutContext(value: unknown): value is Json {
      return typeof value === 'object' && value !== null;
    }
    shrink(value: Json): fc.Stream<fc.Value<Json>> {
      const at = (j: Json) => {
        const r = done.get(JSON.stringify(j));
        return r?.violations[0]?.atMs;
      };
      return new fc.Stream(speculate(candidates(value, at, walked), lookahead, evaluate, () => performance.now() > deadline)).map(
        (c) => new fc.Value(c, undefined),
      );
    }
  }

  const result = await fc.check(
    fc.asyncProperty(new CandidateArbitrary(), async (json) => {
      if (json !== original && performance.now() > deadline) {
        timedOut = true;
        return true;
      }
      const fails = stillFails(await evaluate(json), f, target);
      if (fails && json !== original) {
        steps++;
        walked.add(JSON.stringify(json));
      }
      return !fails;
    }),
    { numRuns: 1, seed: 1, endOnFailure: false },
  );

  const reproduced = result.failed;
  const smallest = reproduced ? ((result.counterexample?.[0] as Json | undefined) ?? original) : original;
  const report = reproduced ? await evaluate(smallest) : undefined;
  const scenario = regressionScenario(smallest, f, target, report);
  let shrunkFailure: FailureFile | undefined;
  if (report !== undefined) {
    const parsed = parseScenario(scenario, String(scenario.name));
    shrunkFailure = failureFromReport(parsed, report, f.maxEvents !== undefined ? { maxEvents: f.maxEvents } : {});
  }
  return {
    target,
    reproduced,
    before: sizeOf(original),
    after: sizeOf(smallest),
    runs: runCount,
    steps,
    wallMs: Math.round(performance.now() - t0),
    timedOut,
    scenario,
    report,
    shrunkFailure,
  };
}

function runCandidate(json: Json, f: FailureFile, pool: RunPool | undefined): Promise<RunReport> {
  if (pool === undefined) {
    const s = parseScenario(json, 'candidate');
    return Promise.resolve(runScenario(s, opts(f)));
  }
  return pool.runScenarioJson(json, 'candidate', opts(f));
}

function opts(f: FailureFile): { seed: number; set: Record<string, ConfigValue>; maxEvents?: number } {
  return { seed: f.seed, set: f.set, ...(f.maxEvents !== undefined ? { maxEvents: f.maxEvents } : {}) };
}

/** The same failure: an `invalid` verdict whose first violation has the same name (or, for liveness failures, `unknown`). */
function stillFails(r: RunReport, f: FailureFile, target: string): boolean {
  if (f.verdict === 'unknown') return r.verdict === 'unknown';
  return r.verdict === 'invalid' && violationName(r.violations[0]) === target;
}

/** Pull up to `width` candidates ahead of the one being yielded and start their runs. */
function* speculate(source: Iterator<Json>, width: number, evaluate: (j: Json) => Promise<RunReport>, expired: () => boolean): IterableIterator<Json> {
  const buffer: Json[] = [];
  for (;;) {
    while (buffer.length < width && !expired()) {
      const n = source.next();
      if (n.done === true) break;
      buffer.push(n.value);
      if (width > 1) void evaluate(n.value).catch(() => {});
    }
    const next = buffer.shift();
    if (next === undefined || expired()) return;
    yield next;
  }
}

// ---------------------------------------------------------------------------------------------
// Candidates

export function* candidates(s: Json, firstViolationAt?: (s: Json) => number | undefined, walked?: ReadonlySet<string>): Generator<Json> {
  // Each candidate once per list, and none the walk has already been through (a guard: no edit
  // should lead back to one).
  const seen = new Set<string>();
  const valid = function* (xs: Iterable<Json>): Generator<Json> {
    for (const x of xs) {
      const key = JSON.stringify(x);
      if (seen.has(key) || walked?.has(key) === true) continue;
      seen.add(key);
      try {
        parseScenario(x, 'candidate');
        yield x;
      } catch {
        // not a scenario: skip
      }
    }
  };
  // 0. Nothing after the first violation matters to it (usually).
  const at = firstViolationAt?.(s);
  if (at !== undefined) {
    const cut = cutAt(s, at);
    if (cut !== undefined) yield* valid([cut]);
  }
  // 1. Big chunks of the schedule.
  yield* valid(dropChunks(s, true));
  // 2. A smaller cluster.
  yield* valid(smallerCluster(s));
  // 3. Fewer clients, a shorter fault phase.
  yield* valid(fewerClients(s));
  const cut = shorterPhase(s);
  if (cut !== undefined) yield* valid([cut]);
  // 4. Sends and single faults.
  const producers = arr(s.producers) as Json[];
  for (let i = 0; i < producers.length; i++) yield* valid(dropProducerOps(s, i));
  yield* valid(dropChunks(s, false));
  // 5. Milder faults and lower rates.
  yield* valid(milderFaults(s));
  yield* valid(lowerRates(s));
  // 6. Faults that belong together: an outage with its repair, repairs left with nothing to repair,
  //    two outages merged into one, any two faults of a short schedule.
  yield* valid(dropWithRepair(s));
  yield* valid(mergeOutages(s));
  yield* valid(dropPairs(s));
  // 7. Simpler faults at other times: partitions merged or of a simpler shape; a fault (with its
  //    repair) moved to the time of the fault before or after it.
  yield* valid(mergePartitions(s));
  yield* valid(simplerPartitions(s));
  yield* valid(moveFaults(s));
}

function clone(s: Json): Json {
  return JSON.parse(JSON.stringify(s)) as Json;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Chunk sizes for delta debugging: `big`: n/2, n/4, … down to 2; otherwise single elements. */
function chunkSizes(n: number, big: boolean): number[] {
  if (!big) return n > 0 ? [1] : [];
  const out: number[] = [];
  for (let size = Math.ceil(n / 2); size >= 2; size = Math.ceil(size / 2)) {
    out.push(size);
    if (size === 2) break;
  }
  return out;
}

/** s with each chunk of the list `list(s)` (n long) removed in turn. */
function* dropFrom(s: Json, list: (c: Json) => unknown[], n: number, big: boolean): Generator<Json> {
  for (const size of chunkSizes(n, big)) {
    for (let start = 0; start < n; start += size) {
      const c = clone(s);
      list(c).splice(start, size);
      yield c;
    }
  }
}

function* dropChunks(s: Json, big: boolean): Generator<Json> {
  yield* dropFrom(s, (c) => c.faults as unknown[], arr(s.faults).length, big);
}

function* dropProducerOps(s: Json, i: number): Generator<Json> {
  const n = arr((arr(s.producers)[i] as Json).ops).length;
  const list = (c: Json) => (arr(c.producers)[i] as Json).ops as unknown[];
  yield* dropFrom(s, list, n, true);
  yield* dropFrom(s, list, n, false);
}

/** Remove nodes from a scenario's faults: faults targeting them go; partition sides lose them. */
function withoutNodes(s: Json, gone: ReadonlySet<string>): void {
  const out: unknown[] = [];
  for (const raw of arr(s.faults)) {
    const f = raw as Json;
    const named = ['node', 'from', 'to', 'isolate'].map((k) => f[k]).filter((x): x is string => typeof x === 'string');
    if (named.some((n) => gone.has(n))) continue;
    if (Array.isArray(f.sides)) {
      const sides = (f.sides as string[][]).map((side) => side.filter((n) => !gone.has(n))).filter((side) => side.length > 0);
      if (sides.length < 2) continue;
      f.sides = sides;
    }
    const ow = f.oneWay as { from: string[]; to: string[] } | undefined;
    if (ow !== undefined) {
      ow.from = ow.from.filter((n) => !gone.has(n));
      ow.to = ow.to.filter((n) => !gone.has(n));
      if (ow.from.length === 0 || ow.to.length === 0) continue;
    }
    if (typeof f.on === 'object' && f.on !== null && gone.has(String((f.on as Json).node))) continue;
    out.push(f);
  }
  s.faults = out;
}

function* smallerCluster(s: Json): Generator<Json> {
  const brokers = Number(s.brokers);
  const topics = arr(s.topics) as Json[];
  // One broker fewer: the highest-numbered, where no topic needs it.
  if (brokers > 1) {
    const c = clone(s);
    c.brokers = brokers - 1;
    let fits = true;
    for (const t of arr(c.topics) as Json[]) {
      if (Number(t.replicationFactor) > brokers - 1) fits = false;
      if (Array.isArray(t.assignment) && (t.assignment as number[][]).some((r) => r.includes(brokers))) fits = false;
    }
    if (fits) {
      withoutNodes(c, new Set([`b${brokers}`]));
      yield c;
    }
  }
  // One partition fewer.
  for (let ti = 0; ti < topics.length; ti++) {
    const t = topics[ti] as Json;
    const n = Number(t.partitions);
    if (n <= 1) continue;
    const c = clone(s);
    const ct = arr(c.topics)[ti] as Json;
    ct.partitions = n - 1;
    if (Array.isArray(ct.assignment)) ct.assignment = (ct.assignment as unknown[]).slice(0, n - 1);
    let ok = true;
    for (const client of [...(arr(c.producers) as Json[]), ...(arr(c.consumers) as Json[])]) {
      if (client.topic !== t.name) continue;
      if (Array.isArray(client.partitions)) {
        client.partitions = (client.partitions as number[]).filter((p) => p < n - 1);
        if ((client.partitions as number[]).length === 0) ok = false;
      }
      if (Array.isArray(client.ops)) client.ops = (client.ops as Json[]).filter((op) => Number(op.partition) < n - 1);
    }
    if (ok) yield c;
  }
  // Replication factor one lower (the last replica of each assignment goes).
  for (let ti = 0; ti < topics.length; ti++) {
    const t = topics[ti] as Json;
    const rf = Number(t.replicationFactor);
    if (rf <= 1) continue;
    const c = clone(s);
    const ct = arr(c.topics)[ti] as Json;
    ct.replicationFactor = rf - 1;
    if (Array.isArray(ct.assignment)) ct.assignment = (ct.assignment as number[][]).map((r) => r.slice(0, rf - 1));
    yield c;
  }
}

function* fewerClients(s: Json): Generator<Json> {
  for (const key of ['consumers', 'producers'] as const) {
    const list = arr(s[key]) as Json[];
    for (let i = 0; i < list.length; i++) {
      const c = clone(s);
      const id = String((list[i] as Json).id);
      c[key] = (arr(c[key]) as Json[]).filter((_, j) => j !== i);
      withoutNodes(c, new Set([id]));
      yield c;
    }
  }
}

/** Faults after `atMs` dropped and the fault phase ended a second after it (if that shortens it). */
function cutAt(s: Json, atMs: number): Json | undefined {
  const end = Math.max(1000, Math.ceil(atMs / 1000) * 1000 + 1000);
  if (end >= Number(s.durationMs)) return undefined;
  const c = clone(s);
  c.durationMs = end;
  c.faults = (arr(c.faults) as Json[]).filter((f) => typeof f.atMs !== 'number' || f.atMs <= end);
  for (const p of arr(c.producers) as Json[]) {
    p.ops = (arr(p.ops) as Json[]).filter((op) => Number(op.atMs) <= end);
    if (typeof p.stopAtMs === 'number' && p.stopAtMs > end) p.stopAtMs = end;
  }
  return c;
}

/** End the fault phase at the next whole second after the last fault or explicit send (if earlier than now). */
function shorterPhase(s: Json): Json | undefined {
  let last = 0;
  for (const f of arr(s.faults) as Json[]) if (typeof f.atMs === 'number') last = Math.max(last, f.atMs);
  for (const p of arr(s.producers) as Json[]) for (const op of arr(p.ops) as Json[]) last = Math.max(last, Number(op.atMs));
  const end = Math.max(1000, Math.ceil((last + 1) / 1000) * 1000);
  if (end >= Number(s.durationMs)) return undefined;
  const c = clone(s);
  c.durationMs = end;
  for (const p of arr(c.producers) as Json[]) if (typeof p.stopAtMs === 'number' && p.stopAtMs > end) p.stopAtMs = end;
  return c;
}

function* milderFaults(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i] as Json;
    const edits: [string, number][] = [];
    if (typeof f.durationMs === 'number' && f.durationMs >= 2) edits.push(['durationMs', Math.floor(f.durationMs / 2)]);
    if (typeof f.deltaMs === 'number' && Math.abs(f.deltaMs) >= 2) edits.push(['deltaMs', Math.trunc(f.deltaMs / 2)]);
    if (typeof f.ppm === 'number' && Math.abs(f.ppm) >= 2) edits.push(['ppm', Math.trunc(f.ppm / 2)]);
    if (typeof f.factor === 'number' && f.factor > 2) edits.push(['factor', Math.max(2, Math.floor(f.factor / 2))]);
    for (const [k, v] of edits) {
      const c = clone(s);
      (arr(c.faults)[i] as Json)[k] = v;
      yield c;
    }
  }
}

function* lowerRates(s: Json): Generator<Json> {
  const producers = arr(s.producers) as Json[];
  for (let i = 0; i < producers.length; i++) {
    const rate = (producers[i] as Json).ratePerSec;
    if (typeof rate !== 'number' || rate < 2) continue;
    const c = clone(s);
    (arr(c.producers)[i] as Json).ratePerSec = Math.floor(rate / 2);
    yield c;
  }
}

// ---------------------------------------------------------------------------------------------
// Edits over the fault schedule's outages (steps 6 and 7). Only faults with an `atMs` take part:
// those with an `on` trigger have no time to order them by.

/** Faults that take a node down until a `restart`. */
const DOWN_FAULTS = new Set(['crash', 'wipe', 'shutdown']);
/** All-pairs drops only for schedules this short (n·(n−1)/2 candidates). */
export const PAIR_LIMIT = 16;

/** Indices of the faults with an `atMs`, in the order they fire (by time, then list position). */
export function timeline(faults: readonly Json[]): number[] {
  return faults
    .map((f, i) => ({ i, at: f.atMs }))
    .filter((x): x is { i: number; at: number } => typeof x.at === 'number')
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.i);
}

/**
 * The fault that ends fault `i`'s outage: for a crash, wipe or shutdown the node's next `restart`;
 * for a partition the next `heal`, unless another partition replaces it first.
 */
export function repairOf(faults: readonly Json[], i: number, order: readonly number[] = timeline(faults)): number | undefined {
  const f = faults[i] as Json;
  const pos = order.indexOf(i);
  if (pos < 0) return undefined;
  for (const j of order.slice(pos + 1)) {
    const g = faults[j] as Json;
    if (DOWN_FAULTS.has(String(f.fault)) && g.node === f.node) {
      if (g.fault === 'restart') return j;
      if (DOWN_FAULTS.has(String(g.fault))) continue; // a second outage fault while down: keep looking
    }
    if (f.fault === 'partition') {
      if (g.fault === 'heal') return j;
      if (g.fault === 'partition') return undefined;
    }
  }
  return undefined;
}

/**
 * Repairs with nothing to repair: a `restart` of a node that is running, a `heal` while no
 * partition or clog is in force. A node or the network that an `on` fault may break is left alone.
 */
export function orphanRepairs(faults: readonly Json[]): number[] {
  const triggered = faults.filter((f) => typeof f.atMs !== 'number');
  const mayBreak = new Set(triggered.filter((f) => DOWN_FAULTS.has(String(f.fault))).map((f) => String(f.node)));
  const netMayBreak = triggered.some((f) => f.fault === 'partition' || f.fault === 'clog');
  const down = new Set<string>();
  let partitioned = false;
  let clogUntil = Number.NEGATIVE_INFINITY;
  const out: number[] = [];
  for (const i of timeline(faults)) {
    const f = faults[i] as Json;
    const at = f.atMs as number;
    const node = String(f.node);
    if (DOWN_FAULTS.has(String(f.fault))) down.add(node);
    else if (f.fault === 'restart') {
      if (!down.has(node) && !mayBreak.has(node)) out.push(i);
      down.delete(node);
    } else if (f.fault === 'partition') partitioned = true;
    else if (f.fault === 'clog') clogUntil = Math.max(clogUntil, at + Number(f.durationMs));
    else if (f.fault === 'heal') {
      if (!partitioned && clogUntil <= at && !netMayBreak) out.push(i);
      partitioned = false;
      clogUntil = Number.NEGATIVE_INFINITY;
    }
  }
  return out.sort((a, b) => a - b);
}

function withoutFaults(s: Json, drop: Iterable<number>): Json {
  const gone = new Set(drop);
  const c = clone(s);
  c.faults = (arr(c.faults) as Json[]).filter((_, i) => !gone.has(i));
  return c;
}

/** `withoutFaults`, and with them every repair that this leaves with nothing to repair (a restart whose crash went). */
export function withoutFaultsAndRepairs(s: Json, drop: Iterable<number>): Json {
  const gone = new Set(drop);
  const faults = arr(s.faults) as Json[];
  const before = new Set(orphanRepairs(faults));
  const kept = faults.map((_, i) => i).filter((i) => !gone.has(i));
  const after = orphanRepairs(kept.map((i) => faults[i] as Json));
  for (const k of after) if (!before.has(kept[k] as number)) gone.add(kept[k] as number);
  return withoutFaults(s, gone);
}

/** Each outage dropped together with its repair: a crash, wipe or shutdown and its restart; a partition and its heal. */
export function* dropWithRepair(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  const order = timeline(faults);
  for (let i = 0; i < faults.length; i++) {
    const j = repairOf(faults, i, order);
    if (j !== undefined) yield withoutFaultsAndRepairs(s, [i, j]);
  }
}

/**
 * Two outages of the same thing merged into one: a restart dropped together with the node's next
 * crash or shutdown (it stays down from the first outage to the end of the second), a heal with
 * the next partition (the first partition lasts until the second's heal).
 */
export function* mergeOutages(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  const order = timeline(faults);
  const orphans = new Set(orphanRepairs(faults));
  for (let p = 0; p < order.length; p++) {
    const j = order[p] as number;
    const g = faults[j] as Json;
    if (orphans.has(j) || (g.fault !== 'restart' && g.fault !== 'heal')) continue;
    for (const k of order.slice(p + 1)) {
      const h = faults[k] as Json;
      if (g.fault === 'restart' && h.node === g.node) {
        if (h.fault === 'crash' || h.fault === 'shutdown') yield withoutFaultsAndRepairs(s, [j, k]);
        if (h.fault === 'restart' || DOWN_FAULTS.has(String(h.fault))) break;
      }
      if (g.fault === 'heal') {
        if (h.fault === 'partition') yield withoutFaultsAndRepairs(s, [j, k]);
        if (h.fault === 'partition' || h.fault === 'heal') break;
      }
    }
  }
}

/** Any two faults dropped (schedules of at most PAIR_LIMIT faults), earliest pairs first, with the repairs this orphans. */
export function* dropPairs(s: Json): Generator<Json> {
  const n = arr(s.faults).length;
  if (n > PAIR_LIMIT) return;
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) yield withoutFaultsAndRepairs(s, [a, b]);
}

const SHAPE_KEYS = ['sides', 'oneWay', 'isolate'] as const;

function setShape(f: Json, from: Json): void {
  for (const k of SHAPE_KEYS) delete f[k];
  for (const k of SHAPE_KEYS) if (from[k] !== undefined) f[k] = clone({ v: from[k] }).v;
}

/** Two partitions in a row (no heal between) merged: the first takes the second's shape, the second goes. */
export function* mergePartitions(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  const order = timeline(faults).filter((i) => faults[i]?.fault === 'partition' || faults[i]?.fault === 'heal');
  for (let p = 0; p + 1 < order.length; p++) {
    const i = order[p] as number;
    const k = order[p + 1] as number;
    if (faults[i]?.fault !== 'partition' || faults[k]?.fault !== 'partition') continue;
    const c = withoutFaults(s, [k]);
    setShape((arr(c.faults) as Json[])[i < k ? i : i - 1] as Json, faults[k] as Json);
    yield c;
  }
}

/** Partitions of a simpler shape: a one-node side of `sides` becomes `isolate`; three or more sides lose one (its nodes join the side before). */
export function* simplerPartitions(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i] as Json;
    if (f.fault !== 'partition' || !Array.isArray(f.sides)) continue;
    const sides = f.sides as string[][];
    for (const side of sides) {
      if (side.length !== 1) continue;
      const c = clone(s);
      setShape((arr(c.faults) as Json[])[i] as Json, { isolate: side[0] });
      yield c;
    }
    for (let k = 1; k < sides.length && sides.length > 2; k++) {
      const merged = sides.map((side) => [...side]);
      merged[k - 1] = [...(merged[k - 1] as string[]), ...(merged[k] as string[])];
      merged.splice(k, 1);
      const c = clone(s);
      ((arr(c.faults) as Json[])[i] as Json).sides = merged;
      yield c;
    }
  }
}

/** How many different times the faults with an `atMs` fire at. */
export function distinctTimes(faults: readonly Json[]): number {
  return new Set(faults.map((f) => f.atMs).filter((t) => typeof t === 'number')).size;
}

/**
 * A fault moved to the time of the fault that fires before it, then to the time of the one after
 * it; its repair (if any) moves by as much. The list stays in time order. Only moves that leave
 * fewer different fault times are proposed: the walk cannot take more of them than there are
 * times (without that, measured: a restart and a heal moved back and forth for 300 runs).
 */
export function* moveFaults(s: Json): Generator<Json> {
  const faults = arr(s.faults) as Json[];
  const order = timeline(faults);
  const times = [...new Set(order.map((i) => faults[i]?.atMs as number))];
  for (const i of order) {
    const t = faults[i]?.atMs as number;
    const ti = times.indexOf(t);
    const repair = repairOf(faults, i, order);
    for (const to of [times[ti - 1], times[ti + 1]]) {
      if (to === undefined) continue;
      const c = clone(s);
      const cf = arr(c.faults) as Json[];
      (cf[i] as Json).atMs = to;
      if (repair !== undefined) (cf[repair] as Json).atMs = (faults[repair]?.atMs as number) + (to - t);
      if (distinctTimes(cf) >= times.length) continue;
      c.faults = inTimeOrder(cf);
      yield c;
    }
  }
}

/** The faults with an `atMs` sorted by it (stable) in the slots they occupy; `on` faults stay where they are. */
function inTimeOrder(faults: Json[]): Json[] {
  const slots = faults.map((f, i) => (typeof f.atMs === 'number' ? i : -1)).filter((i) => i >= 0);
  const sorted = slots.map((i) => faults[i] as Json).sort((a, b) => (a.atMs as number) - (b.atMs as number));
  const out = [...faults];
  slots.forEach((slot, k) => {
    out[slot] = sorted[k] as Json;
  });
  return out;
}

export function sizeOf(s: Json): ScenarioSize {
  const producers = arr(s.producers) as Json[];
  return {
    faults: arr(s.faults).length,
    ops: producers.reduce((n, p) => n + arr(p.ops).length, 0) + arr(s.ops).length,
    durationMs: Number(s.durationMs),
    brokers: Number(s.brokers),
    partitions: (arr(s.topics) as Json[]).reduce((n, t) => n + Number(t.partitions), 0),
    producers: producers.length,
    consumers: arr(s.consumers).length,
  };
}

/** `faults 34 → 3 · sends 0 → 0 · …` (only what changed, plus faults). */
export function formatSizes(a: ScenarioSize, b: ScenarioSize): string {
  const parts: string[] = [];
  for (const k of Object.keys(a) as (keyof ScenarioSize)[]) {
    if (k !== 'faults' && a[k] === b[k]) continue;
    parts.push(`${k} ${a[k]} → ${b[k]}`);
  }
  return parts.join(' · ');
}

/** The shrunk scenario as a regression test: named, described, with the expectation it fails. */
function regressionScenario(json: Json, f: FailureFile, target: string, report: RunReport | undefined): Json {
  const s = clone(json);
  const base = String(json.name ?? 'scenario').replace(/-shrunk$/, '');
  s.name = `${base}-shrunk`;
  const first: Violation | undefined = report?.violations[0];
  const what = first ? `${target} at ${first.atMs}ms${first.node ? ` on ${first.node}` : ''}` : target;
  s.description =
    `Shrunk by ksim shrink from ${f.source} seed ${f.seed}${Object.keys(f.set).length ? ` (${setLabel(f.set)})` : ''}: ` +
    `${what}. ${first?.detail ?? ''}`.trim();
  s.expect = [
    {
      set: f.set,
      verdict: f.verdict === 'unknown' ? 'unknown' : 'invalid',
      seeds: [f.seed],
      why: `the shrunk schedule still breaks ${target}`,
    },
  ];
  return s;
}

function setLabel(set: Readonly<Record<string, ConfigValue>>): string {
  return Object.entries(set)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
