// The guarantee model (scenarios/guarantees.ts) on real runs: with every fix in and faults Kafka
// promises to survive, no violation; losses the configuration or the faults permit (a correlated
// power loss, acks=1) are reported as allowed, with why; and the bug-zoo scenarios with their fix
// off give violations that name the replica, the time, the rule and the message that truncated the
// committed record — with the fix on, none. The zoo scenarios are the catalogue's
// (scenarios/builtin/zoo.ts), run by the runner with the guarantee model as the only judge.
import { describe, expect, it } from 'vitest';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import type { Anomaly } from '../../scenarios/checks.js';
import { buildCluster, type ClusterSpec } from '../../scenarios/cluster.js';
import { createGuaranteeChecker, type GuaranteeChecker } from '../../scenarios/guarantees.js';
import { runScenarioDetailed } from '../../scenarios/runner.js';
import { type FaultAction, installFaults } from '../../sim/faults.js';
import { drawNemesis } from '../../sim/nemesis.js';
import { Rng } from '../../sim/rng.js';

interface Checked {
  anomalies: Anomaly[];
  g: GuaranteeChecker;
  c: ReturnType<typeof buildCluster>;
}

/** Build the cluster, install the checker before anything runs, then the faults; run; judge. */
function runChecked(spec: ClusterSpec, faults: readonly FaultAction[], untilMs: number, healAllAtMs?: number): Checked {
  const c = buildCluster(spec);
  const g = createGuaranteeChecker(c);
  installFaults(c.world, faults);
  if (healAllAtMs !== undefined) c.world.at(healAllAtMs, 'heal-all', () => c.world.healAll());
  c.world.startAll();
  const result = c.world.run({ untilMs });
  expect(result.failure).toBeUndefined();
  return { anomalies: g.finish(), g, c };
}

const violations = (as: Anomaly[]) => as.filter((a) => !a.allowed);
const summary = (as: Anomaly[]) => as.slice(0, 5).map((a) => `${a.anomaly} ${a.partition}: ${a.why} | ${a.detail}`);

// ---------------------------------------------------------------------------------------------
// All fixes in

/** test/scenario/cluster-durability.test.ts's schedule: one crash or isolation every ~15 s. */
function spacedSchedule(seed: number): FaultAction[] {
  const rng = new Rng(seed, 'test-schedule');
  const out: FaultAction[] = [];
  for (let t = 5000 + rng.int(0, 2000); t < 60_000 - 8000; t += 15_000 + rng.int(0, 3000)) {
    const node = `b${rng.int(1, 3)}`;
    if (rng.chance(0.5)) out.push({ atMs: t, fault: 'crash', node }, { atMs: t + rng.int(200, 3000), fault: 'restart', node });
    else out.push({ atMs: t, fault: 'partition', isolate: node }, { atMs: t + rng.int(500, 6000), fault: 'heal' });
  }
  return out;
}

const SIX_PARTITIONS = (seed: number): ClusterSpec => ({
  seed,
  brokers: 3,
  topics: [{ name: 't', partitions: 6, replicationFactor: 3 }],
  config: { 'min.insync.replicas': 2 },
  producers: [{ id: 'p1', topic: 't', ratePerSec: 100, stopAtMs: 60_000 }],
  consumers: [{ id: 'k1', topic: 't' }],
});

describe('guarantee model: all fixes in', () => {
  it('the cluster-durability schedule (crashes, restarts, isolations one at a time) gives no violation (seeds 1–3)', () => {
    for (const seed of [1, 2, 3]) {
      const { anomalies, g, c } = runChecked(SIX_PARTITIONS(seed), spacedSchedule(seed), 100_000, 60_000);
      expect(summary(violations(anomalies)), `seed ${seed}`).toEqual([]);
      // The tracking saw every acks=all acknowledgement committed, before the acknowledgement.
      const oks = c.history.filter((o) => o.f === 'send' && o.type === 'ok');
      expect(oks.length, `seed ${seed}`).toBeGreaterThan(4000);
      for (const op of oks) {
        const cm = g.commitOf(op.value as string);
        expect(cm, `seed ${seed}: ${op.value}`).toMatchObject({ partition: op.partition, offset: op.offset });
        expect(cm?.holders.size ?? 0, `seed ${seed}: ${op.value} holders`).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('installing the checker does not change the run (same trace hash)', () => {
    const plain = buildCluster(SIX_PARTITIONS(4));
    installFaults(plain.world, spacedSchedule(4));
    plain.world.startAll();
    plain.world.run({ untilMs: 30_000 });
    const checked = buildCluster(SIX_PARTITIONS(4));
    createGuaranteeChecker(checked);
    installFaults(checked.world, spacedSchedule(4));
    checked.world.startAll();
    checked.world.run({ untilMs: 30_000 });
    expect(checked.world.trace.hash).toBe(plain.world.trace.hash);
  });
});

// ---------------------------------------------------------------------------------------------
// Losses the model permits

describe('guarantee model: permitted losses', () => {
  it('a correlated power loss of every replica (random nemesis, seed 2: b2, b3, b1 crash within 3 s, nothing fsynced) loses committed writes, allowed: every holder lost its copy to a fault', () => {
    const c = buildCluster(SIX_PARTITIONS(2));
    const g = createGuaranteeChecker(c);
    const plan = drawNemesis(c.world.streams.stream('nemesis'), {
      kinds: ['crash', 'partition'],
      meanIntervalMs: 4000,
      startMs: 3000,
      endMs: 60_000,
      nodes: c.brokers,
    });
    installFaults(c.world, plan.faults);
    c.world.at(60_000, 'heal-all', () => c.world.healAll());
    c.world.startAll();
    expect(c.world.run({ untilMs: 100_000 }).failure).toBeUndefined();
    const anomalies = g.finish();
    expect(summary(violations(anomalies))).toEqual([]);
    const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
    const byFault = lost.filter((a) =>
      /^permitted: every replica holding it lost its copy to a fault by \d+ ms \(b\d's crash at \d+ ms dropped its unsynced copy/.test(a.why),
    );
    expect(byFault.length).toBeGreaterThan(1000);
    expect(new Set(byFault.map((a) => a.partition)).size).toBeGreaterThanOrEqual(4);
    // The rest (t-1 and t-4 when this was written): b3 still held them when b1, back from its own
    // power loss without them, was elected as their last known leader (KIP-966, an unclean
    // election); b3's copies were then truncated by the protocol, which the unclean election permits.
    for (const a of lost.filter((x) => !byFault.includes(x))) expect(a.why).toMatch(/^permitted: unclean election of b\d at \d+ ms \(epoch \d+\)$/);
    // The offsets the loss freed were reused (two values at one offset, acknowledgements going
    // backwards); after the power loss every partition was led again through an unclean
    // last-known-leader election, which permits that divergence.
    const reused = anomalies.filter((a) => a.anomaly === 'inconsistent-offsets' || a.anomaly === 'nonmonotonic-send');
    expect(reused.length).toBeGreaterThan(100);
    for (const a of reused) expect(a.why).toMatch(/^permitted: (unclean election of b\d at \d+ ms|follows from the permitted loss)/);
  });

  it('a scripted power loss: b1, b2, b3 lose power within a second with nothing fsynced; every lost write is allowed (seeds 1–3)', () => {
    for (const seed of [1, 2, 3]) {
      const faults: FaultAction[] = [
        { atMs: 10_000, fault: 'crash', node: 'b1' },
        { atMs: 10_400, fault: 'crash', node: 'b2' },
        { atMs: 10_800, fault: 'crash', node: 'b3' },
        { atMs: 14_000, fault: 'restart', node: 'b1' },
        { atMs: 14_000, fault: 'restart', node: 'b2' },
        { atMs: 14_000, fault: 'restart', node: 'b3' },
      ];
      const spec: ClusterSpec = {
        ...SIX_PARTITIONS(seed),
        topics: [{ name: 't', partitions: 2, replicationFactor: 3 }],
        producers: [{ id: 'p1', topic: 't', ratePerSec: 100, stopAtMs: 20_000 }],
        disk: { crashFate: { drop: 1, keep: 0, tear: 0 } },
      };
      const { anomalies } = runChecked(spec, faults, 60_000, 20_000);
      expect(summary(violations(anomalies)), `seed ${seed}`).toEqual([]);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      expect(lost.length, `seed ${seed}`).toBeGreaterThan(50);
      for (const a of lost)
        expect(a.why, `seed ${seed}`).toMatch(/^permitted: every replica holding it lost its copy to a fault by 10800 ms \(b1's crash at 10000 ms/);
    }
  });

  it('acks=1: writes the leader acknowledged alone and lost in its crash are allowed as never committed (seeds 1–3)', () => {
    for (const seed of [1, 2, 3]) {
      const spec: ClusterSpec = {
        seed,
        brokers: 3,
        topics: [{ name: 't', partitions: 1, replicationFactor: 3, assignment: [[1, 2, 3]] }],
        config: { 'min.insync.replicas': 2, 'replica.lag.time.max.ms': 2000 },
        disk: { crashFate: { drop: 1, keep: 0, tear: 0 } },
        producers: [{ id: 'p1', topic: 't', ratePerSec: 50, stopAtMs: 20_000, config: { acks: '1', 'enable.idempotence': false } }],
        consumers: [{ id: 'k1', topic: 't' }],
      };
      // b1 (the leader) is cut off from its followers, keeps taking acks=1 writes, then loses power.
      const faults: FaultAction[] = [
        { atMs: 4000, fault: 'partition', sides: [['b1'], ['b2', 'b3']] },
        { atMs: 9000, fault: 'crash', node: 'b1' },
        { atMs: 20_000, fault: 'heal' },
        { atMs: 20_000, fault: 'restart', node: 'b1' },
      ];
      const { anomalies } = runChecked(spec, faults, 60_000);
      expect(summary(violations(anomalies)), `seed ${seed}`).toEqual([]);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      expect(lost.length, `seed ${seed}`).toBeGreaterThan(10);
      for (const a of lost) expect(a.why, `seed ${seed}`).toBe('permitted: acknowledged with acks=1 and never committed');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The bug zoo (the catalogue's scenarios, scenarios/builtin/zoo.ts, run as `ksim run` runs them):
// fix off ⇒ violations naming the cause; fix on ⇒ none

/** A zoo scenario with its fix on or off, judged by the guarantee model alone: every anomaly, allowed or not. */
function zoo(name: string, seed: number, fix: boolean): Anomaly[] {
  const { report } = runScenarioDetailed(builtinScenario(name), {
    seed,
    set: { [`fix.${name}`]: fix },
    judges: { installInvariants: () => ({ names: [] }), createGuaranteeChecker },
  });
  // No invariant is installed: a violation that is not an anomaly would be a node's handler throwing.
  expect(report.violations.filter((v) => v.invariant !== undefined)).toEqual([]);
  return report.anomalies;
}

const SEEDS = [1, 2, 3];

describe('guarantee model: the bug zoo', () => {
  it('fix.kip-101 off: the acknowledged a39 is lost, a violation naming b3, the truncate-to-HW rule and the message', () => {
    for (const seed of SEEDS) {
      const anomalies = zoo('kip-101', seed, false);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      expect(
        lost.map((a) => [a.detail.split(' ')[0], a.allowed]),
        `seed ${seed}`,
      ).toEqual([['a39', false]]);
      expect(lost[0]?.why).toMatch(
        /^violation: b3 truncated it at \d+ ms by rule 'truncate-to-high-watermark \(fix\.kip-101 off\)' following leader b2 in epoch 1 \(cause m\d+\); it had been committed at t-0@39/,
      );
      // w0 took offset 39: two values at one offset, a violation that follows from that loss.
      const at39 = anomalies.find((a) => a.anomaly === 'inconsistent-offsets');
      expect(at39?.allowed).toBe(false);
      expect(at39?.why).toMatch(/following from the loss of a39 \(a violation: b3 truncated it/);
    }
  });

  it('fix.kip-101 on: no anomaly at all', () => {
    for (const seed of SEEDS) expect(summary(zoo('kip-101', seed, true)), `seed ${seed}`).toEqual([]);
  });

  it('fix.kafka-7128 off: v5..v9 lost, violations naming the protocol truncation of the surviving copies', () => {
    for (const seed of SEEDS) {
      const anomalies = zoo('kafka-7128', seed, false);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      expect(lost.map((a) => a.detail.split(' ')[0]).sort(), `seed ${seed}`).toEqual(['v5', 'v6', 'v7', 'v8', 'v9']);
      // b1 and b2 kept their (fsynced) copies through their crashes; they lost them only by
      // truncating to b3's log when they came back — so the loss is the protocol's.
      for (const a of lost)
        expect(a.why, `seed ${seed}`).toMatch(
          /^violation: b[12] truncated it at 5\d{4} ms by rule 'diverging epoch' following leader b3 in epoch 2 \(cause m\d+\)/,
        );
    }
  });

  it('fix.kafka-7128 on: no anomaly', () => {
    for (const seed of SEEDS) expect(summary(zoo('kafka-7128', seed, true)), `seed ${seed}`).toEqual([]);
  });

  it('fix.kip-966 off: the acks=all p0..p2 are violations (b2/b3 truncated them to follow the emptied b1); the acks=1 w0..w4, held only by b1, were lost to its power loss', () => {
    for (const seed of SEEDS) {
      const anomalies = zoo('kip-966', seed, false);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      const verdict = Object.fromEntries(lost.map((a) => [a.detail.split(' ')[0], a.allowed]));
      expect(verdict, `seed ${seed}`).toEqual({ p0: false, p1: false, p2: false, w0: true, w1: true, w2: true, w3: true, w4: true });
      for (const a of lost.filter((x) => !x.allowed))
        expect(a.why).toMatch(/^violation: b[23] truncated it at \d+ ms by rule '[^']+' following leader b1 in epoch 2 \(cause m\d+\)/);
      for (const a of lost.filter((x) => x.allowed))
        expect(a.why).toBe(
          "permitted: every replica holding it lost its copy to a fault by 11000 ms (b1's crash at 11000 ms dropped its unsynced copy (its log came back empty))",
        );
    }
  });

  it('fix.kip-966 on: only the never-committed acks=1 writes are lost, and that is allowed', () => {
    for (const seed of SEEDS) {
      const anomalies = zoo('kip-966', seed, true);
      expect(summary(violations(anomalies)), `seed ${seed}`).toEqual([]);
      const lost = anomalies.filter((a) => a.anomaly === 'lost-write');
      expect(lost.map((a) => a.detail.split(' ')[0]).sort(), `seed ${seed}`).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
      for (const a of lost) expect(a.why).toBe('permitted: acknowledged with acks=1 and never committed');
    }
  });
});
