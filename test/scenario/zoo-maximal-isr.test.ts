// Bug zoo, `fix.maximal-isr` (KIP-497's AlterIsr / AlterPartition made ISR changes asynchronous;
// docs/notes/kafka-data-plane.md §3.3–3.4 and §7.6; TLA+ hachikuji/kafka-specification AsyncIsr.tla,
// invariant ValidHighWatermark; Vanlightly's walk-through §6.5.2).
//
// The race: the leader sends an AlterPartition to add a follower and, until the controller answers,
// the committed ISR does not contain it. If the high watermark only waits for the committed ISR, it
// can pass records the joining replica does not have; once the controller commits the expansion,
// that replica is a full ISR member and may be elected without them. The fix (Kafka 2.7+): between
// sending the expansion and its answer the high watermark (and acks=all) wait for the "maximal ISR",
// the committed ISR plus the replica being added.
//
// Script (RF 3, replicas [1,2,3], min.insync.replicas 1, replica.lag.time.max.ms 2000, every message
// fsynced so that every loss below is the protocol's, acks=all idempotent producer):
//   2.5 s   b1 and b3 cut off from each other: b1 shrinks the ISR to [1,2] (~5 s);
//   4 s     v0..v4 written and acknowledged on ISR [1,2];
//   7 s     heal: b3 catches up (LEO 5) and b1 proposes ISR [1,2,3];
//   on b1's isr.expand-proposed: clog b1→c1 for 6 s (the AlterPartition waits; < the 9 s session
//           timeout, so b1 stays unfenced) and cut b1 -/-> b3 (b3 gets nothing more);
//   10 s    v5..v9 written to b1 while the expansion is in flight.
//           fix off: the HW moves on ISR [1,2] (b2 has them): v5..v9 are acknowledged;
//           fix on:  the HW waits for b3 (maximal ISR [1,2,3]), which cannot fetch: not acknowledged.
//   ~13 s   the clog ends, the controller commits ISR [1,2,3]; on b1's isr.changed: b1 and b2 lose
//           power (their data is fsynced) and the network heals;
//   ~22 s   their sessions expire: b3, an ISR member, is elected with LEO 5;
//   35 s    b1 and b2 restart and follow b3, truncating to offset 5.
// fix off ⇒ acknowledged v5..v9 are gone from every replica; fix on ⇒ the producer retried them on
// b3 and every acknowledged write is in every replica.
import { describe, expect, it } from 'vitest';
import { ackedWritesMissing, replicasDiverge } from '../../scenarios/final-state.js';
import { acked, firstEvent, logValues, runZooScenario, type ScenarioRun } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5];
const LATE = ['v5', 'v6', 'v7', 'v8', 'v9'];

// The cluster and fault script are the catalogue's `maximal-isr` (scenarios/builtin/zoo.ts).
function run(seed: number, fix: boolean): ScenarioRun {
  return runZooScenario('maximal-isr', seed, fix, 70_000, ['client.op', 'isr.expand-proposed', 'isr.changed', 'partition.leader']);
}

/** The scenario ran as scripted: the expansion was in flight while v5..v9 were written, then b3 led with LEO 5. */
function expectScript(r: ScenarioRun, seed: number) {
  const where = `seed ${seed}`;
  expect(r.result.failure, where).toBeUndefined();
  expect(r.unfired, where).toEqual([]);
  const proposed = firstEvent(r.events, 'isr.expand-proposed', 'b1', { replica: 3 });
  const committed = firstEvent(r.events, 'isr.changed', 'b1', { kind: 'expand' });
  expect(proposed?.fields?.replicaLeo, where).toBe(5);
  expect(proposed?.timeMs, where).toBeLessThan(10_000);
  expect(committed?.timeMs, where).toBeGreaterThan(10_500);
  expect(committed?.fields?.isr, where).toEqual([1, 2, 3]);
  const b3Leads = firstEvent(r.events, 'partition.leader', 'b3');
  expect(b3Leads?.fields?.logEndOffset, where).toBe(5);
  expect(r.c.history.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => o.value)).toHaveLength(10);
  return { committedAtMs: committed?.timeMs as number };
}

describe('bug zoo: fix.maximal-isr (high watermark during an ISR expansion in flight)', () => {
  it(`fix off: the HW passes the joining replica, which is then elected: acknowledged writes lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, false);
      const { committedAtMs } = expectScript(r, seed);
      // v5..v9 were acknowledged by b1 (offsets 5..9) before the controller even committed the expansion.
      const late = acked(r, 'p1').filter((a) => LATE.includes(a.value));
      expect(late.map((a) => a.offset).sort(), `seed ${seed}`).toEqual([5, 6, 7, 8, 9]);
      for (const a of late) expect(a.atMs, `seed ${seed} ${a.value}`).toBeLessThan(committedAtMs);
      // …and b3, elected from the ISR without them, made every replica drop them.
      const missing = ackedWritesMissing(r.c, 't');
      expect(new Set(missing.map((m) => m.split(' ')[0])), `seed ${seed}: ${missing.join('; ')}`).toEqual(new Set(LATE));
      expect(missing, `seed ${seed}`).toHaveLength(LATE.length * 3);
      for (const b of r.c.brokers) expect(logValues(r.c, b, 't', 0), `seed ${seed} ${b}`).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    }
  });

  it(`fix on: the HW waits for the maximal ISR; nothing acknowledged is lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, true);
      const { committedAtMs } = expectScript(r, seed);
      // While the expansion was in flight b3 could not fetch, so v5..v9 stayed unacknowledged; the
      // producer retried them on b3 after the failover.
      for (const a of acked(r, 'p1').filter((x) => LATE.includes(x.value))) expect(a.atMs, `seed ${seed} ${a.value}`).toBeGreaterThan(committedAtMs);
      expect(ackedWritesMissing(r.c, 't'), `seed ${seed}`).toEqual([]);
      expect(replicasDiverge(r.c, 't', 1), `seed ${seed}`).toEqual([]);
    }
  });
});
