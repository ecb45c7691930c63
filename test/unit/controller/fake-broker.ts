// A scripted stand-in for a KRaft broker, for the controller's tests: it registers, heartbeats,
// pulls the metadata log into its own image, and lets a test send any request and read replies.

import { KafkaConfig } from '../../../core/config.js';
import { Controller, type ControllerTopic } from '../../../core/controller/controller.js';
import { MetadataImage, type PartitionRegistration } from '../../../core/metadata.js';
import type { Node, NodeContext } from '../../../core/ports.js';
import type { AlterPartitionRequest, IsrMember, KafkaMessage, MetadataRecord } from '../../../core/protocol.js';
import { type Invariant, World } from '../../../sim/world.js';

export const CONTROLLER = 'c1';

/** What a broker does; kept outside the node so that it survives the broker's restarts. */
export interface BrokerScript {
  register: boolean;
  heartbeat: boolean;
  fetch: boolean;
  /** Sent in BrokerRegistration (KIP-966): -1 means "no clean-shutdown marker". */
  previousBrokerEpoch: number;
  /** Fixed incarnation id (default: a fresh random one per start). */
  incarnationId?: string;
  heartbeatIntervalMs: number;
}

export class FakeBroker implements Node<KafkaMessage> {
  ctx: NodeContext<KafkaMessage> | undefined;
  readonly image = new MetadataImage();
  /** Every record received through MetadataFetch, in offset order. */
  readonly fetched: MetadataRecord[] = [];
  readonly received: KafkaMessage[] = [];
  /** Receive time (local clock) of every message, by index into `received`. */
  readonly receivedAtMs: number[] = [];
  brokerEpoch = -1;
  fenced = true;
  incarnationId = '';
  private correlation = 1000;
  /** The outstanding MetadataFetch, and when it was sent. */
  private fetchCorrelation = -1;
  private fetchSentAtMs = 0;

  constructor(
    readonly id: number,
    readonly script: BrokerScript,
  ) {}

  start(ctx: NodeContext<KafkaMessage>): void {
    this.ctx = ctx;
    this.incarnationId = this.script.incarnationId ?? `b${this.id}-${ctx.random.int(0, 1e9)}`;
    if (this.script.register) this.registerNow();
    ctx.setTimer(this.script.heartbeatIntervalMs, 'heartbeat');
    // A request lost with a broken connection is retried (a real client times out and retries).
    ctx.setTimer(250, 'register-retry');
    ctx.setTimer(1000, 'fetch-check');
    if (this.script.fetch) this.fetchNext();
  }

  registerNow(): void {
    this.send({
      type: 'BrokerRegistration',
      correlationId: this.nextCorrelation(),
      brokerId: this.id,
      incarnationId: this.incarnationId,
      previousBrokerEpoch: this.script.previousBrokerEpoch,
    });
  }

  nextCorrelation(): number {
    return this.correlation++;
  }

  send(msg: KafkaMessage): void {
    this.ctx?.send(CONTROLLER, msg);
  }

  /** The response to request `correlationId`, if it arrived. */
  response<T extends KafkaMessage['type']>(correlationId: number, type?: T): Extract<KafkaMessage, { type: T }> | undefined {
    return this.received.find((m) => 'correlationId' in m && m.correlationId === correlationId && (type === undefined || m.type === type)) as
      | Extract<KafkaMessage, { type: T }>
      | undefined;
  }

  /** Send an AlterPartition as this broker, with its epoch; returns the correlation id. */
  alterPartition(over: Partial<AlterPartitionRequest> & { isr?: IsrMember[] }): number {
    const p = this.image.partition({ topic: over.topic ?? 't', partition: over.partition ?? 0 });
    const correlationId = this.nextCorrelation();
    const { isr, ...rest } = over;
    this.send({
      type: 'AlterPartition',
      correlationId,
      brokerId: this.id,
      brokerEpoch: this.brokerEpoch,
      topic: 't',
      partition: 0,
      leaderEpoch: p?.leaderEpoch ?? 0,
      partitionEpoch: p?.partitionEpoch ?? 0,
      newIsrWithEpochs: isr ?? (p?.isr ?? []).map((b) => ({ brokerId: b, brokerEpoch: -1 })),
      leaderRecoveryState: p?.leaderRecoveryState ?? 'RECOVERED',
      ...rest,
    });
    return correlationId;
  }

  onMessage(ctx: NodeContext<KafkaMessage>, _from: string, msg: KafkaMessage): void {
    this.received.push(msg);
    this.receivedAtMs.push(ctx.now());
    switch (msg.type) {
      case 'BrokerRegistrationResponse':
        if (msg.error === 'NONE') this.brokerEpoch = msg.brokerEpoch;
        break;
      case 'BrokerHeartbeatResponse':
        if (msg.error === 'NONE') this.fenced = msg.isFenced;
        break;
      case 'MetadataFetchResponse':
        if (msg.correlationId !== this.fetchCorrelation || msg.fromOffset !== this.image.offset) break; // an abandoned fetch
        for (const r of msg.records) {
          this.image.apply(r);
          this.fetched.push(r);
        }
        if (this.script.fetch) this.fetchNext();
        break;
      default:
        break;
    }
  }

  onTimer(ctx: NodeContext<KafkaMessage>, tag: string): void {
    if (tag === 'fetch-check') {
      // A fetch lost with a broken connection (or sent while the controller was down) is resent.
      if (this.script.fetch && ctx.now() - this.fetchSentAtMs > 2000) this.fetchNext();
      ctx.setTimer(1000, 'fetch-check');
    }
    if (tag === 'register-retry') {
      if (this.script.register && this.brokerEpoch < 0) this.registerNow();
      ctx.setTimer(250, 'register-retry');
    }
    if (tag === 'heartbeat') {
      if (this.script.heartbeat && this.brokerEpoch >= 0)
        this.send({
          type: 'BrokerHeartbeat',
          correlationId: this.nextCorrelation(),
          brokerId: this.id,
          brokerEpoch: this.brokerEpoch,
          metadataOffset: this.image.offset - 1,
          wantFence: false,
        });
      ctx.setTimer(this.script.heartbeatIntervalMs, 'heartbeat');
    }
  }

  onDisconnect(): void {
    if (this.script.fetch) this.fetchNext();
  }

  private fetchNext(): void {
    this.fetchCorrelation = this.correlation;
    this.fetchSentAtMs = this.ctx?.now() ?? 0;
    this.send({ type: 'MetadataFetch', correlationId: this.nextCorrelation(), brokerId: this.id, fromOffset: this.image.offset, maxWaitMs: 500 });
  }
}

export interface Cluster {
  readonly w: World;
  readonly config: KafkaConfig;
  readonly scripts: Map<number, BrokerScript>;
  controller(): Controller;
  broker(id: number): FakeBroker;
  partition(topic?: string, partition?: number): PartitionRegistration | undefined;
  /** Trace records of `kind` (the world records its trace). */
  traces(kind: string): { timeMs: number; node: string; fields: Record<string, unknown> }[];
}

export function cluster(
  options: {
    seed?: number;
    overrides?: Record<string, number | boolean | string>;
    topics?: ControllerTopic[];
    brokers?: number[];
    disk?: ConstructorParameters<typeof World>[0]['disk'];
  } = {},
): Cluster {
  const config = new KafkaConfig(options.overrides ?? {});
  const brokers = options.brokers ?? [1, 2, 3];
  const topics = options.topics ?? [{ name: 't', partitions: 1, replicationFactor: 3 }];
  const w = new World({
    seed: options.seed ?? 1,
    record: true,
    network: { link: { baseMs: 1, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } },
    ...(options.disk === undefined ? {} : { disk: options.disk }),
  });
  const scripts = new Map<number, BrokerScript>();
  w.addNode(CONTROLLER, () => new Controller({ config, topics, brokers }));
  for (const id of brokers) {
    const script: BrokerScript = {
      register: true,
      heartbeat: true,
      fetch: true,
      previousBrokerEpoch: -1,
      heartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
    };
    scripts.set(id, script);
    w.addNode(`b${id}`, () => new FakeBroker(id, script));
  }
  w.addInvariant(nothingUncommittedServed());
  const c: Cluster = {
    w,
    config,
    scripts,
    controller: () => {
      const n = w.nodeState<Controller>(CONTROLLER);
      if (n === undefined) throw new Error('controller is down');
      return n;
    },
    broker: (id) => {
      const n = w.nodeState<FakeBroker>(`b${id}`);
      if (n === undefined) throw new Error(`b${id} is down`);
      return n;
    },
    partition: (topic = 't', partition = 0) => c.controller().image.partition({ topic, partition }),
    traces: (kind) =>
      w.trace.recorded.filter((r) => r.kind === kind).map((r) => ({ timeMs: r.timeMs, node: r.node, fields: (r.fields ?? {}) as Record<string, unknown> })),
  };
  return c;
}

/**
 * Everything a broker received through MetadataFetch is in the controller's committed log, at the
 * same offsets, and stays there across controller restarts; every successful AlterPartition reply
 * describes a committed state.
 */
export function nothingUncommittedServed(): Invariant {
  /** Every record ever served, by offset (they must never change). */
  const served: string[] = [];
  return {
    name: 'NothingUncommittedServed',
    afterEvent: (w) => {
      const ctl = w.nodeState<Controller>(CONTROLLER);
      for (const name of w.nodeNames) {
        if (name === CONTROLLER) continue;
        const b = w.nodeState<FakeBroker>(name);
        if (b === undefined) continue;
        for (let i = 0; i < b.fetched.length; i++) {
          const s = JSON.stringify(b.fetched[i]);
          if (served[i] === undefined) served[i] = s;
          else if (served[i] !== s) return `${name} got record ${i} different from what another broker got`;
        }
        if (ctl === undefined || !ctl.isReady) continue;
        if (b.fetched.length > ctl.committedOffset) return `${name} has ${b.fetched.length} records, controller committed ${ctl.committedOffset}`;
        for (let i = 0; i < b.fetched.length; i++) {
          if (JSON.stringify(ctl.committedRecords[i]) !== JSON.stringify(b.fetched[i]))
            return `${name} record ${i} differs from the controller's committed record`;
        }
        for (const m of b.received) {
          if (m.type !== 'AlterPartitionResponse' || m.error !== 'NONE') continue;
          const p = ctl.image.partition(m);
          if (p === undefined || p.partitionEpoch < m.partitionEpoch)
            return `${name} was told of partition epoch ${m.partitionEpoch}, committed ${p?.partitionEpoch}`;
        }
      }
      for (let i = 0; ctl?.isReady && i < served.length && i < ctl.committedOffset; i++) {
        if (served[i] !== JSON.stringify(ctl.committedRecords[i])) return `served record ${i} was lost or changed by the controller`;
      }
      if (ctl?.isReady && served.length > ctl.committedOffset) return `served ${served.length} records, controller has ${ctl.committedOffset}`;
      return undefined;
    },
  };
}
