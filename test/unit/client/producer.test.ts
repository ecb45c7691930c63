// The producer client against scripted fake brokers: batching, acknowledgements, retries with
// idempotent sequences, in-flight limits, leader changes, expiry, and the history it records.
import { describe, expect, it } from 'vitest';
import { Producer, type ProducerOptions } from '../../../core/client/producer.js';
import { KafkaConfig } from '../../../core/config.js';
import { FakeCluster, fakeWorld, historyOf, historyProblems, traceOf } from './fake-cluster.js';

function setup(options: Omit<ProducerOptions, 'config' | 'topic'> & { config?: Record<string, number | boolean | string> }, cluster = new FakeCluster()) {
  const w = fakeWorld(cluster);
  w.addNode('p1', () => new Producer({ ...options, config: new KafkaConfig(options.config ?? {}), topic: cluster.topic }));
  w.startAll();
  return { w, c: cluster };
}

const vsSeq = (n: number) => Array.from({ length: n }, (_, i) => [`v${i}`, i]);
const ops = (n: number, atMs: number, partition = 0, prefix = 'v') => Array.from({ length: n }, (_, i) => ({ atMs, partition, value: `${prefix}${i}` }));

describe('producer: batching and acknowledgements', () => {
  it('linger.ms gathers the values of a partition into one batch', () => {
    const { w, c } = setup({ config: { 'linger.ms': 100 }, ops: [10, 20, 30].map((atMs, i) => ({ atMs, partition: 0, value: `v${i}` })) });
    w.run({ untilMs: 1000 });
    expect(c.produced).toHaveLength(1);
    expect(c.produced[0]?.values).toEqual(['v0', 'v1', 'v2']);
    // Sent when the batch was 100 ms old (created at 10), arriving 1 ms later.
    expect(c.produced[0]?.atMs).toBe(111);
  });

  it('batch.size closes a batch, which goes at once; the open one waits for linger.ms', () => {
    const big = Array.from({ length: 6 }, (_, i) => ({ atMs: 10, partition: 0, value: `${'x'.repeat(50)}${i}` }));
    const { w, c } = setup({ config: { 'linger.ms': 1000, 'batch.size': 200 }, ops: big });
    w.run({ untilMs: 500 });
    expect(c.produced.map((p) => p.values.length)).toEqual([2, 2]);
    w.run({ untilMs: 1100 });
    expect(c.produced.map((p) => p.values.length)).toEqual([2, 2, 2]);
    expect(c.produced[2]?.atMs).toBe(1011);
  });

  it('acks=all: each value is ok with its offset, in order', () => {
    const { w, c } = setup({ config: { 'linger.ms': 5 }, ops: [...ops(3, 10), ...ops(2, 20, 0, 'w')] });
    w.run({ untilMs: 1000 });
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    const oks = h.filter((o) => o.type === 'ok');
    expect(oks.map((o) => [o.value, o.offset])).toEqual([
      ['v0', 0],
      ['v1', 1],
      ['v2', 2],
      ['w0', 3],
      ['w1', 4],
    ]);
    expect(c.log(1, 0).map((r) => r.value)).toEqual(['v0', 'v1', 'v2', 'w0', 'w1']);
    // Idempotent by default: one producer id from the controller, sequences 0 and 3.
    expect(c.produced.map((p) => [p.producerId, p.producerEpoch, p.baseSequence])).toEqual([
      [1000, 0, 0],
      [1000, 0, 3],
    ]);
  });

  it('acks=0: no answer is awaited; values are ok without an offset', () => {
    const { w, c } = setup({ config: { acks: '0', 'linger.ms': 0 }, ops: ops(3, 10) });
    w.run({ untilMs: 1000 });
    expect(c.produced[0]?.acks).toBe(0);
    expect(c.produced[0]?.producerId).toBe(-1); // idempotence needs acks=all
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.filter((o) => o.type === 'ok').map((o) => o.offset)).toEqual([undefined, undefined, undefined]);
  });
});

describe('producer: retries', () => {
  it('a lost response: the retry carries the same producer id, epoch and sequence; one ok at the original offset', () => {
    const cluster = new FakeCluster();
    cluster.produceHook = (_req, broker, seen) => {
      if (cluster.produced.length > 1) return 'default';
      // Appended, but the connection breaks before the answer leaves.
      cluster.world?.at(seen.atMs + 2, 'test', () => cluster.world?.network.reset('p1', broker, 'test'));
      return 'append-and-drop';
    };
    const { w, c } = setup({ config: { 'linger.ms': 5 }, ops: ops(3, 10) }, cluster);
    w.run({ untilMs: 2000 });
    expect(c.produced).toHaveLength(2);
    const [a, b] = c.produced;
    expect([b?.producerId, b?.producerEpoch, b?.baseSequence, b?.values]).toEqual([a?.producerId, a?.producerEpoch, a?.baseSequence, a?.values]);
    expect(c.log(1, 0).map((r) => r.value)).toEqual(['v0', 'v1', 'v2']); // no duplicate
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.filter((o) => o.type === 'ok').map((o) => [o.value, o.offset])).toEqual([
      ['v0', 0],
      ['v1', 1],
      ['v2', 2],
    ]);
    expect(traceOf(w, 'producer.retry', 'p1')[0]?.fields?.error).toBe('DISCONNECTED');
  });

  it('max.in.flight.requests.per.connection bounds the produce requests outstanding at a broker', () => {
    for (const maxInFlight of [1, 2, 5]) {
      const cluster = new FakeCluster();
      cluster.partitions = 4;
      cluster.produceDelayMs = 50;
      const many = Array.from({ length: 24 }, (_, i) => ({ atMs: 10 + i, partition: i % 4, value: `v${i}` }));
      const { w, c } = setup({ config: { 'linger.ms': 0, 'max.in.flight.requests.per.connection': maxInFlight }, ops: many }, cluster);
      w.run({ untilMs: 5000 });
      expect(c.peakProduceInFlight.get('p1->b1'), `max.in.flight ${maxInFlight}`).toBe(maxInFlight);
      const h = historyOf(w, 'p1');
      expect(historyProblems(h)).toEqual([]);
      expect(h.filter((o) => o.type === 'ok')).toHaveLength(24);
    }
  });

  it('NOT_LEADER_OR_FOLLOWER: metadata is refreshed and the batch retried at the new leader', () => {
    const cluster = new FakeCluster();
    cluster.setLeader(0, 1, 0);
    const { w, c } = setup({ config: { 'linger.ms': 5 }, ops: ops(2, 100) }, cluster);
    w.at(50, 'test', () => cluster.setLeader(0, 2, 1));
    w.run({ untilMs: 2000 });
    expect(c.produced.map((p) => p.broker)).toEqual(['b1', 'b2']);
    expect(c.produced[1]?.baseSequence).toBe(c.produced[0]?.baseSequence);
    const firstProduceMs = c.produced[0]?.atMs ?? 0;
    expect(c.requests.filter((r) => r.type === 'Metadata' && r.atMs > firstProduceMs).length).toBeGreaterThan(0);
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.filter((o) => o.type === 'ok').map((o) => o.offset)).toEqual([0, 1]);
    expect(c.log(2, 0).map((r) => r.value)).toEqual(['v0', 'v1']);
  });

  it('five batches in flight, the second refused: the later ones get OUT_OF_ORDER_SEQUENCE_NUMBER and are retried in order, without an epoch bump', () => {
    const cluster = new FakeCluster();
    cluster.checkSequences = true;
    cluster.produceDelayMs = 20;
    cluster.produceHook = () => (cluster.produced.length === 2 ? { error: 'NOT_LEADER_OR_FOLLOWER' } : 'default');
    const five = Array.from({ length: 5 }, (_, i) => ({ atMs: 10 + i, partition: 0, value: `v${i}` }));
    const { w, c } = setup({ config: { 'linger.ms': 0 }, ops: five }, cluster);
    w.run({ untilMs: 3000 });
    expect(c.peakProduceInFlight.get('p1->b1')).toBe(5);
    expect(traceOf(w, 'producer.retry', 'p1').map((r) => r.fields?.error)).toEqual([
      'NOT_LEADER_OR_FOLLOWER',
      ...Array(3).fill('OUT_OF_ORDER_SEQUENCE_NUMBER'),
    ]);
    expect(traceOf(w, 'producer.epoch-bump', 'p1')).toHaveLength(0);
    expect(c.log(1, 0).map((r) => [r.value, r.sequence])).toEqual(vsSeq(5));
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.filter((o) => o.type === 'ok').map((o) => [o.value, o.offset])).toEqual(vsSeq(5));
  });

  it('OUT_OF_ORDER_SEQUENCE_NUMBER on the next batch: the epoch is bumped locally and sequences restart at 0', () => {
    const cluster = new FakeCluster();
    cluster.produceHook = () => (cluster.produced.length === 1 ? { error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } : 'default');
    const { w, c } = setup({ config: { 'linger.ms': 5 }, ops: ops(2, 10) }, cluster);
    w.run({ untilMs: 2000 });
    expect(c.produced.map((p) => [p.producerId, p.producerEpoch, p.baseSequence])).toEqual([
      [1000, 0, 0],
      [1000, 1, 0],
    ]);
    expect(c.requests.filter((r) => r.type === 'InitProducerId')).toHaveLength(1); // the bump is local
    const bumps = traceOf(w, 'producer.epoch-bump', 'p1');
    expect(bumps).toHaveLength(1);
    // Its only attempt was refused before any append: rewritten, but it cannot have been written.
    expect([bumps[0]?.fields?.rewritten, bumps[0]?.fields?.maybeWritten]).toEqual([['v0', 'v1'], []]);
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.filter((o) => o.type === 'ok')).toHaveLength(2);
  });

  it("OUT_OF_ORDER_SEQUENCE_NUMBER for a batch already written (its answer lost, then out of the broker's duplicate window): the bump rewrites it and it is written twice, as in Kafka; the trace names it maybe-written", () => {
    const cluster = new FakeCluster();
    cluster.produceHook = (_req, broker, seen) => {
      if (cluster.produced.length === 1) {
        // Appended, but the connection breaks before the answer leaves.
        cluster.world?.at(seen.atMs + 2, 'test', () => cluster.world?.network.reset('p1', broker, 'test'));
        return 'append-and-drop';
      }
      // A Kafka broker that appended 5 newer batches of this producer no longer recognises the retry.
      return cluster.produced.length === 2 ? { error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } : 'default';
    };
    const { w, c } = setup({ config: { 'linger.ms': 5 }, ops: ops(2, 10) }, cluster);
    w.run({ untilMs: 2000 });
    expect(c.produced.map((p) => [p.producerEpoch, p.baseSequence])).toEqual([
      [0, 0],
      [0, 0],
      [1, 0],
    ]);
    const bumps = traceOf(w, 'producer.epoch-bump', 'p1');
    expect(bumps.map((r) => [r.fields?.producerEpoch, r.fields?.partitions, r.fields?.rewritten, r.fields?.maybeWritten])).toEqual([
      [1, [0], ['v0', 'v1'], ['v0', 'v1']],
    ]);
    expect(c.log(1, 0).map((r) => r.value)).toEqual(['v0', 'v1', 'v0', 'v1']);
    expect(
      historyOf(w, 'p1')
        .filter((o) => o.type === 'ok')
        .map((o) => [o.value, o.offset]),
    ).toEqual([
      ['v0', 2],
      ['v1', 3],
    ]);
  });
});

describe('producer: outcomes that are not ok', () => {
  it('delivery.timeout.ms expires a batch that was sent: info (it may have been written)', () => {
    const cluster = new FakeCluster();
    cluster.produceHook = () => 'drop';
    const { w } = setup({ config: { 'linger.ms': 0, 'request.timeout.ms': 500, 'delivery.timeout.ms': 1500 }, ops: ops(2, 10) }, cluster);
    w.run({ untilMs: 5000 });
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.map((o) => o.type)).toEqual(['invoke', 'invoke', 'info', 'info']);
    expect(traceOf(w, 'client.request-timeout', 'p1').length).toBeGreaterThan(0);
  });

  it('a batch that never left (no leader) expires as fail', () => {
    const cluster = new FakeCluster();
    cluster.leaderless.add(0);
    const { w, c } = setup({ config: { 'linger.ms': 0, 'request.timeout.ms': 500, 'delivery.timeout.ms': 1500 }, ops: ops(1, 10) }, cluster);
    w.run({ untilMs: 5000 });
    expect(c.produced).toHaveLength(0);
    const h = historyOf(w, 'p1');
    expect(h.map((o) => [o.type, o.error])).toEqual([
      ['invoke', undefined],
      ['fail', 'DELIVERY_TIMEOUT'],
    ]);
  });

  it('errors without retries: fail when the broker refused before appending, info when after', () => {
    for (const [error, expected] of [
      ['NOT_ENOUGH_REPLICAS', 'fail'],
      ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'info'],
      ['NOT_LEADER_OR_FOLLOWER', 'info'],
    ] as const) {
      const cluster = new FakeCluster();
      cluster.produceHook = () => ({ error, append: error === 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' });
      const { w } = setup({ config: { 'linger.ms': 0, retries: 0 }, ops: ops(1, 10) }, cluster);
      w.run({ untilMs: 2000 });
      const h = historyOf(w, 'p1');
      expect(historyProblems(h)).toEqual([]);
      expect(
        h.map((o) => [o.type, o.error]),
        error,
      ).toEqual([
        ['invoke', undefined],
        [expected, error],
      ]);
    }
  });

  it('an explicit delivery.timeout.ms below linger.ms + request.timeout.ms is a configuration error', () => {
    expect(() => new Producer({ config: new KafkaConfig({ 'delivery.timeout.ms': 1000 }), topic: 't' })).toThrow(/delivery.timeout.ms/);
  });
});

describe('producer: workload', () => {
  it('generates unique values at the rate, round-robin, and a restart never reuses one', () => {
    const cluster = new FakeCluster();
    cluster.partitions = 3;
    const { w } = setup({ config: { 'linger.ms': 5 }, ratePerSec: 200, stopAtMs: 2000 }, cluster);
    w.at(700, 'test', () => w.crash('p1'));
    w.at(800, 'test', () => w.restart('p1'));
    w.run({ untilMs: 3000 });
    const h = historyOf(w, 'p1');
    expect(historyProblems(h)).toEqual([]);
    const values = h.filter((o) => o.type === 'invoke').map((o) => o.value as string);
    expect(new Set(values).size).toBe(values.length);
    expect(values.length).toBeGreaterThan(250); // ~1.9 s at 200/s
    expect(values.length).toBeLessThan(500);
    expect(new Set(values.map((v) => v.split('-')[1])).size).toBe(2); // one tag per incarnation
    const partitions = h.filter((o) => o.type === 'invoke').map((o) => o.partition);
    expect(partitions.slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    // Nothing is generated after stopAtMs; everything invoked before the crash or after the restart completes.
    const last = w.trace.recorded.filter((r) => r.kind === 'client.op' && r.fields?.type === 'invoke').at(-1);
    expect(last?.timeMs).toBeLessThan(2000);
  });
});
