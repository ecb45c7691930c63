// Bug zoo, fix.kafka-7128: a new leader's lagging high watermark lets an incomplete replica into
// the ISR, and a later election loses acknowledged writes.
//
// History (KAFKA-7128, "Lagging high watermark can lead to committed data loss after ISR
// expansion"; notes §3.3 and §7.5). A follower learns the high watermark one fetch late, so when it
// becomes leader its HW can be below records the old leader had already committed. Before the fix
// a follower joined the ISR as soon as its LEO reached the leader's HW; a follower that lacked
// those committed records could join, be elected when the leader died, and lose them. The fix
// (Partition.isFollowerInSync) also requires the follower's LEO to reach the start offset of the
// leader's current epoch (LESO), i.e. to hold everything the leader had when it was elected.
//
// The script (RF 3, replicas [b1, b2, b3], min.insync.replicas 2, replica.lag.time.max.ms 2000,
// an acks=all idempotent producer, every message fsynced so that the only loss is the protocol's):
//   t=3 s    v0..v4 (one batch) are committed on all three replicas: every LEO is 5.
//   t=4 s    b3 is cut off from b1 and b2 (it keeps its controller link, so it stays registered).
//   t=10 s   v5..v9 (one batch): b1 appends, b2 fetches them; once b1 shrinks the ISR to [b1, b2]
//            (b3 is no longer caught up), b2's next fetch moves b1's HW to 10 and the batch is
//            acknowledged. b2's fetch response carrying HW 10 is still parked on b1 (long poll).
//   ack v9   b1 crashes at once (power loss), so b2 never learns HW 10; the one-way partition
//            b2 -/-> b3 replaces b3's isolation: b3's fetches reach b2, b2's answers are held.
//   +9 s     b1's session expires; b2 is elected (epoch 1) with LEO 10 but HW 5; its LESO is 10.
//            The ISR is [b2], below min.insync.replicas, so its HW stays frozen at 5 (KIP-966
//            strict min ISR; with min.insync.replicas 1 the lone leader's HW would jump to its LEO
//            at once and there would be no window).
//            b3 fetches from b2 at offset 5. Fix off: LEO 5 ≥ HW 5, so b2 proposes ISR [b2, b3]
//            (`isr.expand-proposed` with replicaLeo 5) and the controller commits it; 100 ms later
//            b2 crashes, before any of its held answers reaches b3. When b2's session expires b3,
//            an ISR member, is elected with LEO 5: the acknowledged v5..v9 are gone. Fix on: 5 is
//            below the LESO 10, b3 is not proposed, the crash trigger never fires.
//   t=50 s   everything heals and the crashed brokers restart: fix off, b1 and b2 truncate to b3's
//            log (v5..v9 lost on every replica); fix on, b3 catches up and every replica holds
//            v0..v9. The run ends at 80 s.
import { describe, expect, it } from 'vitest';
import type { Controller } from '../../core/controller/controller.js';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import { replicaRecords } from '../../scenarios/cluster.js';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../scenarios/final-state.js';
import { eventsOf, runZooScenario, type ScenarioRun, timeline } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOPIC = 't';
const SCENARIO = 'kafka-7128';
// The catalogue's fault that crashes b2, which fires only if the new leader b2 proposes b3 while b3
// is still at LEO 5 (below b2's LESO 10): its index, as the runs' `unfired` names it.
const B2_CRASH_TRIGGER = builtinScenario(SCENARIO).faults.findIndex((f) => f.on?.kind === 'isr.expand-proposed' && f.fault === 'crash' && f.node === 'b2');

const KINDS = [
  'fault',
  'node.crash',
  'controller.elect',
  'controller.partition-change',
  'partition.leader',
  'isr.expand-proposed',
  'isr.changed',
  'replica.truncate',
];

// The cluster and fault script are the catalogue's `kafka-7128` (scenarios/builtin/zoo.ts).
function run(seed: number, fix: boolean): ScenarioRun {
  return runZooScenario(SCENARIO, seed, fix, 80_000, KINDS);
}

/** What both variants share: v0..v9 acknowledged, then b2 elected in epoch 1 with LEO 10 and a stale HW 5. */
function checkSetup(r: ScenarioRun, seed: number): void {
  const where = `seed ${seed}\n${timeline(r)}`;
  expect(r.result.failure, where).toBeUndefined();
  const acked = r.c.history.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => `${o.offset}:${o.value}`);
  expect(acked, where).toEqual(Array.from({ length: 10 }, (_, i) => `${i}:v${i}`));
  const b2Leads = eventsOf(r, 'partition.leader', 'b2').map((e) => e.fields);
  expect(b2Leads[0], where).toMatchObject({ leaderEpoch: 1, logEndOffset: 10, highWatermark: 5, isr: [2] });
}

describe('bug zoo: fix.kafka-7128: a follower behind the new leader’s epoch start joins the ISR', () => {
  it(`fix off: b3 (LEO 5) joins b2's ISR on b2's stale HW 5, is elected, and the acknowledged v5..v9 are lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, false);
      checkSetup(r, seed);
      const where = `seed ${seed}\n${timeline(r)}`;
      // The expansion on the stale HW, committed by the controller before b2 died.
      const proposed = eventsOf(r, 'isr.expand-proposed', 'b2').map((e) => e.fields);
      expect(proposed[0], where).toMatchObject({ isr: [2], newIsr: [2, 3], replica: 3, replicaLeo: 5 });
      expect(r.unfired, where).not.toContain(B2_CRASH_TRIGGER);
      const b2Crash = eventsOf(r, 'node.crash', 'b2')[0]?.timeMs ?? Number.POSITIVE_INFINITY;
      const committed = eventsOf(r, 'controller.partition-change', 'c1').find((e) => JSON.stringify(e.fields?.isr) === '[2,3]');
      expect(committed?.timeMs ?? Number.POSITIVE_INFINITY, where).toBeLessThan(b2Crash);
      // b3 is elected from the ISR with LEO 5 and stays leader.
      const b3Elected = eventsOf(r, 'controller.elect', 'c1').filter((e) => e.fields?.leader === 3);
      expect(
        b3Elected.map((e) => e.fields?.leaderEpoch),
        where,
      ).toEqual([2]);
      expect(String(b3Elected[0]?.fields?.reason), where).toContain('elected b3 (first live ISR member');
      expect(leaderOf(r.c, TOPIC, 0), where).toBe('b3');
      // Every replica lost the acknowledged v5..v9.
      const missing = ackedWritesMissing(r.c, TOPIC);
      expect(missing, where).toEqual(
        [5, 6, 7, 8, 9].flatMap((i) => ['b1', 'b2', 'b3'].map((b) => `v${i} acknowledged at t-0@${i}, but ${b} holds nothing there`)),
      );
      expect(
        replicaRecords(r.c.world, 'b3', TOPIC, 0)?.map((x) => x.value),
        where,
      ).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    }
  });

  it(`fix on: b3 is not added before it reaches b2's epoch start offset, and every acknowledged write survives (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, true);
      checkSetup(r, seed);
      const where = `seed ${seed}\n${timeline(r)}`;
      // No expansion below the LESO: the crash trigger never fired and b2 never crashed.
      for (const e of eventsOf(r, 'isr.expand-proposed')) expect(Number(e.fields?.replicaLeo), where).toBeGreaterThanOrEqual(10);
      expect(r.unfired, where).toContain(B2_CRASH_TRIGGER);
      expect(eventsOf(r, 'node.crash', 'b2'), where).toEqual([]);
      expect(leaderOf(r.c, TOPIC, 0), where).toBe('b2');
      // After the heal every replica holds v0..v9 and is back in the ISR.
      expect(ackedWritesMissing(r.c, TOPIC), where).toEqual([]);
      expect(replicasDiverge(r.c, TOPIC, 1), where).toEqual([]);
      const reg = r.c.world.nodeState<Controller>('c1')?.image.partition({ topic: TOPIC, partition: 0 });
      expect([...(reg?.isr ?? [])].sort(), where).toEqual([1, 2, 3]);
    }
  });
});
