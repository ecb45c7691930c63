// The classic failure scenarios of the catalogue: what Kafka promises under each, and the setting
// that takes the promise away.

import { onePartition } from './helpers.js';

export const CLASSIC: Record<string, () => Record<string, unknown>> = {
  'isr-shrink': () => ({
    name: 'isr-shrink',
    description:
      'A follower cut off from its leader (not from the controller) falls out of the ISR after replica.lag.time.max.ms; acks=all writes go on with ' +
      'min.insync.replicas=2 (or are refused with 3), and the follower catches up and rejoins after the heal. Nothing acknowledged is lost.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2, 'replica.lag.time.max.ms': 5000 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    consumers: [{ id: 'k1', topic: 't' }],
    faults: [
      { atMs: 5000, fault: 'partition', sides: [['b3'], ['b1']] },
      { atMs: 20_000, fault: 'heal' },
    ],
    durationMs: 30_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'the ISR shrinks to [b1,b2], which still meets min.insync.replicas=2' },
      {
        set: { 'min.insync.replicas': 3 },
        verdict: 'valid',
        absent: ['lost-write'],
        why: 'writes are refused (NOT_ENOUGH_REPLICAS) while the ISR is short, and retried after the heal',
      },
    ],
  }),

  'unclean-election': () => ({
    name: 'unclean-election',
    description:
      'The leader b1 is cut off from its followers (not from the controller), shrinks the ISR to itself and acknowledges writes alone ' +
      '(min.insync.replicas=1); then it crashes. Without unclean election the partition waits for b1 and nothing is lost; with ' +
      'unclean.leader.election.enable an out-of-sync follower is elected and the writes b1 alone held are lost — permitted, as Kafka documents.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 1, 'replica.lag.time.max.ms': 2000, 'log.flush.interval.messages': 1 },
    // The producer stops before the crash, so that no acknowledged write is still being fsynced when b1 loses power.
    producers: [{ id: 'p1', topic: 't', ratePerSec: 20, stopAtMs: 11_500 }],
    consumers: [{ id: 'k1', topic: 't' }],
    faults: [
      { atMs: 4000, fault: 'partition', sides: [['b1'], ['b2', 'b3']] },
      { atMs: 12_000, fault: 'crash', node: 'b1' },
      { atMs: 13_000, fault: 'heal' },
      { atMs: 30_000, fault: 'restart', node: 'b1' },
    ],
    durationMs: 35_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'no out-of-sync replica is elected: the partition waits for b1, which kept every write' },
      {
        set: { 'unclean.leader.election.enable': true },
        verdict: 'valid',
        allowed: ['lost-write'],
        why: 'an out-of-sync follower is elected; the writes only b1 held are lost, which unclean election permits',
      },
    ],
  }),

  'split-brain': () => ({
    name: 'split-brain',
    description:
      'The leader b1 and the producer are cut off from the controller and the followers. The controller fences b1 and elects b2, but b1 still ' +
      'believes it leads and the producer still reaches it. With acks=1 b1 acknowledges writes that the new leader never sees: they are lost ' +
      '(permitted for acks=1). With acks=all (the default) b1 cannot commit anything alone and nothing acknowledged is lost.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    faults: [
      {
        atMs: 5000,
        fault: 'partition',
        sides: [
          ['b1', 'p1'],
          ['b2', 'b3', 'c1'],
        ],
      },
      { atMs: 25_000, fault: 'heal' },
    ],
    durationMs: 35_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'acks=all: the isolated b1 acknowledges nothing it cannot replicate' },
      { set: { acks: '1' }, verdict: 'valid', allowed: ['lost-write'], why: 'acks=1: b1 acknowledges writes alone; they are truncated when it rejoins' },
    ],
  }),

  'power-loss': () => ({
    name: 'power-loss',
    description:
      "KIP-101 scenario 2: every replica loses power at once, without fsync (Kafka's default): each keeps a different prefix of its log (what " +
      'write-back had made durable). Losing unsynced records then is permitted (every holder lost its copy to a fault); replicas that disagree ' +
      'afterwards are not. With fix.kip-101=false a restarted follower keeps records up to its old high watermark that the new leader does not have.',
    brokers: 3,
    topics: onePartition(3),
    // min.insync.replicas=1: the returning leader takes writes alone before its followers are back.
    config: { 'min.insync.replicas': 1 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 100 }],
    faults: [
      { atMs: 40_000, fault: 'crash', node: 'b1' },
      { atMs: 40_000, fault: 'crash', node: 'b2' },
      { atMs: 40_000, fault: 'crash', node: 'b3' },
      { atMs: 41_000, fault: 'restart', node: 'b1' },
      { atMs: 47_000, fault: 'restart', node: 'b2' },
      { atMs: 47_000, fault: 'restart', node: 'b3' },
    ],
    durationMs: 60_000,
    liveness: { withinMs: 40_000 },
    expect: [
      { set: {}, verdict: 'valid', why: 'the loss of unsynced records on every replica is permitted, and the replicas converge' },
      {
        set: { 'fix.kip-101': false },
        verdict: ['valid', 'invalid'],
        why:
          'a follower truncating to its own high watermark keeps records the new leader lacks, when it came back with more of them than the leader: ' +
          'the replicas diverge on the seeds where that happens (seed 7 among 1..30)',
      },
      {
        set: { 'fix.kip-101': false },
        verdict: 'invalid',
        seeds: [7],
        why: 'seed 7: a replica returns with records the new leader lacks and, truncating only to its high watermark, keeps them: LogMatching fails',
      },
    ],
  }),

  'zombie-leader': () => ({
    name: 'zombie-leader',
    description:
      'The leader b1 freezes for 20 s (a long GC pause): its session expires and b2 is elected. When b1 wakes it still believes it leads until ' +
      'the metadata reaches it; its fetchers, ISR changes and produce answers are fenced by the leader epoch. Nothing acknowledged is lost.',
    brokers: 3,
    topics: onePartition(3),
    config: { 'min.insync.replicas': 2 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    consumers: [{ id: 'k1', topic: 't' }],
    faults: [{ atMs: 5000, fault: 'pause', node: 'b1', durationMs: 20_000 }],
    durationMs: 40_000,
    expect: [
      { set: {}, verdict: 'valid', absent: ['lost-write'], why: 'acks=all writes need the followers, who have moved to the new leader' },
      { set: { acks: '1' }, verdict: 'valid', why: 'acks=1 writes the zombie acknowledged may be lost, as acks=1 permits' },
    ],
  }),

  'rolling-restart': () => ({
    name: 'rolling-restart',
    description:
      'Each broker in turn is shut down cleanly (logs flushed, clean-shutdown marker) and restarted 5 s later, 20 s apart. Nothing is lost, ' +
      'and no partition is without acknowledgements for longer than a session timeout and an election (a clean shutdown is not a controlled ' +
      'shutdown in ksim: leadership moves when the session expires).',
    brokers: 3,
    topics: [{ name: 't', partitions: 3, replicationFactor: 3 }],
    config: { 'min.insync.replicas': 2 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    consumers: [{ id: 'k1', topic: 't' }],
    faults: [
      { atMs: 5000, fault: 'shutdown', node: 'b1' },
      { atMs: 10_000, fault: 'restart', node: 'b1' },
      { atMs: 25_000, fault: 'shutdown', node: 'b2' },
      { atMs: 30_000, fault: 'restart', node: 'b2' },
      { atMs: 45_000, fault: 'shutdown', node: 'b3' },
      { atMs: 50_000, fault: 'restart', node: 'b3' },
    ],
    durationMs: 60_000,
    expect: [{ set: {}, verdict: 'valid', absent: ['lost-write'], maxAckGapMs: 15_000, why: 'RF 3 with min.insync.replicas=2 tolerates one broker down' }],
  }),

  nemesis: () => ({
    name: 'nemesis',
    description:
      'A 3-broker cluster (3 partitions, RF 3, min.insync.replicas=2, acks=all idempotent producer, one consumer) under a random nemesis: ' +
      'partitions, crashes, pauses, clock steps and drift, and disk faults, drawn from the seed. With every fix in, no violation.',
    brokers: 3,
    topics: [{ name: 't', partitions: 3, replicationFactor: 3 }],
    config: { 'min.insync.replicas': 2 },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    consumers: [{ id: 'k1', topic: 't' }],
    nemesis: { kinds: ['partition', 'crash', 'pause', 'clock', 'disk'], meanIntervalMs: 4000 },
    durationMs: 40_000,
    liveness: { withinMs: 60_000 },
    expect: [{ set: {}, verdict: ['valid', 'unknown'], why: 'Kafka with every fix in loses nothing it promised to keep; a run may fail to recover in time' }],
  }),
};
