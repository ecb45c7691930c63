// The shared client plumbing: request timeouts close the connection and fail what else was on it;
// retry back-off; the metadata cache and its leader-epoch guard (KIP-320).
import { describe, expect, it } from 'vitest';
import { NetworkClient, type Outcome } from '../../../core/client/network-client.js';
import { KafkaConfig } from '../../../core/config.js';
import type { Node, NodeContext, TimerId } from '../../../core/ports.js';
import type { KafkaMessage } from '../../../core/protocol.js';
import { Timers } from '../../../core/rpc.js';
import { World } from '../../../sim/world.js';
import { FakeCluster, fakeWorld, traceOf } from './fake-cluster.js';

/** A client node that runs a script against a NetworkClient. */
class Driver implements Node<KafkaMessage> {
  net!: NetworkClient;
  timers!: Timers;
  constructor(
    private readonly config: KafkaConfig,
    private readonly script: (d: Driver, ctx: NodeContext<KafkaMessage>) => void,
  ) {}
  start(ctx: NodeContext<KafkaMessage>): void {
    this.timers = new Timers(ctx);
    this.net = new NetworkClient(ctx, this.timers, { config: this.config, topics: ['t'], bootstrap: ['b1'] });
    this.script(this, ctx);
  }
  onMessage(_ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    this.net.handleResponse(from, msg);
  }
  onTimer(_ctx: NodeContext<KafkaMessage>, _tag: string, id: TimerId): void {
    this.timers.fire(id);
  }
  onDisconnect(_ctx: NodeContext<KafkaMessage>, peer: string): void {
    this.net.onDisconnect(peer);
  }
}

describe('network client', () => {
  it('a request timeout fails it with REQUEST_TIMED_OUT, closes the connection and fails the others on it as DISCONNECTED', () => {
    const w = new World({ seed: 1, record: true, network: { link: { baseMs: 1, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } } });
    w.addNode('b1', () => ({ start: () => {}, onMessage: () => {}, onTimer: () => {} })); // never answers
    const outcomes: string[] = [];
    const record = (name: string) => (o: Outcome<'ListOffsets'>) => outcomes.push(`${name}:${o.ok ? 'ok' : o.error}@${w.now}`);
    w.addNode(
      'k1',
      () =>
        new Driver(new KafkaConfig({ 'request.timeout.ms': 1000 }), (d) => {
          const body = { type: 'ListOffsets' as const, topic: 't', partition: 0, currentLeaderEpoch: -1, timestamp: 'earliest' as const };
          d.net.send<'ListOffsets'>('b1', body, record('first'));
          d.timers.set(300, 'second', () => d.net.send<'ListOffsets'>('b1', body, record('second'), { timeoutMs: 5000 }));
        }),
    );
    w.startAll();
    w.run({ untilMs: 10_000 });
    expect(outcomes).toEqual(['first:REQUEST_TIMED_OUT@1000', 'second:DISCONNECTED@1000']);
    // The disconnection also asks for metadata (from the same silent broker, which times out in turn).
    expect(traceOf(w, 'client.request-timeout', 'k1').map((r) => [r.timeMs, r.fields?.type])[0]).toEqual([1000, 'ListOffsets']);
    expect(w.trace.recorded.some((r) => r.kind === 'net.break' && r.fields?.why === 'closed')).toBe(true);
  });

  it('retry back-off grows exponentially from retry.backoff.ms to retry.backoff.max.ms, with ±20% jitter', () => {
    const w = new World({ seed: 7 });
    const samples: number[][] = [];
    w.addNode(
      'k1',
      () =>
        new Driver(new KafkaConfig({ 'retry.backoff.ms': 100, 'retry.backoff.max.ms': 1000 }), (d) => {
          for (let attempts = 0; attempts < 6; attempts++) samples.push(Array.from({ length: 200 }, () => d.net.backoffMs(attempts)));
        }),
    );
    w.addNode('b1', () => ({ start: () => {}, onMessage: () => {}, onTimer: () => {} }));
    w.startAll();
    const range = (xs: number[]) => [Math.min(...xs), Math.max(...xs)];
    expect(range(samples[0] ?? [])[0]).toBeGreaterThanOrEqual(80);
    expect(range(samples[0] ?? [])[1]).toBeLessThanOrEqual(120);
    expect(range(samples[2] ?? [])[0]).toBeGreaterThanOrEqual(320);
    expect(range(samples[2] ?? [])[1]).toBeLessThanOrEqual(480);
    expect(range(samples[5] ?? [])[1]).toBe(1000); // capped
    expect(new Set(samples[0]).size).toBeGreaterThan(10); // jittered
  });

  it('with fix.kip-320, metadata with an older leader epoch than the cached one is ignored; without it, taken', () => {
    for (const kip320 of [true, false]) {
      const c = new FakeCluster();
      c.setLeader(0, 2, 5);
      const w = fakeWorld(c);
      const seen: string[] = [];
      w.addNode(
        'k1',
        () =>
          new Driver(new KafkaConfig({ 'fix.kip-320': kip320 }), (d) => {
            d.net.onMetadataUpdate(() => {
              const l = d.net.leaderFor('t', 0);
              seen.push(`${l?.node}@${l?.leaderEpoch}`);
            });
            d.net.start();
          }),
      );
      w.startAll();
      w.run({ untilMs: 100 });
      // A lagging broker answers with the previous leader.
      c.setLeader(0, 1, 4);
      w.at(200, 'test', () => w.nodeState<Driver>('k1')?.net.requestMetadataUpdate('test'));
      w.run({ untilMs: 1000 });
      expect(seen, `kip-320 ${kip320}`).toEqual(kip320 ? ['b2@5', 'b2@5'] : ['b2@5', 'b1@4']);
    }
  });

  it('refreshes metadata every metadata.max.age.ms', () => {
    const c = new FakeCluster();
    const w = fakeWorld(c);
    w.addNode('k1', () => new Driver(new KafkaConfig({ 'metadata.max.age.ms': 1000 }), (d) => d.net.start()));
    w.startAll();
    w.run({ untilMs: 5500 });
    expect(c.requests.filter((r) => r.type === 'Metadata').map((r) => Math.floor(r.atMs / 1000))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
