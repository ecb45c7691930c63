// The broker's mechanisms, one at a time, on a small simulated cluster (controller c1, brokers
// b1..bN, a producer p1): what acks=all waits for, NOT_ENOUGH_REPLICAS, ISR shrink and expansion,
// clean and unclean election, idempotent retries, and a fenced leader losing its leadership.
// The controller creates the topic once every broker has registered and been unfenced (≈ 2 s), so
// faults start after that.
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../../core/broker/broker.js';
import type { ConfigOverrides } from '../../../core/config.js';
import { buildCluster, type ProducerSpec, replicaRecords } from '../../../scenarios/cluster.js';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../../scenarios/final-state.js';
import { type FaultAction, installFaults } from '../../../sim/faults.js';

function cluster(options: {
  brokers?: number;
  config?: ConfigOverrides;
  producer?: Partial<ProducerSpec>;
  faults?: FaultAction[];
  seed?: number;
  assignment?: number[][];
}) {
  const brokers = options.brokers ?? 3;
  const c = buildCluster({
    seed: options.seed ?? 1,
    brokers,
    topics: [{ name: 't', partitions: 1, replicationFactor: brokers, ...(options.assignment ? { assignment: options.assignment } : {}) }],
    config: options.config ?? {},
    producers: [{ id: 'p1', topic: 't', ...options.producer }],
    record: true,
  });
  installFaults(c.world, options.faults ?? []);
  c.world.startAll();
  return c;
}

const sends = (c: ReturnType<typeof cluster>, type: string) => c.history.filter((o) => o.f === 'send' && o.type === type);
const events = (c: ReturnType<typeof cluster>, kind: string, node?: string) =>
  c.world.trace.recorded.filter((e) => e.kind === kind && (node === undefined || e.node === node));
const ops = (atMs: number, values: string[]) => values.map((value) => ({ atMs, partition: 0, value }));

describe('broker: produce', () => {
  it('acks=all waits until every ISR member has the record; a stalled follower holds the acknowledgement back', () => {
    // b3 stops receiving data (its fetch responses are held) from 4 s to 12 s; it stays in the ISR (lag limit 30 s).
    const c = cluster({
      config: { 'min.insync.replicas': 2 },
      producer: { ops: ops(5000, ['v0']) },
      faults: [
        { atMs: 4000, fault: 'partition', oneWay: { from: ['b1'], to: ['b3'] } },
        { atMs: 12_000, fault: 'heal' },
      ],
    });
    c.world.run({ untilMs: 20_000 });
    const ok = sends(c, 'ok').find((o) => o.value === 'v0');
    const okAt = c.world.trace.recorded.find((e) => e.kind === 'client.op' && e.fields?.type === 'ok' && e.fields?.value === 'v0')?.timeMs ?? 0;
    expect(ok?.offset).toBe(0);
    expect(okAt).toBeGreaterThanOrEqual(12_000);
    expect(ackedWritesMissing(c, 't')).toEqual([]);
  });

  it('acks=1 is acknowledged at once by the leader, whatever the followers do', () => {
    const c = cluster({
      producer: { ops: ops(5000, ['v0']), config: { acks: '1', 'enable.idempotence': false } },
      faults: [{ atMs: 4000, fault: 'partition', oneWay: { from: ['b1'], to: ['b2', 'b3'] } }],
    });
    c.world.run({ untilMs: 6000 });
    const okAt = c.world.trace.recorded.find((e) => e.kind === 'client.op' && e.fields?.type === 'ok' && e.fields?.value === 'v0')?.timeMs ?? Number.NaN;
    expect(okAt).toBeLessThan(5100);
  });

  it('NOT_ENOUGH_REPLICAS refuses acks=all while the ISR is below min.insync.replicas, without appending', () => {
    // Both followers are cut off from b1 and the controller; once their sessions expire the
    // controller removes them from the ISR. (An idle partition's leader never shrinks the ISR
    // itself: followers at its log end count as caught up.)
    const c = cluster({
      config: { 'min.insync.replicas': 2 },
      producer: { ops: ops(14_000, ['v0']), config: { 'delivery.timeout.ms': 40_000 } },
      faults: [
        {
          atMs: 4000,
          fault: 'partition',
          sides: [
            ['b1', 'c1', 'p1'],
            ['b2', 'b3'],
          ],
        },
      ],
    });
    c.world.run({ untilMs: 20_000 });
    expect(c.world.nodeState<Broker>('b1')?.partitions.get('t-0')?.isr).toEqual([1]);
    const refusals = events(c, 'producer.retry', 'p1').map((e) => e.fields?.error);
    expect(refusals.length).toBeGreaterThan(2);
    expect(new Set(refusals)).toEqual(new Set(['NOT_ENOUGH_REPLICAS']));
    expect(events(c, 'produce.append', 'b1')).toEqual([]);
    expect(sends(c, 'ok')).toEqual([]);
  });

  it('an idempotent retry after a lost response leaves one copy in the log, at the acknowledged offset', () => {
    // The produce request reaches b1 and is appended; every response to p1 is lost for a while.
    const c = cluster({
      producer: { ops: ops(3000, ['v0', 'v1', 'v2']), config: { 'request.timeout.ms': 2000 } },
      faults: [
        { on: { kind: 'produce.append', node: 'b1' }, fault: 'partition', oneWay: { from: ['b1'], to: ['p1'] } },
        { on: { kind: 'produce.append', node: 'b1' }, delayMs: 1000, fault: 'reset', from: 'b1', to: 'p1' },
        { atMs: 4500, fault: 'heal' },
      ],
    });
    c.world.run({ untilMs: 15_000 });
    const appends = events(c, 'produce.append', 'b1');
    expect(appends.map((e) => e.fields?.duplicate)).toEqual([false, true]);
    expect(sends(c, 'ok').map((o) => [o.value, o.offset])).toEqual([
      ['v0', 0],
      ['v1', 1],
      ['v2', 2],
    ]);
    expect((replicaRecords(c.world, 'b1', 't', 0) ?? []).map((r) => r.value)).toEqual(['v0', 'v1', 'v2']);
  });
});

describe('broker: ISR', () => {
  it('a follower that stops fetching leaves the ISR after replica.lag.time.max.ms and rejoins once caught up', () => {
    const c = cluster({
      config: { 'replica.lag.time.max.ms': 3000 },
      producer: { ratePerSec: 50, stopAtMs: 20_000 },
      faults: [
        { atMs: 4000, fault: 'partition', isolate: 'b3' },
        { atMs: 12_000, fault: 'heal' },
      ],
    });
    c.world.run({ untilMs: 25_000 });
    const changes = events(c, 'isr.changed', 'b1').map((e) => ({ t: e.timeMs, kind: e.fields?.kind, isr: e.fields?.isr }));
    const shrink = changes.find((x) => x.kind === 'shrink');
    const expand = changes.find((x) => x.kind === 'expand');
    expect(shrink?.isr).toEqual([1, 2]);
    expect(shrink?.t).toBeGreaterThan(4000 + 3000);
    expect(shrink?.t).toBeLessThan(12_000);
    expect(expand?.isr).toEqual([1, 2, 3]);
    expect(expand?.t).toBeGreaterThan(12_000);
    expect(replicasDiverge(c, 't', 1)).toEqual([]);
  });
});

describe('broker: elections', () => {
  // b1 leads; b3 is cut off and leaves the ISR; then b1 and b2 crash: only the out-of-sync b3 is left.
  const lastOutOfSync = (unclean: boolean) =>
    cluster({
      config: { 'replica.lag.time.max.ms': 2000, 'unclean.leader.election.enable': unclean, 'min.insync.replicas': 1 },
      producer: { ratePerSec: 20, stopAtMs: 14_000, config: { acks: '1', 'enable.idempotence': false } },
      faults: [
        { atMs: 4000, fault: 'partition', isolate: 'b3' },
        { atMs: 10_000, fault: 'heal' },
        { atMs: 10_000, fault: 'crash', node: 'b2' },
        { atMs: 10_001, fault: 'crash', node: 'b1' },
      ],
    });

  it('clean: with unclean election off, an out-of-sync replica is never elected; the partition waits', () => {
    const c = lastOutOfSync(false);
    c.world.run({ untilMs: 30_000 });
    expect(events(c, 'controller.elect').some((e) => e.fields?.leader === 3)).toBe(false);
    expect(leaderOf(c, 't', 0)).toBeUndefined();
  });

  it('unclean: with unclean election on, the out-of-sync replica is elected and its shorter log wins', () => {
    const c = lastOutOfSync(true);
    c.world.run({ untilMs: 30_000 });
    expect(events(c, 'controller.elect').some((e) => e.fields?.leader === 3)).toBe(true);
    expect(leaderOf(c, 't', 0)).toBe('b3');
    // The records b3 never had are gone from the partition (permitted: acks=1 and an unclean election).
    const acked = sends(c, 'ok').length;
    const kept = (replicaRecords(c.world, 'b3', 't', 0) ?? []).length;
    expect(kept).toBeLessThan(acked);
  });

  it('a leader cut off from the controller is fenced, a new leader is elected, and the old one follows it after healing', () => {
    const c = cluster({
      config: { 'min.insync.replicas': 2 },
      producer: { ratePerSec: 20, stopAtMs: 30_000 },
      faults: [
        { atMs: 5000, fault: 'partition', sides: [['b1'], ['c1']] },
        { atMs: 25_000, fault: 'heal' },
      ],
    });
    c.world.run({ untilMs: 40_000 });
    const elect = events(c, 'controller.elect').find((e) => (e.fields?.leader as number) !== 1);
    // The session expires 9 s after b1's last heartbeat before the cut (heartbeats every 2 s).
    expect(elect?.timeMs).toBeGreaterThan(5000 + 9000 - 2000);
    expect(String(elect?.fields?.reason)).toMatch(/fenced/);
    const b1 = c.world.nodeState<Broker>('b1');
    expect(b1?.partitions.get('t-0')?.role).toBe('follower');
    expect(ackedWritesMissing(c, 't')).toEqual([]);
    expect(replicasDiverge(c, 't', 1)).toEqual([]);
  });
});

describe('broker: follower truncation on a leader change, under each bug-zoo setting', () => {
  // b1 leads; b2 stops receiving data; b1 takes v0..v2 alone, crashes; b2 is elected and takes
  // w0, w1 at offsets 2, 3; b1 returns as b2's follower with a log that diverges from offset 2.
  function divergent(config: ConfigOverrides) {
    const c = cluster({
      brokers: 2,
      config: { 'min.insync.replicas': 1, 'log.flush.interval.messages': 1, ...config },
      producer: {
        ops: [...ops(3000, ['u0', 'u1']), ...ops(4500, ['v0', 'v1', 'v2']), ...ops(16_000, ['w0', 'w1'])],
        config: { acks: '1', 'enable.idempotence': false },
      },
      faults: [
        { atMs: 4000, fault: 'partition', oneWay: { from: ['b1'], to: ['b2'] } },
        { atMs: 5000, fault: 'crash', node: 'b1' },
        { atMs: 6000, fault: 'heal' },
        { atMs: 20_000, fault: 'restart', node: 'b1' },
      ],
    });
    c.world.run({ untilMs: 40_000 });
    return { c, truncations: events(c, 'replica.truncate', 'b1').map((e) => ({ rule: String(e.fields?.rule), to: e.fields?.to })) };
  }
  const valuesOf = (c: ReturnType<typeof cluster>, b: string) => (replicaRecords(c.world, b, 't', 0) ?? []).map((r) => r.value);

  it('all fixes in: the diverging epoch in the fetch response truncates b1 to offset 2, and the replicas converge', () => {
    const { c, truncations } = divergent({});
    expect(truncations).toEqual([{ rule: 'diverging epoch', to: 2 }]);
    expect(valuesOf(c, 'b1')).toEqual(['u0', 'u1', 'w0', 'w1']);
    expect(replicasDiverge(c, 't', 1)).toEqual([]);
  });

  it('fix.kip-279 off: one OffsetsForLeaderEpoch round with the offset-only reply', () => {
    const { c, truncations } = divergent({ 'fix.kip-279': false });
    expect(truncations.map((t) => t.rule)).toEqual(['epoch end offset (KIP-101 v0 reply)']);
    expect(truncations[0]?.to).toBe(2);
    expect(replicasDiverge(c, 't', 1)).toEqual([]);
  });

  it('fix.kip-101 off: b1 truncates to its own high watermark, whatever the leader has', () => {
    const { truncations } = divergent({ 'fix.kip-101': false });
    expect(truncations[0]?.rule).toBe('truncate-to-high-watermark (fix.kip-101 off)');
  });
});

describe('broker: clean shutdown', () => {
  it('flushes every log and writes the marker; the restart skips recovery and the controller sees a clean shutdown', () => {
    const c = cluster({
      config: { 'min.insync.replicas': 2 },
      producer: { ratePerSec: 50, stopAtMs: 8000 },
      faults: [
        { atMs: 10_000, fault: 'shutdown', node: 'b2' },
        { atMs: 15_000, fault: 'restart', node: 'b2' },
      ],
    });
    c.world.run({ untilMs: 14_000 });
    expect(c.world.isUp('b2')).toBe(false);
    expect(events(c, 'node.halt', 'b2').map((e) => e.fields?.reason)).toEqual(['clean shutdown']);
    const disk = c.world.disk('b2');
    // Nothing is left only in the page cache: a power loss now would lose nothing.
    expect(disk.fileNames().filter((f) => disk.pendingWrites(f) > 0)).toEqual([]);
    expect(disk.fileNames()).toContain('.kafka_cleanshutdown');
    c.world.run({ untilMs: 40_000 });
    const recovered = events(c, 'log.recovered', 'b2').filter((e) => e.timeMs >= 15_000);
    expect(recovered.length).toBeGreaterThan(0);
    expect(recovered.every((e) => e.fields?.clean === true)).toBe(true);
    expect(events(c, 'controller.unclean-shutdown').filter((e) => e.fields?.broker === 2)).toEqual([]);
    expect(ackedWritesMissing(c, 't')).toEqual([]);
  });

  it('an unclean restart (a crash) is reported to the controller as such (KIP-966)', () => {
    const c = cluster({
      faults: [
        { atMs: 5000, fault: 'crash', node: 'b2' },
        { atMs: 5500, fault: 'restart', node: 'b2' },
      ],
    });
    c.world.run({ untilMs: 30_000 });
    expect(events(c, 'controller.unclean-shutdown').map((e) => e.fields?.broker)).toEqual([2]);
  });
});

describe('broker: metadata replay at startup', () => {
  it('a restarted broker acts on no partition until it has caught up with the metadata log (more than one fetch of records)', () => {
    // 400 partitions: the metadata log is longer than one MetadataFetch response (500 records).
    const c = buildCluster({ seed: 3, brokers: 3, topics: [{ name: 't', partitions: 400, replicationFactor: 3 }], record: true });
    installFaults(c.world, [
      { atMs: 5000, fault: 'crash', node: 'b2' },
      { atMs: 5100, fault: 'restart', node: 'b2' },
    ]);
    c.world.startAll();
    c.world.run({ untilMs: 30_000 });
    const after = c.world.trace.recorded.filter((e) => e.node === 'b2' && e.timeMs >= 5100);
    const caughtUp = after.findIndex((e) => e.kind === 'broker.metadata-caught-up');
    const fetches = after.filter((e) => e.kind === 'net.deliver' && e.fields?.type === 'MetadataFetchResponse');
    expect(caughtUp).toBeGreaterThan(0);
    expect(fetches.length).toBeGreaterThan(1);
    const firstRole = after.findIndex((e) => e.kind === 'partition.leader' || e.kind === 'partition.follower');
    expect(firstRole).toBeGreaterThan(caughtUp);
    // Behaviourally: no role is taken before the second metadata response has been applied.
    const responsesBeforeRole = after.slice(0, firstRole).filter((e) => e.kind === 'net.deliver' && e.fields?.type === 'MetadataFetchResponse');
    expect(responsesBeforeRole.length).toBeGreaterThanOrEqual(2);
  });
});
