// Same seed ⇒ same trace hash, in this process and in two others; different seeds ⇒ different
// traces. Runs the kernel demo protocol in swarm mode, so every fault kind (partitions, clogs,
// resets, crashes, pauses, wipes, clock and disk faults) is exercised across the seeds.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../scenarios/kernel-demo/run.js';
import { checkDeterminism } from '../../sim/determinism.js';
import { World } from '../../sim/world.js';

const KSIM = fileURLToPath(new URL('../../bin/ksim', import.meta.url));
const SEEDS = 100;
const PHASES = { faultPhaseMs: 6000, livenessMs: 3000 };

function hashesFromChildProcess(): Map<number, string> {
  const out = execFileSync(
    process.execPath,
    [
      KSIM,
      'demo',
      '--seeds',
      String(SEEDS),
      '--kinds',
      'swarm',
      '--fault-phase-ms',
      String(PHASES.faultPhaseMs),
      '--liveness-ms',
      String(PHASES.livenessMs),
      '--json',
    ],
    // Exit code 1 (some seed invalid) is expected in swarm mode: the toy protocol has no defence against disk corruption.
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return parse(out);
}

function parse(out: string): Map<number, string> {
  const doc = JSON.parse(out) as { results: { seed: number; traceHash: string }[] };
  return new Map(doc.results.map((r) => [r.seed, r.traceHash]));
}

function childHashes(): Map<number, string> {
  try {
    return hashesFromChildProcess();
  } catch (e) {
    const err = e as { status?: number; stdout?: string };
    if (err.status === 1 || err.status === 2) return parse(err.stdout ?? '');
    throw e;
  }
}

describe('determinism', () => {
  it(`same seed ⇒ same trace hash in two separate processes, over ${SEEDS} seeds with every fault kind on`, () => {
    const here = new Map<number, string>();
    const kinds = new Set<string>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runDemo({ seed, kinds: 'swarm', ...PHASES });
      here.set(seed, r.traceHash);
      for (const f of r.faults) kinds.add(f.fault);
    }
    // The schedules really did exercise every kind of fault.
    for (const k of ['partition', 'heal', 'clog', 'reset', 'crash', 'restart', 'pause', 'wipe', 'clock-step', 'clock-drift', 'disk'])
      expect(kinds).toContain(k);
    const a = childHashes();
    const b = childHashes();
    expect(a).toEqual(here);
    expect(b).toEqual(here);
    // Different seeds ⇒ different traces.
    expect(new Set(here.values()).size).toBe(SEEDS);
  });

  it('the self-check passes on a deterministic run', () => {
    const report = checkDeterminism(() => {
      const r = runDemo({ seed: 11, kinds: 'swarm', record: true, ...PHASES });
      return { hash: r.traceHash, records: r.world.trace.recorded };
    });
    expect(report.deterministic).toBe(true);
  });

  it('the self-check names the first event where two runs differ', () => {
    // A deliberately nondeterministic node: state leaks between runs through a module variable.
    let leaked = 0;
    const report = checkDeterminism(() => {
      const w = new World({ seed: 1, record: true });
      w.addNode('x', () => ({
        start: (ctx) => {
          ctx.trace('step', { n: 1 });
          ctx.trace('step', { n: 2 });
          ctx.trace('leak', { value: leaked++ });
        },
        onMessage: () => {},
        onTimer: () => {},
      }));
      w.startAll();
      w.run();
      return { hash: w.trace.hash, records: w.trace.recorded };
    });
    expect(report.deterministic).toBe(false);
    expect(report.divergesAt).toBe(3);
    expect(report.first).toContain('"value":0');
    expect(report.second).toContain('"value":1');
  });
});
