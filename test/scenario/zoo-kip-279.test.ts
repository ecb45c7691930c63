// Bug zoo, `fix.kip-279`: KAFKA-6361, fixed by KIP-279 (Kafka 2.0). In KIP-101 as first shipped
// (0.11), OffsetsForLeaderEpoch answers with an end offset only and the follower truncates once:
// after two fast leader changes the follower asks for the end of an epoch the new leader never
// had, gets the start offset of the leader's next epoch, and keeps records the leader does not
// have. The replicas then differ at the same offsets forever (TLA+: Kip101.tla fails, Kip279.tla
// fixes it). Notes: docs/notes/kafka-data-plane.md §2.4 and §7.3.
//
// RF 2, replicas [1,2] (b1 leads epoch 0), min.insync.replicas 1, unclean.leader.election.enable,
// every message fsynced (the loss and divergence are the protocol's, not the disk's), one producer
// with acks=1 and idempotence off:
//   1. a0…a9 (offsets 0…9, epoch 0) reach both brokers.
//   2. One-way partition b1 -/-> b2: b2 stops receiving data (it stays in the ISR: its lag is
//      below replica.lag.time.max.ms). b1 appends and acknowledges b0…b8 (offsets 10…18, epoch 0).
//   3. b1 crashes. Its session expires; b2 is elected (epoch 1) and takes c0…c9 (offsets 10…19,
//      epoch 1). The network heals.
//   4. b2 crashes; with its session expired the partition is offline (b2 alone in the ELR).
//   5. b1 restarts and is elected uncleanly (epoch 3; the leaderless change took epoch 2); its
//      epoch cache is {0@0, 3@19}. It takes d0…d4 (offsets 19…23).
//   6. b2 restarts and follows b1. Its epoch cache is {0@0, 1@10}.
//      Fix off: it asks for the end of epoch 1; b1 never had epoch 1 and answers 19, the start of
//      its next epoch; b2 truncates 20 → 19 and keeps c0…c8 at offsets 10…18, where b1 has b0…b8.
//      Fix on: b1 answers (epoch 0, end 19) in the fetch's diverging epoch; b2's own end of epoch
//      0 is 10, so it truncates to 10 and copies b1's log.
// After the unclean election, losing c0…c9 (acknowledged by b2 in epoch 1) is permitted; diverging
// replicas, once the world has healed and both are back in the ISR, never are. Fix off: b1 and b2
// differ at offsets 10…18, epoch-0 records on b1 against epoch-1 records on b2 (the KAFKA-6361
// signature). Fix on: identical replicas. The script is timed with wide margins (sessions expire
// after 9 s); seeds 1…30 all reproduce.
import { describe, expect, it } from 'vitest';
import { replicaRecords } from '../../scenarios/cluster.js';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../scenarios/final-state.js';
import { eventsOf, registration, runZooScenario } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const TOPIC = 't';

// The cluster and fault script are the catalogue's `kip-279` (scenarios/builtin/zoo.ts).
function run(seed: number, fix: boolean) {
  return runZooScenario('kip-279', seed, fix, 50_000, ['client.op', 'controller.elect', 'partition.leader', 'replica.truncate']);
}

/** Where each value was acknowledged. */
function ackedAt(r: ReturnType<typeof run>): Map<string, number> {
  return new Map(r.c.history.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => [o.value as string, o.offset as number]));
}

/** What every run must show: the script ran as written, and the world healed with both replicas in the ISR. */
function expectScriptedPath(r: ReturnType<typeof run>, label: string) {
  expect(r.result.failure, label).toBeUndefined();
  const elections = eventsOf(r, 'controller.elect', 'c1').map((e) => `${e.fields?.leader === -1 ? 'none' : `b${e.fields?.leader}`}@${e.fields?.leaderEpoch}`);
  expect(elections, label).toEqual(['b1@0', 'b2@1', 'none@2', 'b1@3']);
  expect(String(eventsOf(r, 'controller.elect', 'c1', { leader: 1, leaderEpoch: 3 })[0]?.fields?.reason), label).toContain('unclean election of b1');
  // b1 led epoch 3 from offset 19: its epoch cache is {0@0, 3@19}.
  expect(
    eventsOf(r, 'partition.leader', 'b1', { leaderEpoch: 3 }).map((e) => e.fields?.logEndOffset),
    label,
  ).toEqual([19]);
  // Every write was acknowledged where the script says.
  const acked = ackedAt(r);
  expect(acked.size, label).toBe(34);
  expect([acked.get('b0'), acked.get('b8'), acked.get('c0'), acked.get('c9')], label).toEqual([10, 18, 10, 19]);
  // d0…d4 take offsets 19…23 on b1 (in any order: without idempotence a retried send may be overtaken).
  expect(
    ['d0', 'd1', 'd2', 'd3', 'd4'].map((v) => acked.get(v) ?? -1).sort((x, y) => x - y),
    label,
  ).toEqual([19, 20, 21, 22, 23]);
  // Healed and caught up: b1 leads with both replicas in the ISR.
  expect(leaderOf(r.c, TOPIC, 0), label).toBe('b1');
  expect([...(registration(r.c, TOPIC, 0)?.isr ?? [])].sort(), label).toEqual([1, 2]);
  expect(replicaRecords(r.c.world, 'b2', TOPIC, 0)?.length, label).toBe(24);
}

describe('bug zoo: fix.kip-279 (KAFKA-6361: offset-only OffsetsForLeaderEpoch, one round)', () => {
  it.each(SEEDS)('seed %i: fix off, b2 keeps its epoch-1 records and the replicas diverge forever', (seed) => {
    const r = run(seed, false);
    const label = `seed ${seed}, fix.kip-279=false`;
    expectScriptedPath(r, label);
    // b2 asked for the end of epoch 1 and got 19, the start of b1's epoch 3: one truncation, not far enough.
    const truncations = eventsOf(r, 'replica.truncate', 'b2');
    expect(
      truncations.map((e) => [e.fields?.rule, e.fields?.askedEpoch, e.fields?.replyEndOffset, e.fields?.from, e.fields?.to]),
      label,
    ).toEqual([['epoch end offset (KIP-101 v0 reply)', 1, 19, 20, 19]]);
    // The anomaly: the replicas differ, first at offset 10.
    expect(replicasDiverge(r.c, TOPIC, 1), label).toEqual(['t-0: b1 and b2 differ at offset 10: b0 (epoch 0) vs c0 (epoch 1)']);
    // The KAFKA-6361 signature: at every diverging offset, an epoch-0 record on b1 and an epoch-1 record on b2.
    const b1 = replicaRecords(r.c.world, 'b1', TOPIC, 0) ?? [];
    const b2 = replicaRecords(r.c.world, 'b2', TOPIC, 0) ?? [];
    const differing = b1.flatMap((x, i) =>
      b2[i]?.value === x.value ? [] : [{ offset: x.offset, b1: `${x.value}@${x.epoch}`, b2: `${b2[i]?.value}@${b2[i]?.epoch}` }],
    );
    expect(differing, label).toEqual(Array.from({ length: 9 }, (_, i) => ({ offset: 10 + i, b1: `b${i}@0`, b2: `c${i}@1` })));
    // Each replica now contradicts the other's acknowledgements: b0…b8 are missing from b2, c0…c8 from b1.
    const missing = ackedWritesMissing(r.c, TOPIC);
    expect(missing, label).toContain(`b0 acknowledged at ${TOPIC}-0@10, but b2 holds c0 there`);
    expect(missing, label).toContain(`c0 acknowledged at ${TOPIC}-0@10, but b1 holds b0 there`);
  });

  it.each(SEEDS)('seed %i: fix on, b2 truncates to the end of epoch 0 and the replicas agree', (seed) => {
    const r = run(seed, true);
    const label = `seed ${seed}, fix.kip-279=true`;
    expectScriptedPath(r, label);
    const truncations = eventsOf(r, 'replica.truncate', 'b2');
    expect(
      truncations.map((e) => [e.fields?.divergingEpoch, e.fields?.divergingEndOffset, e.fields?.from, e.fields?.to]),
      label,
    ).toEqual([[0, 19, 20, 10]]);
    expect(replicasDiverge(r.c, TOPIC, 1), label).toEqual([]);
    // Only what the unclean election permits is lost: the epoch-1 writes b2 acknowledged.
    const lost = new Set(ackedWritesMissing(r.c, TOPIC).map((p) => p.split(' ')[0]));
    expect([...lost].sort(), label).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
    expect(replicaRecords(r.c.world, 'b2', TOPIC, 0)?.slice(10, 19), label).toEqual(
      Array.from({ length: 9 }, (_, i) => ({ offset: 10 + i, value: `b${i}`, epoch: 0 })),
    );
  });
});
