// JUnit XML and progress output (reports/junit.ts, reports/progress.ts).
import { describe, expect, it } from 'vitest';
import { junitXml } from '../../reports/junit.js';
import { createProgress, duration } from '../../reports/progress.js';

describe('junitXml', () => {
  it('counts tests and failures per suite and escapes what XML cannot carry', () => {
    const xml = junitXml([
      {
        name: 'nemesis (fix.kip-101=false)',
        cases: [
          { name: 'seed 1', classname: 'ksim.nemesis', timeMs: 1500 },
          { name: 'seed 2', classname: 'ksim.nemesis', timeMs: 500, failure: { type: 'invalid', message: 'a < b & "c"', body: 'x\u0001y' } },
        ],
      },
    ]);
    expect(xml).toContain('<testsuites name="ksim" tests="2" failures="1" errors="0" time="2.000">');
    expect(xml).toContain('<testsuite name="nemesis (fix.kip-101=false)" tests="2" failures="1"');
    expect(xml).toContain('<testcase name="seed 1" classname="ksim.nemesis" time="1.500"/>');
    expect(xml).toContain('<failure type="invalid" message="a &lt; b &amp; &quot;c&quot;">xy</failure>');
  });
});

describe('progress', () => {
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    const stream = { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream;
    return { chunks, stream };
  }

  it('without a terminal: a line per tenth and at the end, never a carriage return', () => {
    const { chunks, stream } = sink(false);
    let t = 0;
    const p = createProgress({ total: 20, unit: 'seeds', stream, now: () => t });
    for (let i = 0; i < 20; i++) {
      t += 100;
      p.tick(i === 3 ? 'invalid' : 'valid');
    }
    p.done();
    expect(chunks).toHaveLength(10);
    expect(chunks.join('')).not.toContain('\r');
    expect(chunks[9]).toBe('20/20 seeds · 19 valid · 1 invalid · 0 unknown · 2s\n');
  });

  it('on a terminal: one bar redrawn in place, cleared at the end', () => {
    const { chunks, stream } = sink(true);
    const p = createProgress({ total: 4, unit: 'runs', stream, now: () => 0 });
    p.tick('valid');
    p.tick('unknown');
    p.done();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar is drawn with an ANSI erase-line code
    expect(chunks[1]).toMatch(/^\r\u001b\[2K\[#{12}\.{12}\] 2\/4 runs · 1 valid · 0 invalid · 1 unknown/);
    expect(chunks[2]).toBe('\r\u001b[2K');
  });

  it('is silent when quiet', () => {
    const { chunks, stream } = sink(true);
    const p = createProgress({ total: 4, unit: 'runs', stream, quiet: true });
    p.tick('valid');
    p.done();
    expect(chunks).toEqual([]);
  });

  it('formats durations', () => {
    expect([duration(850), duration(42_000), duration(185_000), duration(3_720_000)]).toEqual(['850ms', '42s', '3m05s', '1h02m']);
  });
});
