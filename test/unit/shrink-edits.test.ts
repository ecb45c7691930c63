// The shrinker's edits over fault schedules (scenarios/shrink.ts, steps 6 and 7): pure functions
// from a scenario's JSON to smaller or simpler candidates. No run here: what each edit proposes.

import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../scenarios/scenario.js';
import {
  candidates,
  distinctTimes,
  dropPairs,
  dropWithRepair,
  mergeOutages,
  mergePartitions,
  moveFaults,
  orphanRepairs,
  PAIR_LIMIT,
  repairOf,
  simplerPartitions,
  timeline,
  withoutFaultsAndRepairs,
} from '../../scenarios/shrink.js';

type Json = Record<string, unknown>;

function scenario(faults: Json[]): Json {
  return {
    name: 'edits',
    brokers: 3,
    controllers: 1,
    topics: [{ name: 't', partitions: 1, replicationFactor: 3 }],
    producers: [{ id: 'p1', topic: 't', ratePerSec: 10 }],
    durationMs: 20_000,
    faults,
  };
}

/** A fault as `atMs kind target`, to compare schedules at a glance. */
function label(f: Json): string {
  const target = f.node ?? f.isolate ?? (f.sides !== undefined ? JSON.stringify(f.sides) : f.from !== undefined ? `${f.from}->${f.to}` : '');
  return `${f.atMs ?? 'on'} ${f.fault}${target === '' ? '' : ` ${target}`}`;
}

function labels(s: Json): string[] {
  return (s.faults as Json[]).map(label);
}

function all(g: Iterable<Json>): string[][] {
  return [...g].map(labels);
}

const crash = (atMs: number, node: string): Json => ({ atMs, fault: 'crash', node });
const restart = (atMs: number, node: string): Json => ({ atMs, fault: 'restart', node });
const heal = (atMs: number): Json => ({ atMs, fault: 'heal' });
const sides = (atMs: number, ...s: string[][]): Json => ({ atMs, fault: 'partition', sides: s });

describe('timeline and repairs', () => {
  it('orders the timed faults by time, then by list position, and leaves out triggered ones', () => {
    const faults = [crash(3000, 'b1'), { on: { kind: 'leader.elected' }, fault: 'crash', node: 'b2' }, crash(1000, 'b3'), restart(3000, 'b1')];
    expect(timeline(faults)).toEqual([2, 0, 3]);
  });

  it('finds the restart that ends a crash or wipe, and the heal that ends a partition', () => {
    const faults = [
      crash(1000, 'b1'),
      { atMs: 1500, fault: 'wipe', node: 'b2' },
      restart(2000, 'b3'), // another node: not b1's repair
      sides(2500, ['b1'], ['b3']),
      restart(3000, 'b2'),
      restart(4000, 'b1'),
      heal(5000),
      sides(6000, ['b2'], ['b3']),
      sides(7000, ['b1'], ['b2']), // replaces the one before: that one has no heal of its own
      crash(8000, 'b2'), // never restarted
    ];
    expect(repairOf(faults, 0)).toBe(5);
    expect(repairOf(faults, 1)).toBe(4);
    expect(repairOf(faults, 3)).toBe(6);
    expect(repairOf(faults, 7)).toBeUndefined();
    expect(repairOf(faults, 8)).toBeUndefined();
    expect(repairOf(faults, 9)).toBeUndefined();
    expect(repairOf(faults, 2)).toBeUndefined(); // a restart repairs nothing after it
  });

  it('names the repairs that repair nothing: a restart of a running node, a heal with nothing in force', () => {
    const faults = [
      restart(500, 'b2'), // b2 runs
      crash(1000, 'b1'),
      restart(2000, 'b1'),
      restart(2500, 'b1'), // again: b1 already runs
      heal(3000), // nothing to heal
      { atMs: 4000, fault: 'clog', from: 'b1', to: 'b2', durationMs: 500 },
      heal(4200), // the clog is in force: not an orphan
      { atMs: 5000, fault: 'clog', from: 'b1', to: 'b2', durationMs: 500 },
      heal(6000), // the clog ended at 5500
      sides(7000, ['b1'], ['b2']),
      heal(8000),
      heal(9000),
    ];
    expect(orphanRepairs(faults)).toEqual([0, 3, 4, 8, 11]);
  });

  it('leaves alone what a triggered fault may have broken', () => {
    const faults = [{ on: { kind: 'leader.elected' }, fault: 'crash', node: 'b1' }, restart(2000, 'b1'), restart(2000, 'b2'), heal(3000)];
    expect(orphanRepairs(faults)).toEqual([2, 3]);
    const withPartition = [{ on: { kind: 'leader.elected' }, fault: 'partition', isolate: 'b1' }, heal(3000)];
    expect(orphanRepairs(withPartition)).toEqual([]);
  });

  it('drops the repairs a drop leaves with nothing to repair, and only those', () => {
    const s = scenario([restart(500, 'b3'), crash(1000, 'b1'), sides(1500, ['b1'], ['b2']), restart(2000, 'b1'), heal(3000), crash(4000, 'b2')]);
    // b1's crash and the partition go: b1's restart and the heal go with them; b3's restart was
    // an orphan before and stays (dropping it is another edit's business).
    expect(labels(withoutFaultsAndRepairs(s, [1, 2]))).toEqual(['500 restart b3', '4000 crash b2']);
    expect(labels(withoutFaultsAndRepairs(s, [5]))).toEqual(labels(s).slice(0, 5));
  });
});

describe('step 6: faults that belong together', () => {
  const s = scenario([
    sides(1000, ['b1'], ['b2', 'b3']),
    crash(2000, 'b2'),
    heal(3000),
    restart(4000, 'b2'),
    crash(5000, 'b2'),
    sides(6000, ['b3'], ['b1']),
    restart(7000, 'b2'),
    heal(8000),
  ]);

  it('drops each outage with its repair', () => {
    expect(all(dropWithRepair(s))).toEqual([
      // the first partition and its heal
      ['2000 crash b2', '4000 restart b2', '5000 crash b2', '6000 partition [["b3"],["b1"]]', '7000 restart b2', '8000 heal'],
      // b2's first crash and its restart
      ['1000 partition [["b1"],["b2","b3"]]', '3000 heal', '5000 crash b2', '6000 partition [["b3"],["b1"]]', '7000 restart b2', '8000 heal'],
      // b2's second crash and its restart
      ['1000 partition [["b1"],["b2","b3"]]', '2000 crash b2', '3000 heal', '4000 restart b2', '6000 partition [["b3"],["b1"]]', '8000 heal'],
      // the second partition and its heal
      ['1000 partition [["b1"],["b2","b3"]]', '2000 crash b2', '3000 heal', '4000 restart b2', '5000 crash b2', '7000 restart b2'],
    ]);
  });

  it('merges two outages of the same thing into one', () => {
    expect(all(mergeOutages(s))).toEqual([
      // heal at 3000 and the partition at 6000: the first partition lasts until 8000
      ['1000 partition [["b1"],["b2","b3"]]', '2000 crash b2', '4000 restart b2', '5000 crash b2', '7000 restart b2', '8000 heal'],
      // b2's restart at 4000 and its crash at 5000: b2 is down from 2000 to 7000
      ['1000 partition [["b1"],["b2","b3"]]', '2000 crash b2', '3000 heal', '6000 partition [["b3"],["b1"]]', '7000 restart b2', '8000 heal'],
    ]);
  });

  it('does not merge at a repair that repairs nothing', () => {
    const t = scenario([restart(1000, 'b1'), crash(2000, 'b1'), heal(2500), sides(3000, ['b1'], ['b2'])]);
    expect(all(mergeOutages(t))).toEqual([]);
  });

  it('drops any two faults of a short schedule, with the repairs that leaves idle', () => {
    const t = scenario([crash(1000, 'b1'), crash(2000, 'b2'), restart(3000, 'b1'), { atMs: 4000, fault: 'pause', node: 'b3', durationMs: 100 }]);
    expect(all(dropPairs(t))).toEqual([
      ['4000 pause b3'], // both crashes: b1's restart goes with them
      ['2000 crash b2', '4000 pause b3'],
      ['2000 crash b2'], // b1's crash and the pause: b1's restart goes too
      ['1000 crash b1', '4000 pause b3'],
      ['1000 crash b1', '3000 restart b1'],
      ['1000 crash b1', '2000 crash b2'],
    ]);
    const long = scenario(Array.from({ length: PAIR_LIMIT + 1 }, (_, i) => ({ atMs: 1000 + i, fault: 'pause', node: 'b1', durationMs: 10 })));
    expect([...dropPairs(long)]).toHaveLength(0);
    const limit = scenario(Array.from({ length: PAIR_LIMIT }, (_, i) => ({ atMs: 1000 + i, fault: 'pause', node: 'b1', durationMs: 10 })));
    expect([...dropPairs(limit)]).toHaveLength((PAIR_LIMIT * (PAIR_LIMIT - 1)) / 2);
  });
});

describe('step 7: simpler faults at other times', () => {
  it('merges two partitions in a row into the second shape from the first time, not across a heal', () => {
    const s = scenario([sides(1000, ['b1'], ['b2']), { atMs: 2000, fault: 'partition', isolate: 'b3' }, heal(3000), sides(4000, ['b2'], ['b3'])]);
    const out = [...mergePartitions(s)];
    expect(out.map(labels)).toEqual([['1000 partition b3', '3000 heal', '4000 partition [["b2"],["b3"]]']]);
    const merged = (out[0]?.faults as Json[])[0] as Json;
    expect(merged).toEqual({ atMs: 1000, fault: 'partition', isolate: 'b3' });
  });

  it('simplifies partition shapes: a one-node side becomes isolate, three sides become two', () => {
    const s = scenario([sides(1000, ['b1'], ['b2', 'b3']), sides(2000, ['b1', 'c1'], ['b2'], ['b3']), { atMs: 3000, fault: 'partition', isolate: 'b2' }]);
    expect(all(simplerPartitions(s)).map((l) => l.slice(0, 2))).toEqual([
      ['1000 partition b1', '2000 partition [["b1","c1"],["b2"],["b3"]]'],
      ['1000 partition [["b1"],["b2","b3"]]', '2000 partition b2'],
      ['1000 partition [["b1"],["b2","b3"]]', '2000 partition b3'],
      ['1000 partition [["b1"],["b2","b3"]]', '2000 partition [["b1","c1","b2"],["b3"]]'],
      ['1000 partition [["b1"],["b2","b3"]]', '2000 partition [["b1","c1"],["b2","b3"]]'],
    ]);
  });

  it('moves a fault to the time of its neighbours, its repair by as much, and keeps the list in time order', () => {
    const s = scenario([{ atMs: 1000, fault: 'pause', node: 'b3', durationMs: 50 }, crash(2000, 'b1'), heal(2500), restart(3000, 'b1')]);
    expect(all(moveFaults(s))).toEqual([
      // the pause: nothing fires before it; later, to 2000 (ties keep the list order)
      ['2000 pause b3', '2000 crash b1', '2500 heal', '3000 restart b1'],
      // the crash, earlier to 1000 with its restart to 2000; later to 2500 with its restart to 3500
      ['1000 pause b3', '1000 crash b1', '2000 restart b1', '2500 heal'],
      ['1000 pause b3', '2500 crash b1', '2500 heal', '3500 restart b1'],
      // the heal
      ['1000 pause b3', '2000 crash b1', '2000 heal', '3000 restart b1'],
      ['1000 pause b3', '2000 crash b1', '3000 heal', '3000 restart b1'],
      // the restart (a repair moves alone)
      ['1000 pause b3', '2000 crash b1', '2500 heal', '2500 restart b1'],
    ]);
  });

  it('moves only where this leaves fewer different fault times', () => {
    const s = scenario([
      { atMs: 1000, fault: 'pause', node: 'b2', durationMs: 50 },
      { atMs: 1000, fault: 'pause', node: 'b3', durationMs: 50 },
      crash(2000, 'b1'),
    ]);
    expect(distinctTimes(s.faults as Json[])).toBe(2);
    // A pause moved to 2000 leaves 1000 and 2000: not proposed; the crash moved to 1000 is.
    expect(all(moveFaults(s))).toEqual([['1000 pause b2', '1000 pause b3', '1000 crash b1']]);
  });
});

describe('the candidate list', () => {
  const s = scenario([
    sides(1000, ['b1'], ['b2', 'b3']),
    crash(2000, 'b2'),
    heal(3000),
    restart(4000, 'b2'),
    crash(5000, 'b3'),
    { atMs: 6000, fault: 'partition', isolate: 'b1' },
    restart(7000, 'b3'),
    heal(8000),
  ]);
  const keys = [...candidates(s)].map((c) => JSON.stringify(c));

  it('lists every candidate once, each a valid scenario, and never the scenario itself', () => {
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).not.toContain(JSON.stringify(s));
    for (const k of keys) expect(() => parseScenario(JSON.parse(k), 'candidate')).not.toThrow();
  });

  it('tries the new edits after the single drops, and leaves out what the walk went through', () => {
    const single = JSON.stringify({ ...s, faults: (s.faults as Json[]).slice(1) });
    const withRepair = JSON.stringify([...dropWithRepair(s)][0]);
    const moved = JSON.stringify([...moveFaults(s)][0]);
    expect(keys.indexOf(single)).toBeGreaterThanOrEqual(0);
    expect(keys.indexOf(withRepair)).toBeGreaterThan(keys.indexOf(single));
    expect(keys.indexOf(moved)).toBeGreaterThan(keys.indexOf(withRepair));
    const rest = [...candidates(s, undefined, new Set([single, moved]))].map((c) => JSON.stringify(c));
    expect(rest).toHaveLength(keys.length - 2);
    expect(rest).not.toContain(single);
    expect(rest).not.toContain(moved);
  });
});
