// Random-nemesis searches for bug-zoo keys (issue 5's table): one scenario per `fix.*` key, with
// no scripted faults — only a nemesis drawn from the seed. With the key's fix off, sweeping seeds
// 1, 2, 3, … finds an `invalid` run quickly; with every fix in, no seed is `invalid`. The scripted
// scenarios of zoo.ts show each bug by hand; these show that random faults find it on their own.
//
// Shared choices, and why:
// - Short runs (20 s of faults) with faults from 3 s (the cluster is up and the topic created at
//   ~0.5 s); many partitions where each fault then hits several of them at once.
// - broker.session.timeout.ms 1–2 s (heartbeat a quarter of it): the nemesis restarts a crashed
//   broker after 2 s on average, and KRaft refuses a new incarnation's registration while the old
//   session lives, so with Kafka's 9 s a crash is seen only 9 s later, after the restart.
//   Short sessions make crashes, fencing and elections interleave within one run.
// - Where a bug is about the protocol, not the disk, every message is fsynced
//   (log.flush.interval.messages 1), so that any loss is the protocol's.

import { pairTopic } from './helpers.js';

/** search-kip-279 and search-kip-320: two brokers, 8 partitions led 4 each, unclean election, 1 s sessions. */
const UNCLEAN_PAIR = {
  topics: pairTopic(8),
  config: {
    'min.insync.replicas': 1,
    'unclean.leader.election.enable': true,
    'log.flush.interval.messages': 1,
    'broker.session.timeout.ms': 1000,
    'broker.heartbeat.interval.ms': 250,
  },
};

/** …their crashes every 1.5 s, 2–10 ms links, 20 s of faults and 40 s to recover. */
const UNCLEAN_PAIR_FAULTS = {
  nemesis: { kinds: ['crash'], meanIntervalMs: 1500, startMs: 3000 },
  network: { link: { baseMs: 2, jitterMs: 8, tailProbability: 0.001, tailMeanMs: 50 } },
  durationMs: 20_000,
  liveness: { withinMs: 40_000 },
};

export const SEARCH_1: Record<string, () => Record<string, unknown>> = {
  'search-kip-101': () => ({
    name: 'search-kip-101',
    description:
      'Searches for KIP-101 scenario 1 with random crashes: a follower that truncates to its own high watermark when it becomes a follower (fix.kip-101 ' +
      "off) drops the last committed records (a follower learns the leader's high watermark one fetch later), and if it is elected before it fetches " +
      'them again an acknowledged write is lost. The pattern the nemesis must hit: the leader crashes; before its session expires a second broker ' +
      'crashes; the controller, not yet knowing, elects that second broker; the third follows it (truncating) but cannot fetch from it; when the ' +
      'second session expires the third is elected without the records. Settings: 3 brokers and 6 partitions, one per replica order, so that any ' +
      'two crashes in a row form the pattern on some partition; crashes only, every 2 s on average; 2 s sessions (see the file comment); every ' +
      'message fsynced, so the only loss is the truncation; min.insync.replicas 2 and an idempotent acks=all producer at 200 records/s.',
    brokers: 3,
    topics: [
      {
        name: 't',
        partitions: 6,
        replicationFactor: 3,
        assignment: [
          [1, 2, 3],
          [1, 3, 2],
          [2, 1, 3],
          [2, 3, 1],
          [3, 1, 2],
          [3, 2, 1],
        ],
      },
    ],
    config: {
      'min.insync.replicas': 2,
      'log.flush.interval.messages': 1,
      'broker.session.timeout.ms': 2000,
      'broker.heartbeat.interval.ms': 500,
    },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 200 }],
    nemesis: { kinds: ['crash'], meanIntervalMs: 2000, startMs: 3000 },
    durationMs: 20_000,
    liveness: { withinMs: 40_000 },
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: 'a follower keeps its records on becoming follower and reconciles by the diverging-epoch fetch; nothing acknowledged is lost',
      },
      {
        set: { 'fix.kip-101': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kip-101 --set fix.kip-101=false).
        seeds: [2, 3, 5, 8, 11],
        why: 'on the seeds where a second crash follows the first before the election, the third replica truncates committed records and is elected: LeaderCompleteness and lost-write',
      },
    ],
  }),

  'search-kip-279': () => ({
    name: 'search-kip-279',
    description:
      'Searches for KAFKA-6361 (fixed by KIP-279) with random crashes: when OffsetsForLeaderEpoch answers with an end offset only and the follower ' +
      'truncates once (fix.kip-279 off), a follower whose latest epoch the leader never had keeps records the leader does not have, and the ' +
      'replicas diverge. The pattern: A leads with records B lacks (in flight at the crash); A crashes; B leads a new epoch and takes writes; B ' +
      'crashes while A is still down; A comes back and is elected uncleanly; B returns and asks for the end of an epoch A never had. Settings: 2 ' +
      'brokers and 8 partitions (4 led by each), unclean.leader.election.enable and min.insync.replicas 1 (the bug needs a leader that was not in ' +
      'sync; the loss is permitted, the divergence never is), an acks=1 producer without idempotence at 400 records/s, 2–10 ms links so that a ' +
      "leader's newest records are often not yet replicated when it crashes, every message fsynced, crashes every 1.5 s on average and 1 s " +
      'sessions (so that a broker down for its mean 2 s is fenced and the other can be elected before it returns).',
    brokers: 2,
    ...UNCLEAN_PAIR,
    producers: [{ id: 'p1', topic: 't', acks: '1', ratePerSec: 400, config: { 'enable.idempotence': false } }],
    ...UNCLEAN_PAIR_FAULTS,
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: 'the follower iterates on the diverging epoch and copies the leader; losses after unclean elections are permitted, and the replicas converge',
      },
      {
        set: { 'fix.kip-279': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kip-279 --set fix.kip-279=false).
        seeds: [1, 5, 8, 15, 19],
        why: 'on the seeds where two unclean leader changes meet an unreplicated tail, the follower keeps records of an epoch the leader never had: LogMatching',
      },
    ],
  }),

  'search-kip-320': () => ({
    name: 'search-kip-320',
    description:
      'Searches for KAFKA-6880 (fixed by KIP-320) with random crashes: a consumer that does not validate its position after a leader change (fix.kip-320 ' +
      "off) silently skips the new leader's records below it when an unclean election truncated the log under it and the new leader's log has grown " +
      'past it before the consumer fetches again. The pattern: a follower is down, the leader commits records alone and the consumer reads them; the ' +
      "leader crashes; the follower returns and is elected uncleanly without them; the producer refills the log past the consumer's position. " +
      'Settings: as search-kip-279 (2 brokers, 8 partitions, unclean election, min.insync.replicas 1, 1 s sessions, crashes every 1.5 s) with an ' +
      'idempotent acks=all producer (with idempotence off, retried values appear twice in the log) and one consumer that backs off 1–5 s after a ' +
      'failed fetch (retry.backoff.ms), so that the producer, not the consumer, reaches the new leader first.',
    brokers: 2,
    ...UNCLEAN_PAIR,
    producers: [{ id: 'p1', topic: 't', ratePerSec: 400 }],
    consumers: [{ id: 'k1', topic: 't', config: { 'retry.backoff.ms': 1000, 'retry.backoff.max.ms': 5000 } }],
    ...UNCLEAN_PAIR_FAULTS,
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: "the consumer validates its position against the new leader's epochs, detects the truncation and seeks back",
      },
      {
        set: { 'fix.kip-320': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kip-320 --set fix.kip-320=false).
        seeds: [6, 8, 9, 10, 12],
        why: "on the seeds where the consumer's position is past an unclean leader's log end and that log grows past it first, records are never read: unseen",
      },
    ],
  }),

  'search-kip-966': () => ({
    name: 'search-kip-966',
    description:
      'Searches for the KIP-966 "last replica standing" loss with random partitions, pauses and crashes: without strict min ISR, ELR and unclean-shutdown ' +
      'detection (fix.kip-966 off), a leader whose followers fell out of the ISR (cut off or paused, keeping their copies) is the only ISR member; it ' +
      'loses power and its unflushed log, the controller keeps it in the ISR, re-elects it when it registers again, and the followers truncate ' +
      'committed records to match it. Settings: 2 brokers and 4 partitions (2 led by each) with replication factor 2 and min.insync.replicas 2, so ' +
      "that one follower out of the ISR leaves the leader alone; replica.lag.time.max.ms 1 s so that it leaves quickly; Kafka's default of no fsync " +
      'with a power loss that drops every unsynced write (a crash loses the whole unflushed log, so the loss does not hang on the seed); 2 s sessions ' +
      '(see the file comment); partitions, pauses and crashes every 1.5 s on average; an idempotent acks=all producer at 200 records/s.',
    brokers: 2,
    topics: pairTopic(4),
    config: {
      'min.insync.replicas': 2,
      'replica.lag.time.max.ms': 1000,
      'broker.session.timeout.ms': 2000,
      'broker.heartbeat.interval.ms': 500,
    },
    disk: { crashFate: { drop: 1, keep: 0, tear: 0 } },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 200 }],
    nemesis: { kinds: ['partition', 'crash', 'pause'], meanIntervalMs: 1500, startMs: 3000 },
    durationMs: 20_000,
    liveness: { withinMs: 40_000 },
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: 'the high watermark freezes below min ISR, the follower waits in the ELR and is elected when the leader loses power; nothing committed is lost',
      },
      {
        set: { 'fix.kip-966': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kip-966 --set fix.kip-966=false).
        seeds: [1, 3, 6, 8, 9],
        why: 'on the seeds where the lone ISR member loses power while the follower is out, it is re-elected with a truncated log: LeaderCompleteness and lost-write',
      },
    ],
  }),
};
