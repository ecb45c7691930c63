// Local clocks: the NodeClock arithmetic (offset, drift, steps, the inverse used for timers) and,
// through a World, what a node sees: ctx.now(), and timers that run on the local clock.

import { describe, expect, it } from 'vitest';
import type { Node, NodeContext, TimerId } from '../../core/ports.js';
import { NodeClock } from '../../sim/clock.js';
import { applyFault } from '../../sim/faults.js';
import { type NodeOptions, World } from '../../sim/world.js';

describe('NodeClock arithmetic', () => {
  it('local time is simulated time plus the offset, scaled by the drift', () => {
    expect(new NodeClock().local(1234)).toBe(1234);
    expect(new NodeClock(1000).local(500)).toBe(1500);
    expect(new NodeClock(-300).local(500)).toBe(200);
    expect(new NodeClock(0, 100_000).local(1000)).toBeCloseTo(1100, 9);
    expect(new NodeClock(0, -250_000).local(1000)).toBeCloseTo(750, 9);
    expect(new NodeClock(50, 100_000).local(1000)).toBeCloseTo(1150, 9);
    expect(new NodeClock(0, 42).driftPpm).toBe(42);
  });

  it('a step moves the clock by delta from the step on, forward or back, and keeps the drift', () => {
    const c = new NodeClock(0, 0);
    c.step(100, 50);
    expect(c.local(100)).toBe(150);
    expect(c.local(200)).toBe(250);
    c.step(200, -80);
    expect(c.local(200)).toBe(170);
    expect(c.local(300)).toBe(270);
    const d = new NodeClock(0, 100_000);
    d.step(1000, 500); // local 1100 -> 1600
    expect(d.local(1000)).toBeCloseTo(1600, 9);
    expect(d.local(2000)).toBeCloseTo(2700, 9);
  });

  it('setDrift rebases at the change: the clock is continuous and runs at the new rate only from then on', () => {
    const c = new NodeClock(10, 0);
    expect(c.local(1000)).toBe(1010);
    c.setDrift(1000, 500_000);
    expect(c.driftPpm).toBe(500_000);
    expect(c.local(1000)).toBeCloseTo(1010, 9);
    expect(c.local(2000)).toBeCloseTo(2510, 9);
    c.setDrift(2000, -500_000);
    expect(c.local(2000)).toBeCloseTo(2510, 9);
    expect(c.local(4000)).toBeCloseTo(3510, 9);
    c.setDrift(4000, 0);
    expect(c.local(5000)).toBeCloseTo(4510, 9);
  });

  it('setDrift refuses a clock that would stand still or run backwards', () => {
    const c = new NodeClock();
    expect(() => c.setDrift(0, -1_000_000)).toThrow(RangeError);
    expect(() => c.setDrift(0, -2_000_000)).toThrow(RangeError);
    expect(() => c.setDrift(0, Number.NaN)).toThrow(RangeError);
    expect(() => c.setDrift(0, -999_999)).not.toThrow();
  });

  it('toSim inverts local: the simulated time at which the local clock reads a value', () => {
    const clocks = [new NodeClock(), new NodeClock(1234, 0), new NodeClock(-500, 200_000), new NodeClock(77, -300_000)];
    const later = new NodeClock(5, 50_000);
    later.step(400, 250);
    later.setDrift(900, -100_000);
    clocks.push(later);
    for (const c of clocks) {
      for (const t of [1000, 1500, 10_000, 123_456.789]) {
        expect(c.toSim(c.local(t), 0)).toBeCloseTo(t, 6);
        expect(c.local(c.toSim(t * 2, 0))).toBeCloseTo(t * 2, 6);
      }
    }
  });

  it('toSim never answers a time before now, even for a local time the clock has already passed', () => {
    const c = new NodeClock(0, 100_000);
    expect(c.toSim(c.local(100), 500)).toBe(500);
    expect(c.toSim(-1e9, 500)).toBe(500);
    expect(c.toSim(c.local(600), 500)).toBeCloseTo(600, 9);
    // After a step back, a local time the clock showed before is reached again later.
    const b = new NodeClock();
    b.step(100, -50); // reads 50 at 100
    expect(b.toSim(80, 100)).toBe(130);
  });
});

// ---------------------------------------------------------------------------------------------

interface Fired {
  readonly node: string;
  readonly tag: string;
  readonly simMs: number;
  readonly localMs: number;
  readonly incarnation: number;
}

let incarnations = 0;

/** A node that sets timers when the test asks it to and records when they fire. */
class TimerProbe implements Node {
  ctx: NodeContext | undefined;
  readonly incarnation = ++incarnations;
  constructor(
    private readonly world: World,
    private readonly fired: Fired[],
  ) {}
  start(ctx: NodeContext): void {
    this.ctx = ctx;
  }
  onMessage(): void {}
  onTimer(ctx: NodeContext, tag: string, _id: TimerId): void {
    this.fired.push({ node: ctx.name, tag, simMs: this.world.now, localMs: ctx.now(), incarnation: this.incarnation });
  }
}

function makeWorld(nodes: Record<string, NodeOptions>): { world: World; fired: Fired[] } {
  const world = new World({ seed: 3 });
  const fired: Fired[] = [];
  for (const [name, options] of Object.entries(nodes)) world.addNode(name, () => new TimerProbe(world, fired), options);
  world.startAll();
  return { world, fired };
}

function ctxOf(world: World, node: string): NodeContext {
  const ctx = world.nodeState<TimerProbe>(node)?.ctx;
  if (ctx === undefined) throw new Error(`${node} is not running`);
  return ctx;
}

function setTimerAt(world: World, atMs: number, node: string, delayMs: number, tag: string, ids?: Map<string, TimerId>): void {
  world.at(atMs, `set-${tag}`, () => {
    const id = ctxOf(world, node).setTimer(delayMs, tag);
    ids?.set(tag, id);
  });
}

function firedAt(fired: Fired[], tag: string): number | undefined {
  return fired.find((f) => f.tag === tag)?.simMs;
}

describe('local clocks seen by nodes', () => {
  it('ctx.now() reads simulated time through the offset and drift of the node', () => {
    const { world } = makeWorld({
      plain: {},
      ahead: { clockOffsetMs: 5000 },
      fast: { clockOffsetMs: 5000, clockDriftPpm: 100_000 },
      slow: { clockDriftPpm: -200_000 },
    });
    const seen: Record<string, number> = {};
    world.at(1000, 'read', () => {
      for (const n of world.nodeNames) seen[n] = ctxOf(world, n).now();
    });
    world.run();
    expect(seen.plain).toBe(1000);
    expect(seen.ahead).toBe(6000);
    expect(seen.fast).toBeCloseTo(6100, 9);
    expect(seen.slow).toBeCloseTo(800, 9);
    expect(world.localTime('fast')).toBeCloseTo(6100, 9);
  });

  it('clock faults change what ctx.now() reads from then on', () => {
    const { world } = makeWorld({ n: {} });
    const seen: number[] = [];
    const read = (t: number) => world.at(t, 'read', () => seen.push(ctxOf(world, 'n').now()));
    world.at(100, 'step', () => applyFault(world, { fault: 'clock-step', node: 'n', deltaMs: 1000 }));
    read(100);
    world.at(200, 'drift', () => applyFault(world, { fault: 'clock-drift', node: 'n', ppm: 500_000 }));
    read(400);
    world.at(400, 'back', () => world.clockStep('n', -2000));
    read(400);
    world.run();
    expect(seen[0]).toBe(1100);
    expect(seen[1]).toBeCloseTo(1200 + 300, 9);
    expect(seen[2]).toBeCloseTo(1500 - 2000, 9);
  });
});

describe('timers on the local clock', () => {
  it('a timer fires after its delay as measured on the local clock: 1000 ms at +100000 ppm is ~909 ms of simulated time', () => {
    const { world, fired } = makeWorld({ fast: { clockDriftPpm: 100_000 }, slow: { clockDriftPpm: -500_000 }, exact: { clockOffsetMs: 777 } });
    for (const n of ['fast', 'slow', 'exact']) setTimerAt(world, 0, n, 1000, `${n}-1000`);
    world.run();
    expect(firedAt(fired, 'fast-1000')).toBeCloseTo(1000 / 1.1, 6);
    expect(firedAt(fired, 'slow-1000')).toBeCloseTo(2000, 6);
    expect(firedAt(fired, 'exact-1000')).toBe(1000);
    // When it fires, the local clock has advanced by the delay.
    expect(fired.find((f) => f.tag === 'fast-1000')?.localMs).toBeCloseTo(1000, 6);
    expect(fired.find((f) => f.tag === 'exact-1000')?.localMs).toBe(1777);
  });

  it('a drift change while a timer runs re-converts its remaining local time', () => {
    const { world, fired } = makeWorld({ n: {} });
    setTimerAt(world, 0, 'n', 1000, 't');
    world.at(500, 'drift', () => world.clockDrift('n', 1_000_000)); // runs twice as fast: 500 local ms left = 250 ms
    world.run();
    expect(firedAt(fired, 't')).toBeCloseTo(750, 6);
  });

  it('a forward clock step makes due timers fire at once and brings the others closer', () => {
    const { world, fired } = makeWorld({ n: {} });
    setTimerAt(world, 0, 'n', 1000, 'due-by-step');
    setTimerAt(world, 0, 'n', 1500, 'closer');
    world.at(500, 'step', () => world.clockStep('n', 700)); // local 500 -> 1200
    world.run();
    expect(firedAt(fired, 'due-by-step')).toBe(500);
    expect(firedAt(fired, 'closer')).toBe(800);
  });

  it('a backward clock step delays timers by the step', () => {
    const { world, fired } = makeWorld({ n: {} });
    setTimerAt(world, 0, 'n', 1000, 't');
    world.at(500, 'step', () => world.clockStep('n', -300));
    world.run();
    expect(firedAt(fired, 't')).toBe(1300);
    expect(fired[0]?.localMs).toBe(1000);
  });

  // Regression: after a clock change the pending timers were re-scheduled in setting order, so
  // timers that a forward step made overdue (all landing on the current instant) fired out of
  // deadline order.
  it('timers made due together by a forward step fire in the order of their local deadlines', () => {
    const { world, fired } = makeWorld({ n: {} });
    setTimerAt(world, 0, 'n', 900, 'late-deadline'); // set first, deadline 900
    setTimerAt(world, 0, 'n', 300, 'early-deadline'); // set second, deadline 300
    setTimerAt(world, 0, 'n', 600, 'middle-deadline');
    world.at(100, 'step', () => world.clockStep('n', 5000));
    world.run();
    expect(fired.map((f) => f.simMs)).toEqual([100, 100, 100]);
    expect(fired.map((f) => f.tag)).toEqual(['early-deadline', 'middle-deadline', 'late-deadline']);
  });

  it('timers with the same local deadline fire in the order they were set', () => {
    const { world, fired } = makeWorld({ n: { clockDriftPpm: 123_456 } });
    for (const tag of ['x', 'y', 'z']) setTimerAt(world, 0, 'n', 1000, tag);
    setTimerAt(world, 0, 'n', 999, 'first');
    world.run();
    expect(fired.map((f) => f.tag)).toEqual(['first', 'x', 'y', 'z']);
  });

  it('a cancelled timer never fires, also when it was re-converted by a clock change before being cancelled', () => {
    const { world, fired } = makeWorld({ n: {} });
    const ids = new Map<string, TimerId>();
    setTimerAt(world, 0, 'n', 1000, 'cancelled', ids);
    setTimerAt(world, 0, 'n', 1000, 'cancelled-after-step', ids);
    setTimerAt(world, 0, 'n', 1000, 'kept', ids);
    world.at(100, 'cancel', () => ctxOf(world, 'n').cancelTimer(ids.get('cancelled') as TimerId));
    world.at(200, 'step', () => world.clockStep('n', -100));
    world.at(300, 'cancel', () => ctxOf(world, 'n').cancelTimer(ids.get('cancelled-after-step') as TimerId));
    world.run();
    expect(fired.map((f) => [f.tag, f.simMs])).toEqual([['kept', 1100]]);
  });

  it('timers are dropped on a crash: neither the old nor the restarted process sees them', () => {
    const { world, fired } = makeWorld({ n: {} });
    setTimerAt(world, 0, 'n', 1000, 'before-crash');
    world.at(500, 'crash', () => applyFault(world, { fault: 'crash', node: 'n' }));
    world.at(600, 'restart', () => applyFault(world, { fault: 'restart', node: 'n' }));
    setTimerAt(world, 700, 'n', 100, 'after-restart');
    world.run();
    expect(fired.map((f) => [f.tag, f.simMs])).toEqual([['after-restart', 800]]);
  });

  it("a paused node's timers fire late, after the pause ends, in order; its clock kept running", () => {
    const { world, fired } = makeWorld({ n: {}, other: {} });
    setTimerAt(world, 0, 'n', 1000, 'first');
    setTimerAt(world, 0, 'n', 1200, 'second');
    setTimerAt(world, 0, 'n', 3000, 'after-pause');
    setTimerAt(world, 0, 'other', 1000, 'unpaused');
    world.at(500, 'pause', () => applyFault(world, { fault: 'pause', node: 'n', durationMs: 1500 }));
    world.run();
    expect(fired.map((f) => [f.tag, f.simMs])).toEqual([
      ['unpaused', 1000],
      ['first', 2000],
      ['second', 2000],
      ['after-pause', 3000],
    ]);
    expect(fired.find((f) => f.tag === 'first')?.localMs).toBe(2000);
  });
});

describe('NodeClock rounding', () => {
  it('toSim never answers a time at which the local clock still reads before the deadline (random drifts and steps)', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000, max: 1_000_000 }),
        fc.integer({ min: -900_000, max: 900_000 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 100_000, noNaN: true }), fc.double({ min: -50_000, max: 50_000, noNaN: true })), { maxLength: 4 }),
        fc.double({ min: 0, max: 500_000, noNaN: true }),
        (offset, ppm, steps, ahead) => {
          const c = new NodeClock(offset, ppm);
          let now = 0;
          for (const [dt, delta] of steps) {
            now += dt;
            c.step(now, delta);
            c.setDrift(now, ppm / 2);
          }
          const deadline = c.local(now) + ahead;
          const t = c.toSim(deadline, now);
          return t >= now && c.local(t) >= deadline;
        },
      ),
      { numRuns: 2000 },
    );
  });
});
