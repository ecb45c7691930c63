import { describe, expect, it } from 'vitest';
import { type ControllerTopic, defaultAssignment, PRODUCER_ID_BLOCK_SIZE } from '../../../core/controller/controller.js';
import type { ErrorCode, KafkaMessage, MetadataRecord } from '../../../core/protocol.js';
import { type Cluster, CONTROLLER, cluster, type FakeBroker } from './fake-broker.js';

function records(c: Cluster, type: MetadataRecord['type']): MetadataRecord[] {
  return c.controller().committedRecords.filter((r) => r.type === type);
}

function expectNoFailure(c: Cluster): void {
  expect(c.w.firstFailure).toBeUndefined();
}

/** Two brokers, unclean election on, no ELR; the leader b1 has shrunk the ISR to itself. */
function isrShrunkToB1() {
  const c = cluster({
    overrides: { 'fix.kip-966': false, 'unclean.leader.election.enable': true },
    topics: [{ name: 't', partitions: 1, replicationFactor: 2, assignment: [[1, 2]] }],
    brokers: [1, 2],
  });
  c.w.startAll();
  c.w.run({ untilMs: 4000 });
  c.broker(1).alterPartition({ isr: [{ brokerId: 1, brokerEpoch: -1 }] });
  c.w.run({ untilMs: 4100 });
  return c;
}

describe('controller: registration, heartbeats and topic creation', () => {
  it('registers brokers with epoch = offset of their RegisterBroker record, unfences them and creates the topic', () => {
    const c = cluster({ topics: [{ name: 't', partitions: 3, replicationFactor: 3 }] });
    c.w.startAll();
    c.w.run({ untilMs: 5000 });
    expectNoFailure(c);
    const log = c.controller().committedRecords;
    for (const id of [1, 2, 3]) {
      const b = c.broker(id);
      expect(b.brokerEpoch).toBeGreaterThanOrEqual(0);
      expect(log[b.brokerEpoch]).toMatchObject({ type: 'RegisterBroker', brokerId: id, brokerEpoch: b.brokerEpoch });
      expect(b.fenced).toBe(false);
      expect(c.controller().image.isActive(id)).toBe(true);
    }
    // Round-robin assignment, ISR = replicas, leader = first replica.
    expect([0, 1, 2].map((p) => c.partition('t', p))).toMatchObject([
      { replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0 },
      { replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2 },
      { replicas: [3, 1, 2], isr: [3, 1, 2], leader: 3 },
    ]);
    expect(records(c, 'Topic')).toHaveLength(1);
    // Every broker's image caught up with the controller's committed log.
    for (const id of [1, 2, 3]) expect(c.broker(id).image.offset).toBe(c.controller().committedOffset);
    expect(c.traces('controller.create-topic')).toHaveLength(1);
    expect(c.traces('controller.unfence').map((t) => t.fields.broker)).toEqual([1, 2, 3]);
  });

  it('a retry of the same incarnation keeps the epoch and writes nothing', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const b1 = c.broker(1);
    const before = c.controller().committedOffset;
    const corr = b1.nextCorrelation();
    b1.send({ type: 'BrokerRegistration', correlationId: corr, brokerId: 1, incarnationId: b1.incarnationId, previousBrokerEpoch: -1 });
    c.w.run({ untilMs: 3100 });
    expect(b1.response(corr, 'BrokerRegistrationResponse')).toMatchObject({ error: 'NONE', brokerEpoch: b1.brokerEpoch });
    expect(c.controller().committedOffset).toBe(before);
    expect(c.controller().image.isActive(1)).toBe(true);
  });

  it('heartbeats with an unknown broker or a stale epoch are refused', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const b1 = c.broker(1);
    const unknown = b1.nextCorrelation();
    b1.send({ type: 'BrokerHeartbeat', correlationId: unknown, brokerId: 9, brokerEpoch: 0, metadataOffset: 100, wantFence: false });
    const stale = b1.nextCorrelation();
    b1.send({ type: 'BrokerHeartbeat', correlationId: stale, brokerId: 1, brokerEpoch: b1.brokerEpoch + 100, metadataOffset: 100, wantFence: false });
    c.w.run({ untilMs: 3100 });
    expect(b1.response(unknown, 'BrokerHeartbeatResponse')).toMatchObject({ error: 'BROKER_ID_NOT_REGISTERED', isFenced: true });
    expect(b1.response(stale, 'BrokerHeartbeatResponse')).toMatchObject({ error: 'STALE_BROKER_EPOCH', isFenced: true });
  });

  it('a broker is not unfenced before its metadata offset reaches its registration', () => {
    const c = cluster();
    for (const id of [1, 2, 3]) (c.scripts.get(id) as { fetch: boolean }).fetch = false;
    c.w.startAll();
    c.w.run({ untilMs: 5000 });
    expectNoFailure(c);
    for (const id of [1, 2, 3]) expect(c.controller().image.isActive(id)).toBe(false);
    expect(records(c, 'Topic')).toHaveLength(0);
  });

  it('creates a topic only once every assigned broker has registered and been unfenced', () => {
    const c = cluster({
      topics: [
        {
          name: 't',
          partitions: 2,
          replicationFactor: 2,
          assignment: [
            [1, 3],
            [3, 2],
          ],
        },
      ],
    });
    c.w.startAll();
    c.w.crash('b3');
    c.w.run({ untilMs: 8000 });
    expect(records(c, 'Topic')).toHaveLength(0);
    expect(c.controller().image.isActive(1) && c.controller().image.isActive(2)).toBe(true);
    c.w.restart('b3');
    c.w.run({ untilMs: 12_000 });
    expectNoFailure(c);
    expect(records(c, 'Topic')).toHaveLength(1);
    expect(c.partition('t', 1)).toMatchObject({ replicas: [3, 2], leader: 3, isr: [3, 2] });
    // The topic was created after b3's unfencing, not before.
    const created = c.traces('controller.create-topic')[0]?.timeMs ?? 0;
    const b3Unfenced = c.traces('controller.unfence').find((t) => t.fields.broker === 3)?.timeMs ?? Infinity;
    expect(created).toBeGreaterThanOrEqual(b3Unfenced);
  });

  it('options are checked: replication factor, assignment shape and broker ids', () => {
    expect(defaultAssignment([3, 1, 2], 4, 2)).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 2],
    ]);
    expect(() => defaultAssignment([1, 2], 1, 3)).toThrow(/replication factor/);
    const bad = (topics: ControllerTopic[]) => () => cluster({ topics }).w.startAll();
    expect(bad([{ name: 't', partitions: 1, replicationFactor: 2, assignment: [[1, 9]] }])).toThrow(/not a broker/);
    expect(bad([{ name: 't', partitions: 2, replicationFactor: 1, assignment: [[1]] }])).toThrow(/assignment for 1 of 2/);
    expect(bad([{ name: 't', partitions: 1, replicationFactor: 2, assignment: [[1, 1]] }])).toThrow(/duplicate replicas/);
  });
});

describe('controller: sessions, fencing and elections', () => {
  it('fences a silent broker after broker.session.timeout.ms and elects a new leader', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 5000 });
    expect(c.partition()).toMatchObject({ leader: 1, leaderEpoch: 0 });
    c.w.crash('b1');
    c.w.run({ untilMs: 12_000 });
    expect(c.controller().image.isActive(1)).toBe(true); // 9 s have not passed since its last heartbeat
    c.w.run({ untilMs: 16_000 });
    expectNoFailure(c);
    expect(c.controller().image.isActive(1)).toBe(false);
    expect(c.partition()).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
    const fence = c.traces('controller.fence');
    expect(fence).toHaveLength(1);
    expect(fence[0]?.fields).toMatchObject({ broker: 1 });
    expect(String(fence[0]?.fields.reason)).toMatch(/session expired/);
    const elect = c.traces('controller.elect').filter((t) => t.fields.leaderEpoch === 1);
    expect(elect).toHaveLength(1);
    expect(elect[0]?.fields).toMatchObject({ topic: 't', partition: 0, leader: 2 });
    expect(String(elect[0]?.fields.reason)).toMatch(/^leader b1 fenced \(session expired.*elected b2 \(first live ISR member in assignment order\)/);
    // The silence began at b1's last heartbeat (at most 2 s before the crash): fenced 9–11.5 s later.
    expect(fence[0]?.timeMs).toBeGreaterThan(12_000);
    expect(fence[0]?.timeMs).toBeLessThan(14_600);
  });

  it('a broker that asks to be fenced is fenced at once', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const b2 = c.broker(2);
    b2.send({ type: 'BrokerHeartbeat', correlationId: 7, brokerId: 2, brokerEpoch: b2.brokerEpoch, metadataOffset: 100, wantFence: true });
    c.w.run({ untilMs: 3100 });
    expect(b2.response(7, 'BrokerHeartbeatResponse')).toMatchObject({ error: 'NONE', isFenced: true });
    expect(c.partition()?.isr).toEqual([1, 3]);
  });

  it('without ELR the last replica standing waits; unfencing that broker re-elects it', () => {
    const c = cluster({ overrides: { 'fix.kip-966': false }, topics: [{ name: 't', partitions: 1, replicationFactor: 1, assignment: [[1]] }] });
    c.w.startAll();
    c.w.run({ untilMs: 4000 });
    c.w.crash('b1');
    c.w.run({ untilMs: 16_000 });
    expect(c.partition()).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
    expect(c.traces('controller.elect').some((t) => String(t.fields.reason).includes('last replica standing'))).toBe(true);
    c.w.restart('b1');
    c.w.run({ untilMs: 20_000 });
    expectNoFailure(c);
    expect(c.partition()).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2, leaderRecoveryState: 'RECOVERED' });
    const last = c.traces('controller.elect').at(-1);
    expect(String(last?.fields.reason)).toMatch(/^b1 unfenced; elected b1/);
  });

  it('unclean election only when enabled: ISR=[leader], RECOVERING', () => {
    for (const unclean of [false, true]) {
      const c = cluster({
        overrides: { 'fix.kip-966': false, 'unclean.leader.election.enable': unclean },
        topics: [{ name: 't', partitions: 1, replicationFactor: 2, assignment: [[1, 2]] }],
        brokers: [1, 2],
      });
      c.w.startAll();
      c.w.run({ untilMs: 4000 });
      const ap = c.broker(1).alterPartition({ isr: [{ brokerId: 1, brokerEpoch: c.broker(1).brokerEpoch }] });
      c.w.run({ untilMs: 4100 });
      expect(c.broker(1).response(ap, 'AlterPartitionResponse')).toMatchObject({ error: 'NONE', isr: [1] });
      c.w.crash('b1');
      c.w.run({ untilMs: 16_000 });
      expectNoFailure(c);
      if (unclean) {
        expect(c.partition()).toMatchObject({ leader: 2, isr: [2], leaderRecoveryState: 'RECOVERING', leaderEpoch: 1 });
        expect(c.traces('controller.elect').some((t) => String(t.fields.reason).includes('unclean election of b2'))).toBe(true);
      } else {
        expect(c.partition()).toMatchObject({ leader: -1, isr: [1], leaderRecoveryState: 'RECOVERED' });
      }
    }
  });

  it('unclean election also happens when an out-of-sync broker is unfenced', () => {
    const c = isrShrunkToB1();
    c.w.crash('b2');
    c.w.run({ untilMs: 16_000 });
    expect(c.controller().image.isActive(2)).toBe(false);
    c.w.crash('b1');
    c.w.run({ untilMs: 28_000 });
    // Nobody acceptable: the partition is offline, waiting.
    expect(c.partition()).toMatchObject({ leader: -1, isr: [1] });
    c.w.restart('b2');
    c.w.run({ untilMs: 34_000 });
    expectNoFailure(c);
    expect(c.partition()).toMatchObject({ leader: 2, isr: [2], leaderRecoveryState: 'RECOVERING' });
    expect(String(c.traces('controller.elect').at(-1)?.fields.reason)).toMatch(/^b2 unfenced; unclean election of b2/);
  });
});

describe('controller: broker registration across restarts', () => {
  it('DUPLICATE_BROKER_REGISTRATION while the old session lives; then a new epoch', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 4100 }); // b1 heartbeated at ~4000
    const oldEpoch = c.broker(1).brokerEpoch;
    c.w.crash('b1');
    c.w.run({ untilMs: 5000 });
    c.w.restart('b1');
    c.w.run({ untilMs: 8000 });
    const dup = c.broker(1).received.filter((m) => m.type === 'BrokerRegistrationResponse');
    expect(dup.length).toBeGreaterThan(3);
    expect(dup.every((m) => m.type === 'BrokerRegistrationResponse' && m.error === 'DUPLICATE_BROKER_REGISTRATION')).toBe(true);
    c.w.run({ untilMs: 20_000 });
    expectNoFailure(c);
    const b1 = c.broker(1);
    expect(b1.brokerEpoch).toBeGreaterThan(oldEpoch);
    expect(c.controller().image.brokers.get(1)).toMatchObject({ brokerEpoch: b1.brokerEpoch, incarnationId: b1.incarnationId, fenced: false });
    const ok = c.traces('controller.register').filter((t) => t.fields.broker === 1 && t.fields.error === 'NONE');
    expect(ok).toHaveLength(2);
    // The new incarnation was accepted only after the old session expired (9 s after ~4000).
    expect(ok[1]?.timeMs).toBeGreaterThan(13_000);
    // The old incarnation was fenced (and left the ISR) before or as the new one registered.
    expect(c.traces('controller.fence').some((t) => t.fields.broker === 1 && t.fields.epoch === oldEpoch)).toBe(true);
  });

  it('KIP-966: a broker back from an unclean shutdown leaves the ELR; a clean one stays', () => {
    for (const clean of [false, true]) {
      const c = cluster({ overrides: { 'min.insync.replicas': 2 } });
      c.w.startAll();
      c.w.run({ untilMs: 4000 });
      const b1 = c.broker(1);
      b1.alterPartition({ isr: [1, 3].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) });
      c.w.run({ untilMs: 4100 });
      b1.alterPartition({ isr: [{ brokerId: 1, brokerEpoch: -1 }] });
      c.w.run({ untilMs: 4200 });
      expect(c.partition()).toMatchObject({ isr: [1], elr: [3], leader: 1 });
      const oldEpoch = c.broker(3).brokerEpoch;
      c.scripts.get(3)!.previousBrokerEpoch = clean ? oldEpoch : -1;
      c.w.crash('b3');
      c.w.run({ untilMs: 15_000 });
      // Fencing alone does not remove a replica from the ELR.
      expect(c.controller().image.isActive(3)).toBe(false);
      expect(c.partition()?.elr).toEqual([3]);
      c.w.restart('b3');
      c.w.run({ untilMs: 18_000 });
      expectNoFailure(c);
      expect(c.controller().image.isActive(3)).toBe(true);
      if (clean) {
        expect(c.partition()?.elr).toEqual([3]);
        expect(c.traces('controller.unclean-shutdown')).toHaveLength(0);
      } else {
        expect(c.partition()?.elr).toEqual([]);
        expect(c.traces('controller.unclean-shutdown')[0]?.fields).toMatchObject({ broker: 3, previousBrokerEpoch: -1, registeredEpoch: oldEpoch });
        expect(c.traces('controller.partition-change').some((t) => String(t.fields.reason).startsWith('b3 registered after an unclean shutdown'))).toBe(true);
      }
    }
  });

  it('KIP-966: an unclean restart removes the broker from the ISR; with fix.kip-966 off nothing happens', () => {
    for (const elr of [true, false]) {
      const c = cluster({ overrides: { 'fix.kip-966': elr } });
      c.w.startAll();
      c.w.run({ untilMs: 4000 });
      // b2 restarts before its session expires: its registration fences the old incarnation.
      c.w.crash('b2');
      c.w.restart('b2');
      c.w.run({ untilMs: 14_500 });
      expectNoFailure(c);
      expect(c.traces('controller.unclean-shutdown')).toHaveLength(elr ? 1 : 0);
      expect(c.partition()?.isr).toEqual([1, 3]);
      expect(c.controller().image.brokers.get(2)?.brokerEpoch).toBe(c.broker(2).brokerEpoch);
    }
  });

  it("KIP-966: the ELR member leads after the last ISR member is fenced (the notes' example)", () => {
    const c = cluster({ overrides: { 'min.insync.replicas': 2 } });
    c.w.startAll();
    c.w.run({ untilMs: 4000 });
    const b1 = c.broker(1);
    b1.alterPartition({ isr: [1, 3].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) });
    c.w.run({ untilMs: 4100 });
    b1.alterPartition({ isr: [{ brokerId: 1, brokerEpoch: -1 }] });
    c.w.run({ untilMs: 4200 });
    expect(c.partition()).toMatchObject({ isr: [1], elr: [3] });
    c.w.crash('b1');
    c.w.run({ untilMs: 16_000 });
    expectNoFailure(c);
    expect(c.partition()).toMatchObject({ leader: 3, isr: [3], elr: [1], leaderRecoveryState: 'RECOVERED' });
  });
});

describe('controller: AlterPartition', () => {
  function stable(overrides: Record<string, number | boolean | string> = {}): Cluster {
    const c = cluster({ overrides });
    c.w.startAll();
    c.w.run({ untilMs: 4000 });
    return c;
  }

  it('validates in Kafka order: each error wins over every later one', () => {
    const c = stable();
    const b1 = c.broker(1);
    const b2 = c.broker(2);
    const p = c.partition();
    expect(p).toMatchObject({ leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
    const all = [1, 2, 3].map((brokerId) => ({ brokerId, brokerEpoch: -1 }));
    const cases: [ErrorCode, FakeBroker, Parameters<FakeBroker['alterPartition']>[0]][] = [
      ['STALE_BROKER_EPOCH', b1, { brokerEpoch: b1.brokerEpoch + 1, topic: 'nope' }],
      ['STALE_BROKER_EPOCH', b2, { brokerId: 9 }],
      ['UNKNOWN_TOPIC_OR_PARTITION', b1, { topic: 'nope', leaderEpoch: 5 }],
      ['UNKNOWN_TOPIC_OR_PARTITION', b1, { partition: 1 }],
      ['NOT_CONTROLLER', b2, { leaderEpoch: 1 }],
      ['NOT_CONTROLLER', b1, { partitionEpoch: 1, leaderEpoch: -1 }],
      ['FENCED_LEADER_EPOCH', b2, { leaderEpoch: -1, partitionEpoch: -1 }],
      ['INVALID_REQUEST', b2, { partitionEpoch: -1 }],
      ['INVALID_UPDATE_VERSION', b1, { partitionEpoch: -1, isr: [{ brokerId: 2, brokerEpoch: -1 }] }],
      ['INVALID_REQUEST', b1, { isr: [2, 3].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) }],
      ['INVALID_REQUEST', b1, { isr: [1, 4].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) }],
      ['INVALID_REQUEST', b1, { isr: [1, 1].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) }],
      ['INVALID_REQUEST', b1, { isr: all, leaderRecoveryState: 'RECOVERING' }],
      ['INVALID_REQUEST', b1, { isr: [{ brokerId: 1, brokerEpoch: -1 }], leaderRecoveryState: 'RECOVERING' }],
      ['INELIGIBLE_REPLICA', b1, { isr: [...all.slice(0, 2), { brokerId: 3, brokerEpoch: 999 }] }],
    ];
    const sent = cases.map(([, b, req]) => ({ b, corr: b.alterPartition(req) }));
    c.w.run({ untilMs: 4100 });
    expectNoFailure(c);
    const got = sent.map(({ b, corr }) => b.response(corr, 'AlterPartitionResponse')?.error);
    expect(got).toEqual(cases.map(([code]) => code));
    // Nothing was written.
    expect(c.partition()).toMatchObject({ leaderEpoch: 0, partitionEpoch: 0, isr: [1, 2, 3] });
    expect(c.traces('controller.alter-partition')).toHaveLength(cases.length);
  });

  it('INELIGIBLE_REPLICA for a fenced ISR member', () => {
    const c = stable();
    c.w.crash('b3');
    c.w.run({ untilMs: 15_000 });
    expect(c.partition()).toMatchObject({ isr: [1, 2], partitionEpoch: 1 });
    const b1 = c.broker(1);
    const corr = b1.alterPartition({ isr: [1, 2, 3].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) });
    c.w.run({ untilMs: 15_100 });
    expect(b1.response(corr, 'AlterPartitionResponse')).toMatchObject({ error: 'INELIGIBLE_REPLICA', isr: [1, 2], partitionEpoch: 1 });
  });

  it('a valid shrink and expansion commit with a partition-epoch bump only, and reply with the new state', () => {
    const c = stable();
    const b1 = c.broker(1);
    const epochs = (ids: number[]) => ids.map((brokerId) => ({ brokerId, brokerEpoch: c.broker(brokerId).brokerEpoch }));
    const shrink = b1.alterPartition({ isr: epochs([1, 3]) });
    c.w.run({ untilMs: 4100 });
    expect(b1.response(shrink, 'AlterPartitionResponse')).toMatchObject({
      error: 'NONE',
      leader: 1,
      isr: [1, 3],
      leaderEpoch: 0,
      partitionEpoch: 1,
      leaderRecoveryState: 'RECOVERED',
    });
    const expand = b1.alterPartition({ isr: epochs([1, 3, 2]) });
    c.w.run({ untilMs: 4200 });
    expect(b1.response(expand, 'AlterPartitionResponse')).toMatchObject({ error: 'NONE', isr: [1, 3, 2], leaderEpoch: 0, partitionEpoch: 2 });
    const change = records(c, 'PartitionChange');
    expect(change.map((r) => r.type === 'PartitionChange' && r.reason)).toEqual([
      'ISR shrink requested by leader b1 (-2); ISR [1,2,3] → [1,3]',
      'ISR expansion requested by leader b1 (+2); ISR [1,3] → [1,3,2]',
    ]);
    // A no-op request gets the current state and writes nothing.
    const noop = b1.alterPartition({ isr: epochs([1, 3, 2]) });
    c.w.run({ untilMs: 4300 });
    expect(b1.response(noop, 'AlterPartitionResponse')).toMatchObject({ error: 'NONE', partitionEpoch: 2 });
    expect(records(c, 'PartitionChange')).toHaveLength(2);
    expectNoFailure(c);
  });

  it('KIP-903: a member with a stale broker epoch is INELIGIBLE_REPLICA; accepted with fix.kip-903=false', () => {
    for (const fix of [true, false]) {
      const c = stable({ 'fix.kip-903': fix });
      const staleEpoch = c.broker(2).brokerEpoch;
      c.w.crash('b2');
      c.w.run({ untilMs: 5000 });
      c.w.restart('b2');
      c.w.run({ untilMs: 20_000 });
      const b2 = c.broker(2);
      expect(b2.brokerEpoch).toBeGreaterThan(staleEpoch);
      expect(c.controller().image.isActive(2)).toBe(true);
      expect(c.partition()?.isr).toEqual([1, 3]);
      // The leader acts on a Fetch from b2's previous incarnation.
      const b1 = c.broker(1);
      const isr = [
        { brokerId: 1, brokerEpoch: b1.brokerEpoch },
        { brokerId: 3, brokerEpoch: c.broker(3).brokerEpoch },
        { brokerId: 2, brokerEpoch: staleEpoch },
      ];
      const corr = b1.alterPartition({ isr });
      c.w.run({ untilMs: 20_100 });
      expectNoFailure(c);
      const r = b1.response(corr, 'AlterPartitionResponse');
      if (fix) {
        expect(r).toMatchObject({ error: 'INELIGIBLE_REPLICA', isr: [1, 3] });
        expect(c.traces('controller.alter-partition').at(-1)?.fields.detail).toMatch(/KIP-903/);
      } else {
        expect(r).toMatchObject({ error: 'NONE', isr: [1, 3, 2] });
      }
    }
  });

  it('the leader reports RECOVERED after an unclean election', () => {
    const c = isrShrunkToB1();
    c.w.crash('b1');
    c.w.run({ untilMs: 16_000 });
    expect(c.partition()).toMatchObject({ leader: 2, leaderRecoveryState: 'RECOVERING' });
    const b2 = c.broker(2);
    const corr = b2.alterPartition({ isr: [{ brokerId: 2, brokerEpoch: b2.brokerEpoch }], leaderRecoveryState: 'RECOVERED' });
    c.w.run({ untilMs: 16_100 });
    expect(b2.response(corr, 'AlterPartitionResponse')).toMatchObject({ error: 'NONE', leaderRecoveryState: 'RECOVERED', leaderEpoch: 1 });
  });
});

describe('controller: metadata log durability', () => {
  it('MetadataFetch long-polls at the end of the log and returns as soon as records commit', () => {
    const c = cluster();
    for (const id of [1, 2, 3]) c.scripts.get(id)!.heartbeat = id !== 3;
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const b3 = c.broker(3);
    c.scripts.get(3)!.fetch = false;
    const end = c.controller().committedOffset;
    const held = b3.nextCorrelation();
    b3.send({ type: 'MetadataFetch', correlationId: held, brokerId: 3, fromOffset: end, maxWaitMs: 300 });
    c.w.run({ untilMs: 3200 });
    expect(b3.response(held)).toBeUndefined();
    c.w.run({ untilMs: 3400 });
    expect(b3.response(held, 'MetadataFetchResponse')).toMatchObject({ records: [], fromOffset: end, endOffset: end });
    // A record that commits while a fetch is held releases it at once.
    const early = b3.nextCorrelation();
    b3.send({ type: 'MetadataFetch', correlationId: early, brokerId: 3, fromOffset: end, maxWaitMs: 10_000 });
    c.w.run({ untilMs: 3500 });
    const sentAt = c.w.now;
    c.broker(1).send({ type: 'InitProducerId', correlationId: 1 });
    c.w.run({ untilMs: 3600 });
    const i = b3.received.findIndex((m) => m.type === 'MetadataFetchResponse' && m.correlationId === early);
    expect(i).toBeGreaterThanOrEqual(0);
    expect((b3.receivedAtMs[i] as number) - sentAt).toBeLessThan(20);
    expect(b3.response(early, 'MetadataFetchResponse')?.records).toEqual([{ type: 'ProducerIds', nextProducerId: PRODUCER_ID_BLOCK_SIZE }]);
    expectNoFailure(c);
  });

  it('a restarted controller replays its log: brokers, topics and epochs survive; nothing is recreated', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 5000 });
    const before = [...c.controller().committedRecords];
    const epochs = [1, 2, 3].map((id) => c.broker(id).brokerEpoch);
    c.w.crash(CONTROLLER);
    c.w.run({ untilMs: 6000 });
    c.w.restart(CONTROLLER);
    c.w.run({ untilMs: 12_000 });
    expectNoFailure(c);
    const after = c.controller().committedRecords;
    expect(after.slice(0, before.length)).toEqual(before);
    expect(records(c, 'Topic')).toHaveLength(1);
    expect(records(c, 'RegisterBroker')).toHaveLength(3);
    expect([1, 2, 3].map((id) => c.controller().image.brokers.get(id)?.brokerEpoch)).toEqual(epochs);
    for (const id of [1, 2, 3]) expect(c.controller().image.isActive(id)).toBe(true);
    expect(c.traces('controller.recovered').at(-1)?.fields).toMatchObject({ records: before.length, cutBytes: 0 });
  });

  it('a torn tail is truncated on restart, and nothing that was lost had been served', () => {
    // Slow fsyncs and crash fates that always tear: the crash lands between append and fsync.
    const c = cluster({
      disk: {
        latencyMs: { write: [0.01, 0.01], read: [0.01, 0.01], fsync: [50, 50], meta: [0.1, 0.1] },
        sectorBytes: 16,
        crashFate: { drop: 0, keep: 0, tear: 1 },
      },
    });
    c.w.startAll();
    c.w.run({ untilMs: 5000 });
    const committed = c.controller().committedOffset;
    const b1 = c.broker(1);
    b1.send({ type: 'InitProducerId', correlationId: 1 });
    c.w.run({ untilMs: c.w.now + 20 });
    expect(c.controller().latestOffset).toBe(committed + 1);
    expect(c.controller().committedOffset).toBe(committed);
    c.w.crash(CONTROLLER);
    expect(b1.response(1)).toBeUndefined();
    c.w.restart(CONTROLLER);
    c.w.run({ untilMs: 12_000 });
    expectNoFailure(c);
    const rec = c.traces('controller.recovered').at(-1);
    expect(rec?.fields.records).toBe(committed);
    expect(rec?.fields.cutBytes).toBeGreaterThan(0);
    expect(c.traces('controller.log-truncate')).toHaveLength(1);
    const disk = c.w.disk(CONTROLLER).visibleContents('metadata.log') as Uint8Array;
    expect(disk[disk.length - 1]).toBe(0x0a);
    // The cluster carries on: brokers still registered with the same epochs, new records append cleanly.
    c.broker(1).send({ type: 'InitProducerId', correlationId: 2 });
    c.w.run({ untilMs: 13_000 });
    expect(c.broker(1).response(2, 'InitProducerIdResponse')).toMatchObject({ error: 'NONE', producerId: 0 });
  });

  it('InitProducerId ids are unique across controller restarts', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const ids: number[] = [];
    const collect = (from: number, n: number, until: number) => {
      const b = c.broker(1);
      for (let i = 0; i < n; i++) b.send({ type: 'InitProducerId', correlationId: from + i });
      c.w.run({ untilMs: until });
      for (let i = 0; i < n; i++) {
        const r = b.response(from + i, 'InitProducerIdResponse');
        expect(r).toMatchObject({ error: 'NONE', producerEpoch: 0 });
        ids.push((r as Extract<KafkaMessage, { type: 'InitProducerIdResponse' }>).producerId);
      }
    };
    collect(1, 5, 3500);
    c.w.crash(CONTROLLER);
    c.w.restart(CONTROLLER);
    c.w.run({ untilMs: 4000 });
    collect(101, 3, 4500);
    c.w.crash(CONTROLLER);
    c.w.restart(CONTROLLER);
    c.w.run({ untilMs: 5000 });
    collect(201, 2, 5500);
    expectNoFailure(c);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([0, 1, 2, 3, 4, 1000, 1001, 1002, 2000, 2001]);
    expect(records(c, 'ProducerIds')).toEqual([
      { type: 'ProducerIds', nextProducerId: 1000 },
      { type: 'ProducerIds', nextProducerId: 2000 },
      { type: 'ProducerIds', nextProducerId: 3000 },
    ]);
  });

  it('a failed append or fsync is retried; the reply waits for the commit', () => {
    for (const ops of [['write'], ['fsync']] as ('write' | 'fsync')[][]) {
      const c = cluster();
      c.w.startAll();
      c.w.run({ untilMs: 3000 });
      c.w.diskFault(CONTROLLER, { kind: 'eio', ops, durationMs: 400 });
      c.broker(1).send({ type: 'InitProducerId', correlationId: 9 });
      c.w.run({ untilMs: 3300 });
      expect(c.broker(1).response(9)).toBeUndefined();
      expect(c.traces('controller.disk-error').length).toBeGreaterThan(0);
      c.w.run({ untilMs: 3600 });
      expectNoFailure(c);
      expect(c.broker(1).response(9, 'InitProducerIdResponse')).toMatchObject({ error: 'NONE', producerId: 0 });
      expect(records(c, 'ProducerIds')).toHaveLength(1);
    }
  });

  it('records decided during a write are batched into the next append + fsync', () => {
    const c = cluster();
    c.w.startAll();
    c.w.run({ untilMs: 3000 });
    const b1 = c.broker(1);
    const before = c.controller().committedOffset;
    for (let i = 0; i < 5; i++) b1.send({ type: 'InitProducerId', correlationId: 50 + i });
    c.w.run({ untilMs: 3100 });
    // 1000 ids per block: one ProducerIds record for all five requests.
    expect(c.controller().committedOffset).toBe(before + 1);
    const commits = c.traces('controller.commit').filter((t) => t.timeMs >= 3000);
    expect(commits).toHaveLength(1);
  });
});

describe('controller: crashes everywhere', () => {
  it('random controller and broker crashes: nothing uncommitted is served, epochs and ids stay unique', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const c = cluster({ seed, topics: [{ name: 't', partitions: 3, replicationFactor: 3 }], overrides: { 'min.insync.replicas': 2 } });
      c.w.startAll();
      const rng = c.w.streams.stream('test/faults');
      const producerIds: number[] = [];
      for (let t = 3000; t < 60_000; t += rng.int(500, 4000)) {
        const target = rng.pick([CONTROLLER, 'b1', 'b2', 'b3']);
        const downMs = rng.int(1, 12_000);
        c.w.at(t, 'fault', () => {
          if (c.w.crash(target)) c.w.at(c.w.now + downMs, 'fault', () => c.w.restart(target));
        });
        c.w.at(t + 1, 'workload', () => {
          const b = c.w.nodeState<FakeBroker>('b1');
          b?.send({ type: 'InitProducerId', correlationId: 100_000 + t });
        });
      }
      c.w.run({ untilMs: 60_000 });
      c.w.healAll();
      c.w.run({ untilMs: 90_000 });
      expect(c.w.firstFailure, `seed ${seed}`).toBeUndefined();
      for (const id of [1, 2, 3]) {
        const b = c.broker(id);
        for (const m of b.received) if (m.type === 'InitProducerIdResponse') producerIds.push(m.producerId);
      }
      expect(new Set(producerIds).size, `seed ${seed}`).toBe(producerIds.length);
      const ctl = c.controller();
      const epochs = ctl.committedRecords.flatMap((r) => (r.type === 'RegisterBroker' ? [r.brokerEpoch] : []));
      expect(new Set(epochs).size).toBe(epochs.length);
      // After healing every broker is registered, unfenced and caught up; every partition has a leader in its ISR.
      for (const id of [1, 2, 3]) {
        expect(ctl.image.isActive(id), `seed ${seed} b${id}`).toBe(true);
        expect(c.broker(id).image.offset).toBe(ctl.committedOffset);
      }
      for (const p of ctl.image.sortedPartitions()) {
        expect(p.leader, `seed ${seed} ${p.topic}-${p.partition}`).not.toBe(-1);
        expect(p.isr).toContain(p.leader);
      }
      expect(ctl.committedRecords.filter((r) => r.type === 'Topic')).toHaveLength(1);
    }
  });
});
