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

  it('its durability check catches bit flips it cannot repair, and names the fault that caused them', () => {
    // Swarm mode turns disk faults on for some seeds; the toy protocol has no defence against corruption.
    let found: { seed: number; detail: string; flipped: boolean } | undefined;
    for (let seed = 1; seed <= 60 && found === undefined; seed++) {
      const r = runDemo({ seed, kinds: 'swarm', record: true, faultPhaseMs: 10_000, livenessMs: 5000 });
      if (r.failure?.name !== 'AckedIsDurableOnTwo') continue;
      const flipped = r.world.trace.recorded.some((e) => e.kind === 'disk.fault' && e.fields?.kind === 'bitflip' && e.timeMs <= (r.failure?.timeMs ?? 0));
      found = { seed, detail: r.failure.detail, flipped };
    }
    expect(found).toBeDefined();
    expect(found?.detail).toMatch(/committed but durable only on/);
    expect(found?.flipped).toBe(true);
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
      observe(
        runDemo({ seed, kinds: ['partition', 'pause', 'clock', 'clog', 'reset'], meanIntervalMs: 1500, record: true, faultPhaseMs: 8000, livenessMs: 6000 }),
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
