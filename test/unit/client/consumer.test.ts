// The consumer client against scripted fake brokers: reset, fetch and position, KIP-320
// truncation detection (and its absence with fix.kip-320=false), out-of-range resets, and the
// poll history it records.
import { describe, expect, it } from 'vitest';
import { Consumer } from '../../../core/client/consumer.js';
import { Producer } from '../../../core/client/producer.js';
import { KafkaConfig } from '../../../core/config.js';
import type { HistoryOp } from '../../../core/history.js';
import type { World } from '../../../sim/world.js';
import { FakeCluster, fakeWorld, historyOf, historyProblems, traceOf } from './fake-cluster.js';

function setup(cluster: FakeCluster, config: Record<string, number | boolean | string> = {}, partitions?: number[]): World {
  const w = fakeWorld(cluster);
  w.addNode('k1', () => new Consumer({ config: new KafkaConfig(config), topic: cluster.topic, ...(partitions === undefined ? {} : { partitions }) }));
  w.startAll();
  return w;
}

/** Every record read, in order, as [value, offset]. */
function reads(ops: readonly HistoryOp[], fromIndex = 0): [string, number][] {
  return ops
    .slice(fromIndex)
    .filter((o) => o.f === 'poll' && o.type === 'ok')
    .flatMap((o) => (o.values ?? []).map((v, i) => [v, (o.offsets ?? [])[i] as number] as [string, number]));
}

const vs = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

/** A log of v0..v9 (epoch 0, batches of 4) on b1; later b2 leads in epoch 1 with `b2Log`. */
function leaderChange(cluster: FakeCluster, w: World, atMs: number, b2Tail: string[]): void {
  cluster.fill(1, 0, vs('v', 10), 0, 4);
  w.at(atMs, 'test', () => {
    cluster.fill(2, 0, vs('v', 4), 0);
    cluster.fill(2, 0, vs('v', 2, 4), 0);
    cluster.fill(2, 0, b2Tail, 1);
    cluster.setLeader(0, 2, 1);
  });
}

describe('consumer: reading', () => {
  it('starts at the earliest offset and records every record in order, then long-polls for more', () => {
    const c = new FakeCluster();
    c.fill(1, 0, vs('v', 10), 0, 4);
    const w = setup(c);
    w.run({ untilMs: 1000 });
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    expect(reads(h)).toEqual(vs('v', 10).map((v, i) => [v, i]));
    expect(traceOf(w, 'consumer.offset-reset', 'k1')[0]?.fields).toMatchObject({ strategy: 'earliest', offset: 0 });
    // The first poll was invoked at the reset position.
    expect(h.find((o) => o.type === 'invoke')?.offset).toBe(0);
    w.at(1500, 'test', () => c.fill(1, 0, ['late0', 'late1'], 0));
    w.run({ untilMs: 3000 });
    expect(reads(historyOf(w, 'k1')).slice(10)).toEqual([
      ['late0', 10],
      ['late1', 11],
    ]);
    expect(historyProblems(historyOf(w, 'k1'))).toEqual([]);
  });

  it('skips the records below its position inside the first batch', () => {
    const c = new FakeCluster();
    c.fill(1, 0, vs('v', 8), 0, 4);
    c.logStartOffset = 2; // earliest is in the middle of the batch [0, 3]
    const w = setup(c);
    w.run({ untilMs: 1000 });
    expect(reads(historyOf(w, 'k1'))).toEqual(vs('v', 6, 2).map((v, i) => [v, i + 2]));
    expect(c.fetches[0]?.fetchOffset).toBe(2);
  });

  it('auto.offset.reset=latest starts at the end', () => {
    const c = new FakeCluster();
    c.fill(1, 0, vs('v', 5), 0);
    const w = setup(c, { 'auto.offset.reset': 'latest' });
    w.at(500, 'test', () => c.fill(1, 0, ['new'], 0));
    w.run({ untilMs: 1500 });
    expect(reads(historyOf(w, 'k1'))).toEqual([['new', 5]]);
  });

  it('reads every value a producer had acknowledged, at its offset', () => {
    const c = new FakeCluster();
    c.partitions = 2;
    const w = fakeWorld(c);
    w.addNode('p1', () => new Producer({ config: new KafkaConfig(), topic: c.topic, ratePerSec: 100, stopAtMs: 1000 }));
    w.addNode('k1', () => new Consumer({ config: new KafkaConfig(), topic: c.topic }));
    w.startAll();
    w.run({ untilMs: 3000 });
    const all = historyOf(w);
    expect(historyProblems(all)).toEqual([]);
    const acked = all.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => `${o.partition}/${o.offset}=${o.value}`);
    const read = all.filter((o) => o.f === 'poll' && o.type === 'ok').flatMap((o) => (o.values ?? []).map((v, i) => `${o.partition}/${o.offsets?.[i]}=${v}`));
    expect(acked.length).toBeGreaterThan(50);
    expect(new Set(read)).toEqual(new Set(acked));
  });
});

describe('consumer: leader changes and truncation (KIP-320)', () => {
  it('detects a truncation with OffsetsForLeaderEpoch and seeks back to the end offset', () => {
    const c = new FakeCluster();
    const w = setup(c);
    leaderChange(c, w, 1000, vs('w', 6));
    w.run({ untilMs: 1000 });
    expect(reads(historyOf(w, 'k1'))).toHaveLength(10);
    const before = historyOf(w, 'k1').length;
    w.run({ untilMs: 3000 });
    const t = traceOf(w, 'consumer.truncation-detected', 'k1');
    expect(t).toHaveLength(1);
    expect(t[0]?.fields).toMatchObject({ topic: 't', partition: 0, position: 10, endOffset: 6, leaderEpoch: 0 });
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    expect(reads(h, before)).toEqual(vs('w', 6).map((v, i) => [v, 6 + i]));
    // Fetches carry the leader epoch the consumer believes current.
    expect(c.fetches.filter((f) => f.broker === 'b1').every((f) => f.currentLeaderEpoch === 0)).toBe(true);
    expect(c.fetches.filter((f) => f.broker === 'b2').every((f) => f.currentLeaderEpoch === 1)).toBe(true);
    expect(c.requests.filter((r) => r.type === 'OffsetsForLeaderEpoch').map((r) => r.node)).toEqual(['b2']);
  });

  it('with fix.kip-320=false: no validation, no epoch in fetches, and the divergent records are skipped silently', () => {
    const c = new FakeCluster();
    const w = setup(c, { 'fix.kip-320': false });
    leaderChange(c, w, 1000, vs('w', 6));
    w.run({ untilMs: 1000 });
    const before = historyOf(w, 'k1').length;
    w.run({ untilMs: 3000 });
    expect(traceOf(w, 'consumer.truncation-detected', 'k1')).toHaveLength(0);
    expect(c.requests.filter((r) => r.type === 'OffsetsForLeaderEpoch')).toHaveLength(0);
    expect(c.fetches.length).toBeGreaterThan(2);
    expect(c.fetches.every((f) => f.currentLeaderEpoch === -1)).toBe(true);
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    // It goes on at offset 10 on the new leader: w4 and w5; w0..w3 are never seen.
    expect(reads(h, before)).toEqual([
      ['w4', 10],
      ['w5', 11],
    ]);
  });

  it('a position that validates (no truncation) goes on fetching from the new leader', () => {
    const c = new FakeCluster();
    const w = setup(c);
    c.fill(1, 0, vs('v', 6), 0, 3);
    w.at(1000, 'test', () => {
      c.fill(2, 0, vs('v', 3), 0);
      c.fill(2, 0, vs('v', 3, 3), 0);
      c.fill(2, 0, ['x6'], 1);
      c.setLeader(0, 2, 1);
    });
    w.run({ untilMs: 3000 });
    expect(traceOf(w, 'consumer.position-validated', 'k1')[0]?.fields).toMatchObject({ position: 6, endOffset: 6 });
    expect(traceOf(w, 'consumer.truncation-detected', 'k1')).toHaveLength(0);
    expect(reads(historyOf(w, 'k1')).at(-1)).toEqual(['x6', 6]);
  });

  it('FENCED_LEADER_EPOCH: metadata is refreshed, the position validated, and fetching goes on in the new epoch', () => {
    const c = new FakeCluster();
    c.fill(1, 0, vs('v', 4), 0);
    const w = setup(c);
    w.at(1000, 'test', () => {
      c.setLeader(0, 1, 1); // same leader, new epoch
      c.fill(1, 0, ['e1'], 1);
    });
    w.run({ untilMs: 3000 });
    expect(c.fetches.some((f) => f.currentLeaderEpoch === 0 && f.atMs > 1000)).toBe(true);
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.some((o) => o.type === 'fail' && o.error === 'FENCED_LEADER_EPOCH')).toBe(true);
    expect(traceOf(w, 'consumer.position-validated', 'k1')[0]?.fields).toMatchObject({ position: 4, endOffset: 4 });
    expect(reads(h).at(-1)).toEqual(['e1', 4]);
    expect(c.fetches.at(-1)?.currentLeaderEpoch).toBe(1);
  });

  it('UNKNOWN_LEADER_EPOCH (the broker has not caught up with the epoch): retried until it has', () => {
    const c = new FakeCluster();
    c.setLeader(0, 1, 1);
    c.views.set('b1/0', { leader: 1, epoch: 0 }); // b1 still thinks epoch 0
    c.fill(1, 0, vs('v', 3), 0);
    const w = setup(c);
    w.at(1000, 'test', () => c.views.delete('b1/0'));
    w.run({ untilMs: 3000 });
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    const errors = traceOf(w, 'consumer.error', 'k1').map((r) => r.fields?.error);
    expect(errors.length).toBeGreaterThan(2);
    expect(new Set(errors)).toEqual(new Set(['UNKNOWN_LEADER_EPOCH']));
    expect(reads(h)).toEqual(vs('v', 3).map((v, i) => [v, i]));
  });

  it('OFFSET_OUT_OF_RANGE resets the position by auto.offset.reset', () => {
    const c = new FakeCluster();
    const w = setup(c, { 'fix.kip-320': false });
    leaderChange(c, w, 1000, []); // the new leader has only v0..v5
    w.run({ untilMs: 1000 });
    const before = historyOf(w, 'k1').length;
    w.run({ untilMs: 3000 });
    expect(traceOf(w, 'consumer.offset-out-of-range', 'k1')[0]?.fields).toMatchObject({ position: 10 });
    expect(traceOf(w, 'consumer.offset-reset', 'k1').map((r) => r.fields?.offset)).toEqual([0, 0]);
    const h = historyOf(w, 'k1');
    expect(historyProblems(h)).toEqual([]);
    expect(h.slice(before).some((o) => o.type === 'fail' && o.error === 'OFFSET_OUT_OF_RANGE')).toBe(true);
    expect(reads(h, before)).toEqual(vs('v', 6).map((v, i) => [v, i]));
  });

  it('with auto.offset.reset=none an out-of-range position stalls the partition', () => {
    const c = new FakeCluster();
    const w = setup(c, { 'fix.kip-320': false, 'auto.offset.reset': 'none' });
    leaderChange(c, w, 1000, []);
    w.run({ untilMs: 3000 });
    expect(traceOf(w, 'consumer.offset-out-of-range', 'k1')).toHaveLength(1);
    expect(w.nodeState<Consumer>('k1')?.position(0)?.state).toBe('stalled');
  });
});
