import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../sim/scheduler.js';

describe('scheduler', () => {
  it('runs events in (time, sequence) order: ties run in the order they were scheduled', () => {
    const s = new Scheduler();
    const order: string[] = [];
    s.at(5, () => order.push('a@5'));
    s.at(1, () => order.push('b@1'));
    s.at(5, () => order.push('c@5'));
    s.at(1, () => order.push('d@1'));
    s.at(3, () => order.push('e@3'));
    expect(s.run()).toBe('idle');
    expect(order).toEqual(['b@1', 'd@1', 'e@3', 'a@5', 'c@5']);
    expect(s.now).toBe(5);
  });

  it('an event scheduled at the current time runs after the events already due then', () => {
    const s = new Scheduler();
    const order: string[] = [];
    s.at(2, () => {
      order.push('first');
      s.at(2, () => order.push('scheduled-by-first'));
    });
    s.at(2, () => order.push('second'));
    s.run();
    expect(order).toEqual(['first', 'second', 'scheduled-by-first']);
  });

  it('the past cannot be scheduled: a time before now is clamped to now', () => {
    const s = new Scheduler();
    let ranAt = -1;
    s.at(10, () => s.at(3, () => (ranAt = s.now)));
    s.run();
    expect(ranAt).toBe(10);
  });

  it('a cancelled event never runs and is not counted', () => {
    const s = new Scheduler();
    let ran = false;
    const ev = s.at(1, () => (ran = true));
    s.at(2, () => {});
    s.cancel(ev);
    s.run();
    expect(ran).toBe(false);
    expect(s.eventsExecuted).toBe(1);
  });

  it('stops at the simulated-time limit and resumes from there', () => {
    const s = new Scheduler();
    const seen: number[] = [];
    for (const t of [1, 5, 10, 15]) s.at(t, () => seen.push(t));
    expect(s.run({ untilMs: 10 })).toBe('time-limit');
    expect(seen).toEqual([1, 5, 10]);
    expect(s.now).toBe(10);
    expect(s.run()).toBe('idle');
    expect(seen).toEqual([1, 5, 10, 15]);
    expect(s.run({ untilMs: 40 })).toBe('idle');
    expect(s.now).toBe(40);
  });

  it('a runaway event loop ends with event-budget, never a hang', () => {
    const s = new Scheduler();
    const loop = (): void => {
      s.after(0, loop);
    };
    s.at(0, loop);
    expect(s.run({ maxEvents: 10_000 })).toBe('event-budget');
    expect(s.eventsExecuted).toBe(10_000);
  });

  it('stop() ends the run after the current event', () => {
    const s = new Scheduler();
    const seen: number[] = [];
    s.at(1, () => {
      seen.push(1);
      s.stop('enough');
    });
    s.at(2, () => seen.push(2));
    expect(s.run()).toBe('stopped');
    expect(s.stoppedBecause).toBe('enough');
    expect(seen).toEqual([1]);
  });

  it('afterEach runs after every executed event', () => {
    const s = new Scheduler();
    let n = 0;
    s.afterEach = () => n++;
    for (let i = 0; i < 7; i++) s.at(i, () => {});
    s.cancel(s.at(3, () => {}));
    s.run();
    expect(n).toBe(7);
  });

  it('keeps heap order over many random events', () => {
    const s = new Scheduler();
    const times: number[] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const t = x % 1000;
      s.at(t, () => times.push(s.now));
    }
    s.run();
    expect(times).toHaveLength(5000);
    for (let i = 1; i < times.length; i++) expect(times[i] as number).toBeGreaterThanOrEqual(times[i - 1] as number);
  });

  it('rejects NaN times', () => {
    expect(() => new Scheduler().at(Number.NaN, () => {})).toThrow(/NaN/);
  });
});
