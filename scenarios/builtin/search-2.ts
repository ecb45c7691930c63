// Random-nemesis scenarios that search for bug-zoo bugs (issue 5's bug-zoo table): no scripted
// faults and no `on` triggers, only a nemesis drawn from the seed. With the `fix.*` key at its
// default no seed may be invalid; with it false, sweeping seeds 1, 2, 3, … finds a seed whose
// schedule exposes the historical bug. What each one needs, and why its settings, is in its
// description; the measured rates are in the table, not here (they move with ksim).
//
// Shared choices:
// - `log.flush.interval.messages: 1`: every append is fsynced, so a crash loses nothing and every
//   loss is the protocol's (as in scenarios/builtin/zoo.ts).
// - A 50–125 ms link latency: the windows these races live in (an ISR change in flight, a high
//   watermark on its way to a follower, a fetch response in flight) last a round trip; at the
//   default sub-millisecond latency a fault almost never lands inside one.
// - Short sessions (`broker.session.timeout.ms` 2–3 s): a crash becomes an election within the
//   same second or two, so one 30 s run holds many elections.
// - The nemesis acts on the brokers only (its default): crashing or partitioning the single
//   controller adds nothing these searches need and makes other, fix-independent failures likelier.

import { pairTopic } from './helpers.js';

const LINK = (baseMs: number) => ({ link: { baseMs, jitterMs: 50, tailProbability: 0.001, tailMeanMs: 50 } });

/** One topic `t` with 3 partitions on the 3 brokers, each broker preferred leader of one. */
const ROTATED = [
  {
    name: 't',
    partitions: 3,
    replicationFactor: 3,
    assignment: [
      [1, 2, 3],
      [2, 3, 1],
      [3, 1, 2],
    ],
  },
];

export const SEARCH_2: Record<string, () => Record<string, unknown>> = {
  'search-kafka-7128': () => ({
    name: 'search-kafka-7128',
    description:
      "Searches for KAFKA-7128: a new leader's lagging high watermark lets a follower that lacks committed records join the ISR; if the new leader " +
      'then dies before that follower has caught up, the follower is elected and the records are lost. RF 3 with min.insync.replicas=2, so that a ' +
      'leader elected with an ISR of one keeps its stale high watermark (KIP-966 strict min ISR) until a follower joins; crashes, partitions and ' +
      'clogs every 0.5 s on average make such elections, and restarted or cut-off followers that rejoin, frequent. replica.fetch.max.bytes=1 makes ' +
      'a follower fetch one batch per round trip (50–100 ms links), so one that joined below the epoch start offset needs several round trips to ' +
      'catch up: the window in which a crash of the new leader loses data grows from one message to many. With the fix a follower joins only ' +
      "once it holds the leader's whole epoch start, so nothing is lost.",
    brokers: 3,
    topics: ROTATED,
    config: {
      'min.insync.replicas': 2,
      'replica.lag.time.max.ms': 1000,
      'broker.session.timeout.ms': 2000,
      'broker.heartbeat.interval.ms': 300,
      'replica.fetch.max.bytes': 1,
      'log.flush.interval.messages': 1,
    },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    nemesis: { kinds: ['crash', 'partition', 'clog'], meanIntervalMs: 500 },
    network: LINK(50),
    durationMs: 30_000,
    liveness: { withinMs: 60_000 },
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: "a follower joins the ISR only once it reaches the leader's epoch start offset: an elected ISR member holds every committed record",
      },
      {
        set: { 'fix.kafka-7128': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kafka-7128 --set fix.kafka-7128=false).
        seeds: [22, 26, 44, 61, 81],
        why:
          'on the seeds where the new leader crashes while a follower it admitted on its stale high watermark is still catching up, that follower ' +
          'is elected without committed records (LeaderCompleteness, lost-write); elsewhere the run is valid',
      },
    ],
  }),

  'search-kip-903': () => ({
    name: 'search-kip-903',
    description:
      "Searches for KIP-903's race: a leader proposes adding a caught-up follower to the ISR; before the controller takes the AlterPartition " +
      'request, the follower loses its disk (wipe), its session expires and it registers again, empty; the controller, checking broker ids ' +
      'only, adds the new incarnation to the ISR; if the leader then crashes before that follower has caught up, it is elected and the ' +
      'committed records are lost. The `alter-partition` channel is slow (2.5–3.5 s, a controller slow to take AlterPartition off its queue; ' +
      'heartbeats and metadata travel on their own connections, as in Kafka), 1 s sessions and wiped brokers restarted after 0.5 s on average ' +
      'let a wipe and a re-registration fit inside one request. Two brokers, four partitions led two each, min.insync.replicas=1; crashes three ' +
      'times as often as wipes (the `kinds` list weights them), one fault a second; replica.fetch.max.bytes=1 makes an empty follower fetch one ' +
      'batch per round trip, so its catch-up takes seconds — the window for the leader crash. With the fix the request names the broker ' +
      'epoch it saw, and the controller refuses it (INELIGIBLE_REPLICA).',
    brokers: 2,
    topics: pairTopic(4),
    config: {
      'min.insync.replicas': 1,
      'replica.lag.time.max.ms': 10_000,
      'broker.session.timeout.ms': 1000,
      'broker.heartbeat.interval.ms': 100,
      'replica.fetch.max.bytes': 1,
      'log.flush.interval.messages': 1,
    },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 40 }],
    nemesis: { kinds: ['wipe', 'crash', 'crash', 'crash'], meanIntervalMs: 1000, meanDurationMs: { wipe: 500 } },
    network: {
      link: { baseMs: 20, jitterMs: 20, tailProbability: 0.001, tailMeanMs: 50 },
      channels: { 'alter-partition': { baseMs: 2500, jitterMs: 1000 } },
    },
    durationMs: 30_000,
    liveness: { withinMs: 60_000 },
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: 'the controller refuses an ISR member whose broker epoch is not its registered one: a re-registered, empty broker never joins by a stale request',
      },
      {
        set: { 'fix.kip-903': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-kip-903 --set fix.kip-903=false).
        seeds: [93, 955, 1186, 1257, 1477],
        why:
          'on the seeds where the leader crashes while a wiped follower, admitted by a stale AlterPartition, is still catching up, that follower ' +
          'is elected without the committed records (LeaderCompleteness, lost-write); elsewhere the run is valid',
      },
    ],
  }),

  'search-maximal-isr': () => ({
    name: 'search-maximal-isr',
    description:
      'Searches for the ISR-expansion race fixed by the maximal ISR (KIP-497): while an AlterPartition adding a follower is in flight, a high ' +
      'watermark that waits only for the committed ISR passes records the joining follower lacks; once the controller commits the expansion, that ' +
      'follower may be elected without them. min.insync.replicas=1 so that a leader with an ISR of one commits on its own the moment it appends; ' +
      'replica.lag.time.max.ms=700 over 75–125 ms links makes followers drop out and rejoin often, so there are many expansions in flight, each ' +
      'for a round trip to the controller; crashes, partitions and clogs (one every 0.7 s on average) then cut the joining follower off the ' +
      'records and kill the leader inside such a window. With the fix the high watermark waits for the joining follower, so nothing it lacks is ' +
      'ever committed.',
    brokers: 3,
    topics: ROTATED,
    config: {
      'min.insync.replicas': 1,
      'replica.lag.time.max.ms': 700,
      'broker.session.timeout.ms': 3000,
      'broker.heartbeat.interval.ms': 500,
      'log.flush.interval.messages': 1,
    },
    producers: [{ id: 'p1', topic: 't', ratePerSec: 50 }],
    nemesis: { kinds: ['crash', 'partition', 'clog'], meanIntervalMs: 700 },
    network: LINK(75),
    durationMs: 30_000,
    liveness: { withinMs: 60_000 },
    expect: [
      {
        set: {},
        verdict: ['valid', 'unknown'],
        why: 'the high watermark waits for the maximal ISR (the committed ISR plus a replica being added): no ISR member lacks a committed record',
      },
      {
        set: { 'fix.maximal-isr': false },
        verdict: 'invalid',
        // The first seeds random search fails on (ksim sweep search-maximal-isr --set fix.maximal-isr=false).
        seeds: [74, 85, 91, 105, 168],
        why:
          'on the seeds where the leader dies while a follower whose expansion it had in flight lacks records committed meanwhile, that follower is ' +
          'elected without them (LeaderCompleteness, lost-write); elsewhere the run is valid',
      },
    ],
  }),
};
