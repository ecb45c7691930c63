// `ksim run`, `ksim list` and `ksim check` as a user meets them (DESIGN.md §6): the JSON document's
// fields, the same trace hash on every run of a seed, human output that starts with the seed and
// settings and ends with the verdict and the replay command, Jepsen's exit codes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES } from '../../scenarios/builtin/index.js';

const KSIM = fileURLToPath(new URL('../../bin/ksim', import.meta.url));

function ksim(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KSIM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ksim run', () => {
  it('--json twice gives the same trace hash, and the document has the fields of DESIGN.md §6', () => {
    const a = ksim('run', 'kip-101', '--seed', '3', '--json');
    const b = ksim('run', 'kip-101', '--seed', '3', '--json');
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const doc = JSON.parse(a.stdout);
    expect(doc.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.parse(b.stdout).traceHash).toBe(doc.traceHash);
    expect(JSON.parse(b.stdout).events).toBe(doc.events);
    for (const key of [
      'scenario',
      'seed',
      'settings',
      'verdict',
      'violations',
      'anomalies',
      'traceHash',
      'events',
      'simulatedMs',
      'wallMs',
      'stats',
      'replay',
      'faults',
    ])
      expect(doc, key).toHaveProperty(key);
    expect(doc).toMatchObject({ scenario: 'kip-101', seed: 3, verdict: 'valid', violations: [], replay: 'ksim run kip-101 --seed 3' });
    expect(doc.settings.config).toMatchObject({ 'min.insync.replicas': 2, 'log.flush.interval.messages': 1 });
    for (const key of ['sent', 'acked', 'failed', 'indeterminate', 'lost', 'polled']) expect(typeof doc.stats[key], key).toBe('number');
    expect(doc.stats.acked).toBe(45);
    expect(doc.invariants).toContain('ReplicasConverge');
    expect(doc.faults).toHaveLength(4);
  });

  it('an invalid run exits 1; its violations name the invariant or anomaly, time, node and detail; replay has the --set', () => {
    const r = ksim('run', 'kip-101', '--seed', '2', '--set', 'fix.kip-101=false', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.verdict).toBe('invalid');
    expect(doc.settings.set).toEqual({ 'fix.kip-101': false });
    expect(doc.settings.config['fix.kip-101']).toBe(false);
    expect(doc.violations.length).toBeGreaterThan(0);
    for (const v of doc.violations) {
      expect(v.invariant ?? v.anomaly).toBeTruthy();
      expect(typeof v.atMs).toBe('number');
      expect(typeof v.detail).toBe('string');
    }
    expect(doc.anomalies.some((a: { anomaly: string; allowed: boolean }) => a.anomaly === 'lost-write' && !a.allowed)).toBe(true);
    expect(doc.replay).toBe('ksim run kip-101 --seed 2 --set fix.kip-101=false');
    // The replay command reproduces the run exactly.
    const again = ksim(...doc.replay.split(' ').slice(1), '--json');
    expect(JSON.parse(again.stdout).traceHash).toBe(doc.traceHash);
  });

  it('human output starts with the seed and settings and ends with the anomalies, verdict and replay command', () => {
    const r = ksim('run', 'kip-279', '--seed', '4');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ksim run kip-279 · seed 4');
    expect(lines[1]).toMatch(/^settings: min\.insync\.replicas=1 · unclean\.leader\.election\.enable=true · log\.flush\.interval\.messages=1 · /);
    expect(r.stdout).toMatch(/✓ allowed +lost-write ×10: an acknowledged write is missing from the final logs\n +t-0: .* — permitted/);
    expect(lines.at(-2)).toBe('verdict: valid');
    expect(lines.at(-1)).toBe('replay: ksim run kip-279 --seed 4');
  });

  it('runs a scenario file and writes the trace with --trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-run-'));
    const file = join(dir, 'mine.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'mine',
        brokers: 3,
        topics: [{ name: 't', partitions: 1, replicationFactor: 3 }],
        producers: [{ id: 'p1', topic: 't', ratePerSec: 20 }],
        consumers: [{ id: 'k1', topic: 't' }],
        faults: [{ atMs: 3000, fault: 'crash', node: 'b2' }],
        durationMs: 6000,
      }),
    );
    const trace = join(dir, 'run.jsonl');
    const r = ksim('run', file, '--seed', '7', '--trace', trace, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.replay).toBe(`ksim run ${file} --seed 7`);
    const events = readFileSync(trace, 'utf8').trim().split('\n');
    expect(events.length).toBeGreaterThan(100);
    expect(events.some((l) => JSON.parse(l).kind === 'node.crash')).toBe(true);
  });
});

describe('ksim list and ksim check', () => {
  it('list prints every built-in scenario, one line each', () => {
    const r = ksim('list');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([...BUILTIN_NAMES]);
    for (const l of lines) expect(l.length).toBeGreaterThan(30);
    for (const name of ['isr-shrink', 'unclean-election', 'split-brain', 'power-loss', 'zombie-leader', 'rolling-restart', 'nemesis'])
      expect(BUILTIN_NAMES).toContain(name);
    for (const key of ['kip-101', 'kip-279', 'kip-320', 'kafka-7128', 'maximal-isr', 'kip-903', 'kip-966']) expect(BUILTIN_NAMES).toContain(key);
  });

  it('check runs the named scenarios over N seeds per expected setting and prints a summary table', () => {
    const r = ksim('check', '--seeds', '2', 'kip-101', 'kafka-7128');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario\s+setting\s+seeds\s+valid\s+invalid\s+unknown\s+expected/m);
    expect(r.stdout).toMatch(/^kip-101\s+fix\.kip-101=false\s+2\s+0\s+2\s+0\s+invalid/m);
    expect(r.stdout).toContain('every expectation holds');
    expect(r.stderr).toMatch(/^8\/8 runs · 4 valid · 4 invalid · 0 unknown/m);
    expect(r.stdout).toMatch(/· 8 runs · \d+ workers?\n/);
  });
});
