import { describe, expect, it } from 'vitest';
import { firstDivergence, formatRecord, Trace, toJsonLines } from '../../sim/trace.js';

function build(events: [number, string, string, string | undefined, Record<string, string | number | boolean>?][], record = true): Trace {
  const t = new Trace({ record });
  for (const [time, node, kind, cause, fields] of events) t.emit(time, node, kind, cause, fields);
  return t;
}

describe('trace', () => {
  it('same events give the same hash; any change in time, node, kind, cause or fields changes it', () => {
    const base: Parameters<typeof build>[0] = [
      [0, 'b1', 'node.boot', undefined],
      [1.5, 'b1', 'net.send', 'm0', { to: 'b2', n: 1 }],
    ];
    const h = build(base).hash;
    expect(build(base).hash).toBe(h);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    const variants: Parameters<typeof build>[0][] = [
      [base[0]!, [1.25, 'b1', 'net.send', 'm0', { to: 'b2', n: 1 }]],
      [base[0]!, [1.5, 'b2', 'net.send', 'm0', { to: 'b2', n: 1 }]],
      [base[0]!, [1.5, 'b1', 'net.sent', 'm0', { to: 'b2', n: 1 }]],
      [base[0]!, [1.5, 'b1', 'net.send', 'm1', { to: 'b2', n: 1 }]],
      [base[0]!, [1.5, 'b1', 'net.send', 'm0', { to: 'b2', n: 2 }]],
      [base[0]!, [1.5, 'b1', 'net.send', 'm0', { to: 'b2', n: '1' }]],
      [base[0]!, [1.5, 'b1', 'net.send', undefined, { to: 'b2', n: 1 }]],
      [[0, 'b1', 'node.boot', undefined]],
    ];
    for (const v of variants) expect(build(v).hash).not.toBe(h);
  });

  it('string boundaries matter: ("ab","c") and ("a","bc") hash differently', () => {
    expect(build([[0, 'ab', 'c', undefined]]).hash).not.toBe(build([[0, 'a', 'bc', undefined]]).hash);
  });

  it('records only when asked, but always hashes and counts', () => {
    const quiet = build([[0, 'b1', 'x', undefined]], false);
    const loud = build([[0, 'b1', 'x', undefined]], true);
    expect(quiet.recorded).toEqual([]);
    expect(loud.recorded).toHaveLength(1);
    expect(quiet.hash).toBe(loud.hash);
    expect(quiet.length).toBe(1);
  });

  it('listeners see every event and may unsubscribe while being called', () => {
    const t = new Trace();
    const seen: string[] = [];
    const off = t.subscribe((r) => {
      seen.push(`a:${r.kind}`);
      off();
    });
    t.subscribe((r) => seen.push(`b:${r.kind}`));
    t.emit(0, 'n', 'one', undefined);
    t.emit(1, 'n', 'two', undefined);
    expect(seen).toEqual(['a:one', 'b:one', 'b:two']);
  });

  it('exports JSON lines and finds the first divergent record', () => {
    const a = build([
      [0, 'b1', 'x', undefined],
      [1, 'b1', 'y', 'm0', { k: 1 }],
    ]);
    const b = build([
      [0, 'b1', 'x', undefined],
      [1, 'b1', 'y', 'm0', { k: 2 }],
    ]);
    const lines = toJsonLines(a.recorded).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] as string)).toEqual({ seq: 1, timeMs: 1, node: 'b1', kind: 'y', cause: 'm0', fields: { k: 1 } });
    expect(firstDivergence(a.recorded, b.recorded)).toBe(1);
    expect(firstDivergence(a.recorded, a.recorded)).toBeUndefined();
    expect(firstDivergence(a.recorded, a.recorded.slice(0, 1))).toBe(1);
    expect(formatRecord(b.recorded[1])).toContain('"k":2');
  });
});
