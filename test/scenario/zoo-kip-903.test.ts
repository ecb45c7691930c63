// Bug zoo, `fix.kip-903` (KIP-903, Kafka 3.5: "Replicas with stale broker epoch should not be allowed
// to join the ISR"; docs/notes/kafka-data-plane.md §3.1, §3.5 and §7.7; Vanlightly §6.5.1 case 3).
//
// Before KIP-903 an AlterPartition named ISR members by broker id only. A leader could decide that
// a follower had caught up from what an earlier incarnation of that broker fetched; if the broker
// meanwhile restarted with a shorter log (an unclean shutdown, a replaced disk) and registered
// again, the controller saw a registered, unfenced broker and let the new incarnation into the ISR
// without its data, where it could be elected. The fix: fetches carry the follower's broker epoch,
// the AlterPartition names each member's epoch as the leader saw it, and the controller refuses a
// member whose epoch is not the registered one (INELIGIBLE_REPLICA).
//
// Script (RF 3, replicas [1,2,3], min.insync.replicas 1, replica.lag.time.max.ms 2000, every message
// fsynced, broker.heartbeat.interval.ms 200 so that when a session expires is known to within
// 0.2 s; broker.session.timeout.ms stays 9000):
//   2.5 s   b1 and b3 cut off from each other: b1 shrinks the ISR to [1,2] (~5 s);
//   3 s     v0..v9 written (acks=all) and acknowledged on ISR [1,2];
//   8 s     b3 also cut off from the controller: its last heartbeat is at most 0.2 s old, so its
//           session (incarnation 1, broker epoch E1) expires at ~17 s;
//   13 s    b3 reaches b1 again (still not the controller) and catches up; b1 proposes ISR
//           [1,2,3], naming b3 with epoch E1 (-1 with the fix off);
//   on b1's isr.expand-proposed: clog b1→c1 for 7 s (the AlterPartition waits; b1's heartbeats
//           wait at most 7.2 s, under the 9 s session timeout), wipe b3's disk (it loses power),
//           cut b1 -/-> b3 (b3 will get no data), restart b3 1 s later;
//   ~17 s   b3's old session expires; its new incarnation registers (epoch E2) and is unfenced;
//   ~20 s   the clog ends and the stale AlterPartition reaches the controller:
//           fix off: b3 is registered and unfenced: ISR [1,2,3], b3 with an empty log;
//           fix on:  b3's epoch E1 is not E2: INELIGIBLE_REPLICA, b1 keeps ISR [1,2];
//   on the answer (either one): b1 and b2 lose power (their data is fsynced); the network heals;
//   ~29 s   their sessions expire: fix off: b3, an ISR member, is elected with an empty log;
//           fix on: no ISR member is left, b3 is not eligible: the partition waits;
//   +25 s   b1 and b2 restart; fix off: they follow b3 and truncate to 0; fix on: b1, the last
//           leader, is elected again (KIP-966's last-known-leader rule) with all ten records.
// fix off ⇒ v0..v9, acknowledged, are gone from every replica; fix on ⇒ all are in every replica.
import { describe, expect, it } from 'vitest';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../scenarios/final-state.js';
import { firstEvent, logValues, runZooScenario, type ScenarioRun } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5];
const VALUES = Array.from({ length: 10 }, (_, i) => `v${i}`);
// The cluster and fault script are the catalogue's `kip-903` (scenarios/builtin/zoo.ts). There, b3
// restarts 1 s after its wipe: restarted at once, b3's registration reply could be lost on the
// controller's side of the connection the crash broke, before the controller is told (see
// sim/network.ts). The faults on b1's receipt of the controller's answer to the stale expansion —
// b1 and b2 lose power and the network heals; 25 s later (their sessions have expired) they
// restart — stand twice, once on each answer: accepted (fix off) or refused (fix on).
const FAULTS = builtinScenario('kip-903').faults;
/** Indexes of the faults fired by an answer of `kind`. */
const onAnswer = (kind: string) => FAULTS.flatMap((f, i) => (f.on?.kind === kind ? [i] : []));
const ON_ACCEPTED = onAnswer('isr.changed');
const ON_REFUSED = onAnswer('isr.change-rejected');

function run(seed: number, fix: boolean): ScenarioRun {
  return runZooScenario('kip-903', seed, fix, 90_000, [
    'isr.expand-proposed',
    'isr.changed',
    'isr.change-rejected',
    'controller.alter-partition',
    'controller.register',
    'controller.elect',
    'partition.leader',
  ]);
}

/** The scenario ran as scripted; returns b3's two broker epochs and the stale AlterPartition's answer. */
function expectScript(r: ScenarioRun, seed: number, fix: boolean) {
  const where = `seed ${seed}`;
  expect(r.result.failure, where).toBeUndefined();
  // Every fault fired but those waiting for the answer that did not come.
  expect([ON_ACCEPTED.length, ON_REFUSED.length], where).toEqual([5, 5]);
  expect(r.unfired, where).toEqual(fix ? ON_ACCEPTED : ON_REFUSED);
  expect(
    r.c.history
      .filter((o) => o.f === 'send' && o.type === 'ok')
      .map((o) => o.value)
      .sort(),
    where,
  ).toEqual([...VALUES].sort());
  const proposed = firstEvent(r.events, 'isr.expand-proposed', 'b1', { replica: 3 });
  expect(proposed?.fields?.replicaLeo, where).toBe(10);
  // b3 registered again, with a new epoch, before the stale request reached the controller.
  const registrations = r.events.filter((e) => e.kind === 'controller.register' && e.fields?.broker === 3 && e.fields?.error === 'NONE');
  const [first, second] = registrations;
  expect(second, where).toBeDefined();
  const answer = r.events.find((e) => e.kind === 'controller.alter-partition' && (e.fields?.requestedIsr as number[]).length === 3);
  expect(answer?.timeMs, where).toBeGreaterThan(second?.timeMs as number);
  return { oldEpoch: first?.fields?.epoch as number, newEpoch: second?.fields?.epoch as number, answer };
}

describe('bug zoo: fix.kip-903 (broker epochs of ISR members in AlterPartition)', () => {
  it(`fix off: a stale expansion adds the wiped, re-registered b3 to the ISR; it is elected and acknowledged writes are lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, false);
      const where = `seed ${seed}`;
      const { answer } = expectScript(r, seed, false);
      expect(answer?.fields?.error, where).toBe('NONE');
      expect(answer?.fields?.isr, where).toEqual([1, 2, 3]);
      // b3, in the ISR with an empty log, was elected when b1 and b2 went away.
      const b3Leads = firstEvent(r.events, 'partition.leader', 'b3');
      expect(b3Leads?.fields?.logEndOffset, where).toBe(0);
      expect(leaderOf(r.c, 't', 0), where).toBe('b3');
      const missing = ackedWritesMissing(r.c, 't');
      expect(missing, where).toHaveLength(VALUES.length * 3);
      for (const b of r.c.brokers) expect(logValues(r.c, b, 't', 0), `${where} ${b}`).toEqual([]);
    }
  });

  it(`fix on: the controller refuses b3's stale epoch (INELIGIBLE_REPLICA); nothing acknowledged is lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, true);
      const where = `seed ${seed}`;
      const { oldEpoch, newEpoch, answer } = expectScript(r, seed, true);
      expect(answer?.fields?.error, where).toBe('INELIGIBLE_REPLICA');
      // The request named b3 with the epoch of its first incarnation, as b1 saw it fetch.
      expect(String(answer?.fields?.detail), where).toContain(`b3 epoch ${oldEpoch} is not its registered epoch ${newEpoch}`);
      expect(
        r.events.some((e) => e.kind === 'partition.leader' && e.node === 'b3'),
        where,
      ).toBe(false);
      expect(ackedWritesMissing(r.c, 't'), where).toEqual([]);
      expect(replicasDiverge(r.c, 't', 1), where).toEqual([]);
      for (const b of r.c.brokers) expect(logValues(r.c, b, 't', 0), `${where} ${b}`).toEqual(VALUES);
    }
  });
});
