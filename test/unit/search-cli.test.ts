// `ksim sweep`, `ksim replay`, `ksim shrink` and `ksim check --junit` as a user meets them
// (DESIGN.md §6): the JSON documents, failure files, JUnit reports, Jepsen's exit codes, and one
// line with exit code 254 for every kind of bad input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatJson } from '../../scenarios/failure.js';

const KSIM = fileURLToPath(new URL('../../bin/ksim', import.meta.url));

function ksim(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KSIM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ksim sweep, replay, shrink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksim-cli-'));
  const out = join(dir, 'failures');
  const junit = join(dir, 'sweep.xml');

  it('sweep --json: failures with their files, counts, JUnit with one case per seed, exit 1', () => {
    const r = ksim('sweep', 'kip-101', '--seeds', '3', '--set', 'fix.kip-101=false', '--workers', '2', '--out', out, '--junit', junit, '--no-shrink', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.seeds).toBe(3);
    expect(doc.counts).toEqual({ valid: 0, invalid: 3, unknown: 0, nondeterministic: 0 });
    expect(doc.results.map((x: { seed: number }) => x.seed)).toEqual([1, 2, 3]);
    expect(doc.failures).toHaveLength(3);
    for (const f of doc.failures) {
      expect(f.verdict).toBe('invalid');
      expect(f.firstViolation.invariant).toBe('LeaderCompleteness');
      expect(existsSync(f.file)).toBe(true);
      expect(f.replay).toBe(`ksim replay ${f.file}`);
      expect(f.run).toContain('--set fix.kip-101=false');
    }
    expect(typeof doc.wallMs).toBe('number');
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml.match(/<failure /g)).toHaveLength(3);
    expect(xml).toContain('name="seed 2"');
  });

  it('replay reproduces a failure file: same trace hash, exit 1', () => {
    const file = join(out, 'kip-101-seed2-4b4e1f65.json');
    const recorded = JSON.parse(readFileSync(file, 'utf8'));
    const r = ksim('replay', file, '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.sameTraceHash).toBe(true);
    expect(doc.traceHash).toBe(recorded.traceHash);
    const human = ksim('replay', file);
    expect(human.stdout).toContain(`replayed exactly: trace hash ${recorded.traceHash}`);
  });

  it('shrink writes a smaller scenario that still fails, and check runs it as a regression test', () => {
    const file = join(out, 'kip-101-seed1-4b4e1f65.json');
    const shrunk = join(dir, 'shrunk.json');
    const r = ksim('shrink', file, '--out', shrunk, '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.reproduced).toBe(true);
    expect(doc.after.faults).toBeLessThan(doc.before.faults);
    expect(doc.firstViolation.invariant).toBe('LeaderCompleteness');
    expect(doc.run).toBe(`ksim run ${shrunk} --seed 1 --set fix.kip-101=false`);
    const scenario = JSON.parse(readFileSync(shrunk, 'utf8'));
    expect(scenario.faults).toHaveLength(doc.after.faults);
    const check = ksim('check', shrunk, '--junit', join(dir, 'check.xml'));
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('every expectation holds');
    expect(readFileSync(join(dir, 'check.xml'), 'utf8').match(/<testcase /g)).toHaveLength(1);
  });

  it('a sweep with no failure exits 0 and writes nothing', () => {
    const empty = join(dir, 'none');
    const r = ksim('sweep', 'kip-101', '--seeds', '2', '--out', empty);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 seeds: 2 valid, 0 invalid, 0 unknown');
    expect(existsSync(empty)).toBe(false);
  });

  it('bad input: one line, exit 254', () => {
    const notFailure = join(dir, 'not-a-failure.json');
    writeFileSync(notFailure, '{"name":"x"}');
    const cases: [string[], RegExp][] = [
      [['sweep'], /which scenario/],
      [['sweep', 'nope'], /unknown scenario "nope"/],
      [['sweep', 'kip-101', '--shard', '3/2'], /--shard 3\/2: need 1 ≤ i ≤ n/],
      [['sweep', 'kip-101', '--shard', 'x'], /--shard expects i\/n/],
      [['sweep', 'kip-101', '--seed-range', '5..1'], /the end is before the start/],
      [['sweep', 'kip-101', '--seeds', '5', '--seed-range', '1..2'], /not both/],
      [['sweep', 'kip-101', '--recheck-ratio', '2'], /--recheck-ratio expects a number from 0 to 1/],
      [['sweep', 'kip-101', '--workers', '0'], /--workers must be an integer from 1/],
      [['sweep', 'kip-101', '--set', 'fix.nope=1'], /fix\.nope/],
      [['replay'], /give one failure file/],
      [['replay', join(dir, 'missing.json')], /cannot read/],
      [['replay', notFailure], /format: expected "ksim-failure\/1"/],
      [['shrink', notFailure], /format: expected "ksim-failure\/1"/],
      [['zoo', '--keys', 'kip-999'], /unknown key "fix\.kip-999"/],
      [['check', 'nope'], /unknown scenario "nope"/],
    ];
    for (const [args, message] of cases) {
      const r = ksim(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 254 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('formatJson', () => {
  it('is JSON that parses back to the same value, short objects on one line', () => {
    const v = { name: 'x', faults: [{ atMs: 1, fault: 'crash', node: 'b1' }], nested: { long: 'y'.repeat(200), list: [1, 2, 3] } };
    const text = formatJson(v);
    expect(JSON.parse(text)).toEqual(v);
    expect(text).toContain('"faults": [{"atMs":1,"fault":"crash","node":"b1"}]');
  });
});
