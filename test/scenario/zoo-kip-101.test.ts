// Bug zoo, `fix.kip-101`: a follower that truncates to its own high watermark when it becomes a
// follower loses acknowledged writes if it is then elected (KIP-101 "scenario 1"; Kafka before
// 0.11, ReplicaManager.makeFollowers → logManager.truncateTo(HW); TLA+ KafkaTruncateToHighWatermark
// violates StrongIsr). Notes: docs/notes/kafka-data-plane.md §2.5 and §7.1.
//
// The follower's high watermark lags the leader's by one fetch round: the leader advances its HW
// (and acknowledges an acks=all write) when the followers fetch past the write, and the followers
// learn that HW only in the next fetch response. The historical scenario restarts a follower; with
// every other fix in, a restart is an unclean shutdown that removes the broker from the ISR
// (KIP-966), so this scenario uses the other become-follower path of §2.5, a follower moving to a
// new leader:
//   RF 3, replicas [1,2,3] (b1 leads epoch 0), min.insync.replicas 2, every message fsynced (so
//   any loss is the protocol's, not the disk's), one idempotent acks=all producer.
//   1. The producer writes a0…a39 every 50 ms. The instant the ack of a39 (offset 39) arrives, b1
//      crashes (power loss): b2 and b3 hold offsets 0…39 but their HW is still 39.
//   2. b1's session expires; the controller elects b2 (epoch 1, ISR [2,3]). b3 becomes b2's
//      follower; with the fix off it truncates to its HW 39, losing a39.
//   3. At that instant, before b3 refetches, b2 crashes. Its session expires; b3, the only live ISR
//      member, is elected (epoch 2) without a39.
//   4. b1 and b2 restart, follow b3 and catch up; the producer writes w0…w4, and w0 takes offset 39.
// Fix off: a39 acknowledged at offset 39 is held by no replica (every one holds w0 there), and the
// replicas agree on the loss. Fix on: b3 follows b2 without truncating (the diverging-epoch fetch,
// KIP-101/KIP-279/KIP-595), is elected with a39, and nothing acknowledged is missing. The fault
// script is driven by trace events, so every seed takes the same path; seeds 1…30 all reproduce.
import { describe, expect, it } from 'vitest';
import { replicaRecords } from '../../scenarios/cluster.js';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../scenarios/final-state.js';
import { eventsOf, registration, runZooScenario } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOPIC = 't';
const LAST = 'a39';
const HW_RULE = 'truncate-to-high-watermark (fix.kip-101 off)';

// The cluster and fault script are the catalogue's `kip-101` (scenarios/builtin/zoo.ts):
//   1. b1 loses power the moment the producer has the ack of the last write (a39).
//   2–3. b2 crashes as soon as b3 has become its follower (and, fix off, truncated).
//   4. Once b3 leads, the others come back (their old sessions have long expired).
function run(seed: number, fix: boolean) {
  return runZooScenario('kip-101', seed, fix, 50_000, ['client.op', 'controller.elect', 'partition.follower', 'replica.truncate']);
}

/** What every run must show: the script ran as written and b3 ended up leading after b2. */
function expectScriptedPath(r: ReturnType<typeof run>, label: string) {
  expect(r.result.failure, label).toBeUndefined();
  expect(r.unfired, `${label}: fault triggers that never fired`).toEqual([]);
  const elections = eventsOf(r, 'controller.elect', 'c1').map((e) => `${e.fields?.leader === -1 ? 'none' : `b${e.fields?.leader}`}@${e.fields?.leaderEpoch}`);
  expect(elections, label).toEqual(['b1@0', 'b2@1', 'b3@2']);
  expect(leaderOf(r.c, TOPIC, 0), label).toBe('b3');
  expect([...(registration(r.c, TOPIC, 0)?.isr ?? [])].sort(), `${label}: ISR after recovery`).toEqual([1, 2, 3]);
  // The last write was acknowledged at offset 39, and the late writes went through.
  const acked = new Map(r.c.history.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => [o.value, o.offset]));
  expect(acked.get(LAST), label).toBe(39);
  expect(acked.size, label).toBe(45);
  // Every replica holds the same log: any loss is agreed on, not a divergence.
  expect(replicasDiverge(r.c, TOPIC, 1), label).toEqual([]);
}

describe('bug zoo: fix.kip-101 (truncate to the local high watermark on becoming follower)', () => {
  it.each(SEEDS)('seed %i: fix off, b3 truncates to its lagging HW, is elected and an acknowledged write is lost', (seed) => {
    const r = run(seed, false);
    const label = `seed ${seed}, fix.kip-101=false`;
    expectScriptedPath(r, label);
    // b3 became b2's follower and truncated to its HW, one record behind b1's.
    const truncations = eventsOf(r, 'replica.truncate', 'b3', { rule: HW_RULE, leader: 2 });
    expect(
      truncations.map((e) => [e.fields?.from, e.fields?.to]),
      label,
    ).toEqual([[40, 39]]);
    // The anomaly: a39, acknowledged at offset 39, is on no replica; w0 took its place.
    expect(ackedWritesMissing(r.c, TOPIC), label).toEqual(['b1', 'b2', 'b3'].map((b) => `${LAST} acknowledged at ${TOPIC}-0@39, but ${b} holds w0 there`));
    expect(replicaRecords(r.c.world, 'b3', TOPIC, 0)?.find((x) => x.offset === 39)).toMatchObject({ value: 'w0', epoch: 2 });
  });

  it.each(SEEDS)('seed %i: fix on, b3 keeps the acknowledged write and nothing is lost', (seed) => {
    const r = run(seed, true);
    const label = `seed ${seed}, fix.kip-101=true`;
    expectScriptedPath(r, label);
    expect(eventsOf(r, 'replica.truncate', 'b3'), label).toEqual([]);
    expect(ackedWritesMissing(r.c, TOPIC), label).toEqual([]);
    expect(replicaRecords(r.c.world, 'b3', TOPIC, 0)?.find((x) => x.offset === 39)).toMatchObject({ value: LAST, epoch: 0 });
  });
});
