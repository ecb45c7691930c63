// The kernel demo protocol over many seeds: valid under the faults it is built for; its checks
// catch the faults it is not built for; and the suite reaches the kernel's rare paths.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../scenarios/kernel-demo/run.js';

describe('kernel demo protocol', () => {
  it('is valid over 50 seeds of partitions, clogs, resets, crashes, pauses and clock faults', () => {
    const bad: string[] = [];
    let acked = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const r = runDemo({ seed, faultPhaseMs: 10_000, livenessMs: 8000 });
      acked += r.stats.acked;
      if (r.verdict !== 'valid') bad.push(`seed ${seed}: ${r.verdict} ${r.failure?.name ?? ''} ${r.failure?.detail ?? r.notConverged ?? ''}`);
    }
    expect(bad).toEqual([]);
    expect(acked).toBeGreaterThan(50 * 300);
  });

  it('its checks catch the faults it is not built for (wipes, bit flips), and the trace names the fault', () => {
    // Swarm mode turns wipes and disk faults on for some seeds; the toy protocol has no defence
    // against a backup losing its disk or against corruption, and its durability check says so.
    const failures: { seed: number; detail: string; explained: boolean }[] = [];
    for (let seed = 1; seed <= 60; seed++) {
      const r = runDemo({ seed, kinds: 'swarm', record: true, faultPhaseMs: 10_000, livenessMs: 5000 });
      if (r.failure === undefined) continue;
      const before = r.world.trace.recorded.filter((e) => e.timeMs <= (r.failure?.timeMs ?? 0));
      const explained = before.some((e) => e.kind === 'node.wipe' || (e.kind === 'disk.fault' && e.fields?.kind === 'bitflip'));
      failures.push({ seed, detail: `${r.failure.name}: ${r.failure.detail}`, explained });
    }
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.detail, `seed ${f.seed}`).toMatch(/AckedIsDurableOnTwo: .* committed but durable only on/);
      expect(f.explained, `seed ${f.seed}: ${f.detail}`).toBe(true);
    }
  });

  it('the suite reaches the rare paths: torn writes, recovery truncation, partition-detected breaks, paused delivery, clock steps', () => {
    const reached = new Map<string, number>();
    const mark = (k: string, n = 1) => reached.set(k, (reached.get(k) ?? 0) + n);
    const observe = (r: ReturnType<typeof runDemo>) => {
      for (const e of r.world.trace.recorded) {
        if (e.kind === 'log.recover-truncate') mark('recovery truncated a torn tail');
        if (e.kind === 'net.break' && e.fields?.why === 'partition') mark('partition broke a connection');
        if (e.kind === 'net.break' && e.fields?.why === 'reset') mark('reset broke a connection');
        if (e.kind === 'node.resume' && (e.fields?.queued as number) > 0) mark('paused node got queued events');
        if (e.kind === 'clock.step') mark('clock stepped');
        if (e.kind === 'node.crash') mark('torn writes at a crash', e.fields?.torn as number);
      }
    };
    for (let seed = 1; seed <= 30; seed++) {
      // TCP gives up on a stalled stream after 0.3–1 s here (default 10–20 s), so that the
      // nemesis's partitions, a few seconds long, outlast it and break connections.
      const network = { retransmitGiveUpMs: [300, 1000] as [number, number] };
      observe(
        runDemo({
          seed,
          kinds: ['partition', 'pause', 'clock', 'clog', 'reset'],
          meanIntervalMs: 1500,
          record: true,
          faultPhaseMs: 8000,
          livenessMs: 6000,
          network,
        }),
      );
    }
    // The demo fsyncs every append, so a crash finds unsynced data only inside the short
    // append→fsync window: crash often, with 8-byte sectors so that small appends can tear.
    for (let seed = 1; seed <= 40; seed++) {
      observe(runDemo({ seed, kinds: ['crash'], meanIntervalMs: 500, record: true, faultPhaseMs: 8000, livenessMs: 6000, disk: { sectorBytes: 8 } }));
    }
    for (const k of [
      'recovery truncated a torn tail',
      'partition broke a connection',
      'reset broke a connection',
      'paused node got queued events',
      'clock stepped',
      'torn writes at a crash',
    ]) {
      expect(reached.get(k) ?? 0, k).toBeGreaterThan(0);
    }
  });
});
