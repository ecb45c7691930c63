// fast-check arbitraries for fault schedules and client operations (DESIGN.md §2, §5).
//
// Every value they generate is the plain JSON a person writes in a scenario's `faults` and `ops`
// (sim/faults.ts, scenarios/scenario.ts), so a counterexample fast-check finds can be pasted into a
// scenario file and replayed with `ksim run`. Use them to write properties in vitest:
//
//   fc.assert(fc.property(faultScheduleArb({ nodes: ['b1', 'b2', 'b3'], durationMs: 20_000 }), (faults) => …));
//
// Schedules are built from "episodes", as the nemesis (sim/nemesis.ts) draws them: a fault and,
// usually, its repair — a crash or a clean shutdown and the restart, a wipe and the restart, a
// partition and the heal, a clock drift and the drift set back to 0 — so that runs exercise
// recovery inside the fault phase. Faults with a length (pause, clog, disk faults) carry it. The
// runner heals whatever is left at durationMs (world.healAll), so a schedule need not repair its
// own faults.
//
// Shrinking uses fast-check's own combinators (array, record, integer, constantFrom, option), so a
// failing schedule shrinks towards fewer episodes, no repair, earlier faults, shorter faults, the
// first node named, smaller clock changes, and the simplest partition shape (one node isolated).
// Faults are always at a time (`atMs`); `on` (trace-event) triggers are not generated.

import fc from 'fast-check';
import type { DiskFault } from '../sim/disk.js';
import { FAULT_KINDS, type FaultAction, type FaultBody } from '../sim/faults.js';

export type FaultKind = (typeof FAULT_KINDS)[number];
export type DiskFaultKind = DiskFault['kind'];

export const DISK_FAULT_KINDS: readonly DiskFaultKind[] = ['bitflip', 'enospc', 'eio', 'slow', 'stall'];

/**
 * The fault kinds drawn by default: all of them, wipes and every disk fault included. Each is a
 * fault Kafka is built to survive, and the guarantee model (DESIGN.md §4) already permits what a
 * fault may legitimately cost: a committed record may be lost only when every replica that held
 * it was down or lost its copy (a power loss before fsync, a wipe, corruption). A bit flip is
 * caught by the record batch CRC. So with RF 3, min.insync.replicas=2, acks=all and every fix in,
 * no schedule drawn from these kinds may give an `invalid` verdict; one that does is a bug.
 */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = FAULT_KINDS;

/** The disk fault kinds drawn by default (when `disk` is among the kinds): all of them. */
export const DEFAULT_DISK_FAULT_KINDS: readonly DiskFaultKind[] = DISK_FAULT_KINDS;

export interface ScheduleOptions {
  /** The nodes faults act on (crash, pause, isolate, clock, disk, one end of a clog or reset), e.g. the brokers. */
  nodes: readonly string[];
  /** Every node that exists, for partition sides and the other end of a clog or reset (default: `nodes`). */
  allNodes?: readonly string[];
  /** The end of the fault phase: every `atMs` is at most this (a scenario's `durationMs`). */
  durationMs: number;
  /** No fault before this (default 0). */
  startMs?: number;
  /** At most this many fault actions in a schedule, repairs included (default 12). */
  maxFaults?: number;
  /** The kinds of fault to draw (default: DEFAULT_FAULT_KINDS). */
  kinds?: readonly FaultKind[];
  /** The kinds of disk fault to draw when `disk` is among the kinds (default: all five). */
  diskKinds?: readonly DiskFaultKind[];
  /** The longest a fault lasts: pause, clog and disk durations, and the time before a repair (default: 10 s, or the fault phase if shorter). */
  maxFaultMs?: number;
  /**
   * Channels a clog or reset may name (e.g. core/protocol.ts CHANNELS); absent or empty: every clog
   * and reset hits the whole link. Shrinks towards the whole link.
   */
  channels?: readonly string[];
}

interface Resolved {
  nodes: string[];
  allNodes: string[];
  startMs: number;
  durationMs: number;
  maxFaults: number;
  kinds: FaultKind[];
  diskKinds: DiskFaultKind[];
  maxFaultMs: number;
  channels: string[];
}

function resolve(o: ScheduleOptions): Resolved {
  if (o.nodes.length === 0) throw new Error('faultScheduleArb: `nodes` is empty');
  const startMs = o.startMs ?? 0;
  if (!(Number.isInteger(o.durationMs) && o.durationMs >= 0)) throw new Error(`faultScheduleArb: durationMs must be an integer ≥ 0, got ${o.durationMs}`);
  if (!(Number.isInteger(startMs) && startMs >= 0 && startMs <= o.durationMs))
    throw new Error(`faultScheduleArb: startMs must be an integer in [0, durationMs], got ${startMs}`);
  const nodes = [...new Set(o.nodes)];
  const allNodes = [...new Set([...(o.allNodes ?? []), ...nodes])];
  // Kinds that cannot be drawn over these nodes are left out (a clog needs two nodes).
  const kinds = [...new Set(o.kinds ?? DEFAULT_FAULT_KINDS)].filter((k) => (k === 'clog' || k === 'reset' ? allNodes.length >= 2 : true));
  const diskKinds = [...new Set(o.diskKinds ?? DEFAULT_DISK_FAULT_KINDS)];
  for (const k of kinds) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`faultScheduleArb: unknown fault kind "${k}"`);
  for (const k of diskKinds) if (!DISK_FAULT_KINDS.includes(k)) throw new Error(`faultScheduleArb: unknown disk fault kind "${k}"`);
  if (kinds.includes('disk') && diskKinds.length === 0) throw new Error('faultScheduleArb: `diskKinds` is empty but `disk` is among the kinds');
  const maxFaults = o.maxFaults ?? 12;
  if (!(Number.isInteger(maxFaults) && maxFaults >= 0)) throw new Error(`faultScheduleArb: maxFaults must be an integer ≥ 0, got ${maxFaults}`);
  const maxFaultMs = o.maxFaultMs ?? Math.max(1, Math.min(10_000, o.durationMs - startMs));
  if (!(Number.isInteger(maxFaultMs) && maxFaultMs >= 1)) throw new Error(`faultScheduleArb: maxFaultMs must be an integer ≥ 1, got ${maxFaultMs}`);
  return { nodes, allNodes, startMs, durationMs: o.durationMs, maxFaults, kinds, diskKinds, maxFaultMs, channels: [...(o.channels ?? [])] };
}

// ---------------------------------------------------------------------------------------------
// Fault bodies

type PartitionBody = Extract<FaultBody, { fault: 'partition' }>;

/** Split `nodes` into `groups` groups by their labels (a label ≥ `groups`: in no group); empty groups stay. */
function groupsOf(nodes: readonly string[], labels: readonly number[], groups: number): string[][] {
  const out: string[][] = Array.from({ length: groups }, () => []);
  nodes.forEach((n, i) => {
    const l = labels[i] ?? 0;
    if (l < groups) (out[l] as string[]).push(n);
  });
  return out;
}

/** The non-empty groups, made at least two by moving a first node out of a group of two or more (or out of `spare`). */
function ensureTwo(groups: string[][], spare: string[]): string[][] {
  const full = groups.filter((g) => g.length > 0);
  while (full.length < 2) {
    const donor = full.find((g) => g.length >= 2);
    const moved = donor !== undefined ? (donor.shift() as string) : (spare.shift() as string);
    full.push([moved]);
  }
  return full;
}

/**
 * A partition of any shape, simplest first (what shrinking moves towards): one node isolated
 * from everything; sides (two or three groups; nodes in no side keep all their links, so a node
 * left out is a bridge); one-way (the `from` nodes cannot reach the `to` nodes, the reverse works).
 */
function partitionArb(r: Resolved): fc.Arbitrary<PartitionBody> {
  const isolate = fc.constantFrom(...r.nodes).map((n): PartitionBody => ({ fault: 'partition', isolate: n }));
  const n = r.allNodes.length;
  if (n < 2) return isolate;
  // Sides: label 0 → the first side, 1 → the second, 2 → a third, 3 → no side (a bridge).
  // All zeros (the shrink target) becomes the first node against the rest.
  const sides = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }).map((labels): PartitionBody => {
    const groups = groupsOf(r.allNodes, labels, 3);
    const spare = r.allNodes.filter((_, i) => (labels[i] ?? 0) >= 3);
    // Nodes in the order of allNodes, sides by their first node: [[b1], [b2, b3, …]] is the simplest shape.
    const rank = (x: string) => r.allNodes.indexOf(x);
    const sorted = ensureTwo(groups, spare)
      .map((g) => [...g].sort((a, b) => rank(a) - rank(b)))
      .sort((a, b) => rank(a[0] as string) - rank(b[0] as string));
    return { fault: 'partition', sides: sorted };
  });
  // One-way: label 0 → to, 1 → from, 2 → neither.
  const oneWay = fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n }).map((labels): PartitionBody => {
    const [to, from] = groupsOf(r.allNodes, labels, 2) as [string[], string[]];
    const spare = r.allNodes.filter((_, i) => (labels[i] ?? 0) >= 2);
    if (from.length === 0) from.push(to.length >= 2 ? (to.shift() as string) : (spare.shift() as string));
    if (to.length === 0) to.push(from.length >= 2 ? (from.pop() as string) : (spare.shift() as string));
    return { fault: 'partition', oneWay: { from, to } };
  });
  return fc.oneof({ withCrossShrink: true }, isolate, sides, oneWay);
}

/** Two distinct nodes: `a` from `nodes`, `b` from `allNodes`; `reversed` swaps the direction. */
function linkArb(r: Resolved): fc.Arbitrary<{ from: string; to: string; channel?: string }> {
  const channel = r.channels.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...r.channels), { nil: undefined });
  return fc
    .record({ a: fc.constantFrom(...r.nodes), j: fc.integer({ min: 0, max: r.allNodes.length - 2 }), reversed: fc.boolean(), channel })
    .map(({ a, j, reversed, channel: ch }) => {
      const b = r.allNodes.filter((x) => x !== a)[j] as string;
      return { ...(reversed ? { from: b, to: a } : { from: a, to: b }), ...(ch === undefined ? {} : { channel: ch }) };
    });
}

function diskArb(r: Resolved, node: fc.Arbitrary<string>, duration: fc.Arbitrary<number>): fc.Arbitrary<FaultBody> {
  const arbs: Record<DiskFaultKind, fc.Arbitrary<FaultBody>> = {
    // The disk's own seeded stream picks the file, byte and bit.
    bitflip: fc.record({ fault: fc.constant('disk' as const), node, kind: fc.constant('bitflip' as const) }),
    enospc: fc.record({ fault: fc.constant('disk' as const), node, kind: fc.constant('enospc' as const), durationMs: duration }),
    eio: fc.record({
      fault: fc.constant('disk' as const),
      node,
      kind: fc.constant('eio' as const),
      ops: fc.subarray(['write', 'fsync', 'read'] as ('write' | 'fsync' | 'read')[], { minLength: 1 }),
      durationMs: duration,
    }),
    slow: fc.record({
      fault: fc.constant('disk' as const),
      node,
      kind: fc.constant('slow' as const),
      factor: fc.integer({ min: 1, max: 100 }),
      durationMs: duration,
    }),
    stall: fc.record({ fault: fc.constant('disk' as const), node, kind: fc.constant('stall' as const), durationMs: duration }),
  };
  return fc.oneof(...r.diskKinds.map((k) => arbs[k]));
}

/** One fault body of `kind`. */
function bodyArb(r: Resolved, kind: FaultKind): fc.Arbitrary<FaultBody> {
  const node = fc.constantFrom(...r.nodes);
  const duration = fc.integer({ min: 1, max: r.maxFaultMs });
  switch (kind) {
    case 'partition':
      return partitionArb(r);
    case 'heal':
      return fc.constant<FaultBody>({ fault: 'heal' });
    case 'crash':
    case 'restart':
    case 'wipe':
      return node.map((n) => ({ fault: kind, node: n }));
    case 'shutdown':
      return fc
        .record({ node, graceMs: fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: undefined }) })
        .map(({ node: n, graceMs }): FaultBody => (graceMs === undefined ? { fault: 'shutdown', node: n } : { fault: 'shutdown', node: n, graceMs }));
    case 'pause':
      return fc.record({ fault: fc.constant('pause' as const), node, durationMs: duration });
    case 'clog':
      return fc.record({ link: linkArb(r), durationMs: duration }).map(({ link, durationMs }) => ({ fault: 'clog', ...link, durationMs }));
    case 'reset':
      return linkArb(r).map((link) => ({ fault: 'reset', ...link }));
    case 'clock-step':
      return fc.record({ fault: fc.constant('clock-step' as const), node, deltaMs: fc.integer({ min: -10_000, max: 10_000 }) });
    case 'clock-drift':
      return fc.record({ fault: fc.constant('clock-drift' as const), node, ppm: fc.integer({ min: -50_000, max: 50_000 }) });
    case 'disk':
      return diskArb(r, node, duration);
  }
}

/** The repair of a fault, if it has one: what the nemesis would do `gap` ms later. */
function repairOf(body: FaultBody): FaultBody | undefined {
  switch (body.fault) {
    case 'crash':
    case 'shutdown':
    case 'wipe':
      return { fault: 'restart', node: body.node };
    case 'partition':
      return { fault: 'heal' };
    case 'clock-drift':
      return { fault: 'clock-drift', node: body.node, ppm: 0 };
    default:
      return undefined;
  }
}

function kindsArb(r: Resolved, make: (kind: FaultKind) => fc.Arbitrary<FaultAction[]>): fc.Arbitrary<FaultAction[]> {
  if (r.kinds.length === 0) return fc.constant([]);
  return fc.oneof(...r.kinds.map(make));
}

// ---------------------------------------------------------------------------------------------
// Public arbitraries

/** One fault with `atMs` in [startMs, durationMs], of any of the kinds, over the given nodes (no repair). */
export function faultArb(o: ScheduleOptions): fc.Arbitrary<FaultAction> {
  const r = resolve(o);
  if (r.kinds.length === 0) throw new Error('faultArb: no fault kind can be drawn over these nodes');
  const atMs = fc.integer({ min: r.startMs, max: r.durationMs });
  return fc.oneof(...r.kinds.map((k) => fc.record({ atMs, body: bodyArb(r, k) }))).map(({ atMs: t, body }) => ({ atMs: t, ...body }) as FaultAction);
}

/**
 * An episode: one fault at `atMs` and, for a crash, shutdown, wipe, partition or clock drift, usually
 * (4 times in 5) its repair 1..maxFaultMs later (no later than durationMs).
 */
export function faultEpisodeArb(o: ScheduleOptions): fc.Arbitrary<FaultAction[]> {
  return episodeArb(resolve(o));
}

function episodeArb(r: Resolved): fc.Arbitrary<FaultAction[]> {
  const atMs = fc.integer({ min: r.startMs, max: r.durationMs });
  const gap = fc.option(fc.integer({ min: 1, max: r.maxFaultMs }), { nil: undefined, freq: 5 });
  return kindsArb(r, (k) =>
    fc.record({ atMs, body: bodyArb(r, k), gap }).map(({ atMs: t, body, gap: g }) => {
      const out = [{ atMs: t, ...body } as FaultAction];
      const repair = repairOf(body);
      if (repair !== undefined && g !== undefined) out.push({ atMs: Math.min(t + g, r.durationMs), ...repair } as FaultAction);
      return out;
    }),
  );
}

/**
 * A fault schedule: 0..maxFaults fault actions (repairs included) sorted by `atMs`, built from
 * episodes (see faultEpisodeArb). Plain JSON, accepted by parseFaults over `allNodes` and by
 * parseScenario when `durationMs` is the scenario's.
 */
export function faultScheduleArb(o: ScheduleOptions): fc.Arbitrary<FaultAction[]> {
  const r = resolve(o);
  if (r.maxFaults === 0 || r.kinds.length === 0) return fc.constant([]);
  return fc.array(episodeArb(r), { maxLength: r.maxFaults }).map((episodes) => {
    const out: FaultAction[] = [];
    // Whole episodes, in order, while they fit: a repair is never cut off from its fault.
    for (const e of episodes) if (out.length + e.length <= r.maxFaults) out.push(...e);
    // Stable: a fault and its repair at the same time stay in that order.
    return out.sort((a, b) => (a.atMs as number) - (b.atMs as number));
  });
}

export interface SendOp {
  atMs: number;
  op: 'send';
  producer: string;
  partition: number;
  value: string;
}

export interface SendOpsOptions {
  /** The producer's client id. */
  producer: string;
  /** The number of partitions of its topic (sends go to 0..partitions-1). */
  partitions: number;
  /** Sends fall in [0, durationMs]. */
  durationMs: number;
  /** At most this many sends (default 20). */
  maxOps?: number;
  /** Values are `${valuePrefix}${i}`, i = 0, 1, … in time order (default `op`); unique within the list. */
  valuePrefix?: string;
}

/** Explicit sends (a scenario's top-level `ops`), sorted by `atMs`, every value unique. */
export function sendOpsArb(o: SendOpsOptions): fc.Arbitrary<SendOp[]> {
  if (!(Number.isInteger(o.partitions) && o.partitions >= 1)) throw new Error(`sendOpsArb: partitions must be an integer ≥ 1, got ${o.partitions}`);
  if (!(Number.isInteger(o.durationMs) && o.durationMs >= 0)) throw new Error(`sendOpsArb: durationMs must be an integer ≥ 0, got ${o.durationMs}`);
  const prefix = o.valuePrefix ?? 'op';
  const send = fc.record({ atMs: fc.integer({ min: 0, max: o.durationMs }), partition: fc.integer({ min: 0, max: o.partitions - 1 }) });
  return fc
    .array(send, { maxLength: o.maxOps ?? 20 })
    .map((sends) =>
      [...sends]
        .sort((a, b) => a.atMs - b.atMs)
        .map((s, i) => ({ atMs: s.atMs, op: 'send' as const, producer: o.producer, partition: s.partition, value: `${prefix}${i}` })),
    );
}

export interface ScenarioArbOptions {
  /**
   * Options for the generated `faults` (default: acting on the brokers, partition sides and clog
   * ends over every node, within the base's durationMs); `false` keeps the base's own faults.
   */
  faults?: Partial<ScheduleOptions> | false;
  /**
   * Generate the top-level `ops` too: `true`, or options (default: the base's first producer, its
   * topic's partitions, the base's durationMs, a value prefix no explicit send of the base uses).
   */
  ops?: boolean | Partial<SendOpsOptions>;
}

/**
 * The base scenario JSON with `faults` (and, with `ops`, the top-level `ops`) replaced by generated
 * ones over the base's own nodes (brokers b1..bN, controller c1, the clients' ids) and its
 * `durationMs`. Everything else (nemesis, config, expect, …) is kept as it is.
 */
export function scenarioArb(base: Record<string, unknown>, o: ScenarioArbOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  const brokers = base.brokers;
  if (typeof brokers !== 'number' || !Number.isInteger(brokers) || brokers < 1) throw new Error('scenarioArb: base.brokers must be a positive integer');
  if (typeof base.durationMs !== 'number' || !(base.durationMs > 0)) throw new Error('scenarioArb: base.durationMs must be a positive number (ms)');
  // Whole milliseconds within the fault phase.
  const durationMs = Math.floor(base.durationMs);
  const brokerNames = Array.from({ length: brokers }, (_, i) => `b${i + 1}`);
  const clients = (key: string) => (Array.isArray(base[key]) ? (base[key] as { id?: unknown; topic?: unknown }[]) : []);
  const producers = clients('producers');
  const clientIds = [...producers, ...clients('consumers')].map((c) => c.id).filter((id): id is string => typeof id === 'string');
  const allNodes = [...brokerNames, 'c1', ...clientIds];

  const faults: fc.Arbitrary<FaultAction[] | undefined> =
    o.faults === false ? fc.constant(undefined) : faultScheduleArb({ nodes: brokerNames, allNodes, durationMs, ...o.faults });

  let ops: fc.Arbitrary<SendOp[] | undefined> = fc.constant(undefined);
  if (o.ops !== undefined && o.ops !== false) {
    const given = o.ops === true ? {} : o.ops;
    const producer = given.producer ?? producers.map((p) => p.id).find((id): id is string => typeof id === 'string');
    if (producer === undefined) throw new Error('scenarioArb: ops need a producer, and the base has none');
    const topicName = producers.find((p) => p.id === producer)?.topic;
    const topic = (Array.isArray(base.topics) ? (base.topics as { name?: unknown; partitions?: unknown }[]) : []).find((t) => t.name === topicName);
    if (topic === undefined || typeof topic.partitions !== 'number') throw new Error(`scenarioArb: cannot find the topic of producer "${producer}"`);
    ops = sendOpsArb({
      producer,
      partitions: topic.partitions,
      durationMs: given.durationMs ?? durationMs,
      valuePrefix: given.valuePrefix ?? freshPrefix(base),
      ...(given.maxOps !== undefined ? { maxOps: given.maxOps } : {}),
      ...(given.partitions !== undefined ? { partitions: given.partitions } : {}),
    });
  }

  return fc.record({ faults, ops }).map(({ faults: f, ops: s }) => {
    const out = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    if (f !== undefined) out.faults = f;
    if (s !== undefined) out.ops = s;
    return out;
  });
}

/** A value prefix that no explicit send of the base (in a producer's own `ops`) starts with. */
function freshPrefix(base: Record<string, unknown>): string {
  const values: string[] = [];
  for (const p of Array.isArray(base.producers) ? (base.producers as { ops?: unknown }[]) : [])
    if (Array.isArray(p.ops)) for (const op of p.ops as { value?: unknown }[]) if (typeof op.value === 'string') values.push(op.value);
  let prefix = 'op';
  while (values.some((v) => v.startsWith(prefix))) prefix += '_';
  return prefix;
}
