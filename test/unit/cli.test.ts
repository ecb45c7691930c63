// The command line as a user meets it: exit codes (Jepsen's), one-line errors for bad input
// (exit 254, never a stack trace), JSON documents with --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const KSIM = fileURLToPath(new URL('../../bin/ksim', import.meta.url));

function ksim(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KSIM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ksim command line', () => {
  it('help prints the usage and exits 0', () => {
    const r = ksim('help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ksim demo');
    expect(ksim().code).toBe(0);
  });

  it.each([
    [['frobnicate'], /^ksim: unknown command "frobnicate"/],
    [['demo', '--bogus'], /^ksim demo: unknown flag --bogus/],
    [['demo', '--seed', 'abc'], /^ksim demo: --seed expects an integer, got "abc"/],
    [['demo', '--seed'], /^ksim demo: --seed needs a value/],
    [['demo', '--seed', '1', '--seeds', '3'], /give --seed or --seeds, not both/],
    [['demo', '--seeds', '0'], /--seeds must be between 1 and/],
    [['demo', '--kinds', 'partition,earthquake'], /unknown nemesis kind "earthquake"/],
    [['demo', '--fault-phase-ms', '-5'], /--fault-phase-ms must be a positive integer/],
    [['demo', '--json=yes'], /--json takes no value/],
    [['demo', 'extra'], /unexpected argument "extra"/],
    [['demo', '--seeds', '2', '--trace', '/tmp/x.jsonl'], /--trace needs a single --seed/],
    [['bench', '--fast'], /^ksim bench: unknown flag --fast/],
    [['bench', '--sweep-rounds', '0'], /^ksim bench: --sweep-rounds must be an integer from 1 to 100, got 0/],
    [['bench', '--sweep-seeds', '1'], /^ksim bench: --sweep-seeds must be at least 2 \(the control runs the seeds in two halves\), got 1/],
    [['run', 'no-such-scenario'], /^ksim run: unknown scenario/],
  ])('bad input %j: one line on stderr, exit 254', (args, message) => {
    const r = ksim(...args);
    expect(r.code).toBe(254);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('demo --json prints one document with the verdict, trace hash and replay command; the same twice', () => {
    const a = ksim('demo', '--seed', '4', '--fault-phase-ms', '4000', '--liveness-ms', '3000', '--json');
    const b = ksim('demo', '--seed', '4', '--fault-phase-ms', '4000', '--liveness-ms', '3000', '--json');
    expect(a.code).toBe(0);
    const doc = JSON.parse(a.stdout);
    expect(doc).toMatchObject({ scenario: 'kernel-demo', seed: 4, verdict: 'valid', violations: [], simulatedMs: 7000 });
    expect(doc.traceHash).toMatch(/^[0-9a-f]{16}$/);
    expect(doc.replay).toBe('ksim demo --seed 4 --fault-phase-ms 4000 --liveness-ms 3000');
    expect(Array.isArray(doc.faults)).toBe(true);
    expect(JSON.parse(b.stdout).traceHash).toBe(doc.traceHash);
  });

  it('an invalid run exits 1 and prints the replay command', () => {
    // Swarm seed 1 turns on disk faults that the toy protocol cannot survive (see kernel-demo tests).
    const r = ksim('demo', '--seed', '1', '--kinds', 'swarm');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('verdict: invalid');
    expect(r.stdout).toContain('AckedIsDurableOnTwo');
    expect(r.stdout).toContain('replay: ksim demo --seed 1 --kinds swarm');
  });

  it('demo --trace writes the run as JSON lines; --recheck runs it twice and compares', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ksim-'));
    const file = join(dir, 'trace.jsonl');
    const r = ksim('demo', '--seed', '2', '--fault-phase-ms', '3000', '--liveness-ms', '2000', '--trace', file, '--recheck');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('determinism: two runs, same trace hash');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(100);
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({ seq: 0, timeMs: 0 });
    expect(typeof first.kind).toBe('string');
  });

  it('demo --seeds runs a range and summarises it', () => {
    const r = ksim('demo', '--seeds', '3', '--fault-phase-ms', '3000', '--liveness-ms', '3000');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 seeds: 3 valid, 0 invalid, 0 unknown/);
    expect(r.stderr).toMatch(/3\/3 seeds/);
  });

  it('bench --json reports the kernel ceiling, per-scenario figures and a sweep on 1 and N workers with its control', () => {
    const r = ksim('bench', '--json', '--sweep-seeds', '3', '--sweep-rounds', '2');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernelEventsPerSec).toBeGreaterThan(0);
    expect(doc.scenarios.length).toBeGreaterThan(0);
    for (const s of doc.scenarios) {
      for (const k of ['name', 'events', 'simulatedMs', 'wallMs', 'eventsPerSec', 'speedup', 'heapMb']) expect(s).toHaveProperty(k);
    }
    expect(doc.sweep.seeds).toBe(3);
    expect(doc.sweep.rounds).toHaveLength(2);
    for (const round of doc.sweep.rounds) {
      for (const k of ['oneWorkerMs', 'poolMs', 'twoProcessesMs']) expect(round[k]).toBeGreaterThan(0);
      expect(round.speedup).toBeCloseTo(round.oneWorkerMs / round.poolMs, 1);
    }
    // 1 worker, the pool, and the two halves run as separate processes: all the same per-seed results.
    expect(doc.sweep.identical).toBe(true);
    expect(doc.sweep.speedup).toBeGreaterThan(0);
    expect(doc.sweep.controlSpeedup).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/sweep round 2\/2/);
  });
});
