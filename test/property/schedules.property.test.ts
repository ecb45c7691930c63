// Properties of the schedule and operation arbitraries (scenarios/arbitraries.ts), and the
// simulation property users copy: Kafka with every fix in gives no `invalid` verdict under any
// fault schedule.
//
// The first group is cheap (no simulation): every generated value is plain JSON that parseFaults /
// parseScenario accept, over option sets that are themselves random. The second shows shrinking
// goes towards fewer, earlier, shorter and simpler faults. The third runs the simulator.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DISK_FAULT_KINDS,
  type DiskFaultKind,
  type FaultKind,
  faultArb,
  faultEpisodeArb,
  faultScheduleArb,
  type ScheduleOptions,
  scenarioArb,
  sendOpsArb,
} from '../../scenarios/arbitraries.js';
import { builtinJson } from '../../scenarios/builtin/index.js';
import { runScenario } from '../../scenarios/runner.js';
import { parseScenario } from '../../scenarios/scenario.js';
import { FAULT_KINDS, type FaultAction, parseFaults } from '../../sim/faults.js';

const BROKERS = ['b1', 'b2', 'b3'];
const ALL_NODES = [...BROKERS, 'c1', 'p1', 'k1'];

/** JSON.parse(JSON.stringify(x)) deep-equals x: no undefined, no NaN, no class instances. */
const roundTrips = (x: unknown) => expect(JSON.parse(JSON.stringify(x))).toStrictEqual(x);

/** Random options: 1..4 target nodes, up to 3 more nodes, any subset of the kinds, any phase. */
const optionsArb: fc.Arbitrary<ScheduleOptions> = fc
  .record({
    targets: fc.integer({ min: 1, max: 4 }),
    extra: fc.integer({ min: 0, max: 3 }),
    durationMs: fc.integer({ min: 0, max: 120_000 }),
    startFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    maxFaults: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
    kinds: fc.option(fc.subarray([...FAULT_KINDS] as FaultKind[], { minLength: 1 }), { nil: undefined }),
    diskKinds: fc.option(fc.subarray([...DISK_FAULT_KINDS] as DiskFaultKind[], { minLength: 1 }), { nil: undefined }),
    maxFaultMs: fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined }),
  })
  .map((r) => {
    const nodes = Array.from({ length: r.targets }, (_, i) => `b${i + 1}`);
    const o: ScheduleOptions = {
      nodes,
      allNodes: [...nodes, ...['c1', 'p1', 'k1'].slice(0, r.extra)],
      durationMs: r.durationMs,
      startMs: Math.floor(r.startFraction * r.durationMs),
    };
    if (r.maxFaults !== undefined) o.maxFaults = r.maxFaults;
    if (r.kinds !== undefined) o.kinds = r.kinds;
    if (r.diskKinds !== undefined) o.diskKinds = r.diskKinds;
    if (r.maxFaultMs !== undefined) o.maxFaultMs = r.maxFaultMs;
    return o;
  });

/** The faults a schedule over `o` may contain (a clog or reset needs two nodes). */
function drawable(o: ScheduleOptions): FaultKind[] {
  const all = new Set([...(o.allNodes ?? []), ...o.nodes]);
  return [...(o.kinds ?? FAULT_KINDS)].filter((k) => !((k === 'clog' || k === 'reset') && all.size < 2));
}

function checkFault(f: FaultAction, o: ScheduleOptions, allowRepairs: boolean): void {
  roundTrips(f);
  const start = o.startMs ?? 0;
  expect(f.atMs).toBeGreaterThanOrEqual(start);
  expect(f.atMs).toBeLessThanOrEqual(o.durationMs);
  expect(Number.isInteger(f.atMs)).toBe(true);
  const kinds = drawable(o);
  // A repair (restart, heal, drift back to 0) may be of a kind not asked for.
  const repair = f.fault === 'restart' || f.fault === 'heal' || (f.fault === 'clock-drift' && f.ppm === 0);
  if (!(allowRepairs && repair)) expect(kinds).toContain(f.fault);
  if (f.fault === 'disk') expect(o.diskKinds ?? DISK_FAULT_KINDS).toContain(f.kind);
  const targets = ['node', 'isolate'] as const;
  for (const key of targets) if (key in f) expect(o.nodes).toContain((f as unknown as Record<string, string>)[key]);
}

describe('schedules are plain JSON that the scenario format accepts', () => {
  it('faultArb: one fault of the asked kinds over the given nodes, accepted by parseFaults', () => {
    const arb = optionsArb.filter((o) => drawable(o).length > 0).chain((o) => fc.tuple(fc.constant(o), faultArb(o)));
    fc.assert(
      fc.property(arb, ([o, f]) => {
        checkFault(f, o, false);
        const all = [...new Set([...(o.allNodes ?? []), ...o.nodes])];
        expect(parseFaults([f], all)).toStrictEqual([f]);
      }),
      { numRuns: 400, seed: 1 },
    );
  });

  it('faultArb with channels: a clog or reset names one of them or none (the whole link), and parseFaults accepts it over those channels', () => {
    const channels = ['heartbeat', 'alter-partition'];
    const seen = new Set<string>();
    fc.assert(
      fc.property(faultArb({ nodes: ['b1', 'b2'], allNodes: ['b1', 'b2', 'c1'], durationMs: 10_000, kinds: ['clog', 'reset'], channels }), (f) => {
        const ch = (f as { channel?: string }).channel;
        seen.add(ch ?? 'link');
        if (ch !== undefined) expect(channels).toContain(ch);
        expect(parseFaults([f], ['b1', 'b2', 'c1'], 'faults', ['default', ...channels])).toStrictEqual([f]);
      }),
      { numRuns: 200, seed: 1 },
    );
    expect([...seen].sort()).toEqual(['alter-partition', 'heartbeat', 'link']);
    // A counterexample that needs a channel shrinks to the first one given.
    const r = fc.check(
      fc.property(faultArb({ nodes: ['b1', 'b2'], durationMs: 10_000, kinds: ['clog'], channels }), (f) => (f as { channel?: string }).channel === undefined),
      { seed: 3, numRuns: 200 },
    );
    expect(r.failed).toBe(true);
    expect((r.counterexample?.[0] as { channel?: string }).channel).toBe('heartbeat');
  });

  it('faultScheduleArb: at most maxFaults faults, sorted by time, accepted by parseFaults', () => {
    const arb = optionsArb.chain((o) => fc.tuple(fc.constant(o), faultScheduleArb(o)));
    fc.assert(
      fc.property(arb, ([o, schedule]) => {
        roundTrips(schedule);
        expect(schedule.length).toBeLessThanOrEqual(o.maxFaults ?? 12);
        if (drawable(o).length === 0) expect(schedule).toEqual([]);
        for (const f of schedule) checkFault(f, o, true);
        for (let i = 1; i < schedule.length; i++) expect(schedule[i]?.atMs).toBeGreaterThanOrEqual(schedule[i - 1]?.atMs as number);
        const all = [...new Set([...(o.allNodes ?? []), ...o.nodes])];
        expect(parseFaults(schedule, all)).toStrictEqual(schedule);
      }),
      { numRuns: 400, seed: 2 },
    );
  });

  it('faultEpisodeArb: a fault, then possibly its repair on the same node', () => {
    const o = { nodes: BROKERS, allNodes: ALL_NODES, durationMs: 20_000 };
    fc.assert(
      fc.property(faultEpisodeArb(o), (episode) => {
        roundTrips(episode);
        expect(episode.length).toBeGreaterThanOrEqual(1);
        expect(episode.length).toBeLessThanOrEqual(2);
        const [f, repair] = episode as [FaultAction, FaultAction | undefined];
        if (repair === undefined) return;
        expect(repair.atMs).toBeGreaterThan((f.atMs as number) - 1);
        if (f.fault === 'crash' || f.fault === 'wipe' || f.fault === 'shutdown') expect(repair).toMatchObject({ fault: 'restart', node: f.node });
        else if (f.fault === 'partition') expect(repair.fault).toBe('heal');
        else if (f.fault === 'clock-drift') expect(repair).toMatchObject({ fault: 'clock-drift', node: f.node, ppm: 0 });
        else expect.fail(`${f.fault} has no repair`);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('draws every kind, every disk kind and every partition shape, and a crash is usually followed by its restart', () => {
    const o = { nodes: BROKERS, allNodes: ALL_NODES, durationMs: 20_000 };
    const schedules = fc.sample(faultScheduleArb(o), { numRuns: 500, seed: 4 });
    const faults = schedules.flat();
    expect(new Set(faults.map((f) => f.fault))).toEqual(new Set(FAULT_KINDS));
    expect(new Set(faults.flatMap((f) => (f.fault === 'disk' ? [f.kind] : [])))).toEqual(new Set(DISK_FAULT_KINDS));
    const shapes = new Set(
      faults.flatMap((f) =>
        f.fault !== 'partition' ? [] : f.isolate ? ['isolate'] : f.oneWay ? ['one-way'] : (f.sides?.length ?? 0) > 2 ? ['3 sides'] : ['2 sides'],
      ),
    );
    expect(shapes).toEqual(new Set(['isolate', 'one-way', '2 sides', '3 sides']));
    // A bridge: sides that leave some node out.
    expect(faults.some((f) => f.fault === 'partition' && f.sides !== undefined && f.sides.flat().length < ALL_NODES.length)).toBe(true);
    let crashes = 0;
    let restarted = 0;
    for (const s of schedules)
      s.forEach((f, i) => {
        if (f.fault !== 'crash') return;
        crashes++;
        if (s.slice(i + 1).some((g) => g.fault === 'restart' && g.node === f.node)) restarted++;
      });
    expect(crashes).toBeGreaterThan(100);
    expect(restarted / crashes).toBeGreaterThan(0.7);
    // Schedules of every length up to the cap, the empty one included.
    const lengths = new Set(schedules.map((s) => s.length));
    expect(lengths.has(0)).toBe(true);
    expect(lengths.has(12)).toBe(true);
  });

  it('sendOpsArb: sends in time order within [0, durationMs], to existing partitions, every value unique', () => {
    const arb = fc
      .record({ partitions: fc.integer({ min: 1, max: 8 }), durationMs: fc.integer({ min: 0, max: 60_000 }), maxOps: fc.integer({ min: 0, max: 40 }) })
      .chain((o) => fc.tuple(fc.constant(o), sendOpsArb({ producer: 'p1', ...o, valuePrefix: 'v' })));
    fc.assert(
      fc.property(arb, ([o, ops]) => {
        roundTrips(ops);
        expect(ops.length).toBeLessThanOrEqual(o.maxOps);
        expect(new Set(ops.map((x) => x.value)).size).toBe(ops.length);
        ops.forEach((x, i) => {
          expect(x).toStrictEqual({ atMs: x.atMs, op: 'send', producer: 'p1', partition: x.partition, value: `v${i}` });
          expect(x.atMs).toBeGreaterThanOrEqual(i === 0 ? 0 : (ops[i - 1]?.atMs as number));
          expect(x.atMs).toBeLessThanOrEqual(o.durationMs);
          expect(x.partition).toBeLessThan(o.partitions);
        });
        const durationMs = Math.max(1, o.durationMs);
        const json = {
          name: 'ops',
          brokers: 1,
          topics: [{ name: 't', partitions: o.partitions, replicationFactor: 1 }],
          producers: [{ id: 'p1', topic: 't' }],
          ops,
          durationMs,
        };
        expect(parseScenario(json, 'ops').producers[0]?.ops).toHaveLength(ops.length);
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('scenarioArb: a built-in scenario with generated faults and ops still passes parseScenario, and the base is left alone', () => {
    for (const name of ['nemesis', 'kip-101', 'kip-279', 'rolling-restart']) {
      const base = builtinJson(name);
      const before = JSON.stringify(base);
      const arb = scenarioArb(base, { ops: { maxOps: 10 } });
      fc.assert(
        fc.property(arb, (json) => {
          roundTrips(json);
          const s = parseScenario(json, name);
          expect(s.faults).toStrictEqual(json.faults);
          const brokers = Array.from({ length: base.brokers as number }, (_, i) => `b${i + 1}`);
          for (const f of s.faults) if ('node' in f) expect(brokers).toContain(f.node);
          const { faults: _f, ops: _o, ...rest } = json;
          const { faults: _bf, ops: _bo, ...baseRest } = base;
          expect(rest).toStrictEqual(baseRest);
        }),
        { numRuns: 150, seed: 6 },
      );
      expect(JSON.stringify(base)).toBe(before);
    }
  });
});

describe('shrinking goes towards fewer, earlier, shorter and simpler faults', () => {
  const o = { nodes: BROKERS, allNodes: ALL_NODES, durationMs: 20_000, startMs: 1000 };

  it('"no crash of b1" shrinks to a single crash of b1 at the earliest time', () => {
    const r = fc.check(
      fc.property(faultScheduleArb(o), (s) => !s.some((f) => f.fault === 'crash' && f.node === 'b1')),
      { numRuns: 1000, seed: 7 },
    );
    expect(r.failed).toBe(true);
    expect(r.counterexample?.[0]).toStrictEqual([{ atMs: 1000, fault: 'crash', node: 'b1' }]);
  });

  it('"no partition" shrinks to one node isolated: the simplest shape', () => {
    const r = fc.check(
      fc.property(faultScheduleArb(o), (s) => !s.some((f) => f.fault === 'partition')),
      { numRuns: 1000, seed: 8 },
    );
    expect(r.failed).toBe(true);
    expect(r.counterexample?.[0]).toStrictEqual([{ atMs: 1000, fault: 'partition', isolate: 'b1' }]);
  });

  it('"b2 and b3 never cut off from each other" shrinks to the smallest such partition', () => {
    const cuts = (f: FaultAction) => f.fault === 'partition' && f.sides !== undefined && !f.sides.some((side) => side.includes('b2') && side.includes('b3'));
    const bothNamed = (f: FaultAction) => f.fault === 'partition' && f.sides?.flat().includes('b2') && f.sides.flat().includes('b3');
    const r = fc.check(
      fc.property(faultScheduleArb(o), (s) => !s.some((f) => bothNamed(f) && cuts(f))),
      { numRuns: 1000, seed: 9 },
    );
    expect(r.failed).toBe(true);
    expect(r.counterexample?.[0]).toHaveLength(1);
    const f = r.counterexample?.[0][0] as FaultAction;
    expect(f.atMs).toBe(1000);
    expect(f.fault === 'partition' && f.sides?.length).toBe(2);
  });

  it('"no pause of 5 s or more" shrinks to one pause of exactly 5 s', () => {
    const r = fc.check(
      fc.property(faultScheduleArb({ ...o, kinds: ['pause', 'crash', 'partition'] }), (s) => !s.some((f) => f.fault === 'pause' && f.durationMs >= 5000)),
      { numRuns: 1000, seed: 10 },
    );
    expect(r.failed).toBe(true);
    expect(r.counterexample?.[0]).toStrictEqual([{ atMs: 1000, fault: 'pause', node: 'b1', durationMs: 5000 }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Simulation properties

/** A 3-broker cluster, RF 3, min.insync.replicas=2, an acks=all producer and a consumer. */
const CLUSTER = {
  name: 'prop',
  brokers: 3,
  topics: [{ name: 't', partitions: 3, replicationFactor: 3 }],
  config: { 'min.insync.replicas': 2 },
  producers: [{ id: 'p1', topic: 't', acks: 'all', ratePerSec: 30 }],
  consumers: [{ id: 'k1', topic: 't' }],
  durationMs: 15_000,
};

describe('Kafka under random fault schedules', () => {
  it('with every fix in, no schedule of any fault kind gives an invalid verdict (25 schedules)', () => {
    let runs = 0;
    fc.assert(
      fc.property(scenarioArb(CLUSTER), fc.integer({ min: 1, max: 1_000_000 }), (json, seed) => {
        runs++;
        const r = runScenario(parseScenario(json, 'prop'), { seed });
        if (r.verdict === 'invalid')
          throw new Error(`seed ${seed}, faults ${JSON.stringify(json.faults)}: invalid, first violation ${JSON.stringify(r.violations[0])}`);
      }),
      // The message then holds the schedule and the first violation, not only the counterexample.
      { numRuns: 25, seed: 11, includeErrorInReport: true },
    );
    expect(runs).toBe(25);
  });

  it('with fix.kip-101 off, fast-check finds a lost committed record under crashes and shrinks it to a few faults', () => {
    // Faster failure detection so that a few crashes lead to elections within a 10 s run; faults
    // end 2 s before the run does, so that every broker has restarted and caught up by then.
    const base = {
      ...CLUSTER,
      topics: [{ name: 't', partitions: 1, replicationFactor: 3 }],
      config: { 'min.insync.replicas': 2, 'broker.session.timeout.ms': 3000, 'broker.heartbeat.interval.ms': 1000 },
      durationMs: 10_000,
      liveness: { withinMs: 15_000 },
    };
    const schedules = faultScheduleArb({ nodes: BROKERS, durationMs: 8000, kinds: ['crash'], maxFaultMs: 3000 });
    const runWith = (faults: FaultAction[], seed: number, set: Record<string, boolean>) =>
      runScenario(parseScenario({ ...base, faults }, 'kip-101-prop'), { seed, set });
    const r = fc.check(
      fc.property(schedules, fc.integer({ min: 1, max: 1_000_000 }), (faults, seed) => runWith(faults, seed, { 'fix.kip-101': false }).verdict !== 'invalid'),
      { numRuns: 100, seed: 12 },
    );
    expect(r.failed).toBe(true);
    const [faults, seed] = r.counterexample as [FaultAction[], number];
    expect(faults.length).toBeLessThanOrEqual(4);
    const off = runWith(faults, seed, { 'fix.kip-101': false });
    expect(off.verdict).toBe('invalid');
    expect(off.violations[0]?.detail, JSON.stringify(off.violations[0])).toMatch(/fix\.kip-101 off/);
    // The same schedule and seed with the fix in: no violation.
    expect(runWith(faults, seed, {}).verdict, JSON.stringify(faults)).not.toBe('invalid');
  });
});
