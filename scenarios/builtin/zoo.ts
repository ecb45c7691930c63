// The bug zoo as scenarios: the one definition of each scripted scenario, run by `ksim run <name>`
// and by the tests (test/scenario/zoo-*.test.ts explain each step by step, with its sources, and
// assert on its trace; test/unit/invariants.test.ts and guarantees.test.ts judge it). Each fails
// with its `fix.*` key false (on the seeds its expectation names) and is valid with the key at its
// default. Every message is fsynced where the bug needs it, so that any loss is the protocol's.

import { onePartition, sends, ZOO_SEEDS } from './helpers.js';

const V9_ACKED = { kind: 'client.op', node: 'p1', fields: { f: 'send', type: 'ok', value: 'v9' } };

export const ZOO: Record<string, () => Record<string, unknown>> = {
  'kip-101': () => ({
    name: 'kip-101',
    description:
      'KIP-101 scenario 1: a follower that truncates to its own (lagging) high watermark when it becomes a follower, and is then elected, loses an acknowledged write. ' +
      'b1 crashes the moment a39 is acknowledged; b2 is elected; b3 follows it (fix off: truncating a39 away); b2 crashes; b3 leads without a39.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2, 'log.flush.interval.messages': 1 },
    producers: [{ id: 'p1', topic: 't' }],
    ops: [...sends('p1', 'a', 3000, 40, 50), ...sends('p1', 'w', 40_000, 5, 100)],
    faults: [
      { on: { kind: 'client.op', node: 'p1', fields: { f: 'send', type: 'ok', value: 'a39' } }, fault: 'crash', node: 'b1' },
      { on: { kind: 'partition.follower', node: 'b3', fields: { leader: 2 } }, fault: 'crash', node: 'b2' },
      { on: { kind: 'controller.elect', node: 'c1', fields: { leader: 3 } }, delayMs: 2000, fault: 'restart', node: 'b1' },
      { on: { kind: 'controller.elect', node: 'c1', fields: { leader: 3 } }, delayMs: 4000, fault: 'restart', node: 'b2' },
    ],
    durationMs: 45_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'b3 follows b2 by the diverging-epoch fetch and keeps a39' },
      {
        set: { 'fix.kip-101': false },
        verdict: 'invalid',
        seeds: ZOO_SEEDS,
        why: 'b3 truncates a39 (acknowledged, committed) to its lagging high watermark and is elected: a lost write',
      },
    ],
  }),

  'kip-279': () => ({
    name: 'kip-279',
    description:
      'KAFKA-6361, fixed by KIP-279: with an offset-only OffsetsForLeaderEpoch answered in one round, a follower after two fast leader changes keeps records ' +
      'the leader does not have, and the replicas differ at the same offsets forever. Loss after the unclean election is permitted; divergence never.',
    brokers: 2,
    topics: onePartition(2),
    config: { 'min.insync.replicas': 1, 'unclean.leader.election.enable': true, 'log.flush.interval.messages': 1 },
    producers: [{ id: 'p1', topic: 't', acks: '1', config: { 'enable.idempotence': false } }],
    ops: [...sends('p1', 'a', 3000, 10, 100), ...sends('p1', 'b', 4100, 9, 100), ...sends('p1', 'c', 16_000, 10, 100), ...sends('p1', 'd', 34_000, 5, 100)],
    faults: [
      { atMs: 4000, fault: 'partition', oneWay: { from: ['b1'], to: ['b2'] } },
      { atMs: 5000, fault: 'crash', node: 'b1' },
      { atMs: 15_000, fault: 'heal' },
      { atMs: 20_000, fault: 'crash', node: 'b2' },
      { atMs: 31_000, fault: 'restart', node: 'b1' },
      { atMs: 36_000, fault: 'restart', node: 'b2' },
    ],
    durationMs: 45_000,
    expect: [
      { set: {}, verdict: 'valid', why: 'b2 truncates to the end of epoch 0 and copies b1; the epoch-1 writes lost to the unclean election are permitted' },
      {
        set: { 'fix.kip-279': false },
        verdict: 'invalid',
        seeds: ZOO_SEEDS,
        why: 'b2 keeps its epoch-1 records at offsets where b1 has epoch-0 ones: the replicas diverge',
      },
    ],
  }),

  'kip-320': () => ({
    name: 'kip-320',
    description:
      'KAFKA-6880, fixed by KIP-320: after an unclean leader change, a consumer that does not validate its position against the new leader silently skips ' +
      "the new leader's records below it. The consumer pauses across the change; the new leader's log grows past the consumer's position.",
    brokers: 2,
    topics: onePartition(2),
    config: { 'min.insync.replicas': 1, 'unclean.leader.election.enable': true, 'log.flush.interval.messages': 1 },
    producers: [{ id: 'p1', topic: 't', acks: '1', config: { 'enable.idempotence': false } }],
    consumers: [{ id: 'k1', topic: 't' }],
    ops: [...sends('p1', 'v', 3000, 3, 0), ...sends('p1', 'v', 15_000, 3, 0, 3), ...sends('p1', 'v', 30_000, 6, 0, 6)],
    faults: [
      { atMs: 4000, fault: 'crash', node: 'b2' },
      { atMs: 17_000, fault: 'pause', node: 'k1', durationMs: 30_000 },
      { atMs: 18_000, fault: 'crash', node: 'b1' },
      { atMs: 19_000, fault: 'restart', node: 'b2' },
      { atMs: 50_000, fault: 'heal' },
      { atMs: 50_000, fault: 'restart', node: 'b1' },
    ],
    durationMs: 50_000,
    expect: [
      { set: {}, verdict: 'valid', why: 'the consumer detects the truncation, seeks back to the divergence point and reads every record' },
      { set: { 'fix.kip-320': false }, verdict: 'invalid', seeds: ZOO_SEEDS, why: 'the consumer resumes at its old position and never reads v6..v8' },
    ],
  }),

  'kafka-7128': () => ({
    name: 'kafka-7128',
    description:
      "KAFKA-7128: a new leader's lagging high watermark lets a replica behind the leader's epoch start into the ISR; when the leader dies that replica is " +
      'elected and acknowledged writes are lost. The fix also requires the follower to reach the start offset of the leader epoch.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2, 'replica.lag.time.max.ms': 2000, 'log.flush.interval.messages': 1 },
    producers: [{ id: 'p1', topic: 't' }],
    ops: [...sends('p1', 'v', 3000, 5, 0), ...sends('p1', 'v', 10_000, 5, 0, 5)],
    faults: [
      { atMs: 4000, fault: 'partition', sides: [['b3'], ['b1', 'b2']] },
      { on: V9_ACKED, delayMs: 0, fault: 'crash', node: 'b1' },
      { on: V9_ACKED, delayMs: 0, fault: 'partition', oneWay: { from: ['b2'], to: ['b3'] } },
      { on: { kind: 'isr.expand-proposed', node: 'b2', fields: { replica: 3, replicaLeo: 5 } }, delayMs: 100, fault: 'crash', node: 'b2' },
      { atMs: 50_000, fault: 'heal' },
      { atMs: 50_000, fault: 'restart', node: 'b1' },
      { atMs: 50_000, fault: 'restart', node: 'b2' },
    ],
    durationMs: 50_000,
    expect: [
      {
        set: {},
        verdict: 'valid',
        absent: ['lost-write'],
        why: "b3 is not added before it reaches b2's epoch start offset; every acknowledged write survives",
      },
      {
        set: { 'fix.kafka-7128': false },
        verdict: 'invalid',
        seeds: ZOO_SEEDS,
        why: "b3 (LEO 5) joins the ISR on b2's stale high watermark, is elected, and v5..v9 are lost",
      },
    ],
  }),

  'maximal-isr': () => ({
    name: 'maximal-isr',
    description:
      'KIP-497 made ISR changes asynchronous: while an expansion is in flight, a high watermark that waits only for the committed ISR can pass records the ' +
      'joining replica lacks; once the expansion commits, that replica may be elected without them. The fix waits for the maximal ISR.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 1, 'replica.lag.time.max.ms': 2000, 'log.flush.interval.messages': 1 },
    producers: [{ id: 'p1', topic: 't' }],
    ops: [...sends('p1', 'v', 4000, 5, 100), ...sends('p1', 'v', 10_000, 5, 100, 5)],
    faults: [
      { atMs: 2500, fault: 'partition', sides: [['b1'], ['b3']] },
      { atMs: 7000, fault: 'heal' },
      { on: { kind: 'isr.expand-proposed', node: 'b1', fields: { replica: 3 } }, delayMs: 0, fault: 'clog', from: 'b1', to: 'c1', durationMs: 6000 },
      { on: { kind: 'isr.expand-proposed', node: 'b1', fields: { replica: 3 } }, delayMs: 0, fault: 'partition', oneWay: { from: ['b1'], to: ['b3'] } },
      { on: { kind: 'isr.changed', node: 'b1', fields: { kind: 'expand' } }, delayMs: 0, fault: 'crash', node: 'b1' },
      { on: { kind: 'isr.changed', node: 'b1', fields: { kind: 'expand' } }, delayMs: 0, fault: 'crash', node: 'b2' },
      { on: { kind: 'isr.changed', node: 'b1', fields: { kind: 'expand' } }, delayMs: 0, fault: 'heal' },
      { atMs: 35_000, fault: 'restart', node: 'b1' },
      { atMs: 35_000, fault: 'restart', node: 'b2' },
    ],
    durationMs: 40_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'the high watermark waits for the maximal ISR; the producer retries v5..v9 on b3' },
      {
        set: { 'fix.maximal-isr': false },
        verdict: 'invalid',
        seeds: ZOO_SEEDS,
        why: 'v5..v9 are acknowledged on the committed ISR while b3 joins without them; b3 is elected',
      },
    ],
  }),

  'kip-903': () => {
    const expand = { kind: 'isr.expand-proposed', node: 'b1', fields: { replica: 3 } };
    // The controller's answer to the stale expansion as b1 receives it: accepted (fix off: the first
    // expansion of the partition, partition epoch 2) or refused (fix on). Either fires the same set.
    const answers = [
      { kind: 'isr.changed', node: 'b1', fields: { kind: 'expand', partitionEpoch: 2 } },
      { kind: 'isr.change-rejected', node: 'b1', fields: { error: 'INELIGIBLE_REPLICA' } },
    ];
    return {
      name: 'kip-903',
      description:
        'KIP-903: an AlterPartition that names ISR members by broker id only lets a stale expansion add a broker that meanwhile lost its disk and registered ' +
        'again; it is elected with an empty log. The fix names broker epochs and the controller refuses the stale one (INELIGIBLE_REPLICA).',
      brokers: 3,
      topics: onePartition(3),
      config: { 'replica.lag.time.max.ms': 2000, 'log.flush.interval.messages': 1, 'broker.heartbeat.interval.ms': 200 },
      producers: [{ id: 'p1', topic: 't' }],
      ops: sends('p1', 'v', 3000, 10, 100),
      faults: [
        { atMs: 2500, fault: 'partition', sides: [['b3'], ['b1']] },
        { atMs: 8000, fault: 'partition', sides: [['b3'], ['b1', 'c1']] },
        { atMs: 13_000, fault: 'partition', sides: [['b3'], ['c1']] },
        { on: expand, delayMs: 0, fault: 'clog', from: 'b1', to: 'c1', durationMs: 7000 },
        { on: expand, delayMs: 0, fault: 'wipe', node: 'b3' },
        { on: expand, delayMs: 0, fault: 'partition', oneWay: { from: ['b1'], to: ['b3'] } },
        { on: expand, delayMs: 1000, fault: 'restart', node: 'b3' },
        ...answers.flatMap((on) => [
          { on, delayMs: 0, fault: 'crash', node: 'b1' },
          { on, delayMs: 0, fault: 'crash', node: 'b2' },
          { on, delayMs: 0, fault: 'heal' },
          { on, delayMs: 25_000, fault: 'restart', node: 'b1' },
          { on, delayMs: 25_000, fault: 'restart', node: 'b2' },
        ]),
      ],
      durationMs: 60_000,
      expect: [
        { set: {}, verdict: 'valid', absent: ['lost-write'], why: "the controller refuses b3's stale broker epoch; b1 is re-elected with all ten records" },
        {
          set: { 'fix.kip-903': false },
          verdict: 'invalid',
          seeds: ZOO_SEEDS.slice(0, 5),
          why: 'the wiped b3 joins the ISR through the stale expansion and is elected: v0..v9 lost',
        },
      ],
    };
  },

  'kip-966': () => ({
    name: 'kip-966',
    description:
      'KIP-966 "last replica standing": without strict min ISR the high watermark advances on an ISR of one; that leader loses power and its unflushed ' +
      'tail, is re-elected as the only ISR member, and committed records are gone. The fix freezes the HW below min ISR and elects from the ELR.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2, 'replica.lag.time.max.ms': 2000 },
    disk: { crashFate: { drop: 1, keep: 0, tear: 0 } },
    producers: [
      { id: 'pall', topic: 't' },
      { id: 'pone', topic: 't', acks: '1', config: { 'enable.idempotence': false } },
    ],
    consumers: [{ id: 'k1', topic: 't' }],
    ops: [...sends('pall', 'p', 2500, 3, 100), ...sends('pone', 'w', 5000, 5, 100)],
    faults: [
      { atMs: 4000, fault: 'partition', sides: [['b1'], ['b2', 'b3']] },
      { atMs: 11_000, fault: 'crash', node: 'b1' },
      { atMs: 22_000, fault: 'restart', node: 'b1' },
      { atMs: 30_000, fault: 'heal' },
    ],
    durationMs: 30_000,
    // A follower whose fetch response was lost on a half-open connection waits replica.socket.timeout.ms (30 s).
    liveness: { withinMs: 50_000 },
    expect: [
      { set: {}, verdict: 'valid', why: 'nothing committed is lost; the acks=1 writes were never committed, so losing them is permitted' },
      {
        set: { 'fix.kip-966': false },
        verdict: 'invalid',
        seeds: ZOO_SEEDS.slice(0, 5),
        why: 'the consumer was served w0..w4 (committed on ISR [b1]); b1 returns empty and is re-elected',
      },
    ],
  }),
};
