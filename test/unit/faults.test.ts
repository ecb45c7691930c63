import { describe, expect, it } from 'vitest';
import type { Node } from '../../core/ports.js';
import { blockedLinks, describeFault, type FaultAction, installFaults, parseFaults } from '../../sim/faults.js';
import { InputError } from '../../sim/input.js';
import { drawNemesis, NEMESIS_KINDS } from '../../sim/nemesis.js';
import { Rng } from '../../sim/rng.js';
import { World } from '../../sim/world.js';

const NODES = ['b1', 'b2', 'b3', 'c1'];
const idle = (): Node => ({ start: () => {}, onMessage: () => {}, onTimer: () => {} });

function rejects(value: unknown): string {
  try {
    parseFaults(value, NODES);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected the schedule to be rejected');
}

describe('fault schedules: validation', () => {
  it('a clog or reset may name a channel among those given; an unknown one is rejected with its path', () => {
    const ok = [{ atMs: 1, fault: 'clog', from: 'b1', to: 'c1', durationMs: 5, channel: 'alter-partition' }];
    expect(parseFaults(ok, NODES, 'faults', ['default', 'alter-partition'])).toEqual(ok);
    expect(() => parseFaults(ok, NODES)).toThrow('faults[0].channel: unknown channel "alter-partition" (channels: default)');
    expect(() => parseFaults([{ atMs: 1, fault: 'reset', from: 'b1', to: 'c1', channel: 7 }], NODES)).toThrow(
      /faults\[0\]\.channel: expected a non-empty string, got number 7/,
    );
  });

  it('accepts every fault kind of DESIGN.md §5', () => {
    const schedule = [
      { atMs: 5000, fault: 'partition', sides: [['b1'], ['b2', 'b3', 'c1']] },
      { atMs: 5100, fault: 'partition', oneWay: { from: ['b1'], to: ['b2'] } },
      { atMs: 5200, fault: 'partition', isolate: 'b3' },
      { atMs: 6000, fault: 'heal' },
      { atMs: 9000, fault: 'crash', node: 'b1' },
      { atMs: 9050, fault: 'shutdown', node: 'b2', graceMs: 5000 },
      { atMs: 9100, fault: 'restart', node: 'b1' },
      { atMs: 9200, fault: 'pause', node: 'b2', durationMs: 300 },
      { atMs: 9300, fault: 'wipe', node: 'b3' },
      { atMs: 9400, fault: 'clog', from: 'b1', to: 'b2', durationMs: 50 },
      { atMs: 9500, fault: 'reset', from: 'b1', to: 'c1' },
      { atMs: 9600, fault: 'clock-step', node: 'b2', deltaMs: -2000 },
      { atMs: 9700, fault: 'clock-drift', node: 'b2', ppm: 200 },
      { atMs: 9800, fault: 'disk', node: 'b1', kind: 'bitflip' },
      { atMs: 9800, fault: 'disk', node: 'b1', kind: 'bitflip', file: 'log', offset: 3, bit: 7 },
      { atMs: 9900, fault: 'disk', node: 'b1', kind: 'enospc', durationMs: 100 },
      { atMs: 9900, fault: 'disk', node: 'b1', kind: 'eio', ops: ['fsync'], durationMs: 100 },
      { atMs: 9900, fault: 'disk', node: 'b1', kind: 'slow', factor: 10, durationMs: 100 },
      { atMs: 9900, fault: 'disk', node: 'b1', kind: 'stall', durationMs: 100 },
      { on: { kind: 'leader.elected', node: 'b2', fields: { epoch: 3 } }, delayMs: 10, fault: 'crash', node: 'b2' },
    ];
    const parsed = parseFaults(schedule, NODES);
    expect(parsed).toHaveLength(schedule.length);
    // The parsed schedule is the same JSON (eio gets its default ops when they are omitted).
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(schedule);
    for (const f of parsed) expect(describeFault(f)).not.toBe('');
  });

  it('rejects bad schedules with a message that names the place', () => {
    expect(rejects({})).toBe('faults: expected an array, got an object');
    expect(rejects([{ atMs: 1, fault: 'explode' }])).toMatch(/^faults\[0\]\.fault: unknown fault "explode"/);
    expect(rejects([{ atMs: 1, fault: 'crash', node: 'b9' }])).toMatch(/^faults\[0\]\.node: unknown node "b9"/);
    expect(rejects([{ atMs: 1, fault: 'crash', node: 'b1', colour: 'red' }])).toMatch(/unknown key "colour"/);
    expect(rejects([{ fault: 'heal' }])).toMatch(/needs "atMs".*or "on"/);
    expect(rejects([{ atMs: 1, on: { kind: 'x' }, fault: 'heal' }])).toMatch(/either "atMs" or "on"/);
    expect(rejects([{ atMs: -5, fault: 'heal' }])).toMatch(/atMs: must be ≥ 0/);
    expect(rejects([{ atMs: 1, fault: 'pause', node: 'b1', durationMs: 0 }])).toMatch(/durationMs: must be positive/);
    expect(rejects([{ atMs: 1, fault: 'pause', node: 'b1', durationMs: '5' }])).toMatch(/durationMs: expected a number, got string "5"/);
    expect(rejects([{ atMs: 1, fault: 'partition', sides: [['b1'], ['b1', 'b2']] }])).toMatch(/more than one side/);
    expect(rejects([{ atMs: 1, fault: 'partition', sides: [['b1']] }])).toMatch(/at least two sides/);
    expect(rejects([{ atMs: 1, fault: 'partition', isolate: 'b1', sides: [['b1'], ['b2']] }])).toMatch(/exactly one of/);
    expect(rejects([{ atMs: 1, fault: 'disk', node: 'b1', kind: 'melt' }])).toMatch(/unknown disk fault "melt"/);
    expect(rejects([{ atMs: 1, fault: 'disk', node: 'b1', kind: 'eio', ops: ['open'], durationMs: 5 }])).toMatch(/unknown operation "open"/);
    expect(rejects([{ atMs: 1, fault: 'disk', node: 'b1', kind: 'slow', factor: 0.5, durationMs: 5 }])).toMatch(/factor: must be at least 1/);
    expect(rejects([{ atMs: 1, fault: 'clock-drift', node: 'b1', ppm: 2e6 }])).toMatch(/ppm: must be within/);
    expect(rejects([{ on: { kind: 'x', node: 'zz' }, fault: 'heal' }])).toMatch(/on\.node: unknown node "zz"/);
    expect(rejects([{ atMs: 1, delayMs: 5, fault: 'heal' }])).toMatch(/delayMs: only allowed with "on"/);
  });
});

describe('fault schedules: partitions', () => {
  it('sides block every link across sides, both ways; unnamed nodes keep their links (a bridge)', () => {
    expect(blockedLinks({ fault: 'partition', sides: [['b1'], ['b3']] }, NODES)).toEqual(['b1->b3', 'b3->b1']);
    expect(blockedLinks({ fault: 'partition', sides: [['b1', 'b2'], ['b3']] }, NODES)).toEqual(['b1->b3', 'b2->b3', 'b3->b1', 'b3->b2']);
  });
  it('oneWay blocks one direction; isolate cuts a node from all others', () => {
    expect(blockedLinks({ fault: 'partition', oneWay: { from: ['b1'], to: ['b2', 'b3'] } }, NODES)).toEqual(['b1->b2', 'b1->b3']);
    expect(blockedLinks({ fault: 'partition', isolate: 'c1' }, NODES)).toEqual(['b1->c1', 'b2->c1', 'b3->c1', 'c1->b1', 'c1->b2', 'c1->b3']);
  });
});

describe('fault schedules: execution', () => {
  it('runs each action at its time, and an `on` action after the first matching trace event plus its delay', () => {
    const w = new World({ seed: 1 });
    for (const n of NODES) w.addNode(n, idle);
    const schedule: FaultAction[] = [
      { atMs: 100, fault: 'crash', node: 'b1' },
      { on: { kind: 'node.crash', node: 'b1' }, delayMs: 50, fault: 'restart', node: 'b1' },
      { on: { kind: 'never.happens' }, fault: 'heal' },
      { atMs: 300, fault: 'partition', isolate: 'b2' },
    ];
    const installed = installFaults(w, schedule);
    w.startAll();
    const faults: { t: number; what: string }[] = [];
    w.trace.subscribe((r) => {
      if (r.kind === 'fault') faults.push({ t: r.timeMs, what: String(r.fields?.what) });
    });
    w.run({ untilMs: 1000 });
    expect(faults).toEqual([
      { t: 100, what: 'crash b1' },
      { t: 150, what: 'restart b1' },
      { t: 300, what: 'isolate b2' },
    ]);
    expect(w.isUp('b1')).toBe(true);
    expect(w.network.isBlocked('b2', 'b3')).toBe(true);
    expect(installed.unfired()).toEqual([2]);
  });

  it('an `on` action fires once, on the first match only', () => {
    const w = new World({ seed: 1 });
    for (const n of NODES) w.addNode(n, idle);
    installFaults(w, [{ on: { kind: 'node.restart' }, fault: 'crash', node: 'b3' }]);
    let crashes = 0;
    w.trace.subscribe((r) => {
      if (r.kind === 'node.crash' && r.node === 'b3') crashes++;
    });
    w.startAll();
    for (const t of [10, 20, 30]) {
      w.at(t, undefined, () => w.crash('b1'));
      w.at(t + 1, undefined, () => w.restart('b1'));
    }
    w.run({ untilMs: 100 });
    expect(crashes).toBe(1);
  });
});

describe('nemesis', () => {
  const options = { endMs: 60_000, startMs: 1000, nodes: NODES };

  it('draws the same schedule from the same seed, another from another seed', () => {
    const a = drawNemesis(new Rng(5, 'nemesis'), { ...options, kinds: [...NEMESIS_KINDS] });
    const b = drawNemesis(new Rng(5, 'nemesis'), { ...options, kinds: [...NEMESIS_KINDS] });
    const c = drawNemesis(new Rng(6, 'nemesis'), { ...options, kinds: [...NEMESIS_KINDS] });
    expect(a).toEqual(b);
    expect(c.faults).not.toEqual(a.faults);
  });

  it('produces valid schedule JSON inside the fault phase, each crash and wipe followed by a restart', () => {
    for (let seed = 0; seed < 200; seed++) {
      const plan = drawNemesis(new Rng(seed, 'nemesis'), { ...options, kinds: [...NEMESIS_KINDS], meanIntervalMs: 2000 });
      const parsed = parseFaults(JSON.parse(JSON.stringify(plan.faults)), NODES);
      expect(parsed).toEqual(plan.faults);
      for (const f of plan.faults) {
        expect(f.atMs).toBeGreaterThanOrEqual(1000);
        expect(f.atMs).toBeLessThan(60_000);
      }
      for (let i = 0; i < plan.faults.length; i++) {
        const f = plan.faults[i] as FaultAction;
        if (f.fault === 'crash' || f.fault === 'wipe') {
          expect(plan.faults.slice(i + 1).some((g) => g.fault === 'restart' && g.node === f.node)).toBe(true);
        }
      }
      const times = plan.faults.map((f) => f.atMs as number);
      expect(times).toEqual([...times].sort((x, y) => x - y));
    }
  });

  it('uses only the kinds it is given, and all of them over enough seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 50; seed++) {
      for (const f of drawNemesis(new Rng(seed, 'nemesis'), { ...options, kinds: ['pause', 'clock'] }).faults) seen.add(f.fault);
    }
    expect([...seen].sort()).toEqual(['clock-drift', 'clock-step', 'pause']);
  });

  it('swarm mode draws which kinds are on and how often, differently across seeds', () => {
    const kindSets = new Set<string>();
    const intervals = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const plan = drawNemesis(new Rng(seed, 'nemesis'), options);
      expect(plan.swarm).toBe(true);
      expect(plan.kinds.length).toBeGreaterThan(0);
      expect(plan.meanIntervalMs).toBeGreaterThanOrEqual(500);
      expect(plan.meanIntervalMs).toBeLessThanOrEqual(10_000);
      kindSets.add(plan.kinds.join(','));
      intervals.add(plan.meanIntervalMs);
    }
    expect(kindSets.size).toBeGreaterThan(10);
    expect(intervals.size).toBeGreaterThan(10);
  });

  it('peers are only ever the target of a clog or reset; a pair with channels gets the whole link or one channel; meanDurationMs sets how long a kind lasts', () => {
    const brokers = ['b1', 'b2'];
    const channels = (_from: string, to: string) => (to === 'c1' ? ['heartbeat', 'alter-partition'] : []);
    const picked = new Set<string>();
    for (let seed = 0; seed < 100; seed++) {
      const plan = drawNemesis(new Rng(seed, 'nemesis'), { ...options, nodes: brokers, peers: ['c1'], kinds: ['clog', 'reset', 'crash'], channels });
      const parsed = parseFaults(JSON.parse(JSON.stringify(plan.faults)), NODES, 'faults', ['default', 'heartbeat', 'alter-partition']);
      expect(parsed).toEqual(plan.faults);
      for (const f of plan.faults) {
        if (f.fault === 'clog' || f.fault === 'reset') {
          expect(brokers).toContain(f.from);
          if (f.to !== 'c1') expect(f.channel).toBeUndefined();
          picked.add(`${f.to === 'c1' ? 'c1' : 'broker'}:${f.channel ?? 'link'}`);
        } else expect(brokers).toContain((f as { node: string }).node);
      }
    }
    expect([...picked].sort()).toEqual(['broker:link', 'c1:alter-partition', 'c1:heartbeat', 'c1:link']);
    const clogMs = (meanDurationMs?: { clog: number }) => {
      const ds: number[] = [];
      for (let seed = 0; seed < 50; seed++) {
        const plan = drawNemesis(new Rng(seed, 'nemesis'), { ...options, kinds: ['clog'], ...(meanDurationMs ? { meanDurationMs } : {}) });
        for (const f of plan.faults) if (f.fault === 'clog') ds.push(f.durationMs);
      }
      return ds.reduce((a, b) => a + b, 0) / ds.length;
    };
    expect(clogMs()).toBeGreaterThan(700);
    expect(clogMs()).toBeLessThan(1400);
    expect(clogMs({ clog: 5000 })).toBeGreaterThan(3500);
  });

  it('respects its cap on the number of faults', () => {
    const plan = drawNemesis(new Rng(1, 'nemesis'), { ...options, kinds: ['pause'], meanIntervalMs: 1, maxFaults: 25 });
    expect(plan.faults).toHaveLength(25);
  });
});
