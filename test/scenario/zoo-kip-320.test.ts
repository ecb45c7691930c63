// Bug zoo, fix.kip-320: a consumer silently skips records after an unclean leader change.
//
// History (KAFKA-6880, fixed by KIP-320 "Allow fetchers to detect and handle log truncation";
// broker side in Kafka 2.1, consumer validation in 2.3 [versions from memory]; notes §6 and §7.4).
// Before KIP-320 a consumer's fetch carried no leader epoch and the consumer never checked its
// position after a leader change. If the new leader's log had diverged below the position and had
// already grown past it, the consumer went on fetching at its old position: the new leader's
// records between the divergence point and the position were never delivered, and nobody noticed.
// With KIP-320 the consumer keeps the leader epoch of the last record it consumed, and on a leader
// change asks the new leader (OffsetsForLeaderEpoch) where that epoch ends; an end offset below the
// position is a detected truncation, and the consumer seeks back to it.
//
// The script (RF 2, replicas [b1, b2], min.insync.replicas 1, unclean.leader.election.enable, a
// producer with acks=1 and no idempotence, one consumer; every message fsynced so that the only
// loss is the protocol's):
//   t=3 s    v0..v2 are written; both replicas have offsets 0..2 (leader epoch 0).
//   t=4 s    b2 crashes; its session expires and it is removed from the ISR: ISR [b1].
//   t=15 s   v3..v5 are written to b1 alone (offsets 3..5); the consumer reads them: position P = 6.
//   t=17 s   the consumer pauses for 30 s (a long GC pause), so it fetches nothing across the change.
//   t=18 s   b1 crashes; t=19 s b2 restarts. When b1's session expires, b2 (not in the ISR) is
//            elected uncleanly, leader epoch 1, with a log ending at L = 3: v3..v5 are gone
//            (acks=1 and an unclean election permit that loss; it is not what this test is about).
//   t=30 s   v6..v11 are written to b2 at offsets 3..8: its log has passed P.
//   t=47 s   the consumer resumes. Fix off: it fetches at 6 and reads v9..v11; v6..v8 (offsets
//            3..5) are never delivered. Fix on: it validates its position (epoch 0 ends at 3 on b2),
//            traces `consumer.truncation-detected`, seeks back to 3 and reads v6..v11.
//   t=50 s   everything heals and b1 restarts (it truncates to b2's log); the run ends at 60 s.
import { describe, expect, it } from 'vitest';
import { replicaRecords } from '../../scenarios/cluster.js';
import { replicasDiverge, unseenByConsumer } from '../../scenarios/final-state.js';
import { eventsOf, runZooScenario, type ScenarioRun, timeline } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOPIC = 't';

const KINDS = [
  'fault',
  'controller.elect',
  'partition.leader',
  'replica.truncate',
  'client.op',
  'consumer.validate-position',
  'consumer.truncation-detected',
  'consumer.position-validated',
  'consumer.offset-out-of-range',
  'consumer.offset-reset',
];

// The cluster and fault script are the catalogue's `kip-320` (scenarios/builtin/zoo.ts).
function run(seed: number, fix: boolean): ScenarioRun {
  return runZooScenario('kip-320', seed, fix, 60_000, KINDS);
}

/** `offset:value` of every record the consumer polled, in order. */
function polled(r: ScenarioRun): string[] {
  return r.c.history
    .filter((o) => o.process === 'k1' && o.f === 'poll' && o.type === 'ok')
    .flatMap((o) => (o.values ?? []).map((v, i) => `${o.offsets?.[i]}:${v}`));
}

/** What the consumer polled after v5, the last record it read from b1. */
function polledAfterTheChange(r: ScenarioRun): string[] {
  const all = polled(r);
  return all.slice(all.indexOf('5:v5') + 1);
}

/** The preconditions both variants share: b2 led uncleanly with a log that diverged below the consumer's position. */
function checkSetup(r: ScenarioRun, seed: number): void {
  const where = `seed ${seed}\n${timeline(r)}`;
  expect(r.result.failure, where).toBeUndefined();
  const unclean = eventsOf(r, 'controller.elect', 'c1').filter((e) => e.fields?.leader === 2);
  expect(
    unclean.map((e) => e.fields?.leaderEpoch),
    where,
  ).toEqual([1]);
  expect(String(unclean[0]?.fields?.reason), where).toContain('unclean election of b2');
  // The consumer had read up to position 6 (v3..v5 from b1) before the change.
  expect(polled(r).slice(0, 6), where).toEqual(['0:v0', '1:v1', '2:v2', '3:v3', '4:v4', '5:v5']);
  // b2's final log: v0..v2 in epoch 0, then v6..v11 at offsets 3..8 in epoch 1; b1 has truncated to match.
  const log = replicaRecords(r.c.world, 'b2', TOPIC, 0)?.map((x) => `${x.offset}:${x.value}@${x.epoch}`);
  expect(log, where).toEqual(['0:v0@0', '1:v1@0', '2:v2@0', '3:v6@1', '4:v7@1', '5:v8@1', '6:v9@1', '7:v10@1', '8:v11@1']);
  expect(replicasDiverge(r.c, TOPIC, 1), where).toEqual([]);
}

describe('bug zoo: fix.kip-320 (KAFKA-6880): consumer truncation detection after an unclean leader change', () => {
  it(`fix off: the consumer keeps its position and silently skips the new leader's records below it (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, false);
      checkSetup(r, seed);
      const where = `seed ${seed}\n${timeline(r)}`;
      expect(unseenByConsumer(r.c, 'k1', TOPIC, 1), where).toEqual([
        "t-0@3 = v6 (in b2's final log) was never polled by k1",
        "t-0@4 = v7 (in b2's final log) was never polled by k1",
        "t-0@5 = v8 (in b2's final log) was never polled by k1",
      ]);
      // It resumed at offset 6 on the new leader: no validation, no truncation detected, no reset.
      expect(eventsOf(r, 'consumer.validate-position'), where).toEqual([]);
      expect(eventsOf(r, 'consumer.truncation-detected'), where).toEqual([]);
      expect(eventsOf(r, 'consumer.offset-out-of-range'), where).toEqual([]);
      expect(polledAfterTheChange(r), where).toEqual(['6:v9', '7:v10', '8:v11']);
    }
  });

  it(`fix on: the consumer detects the truncation, seeks back to the divergence point and reads every record (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, true);
      checkSetup(r, seed);
      const where = `seed ${seed}\n${timeline(r)}`;
      expect(unseenByConsumer(r.c, 'k1', TOPIC, 1), where).toEqual([]);
      const detected = eventsOf(r, 'consumer.truncation-detected', 'k1').map((e) => e.fields);
      expect(detected, where).toEqual([{ topic: TOPIC, partition: 0, position: 6, endOffset: 3, leaderEpoch: 0 }]);
      expect(eventsOf(r, 'consumer.offset-out-of-range'), where).toEqual([]);
      expect(polledAfterTheChange(r), where).toEqual(['3:v6', '4:v7', '5:v8', '6:v9', '7:v10', '8:v11']);
    }
  });
});
