import { describe, expect, it } from 'vitest';
import { RandomStreams, Rng } from '../../sim/rng.js';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.next());

describe('random streams', () => {
  it('the same seed and stream name give the same draws', () => {
    expect(draw(new Rng(42, 'node/b1'), 20)).toEqual(draw(new Rng(42, 'node/b1'), 20));
  });

  it('different seeds or names give different draws', () => {
    const base = draw(new Rng(42, 'node/b1'), 5);
    expect(draw(new Rng(43, 'node/b1'), 5)).not.toEqual(base);
    expect(draw(new Rng(42, 'node/b2'), 5)).not.toEqual(base);
  });

  it('streams are independent: drawing from one does not shift another', () => {
    const a = new RandomStreams(7);
    const b = new RandomStreams(7);
    draw(a.stream('net/b1->b2'), 1000); // extra draws elsewhere
    expect(draw(a.stream('nemesis'), 10)).toEqual(draw(b.stream('nemesis'), 10));
  });

  it('one name yields one stream object', () => {
    const s = new RandomStreams(1);
    expect(s.stream('x')).toBe(s.stream('x'));
  });

  it('int covers its inclusive range and nothing else', () => {
    const r = new Rng(1, 'int');
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(3, 7);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(7);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });

  it('exp has roughly the requested mean; chance the requested probability', () => {
    const r = new Rng(9, 'dist');
    let sum = 0;
    let hits = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      sum += r.exp(100);
      if (r.chance(0.25)) hits++;
    }
    expect(sum / n).toBeGreaterThan(95);
    expect(sum / n).toBeLessThan(105);
    expect(hits / n).toBeGreaterThan(0.23);
    expect(hits / n).toBeLessThan(0.27);
  });

  it('shuffle is a permutation; pick takes from the items', () => {
    const r = new Rng(3, 'shuffle');
    const items = ['a', 'b', 'c', 'd', 'e'];
    const s = r.shuffle(items);
    expect([...s].sort()).toEqual(items);
    expect(items).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (let i = 0; i < 50; i++) expect(items).toContain(r.pick(items));
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => new RandomStreams(1.5)).toThrow(/integer/);
  });
});
