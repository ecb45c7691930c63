// Building a simulated Kafka cluster: one controller `c1`, brokers `b1…bN`, and client nodes, all
// on one World, with one configuration (Kafka's keys, `fix.*` included) shared by every node and
// per-client overrides. Also the readers that checkers need at the end of a run: what each
// replica's log holds, and the client history recorded through the trace.

import { Broker } from '../core/broker/broker.js';
import { Consumer } from '../core/client/consumer.js';
import { Producer } from '../core/client/producer.js';
import { type ConfigOverrides, KafkaConfig } from '../core/config.js';
import { Controller } from '../core/controller/controller.js';
import { HISTORY_TRACE_KIND, type HistoryOp, opFromTrace } from '../core/history.js';
import { decodeBatch } from '../core/log/batch.js';
import { brokerName, channelOf, type KafkaMessage, tpKey } from '../core/protocol.js';
import type { DiskConfig } from '../sim/disk.js';
import type { NetworkConfig } from '../sim/network.js';
import { World } from '../sim/world.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  /** Replica broker numbers per partition, preferred leader first. */
  assignment?: number[][];
}

export interface ProducerSpec {
  id: string;
  topic: string;
  ratePerSec?: number;
  partitions?: number[];
  ops?: { atMs: number; partition: number; value: string }[];
  stopAtMs?: number;
  config?: ConfigOverrides;
}

export interface ConsumerSpec {
  id: string;
  topic: string;
  partitions?: number[];
  config?: ConfigOverrides;
}

export interface ClusterSpec {
  seed: number;
  brokers: number;
  topics: TopicSpec[];
  config?: ConfigOverrides;
  producers?: ProducerSpec[];
  consumers?: ConsumerSpec[];
  record?: boolean;
  network?: Partial<NetworkConfig>;
  disk?: Partial<DiskConfig>;
}

export interface Cluster {
  world: World;
  config: KafkaConfig;
  brokers: string[];
  clients: string[];
  /** Every client operation so far, in order. */
  history: HistoryOp[];
}

export const CONTROLLER_NODE = 'c1';

export function buildCluster(spec: ClusterSpec): Cluster {
  const config = new KafkaConfig(spec.config ?? {});
  const world = new World({
    seed: spec.seed,
    record: spec.record ?? false,
    describeMessage: (m) => (m as KafkaMessage).type,
    channelOf: (m) => channelOf((m as KafkaMessage).type),
    ...(spec.network ? { network: spec.network } : {}),
    ...(spec.disk ? { disk: spec.disk } : {}),
  });
  const ids = Array.from({ length: spec.brokers }, (_, i) => i + 1);
  const brokers = ids.map(brokerName);
  world.addNode(CONTROLLER_NODE, () => new Controller({ config, topics: spec.topics, brokers: ids }));
  for (const id of ids) world.addNode(brokerName(id), () => new Broker({ id, config }));
  const clients: string[] = [];
  for (const p of spec.producers ?? []) {
    const c = p.config ? config.with(p.config) : config;
    world.addNode(p.id, () => new Producer({ config: c, topic: p.topic, bootstrap: brokers, ...optional(p, ['partitions', 'ratePerSec', 'ops', 'stopAtMs']) }));
    clients.push(p.id);
  }
  for (const k of spec.consumers ?? []) {
    const c = k.config ? config.with(k.config) : config;
    world.addNode(k.id, () => new Consumer({ config: c, topic: k.topic, bootstrap: brokers, ...optional(k, ['partitions']) }));
    clients.push(k.id);
  }
  const history: HistoryOp[] = [];
  world.trace.subscribe((r) => {
    if (r.kind === HISTORY_TRACE_KIND && r.fields !== undefined) history.push(opFromTrace(r.node, r.fields));
  });
  return { world, config, brokers, clients, history };
}

function optional<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The records a broker's replica of a partition holds now, in offset order (undefined if it has none). */
export function replicaRecords(
  world: World,
  broker: string,
  topic: string,
  partition: number,
): { offset: number; value: string | null; epoch: number }[] | undefined {
  const b = world.nodeState<Broker>(broker);
  const log = b?.logs.get(tpKey({ topic, partition }));
  if (log === undefined) return undefined;
  const out: { offset: number; value: string | null; epoch: number }[] = [];
  for (const batch of log.batches) {
    const d = decodeBatch(batch.bytes, 0);
    if (d.kind !== 'batch') throw new Error(`${broker} ${topic}-${partition}: undecodable batch at ${batch.baseOffset} in memory`);
    d.batch.records.forEach((r, i) => {
      out.push({ offset: batch.baseOffset + i, value: r.value, epoch: batch.partitionLeaderEpoch });
    });
  }
  return out;
}
