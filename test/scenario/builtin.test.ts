// Every built-in scenario's expectations (scenarios/builtin/), as `ksim check` asserts them: for
// each setting an expectation names, every seed's verdict is one it allows, the anomalies it
// requires are reported as allowed, the ones it excludes are absent, and the acknowledgement gap
// stays within its bound. Bug-zoo scenarios are invalid with their fix.* key false on the seeds
// they name (test/scenario/zoo-*.test.ts uses the same seeds) and valid with it true.
//
// Seeds: SEEDS (50) per setting — about 1000 runs — (SEARCH_SEEDS for the zoo's random searches)
// and expectations that name their seeds use those. Measured with `ksim check --seeds 50`: about 4 minutes of runs on one core, power-loss
// (6000 writes, 60 s simulated) taking half of it.
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES, builtinScenario } from '../../scenarios/builtin/index.js';
import { checkExpectation, runScenario, settingLabel } from '../../scenarios/runner.js';

const SEEDS = 50;
/** The zoo's random searches (search-*) run 2,000 seeds with fixes on in `ksim zoo`; here 20. */
const SEARCH_SEEDS = 20;

const cases = BUILTIN_NAMES.flatMap((name) => {
  const s = builtinScenario(name);
  const n = name.startsWith('search-') ? SEARCH_SEEDS : SEEDS;
  return s.expect.map((e) => ({ name, s, e, seeds: e.seeds ?? Array.from({ length: n }, (_, i) => i + 1) }));
});

describe('built-in scenarios meet their expectations', () => {
  for (const { name, s, e, seeds } of cases) {
    const label = `${name} ${settingLabel(e.set)}`;
    it(`${label}: ${Array.isArray(e.verdict) ? e.verdict.join(' or ') : e.verdict} on seeds ${seeds.join(',')} — ${e.why}`, () => {
      const problems: string[] = [];
      for (const seed of seeds) {
        const r = runScenario(s, { seed, set: e.set });
        const p = checkExpectation(r, e);
        if (p !== undefined) problems.push(`${p} (replay: ${r.replay})`);
      }
      expect(problems).toEqual([]);
    });
  }

  it('every bug-zoo scenario has a fix-off expectation of invalid on named seeds, and a valid one with the defaults', () => {
    for (const key of ['kip-101', 'kip-279', 'kip-320', 'kafka-7128', 'maximal-isr', 'kip-903', 'kip-966']) {
      const s = builtinScenario(key);
      const off = s.expect.find((e) => e.set[`fix.${key}`] === false);
      expect(off?.verdict, key).toBe('invalid');
      expect(off?.seeds?.length, key).toBeGreaterThanOrEqual(5);
      expect(s.expect.find((e) => Object.keys(e.set).length === 0)?.verdict, key).toBe('valid');
    }
  });

  it('every search-* scenario has a nemesis and no scripted fault, fails on named seeds with its fix off and is never invalid with it on', () => {
    const search = BUILTIN_NAMES.filter((n) => n.startsWith('search-'));
    expect(search.length).toBeGreaterThan(0);
    for (const name of search) {
      const s = builtinScenario(name);
      const key = `fix.${name.slice('search-'.length)}`;
      expect(s.nemesis, name).toBeDefined();
      expect(s.faults, name).toEqual([]);
      const off = s.expect.find((e) => e.set[key] === false);
      expect(off?.verdict, name).toBe('invalid');
      expect(off?.seeds?.length, name).toBeGreaterThanOrEqual(5);
      expect(s.expect.find((e) => Object.keys(e.set).length === 0)?.verdict, name).toEqual(['valid', 'unknown']);
    }
  });
});
