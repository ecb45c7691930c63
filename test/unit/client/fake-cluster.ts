// Scripted fake brokers and controller for the client tests: just enough of Kafka's answers to
// Metadata, InitProducerId, Produce, Fetch, ListOffsets and OffsetsForLeaderEpoch, with the
// cluster state (leaders, epochs, each broker's log) in one object a test changes directly.
import { HISTORY_TRACE_KIND, type HistoryOp, opFromTrace } from '../../../core/history.js';
import { decodeBatch, encodeBatch, makeBatch } from '../../../core/log/batch.js';
import type { Node, NodeContext, TimerId } from '../../../core/ports.js';
import {
  brokerIdOf,
  brokerName,
  type ErrorCode,
  type FetchedPartition,
  type FetchRequest,
  type KafkaMessage,
  type ProduceRequest,
  type ProduceResponse,
} from '../../../core/protocol.js';
import { World } from '../../../sim/world.js';

export interface FakeRecord {
  value: string;
  /** Leader epoch the record was written in. */
  epoch: number;
  /** Offset of the first record of the batch it came in. */
  batchBase: number;
  producerId: number;
  producerEpoch: number;
  sequence: number;
}

export interface ProduceSeen {
  broker: string;
  from: string;
  atMs: number;
  partition: number;
  acks: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  values: string[];
}

/**
 * What a produce hook decides: answer normally; stay silent (`drop`: nothing appended;
 * `append-and-drop`: appended, the answer never sent); or answer with an error (appended only
 * with `append: true`).
 */
export type ProduceDecision = 'default' | 'drop' | 'append-and-drop' | { error: ErrorCode; append?: boolean };

export class FakeCluster {
  readonly topic = 't';
  readonly brokers: number[];
  partitions = 1;
  readonly leaders = new Map<number, { leader: number; epoch: number }>();
  /** Each broker's log of each partition: `b1/0`. */
  readonly logs = new Map<string, FakeRecord[]>();
  logStartOffset = 0;
  readonly produced: ProduceSeen[] = [];
  readonly fetches: { broker: string; partition: number; fetchOffset: number; currentLeaderEpoch: number; atMs: number }[] = [];
  readonly requests: { node: string; from: string; type: string; atMs: number }[] = [];
  /** Peak of produce requests a client had outstanding at one broker. */
  readonly peakProduceInFlight = new Map<string, number>();
  produceHook: ((req: ProduceRequest, broker: string, seen: ProduceSeen) => ProduceDecision) | undefined;
  /** Delay before a broker answers a produce request. */
  produceDelayMs = 0;
  /** Metadata answers LEADER_NOT_AVAILABLE (leader -1) for these partitions. */
  readonly leaderless = new Set<number>();
  nextProducerId = 1000;
  /** Brokers validate producer epochs and sequences (docs/notes/kafka-data-plane.md §5.2). */
  checkSequences = false;
  /** Per broker, partition and producer id: the epoch and last sequence appended. */
  readonly producerState = new Map<string, { epoch: number; lastSeq: number }>();
  world: World | undefined;

  constructor(brokerCount = 3) {
    this.brokers = Array.from({ length: brokerCount }, (_, i) => i + 1);
  }

  setLeader(partition: number, leader: number, epoch: number): void {
    this.leaders.set(partition, { leader, epoch });
  }

  leaderOf(partition: number): { leader: number; epoch: number } {
    return this.leaders.get(partition) ?? { leader: 1, epoch: 0 };
  }

  /** A broker's own (possibly lagging) view of a partition's leadership, if one was set. */
  readonly views = new Map<string, { leader: number; epoch: number }>();

  viewOf(broker: number, partition: number): { leader: number; epoch: number } {
    return this.views.get(`${brokerName(broker)}/${partition}`) ?? this.leaderOf(partition);
  }

  log(broker: number, partition: number): FakeRecord[] {
    const k = `${brokerName(broker)}/${partition}`;
    let l = this.logs.get(k);
    if (l === undefined) this.logs.set(k, (l = []));
    return l;
  }

  /** Append values as batches of `batchSize` records in `epoch` to a broker's log. */
  fill(broker: number, partition: number, values: string[], epoch: number, batchSize = values.length): void {
    const l = this.log(broker, partition);
    for (let i = 0; i < values.length; i += batchSize) {
      const base = l.length;
      for (const value of values.slice(i, i + batchSize)) l.push({ value, epoch, batchBase: base, producerId: -1, producerEpoch: -1, sequence: -1 });
    }
  }
}

/** A broker that answers from the FakeCluster's state. */
export class FakeBroker implements Node<KafkaMessage> {
  private ctx!: NodeContext<KafkaMessage>;
  private id = 0;
  private readonly callbacks = new Map<TimerId, () => void>();
  private readonly outstanding = new Map<string, number>();

  constructor(private readonly cluster: FakeCluster) {}

  start(ctx: NodeContext<KafkaMessage>): void {
    this.ctx = ctx;
    this.id = brokerIdOf(ctx.name);
  }

  onTimer(_ctx: NodeContext<KafkaMessage>, _tag: string, id: TimerId): void {
    const fn = this.callbacks.get(id);
    this.callbacks.delete(id);
    fn?.();
  }

  private later(delayMs: number, fn: () => void): void {
    this.callbacks.set(this.ctx.setTimer(delayMs, 'fake'), fn);
  }

  onMessage(ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    const c = this.cluster;
    c.requests.push({ node: ctx.name, from, type: msg.type, atMs: ctx.now() });
    switch (msg.type) {
      case 'Metadata':
        ctx.send(from, {
          type: 'MetadataResponse',
          correlationId: msg.correlationId,
          brokers: [...c.brokers],
          topics: [
            {
              name: c.topic,
              partitions: Array.from({ length: c.partitions }, (_, p) => {
                const l = c.leaderOf(p);
                const none = c.leaderless.has(p);
                return {
                  partition: p,
                  error: none ? ('LEADER_NOT_AVAILABLE' as const) : ('NONE' as const),
                  leader: none ? -1 : l.leader,
                  leaderEpoch: l.epoch,
                  replicas: [...c.brokers],
                  isr: [...c.brokers],
                };
              }),
            },
          ],
        });
        return;
      case 'Produce':
        this.produce(from, msg);
        return;
      case 'Fetch':
        this.fetch(from, msg, ctx.now() + msg.maxWaitMs);
        return;
      case 'ListOffsets': {
        const l = c.leaderOf(msg.partition);
        const error = this.leaderError(msg.partition, msg.currentLeaderEpoch);
        const offset = msg.timestamp === 'earliest' ? c.logStartOffset : c.log(this.id, msg.partition).length;
        ctx.send(from, {
          type: 'ListOffsetsResponse',
          correlationId: msg.correlationId,
          error,
          topic: msg.topic,
          partition: msg.partition,
          offset,
          leaderEpoch: l.epoch,
        });
        return;
      }
      case 'OffsetsForLeaderEpoch': {
        const l = c.leaderOf(msg.partition);
        const error = this.leaderError(msg.partition, msg.currentLeaderEpoch);
        const log = c.log(this.id, msg.partition);
        let leaderEpoch = -1;
        let endOffset = -1;
        if (msg.leaderEpoch === l.epoch) {
          leaderEpoch = l.epoch;
          endOffset = log.length;
        } else {
          for (const r of log) if (r.epoch <= msg.leaderEpoch) leaderEpoch = Math.max(leaderEpoch, r.epoch);
          if (leaderEpoch >= 0) {
            const i = log.findIndex((r) => r.epoch > leaderEpoch);
            endOffset = i < 0 ? log.length : i;
          }
        }
        ctx.send(from, {
          type: 'OffsetsForLeaderEpochResponse',
          correlationId: msg.correlationId,
          error,
          topic: msg.topic,
          partition: msg.partition,
          leaderEpoch,
          endOffset,
        });
        return;
      }
      default:
        throw new Error(`fake broker: unexpected ${msg.type}`);
    }
  }

  private leaderError(partition: number, currentLeaderEpoch: number): ErrorCode {
    const l = this.cluster.viewOf(this.id, partition);
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < l.epoch) return 'FENCED_LEADER_EPOCH';
    if (currentLeaderEpoch > l.epoch) return 'UNKNOWN_LEADER_EPOCH';
    if (l.leader !== this.id) return 'NOT_LEADER_OR_FOLLOWER';
    return 'NONE';
  }

  private produce(from: string, req: ProduceRequest): void {
    const c = this.cluster;
    const d = decodeBatch(req.batch, 0);
    if (d.kind !== 'batch') throw new Error(`fake broker: bad produce batch ${d.kind}`);
    const b = d.batch;
    const seen: ProduceSeen = {
      broker: this.ctx.name,
      from,
      atMs: this.ctx.now(),
      partition: req.partition,
      acks: req.acks,
      producerId: b.producerId,
      producerEpoch: b.producerEpoch,
      baseSequence: b.baseSequence,
      values: b.records.map((r) => r.value ?? ''),
    };
    c.produced.push(seen);
    const key = `${from}->${this.ctx.name}`;
    const n = (this.outstanding.get(key) ?? 0) + 1;
    this.outstanding.set(key, n);
    c.peakProduceInFlight.set(key, Math.max(c.peakProduceInFlight.get(key) ?? 0, n));
    const decision = c.produceHook?.(req, this.ctx.name, seen) ?? 'default';
    const respond = (error: ErrorCode, baseOffset: number) => {
      const r: ProduceResponse = { type: 'ProduceResponse', correlationId: req.correlationId, topic: req.topic, partition: req.partition, error, baseOffset };
      this.later(c.produceDelayMs, () => {
        this.outstanding.set(key, (this.outstanding.get(key) ?? 1) - 1);
        if (req.acks !== 0 && decision !== 'append-and-drop') this.ctx.send(from, r);
      });
    };
    if (decision === 'drop') {
      this.later(c.produceDelayMs, () => this.outstanding.set(key, (this.outstanding.get(key) ?? 1) - 1));
      return;
    }
    if (typeof decision === 'object' && decision.append !== true) {
      respond(decision.error, -1);
      return;
    }
    const error = this.leaderError(req.partition, -1);
    if (error !== 'NONE') {
      respond(error, -1);
      return;
    }
    const log = c.log(this.id, req.partition);
    // Idempotence: a batch already in the log (same producer, epoch and sequence) is a duplicate.
    if (b.producerId >= 0) {
      const dup = log.find((r) => r.producerId === b.producerId && r.producerEpoch === b.producerEpoch && r.sequence === b.baseSequence);
      if (dup !== undefined) {
        respond('NONE', log.indexOf(dup));
        return;
      }
    }
    if (c.checkSequences && b.producerId >= 0) {
      const st = c.producerState.get(`${this.ctx.name}/${req.partition}/${b.producerId}`);
      let refuse: ErrorCode | undefined;
      if (st !== undefined && b.producerEpoch < st.epoch) refuse = 'INVALID_PRODUCER_EPOCH';
      else if (st !== undefined && b.producerEpoch > st.epoch && b.baseSequence !== 0) refuse = 'OUT_OF_ORDER_SEQUENCE_NUMBER';
      else if (st !== undefined && b.producerEpoch === st.epoch && b.baseSequence !== st.lastSeq + 1) refuse = 'OUT_OF_ORDER_SEQUENCE_NUMBER';
      if (refuse !== undefined) {
        respond(refuse, -1);
        return;
      }
      c.producerState.set(`${this.ctx.name}/${req.partition}/${b.producerId}`, { epoch: b.producerEpoch, lastSeq: b.baseSequence + b.records.length - 1 });
    }
    const base = log.length;
    const epoch = c.leaderOf(req.partition).epoch;
    b.records.forEach((r, i) => {
      log.push({ value: r.value ?? '', epoch, batchBase: base, producerId: b.producerId, producerEpoch: b.producerEpoch, sequence: b.baseSequence + i });
    });
    respond(typeof decision === 'object' ? decision.error : 'NONE', base);
  }

  private fetch(from: string, req: FetchRequest, deadlineMs: number): void {
    const c = this.cluster;
    const parts: FetchedPartition[] = req.partitions.map((fp) => {
      const log = c.log(this.id, fp.partition);
      const base = {
        topic: fp.topic,
        partition: fp.partition,
        highWatermark: log.length,
        logStartOffset: c.logStartOffset,
        logEndOffset: log.length,
        records: [] as Uint8Array[],
      };
      const error = this.leaderError(fp.partition, fp.currentLeaderEpoch);
      if (error !== 'NONE') return { ...base, error };
      if (fp.fetchOffset < c.logStartOffset || fp.fetchOffset > log.length) return { ...base, error: 'OFFSET_OUT_OF_RANGE' as const };
      const records: Uint8Array[] = [];
      let i = fp.fetchOffset < log.length ? (log[fp.fetchOffset] as FakeRecord).batchBase : log.length;
      while (i < log.length) {
        const first = log[i] as FakeRecord;
        const recs: FakeRecord[] = [];
        while (i < log.length && (log[i] as FakeRecord).batchBase === first.batchBase && (log[i] as FakeRecord).epoch === first.epoch)
          recs.push(log[i++] as FakeRecord);
        const batch = makeBatch(recs.map((r) => ({ key: null, value: r.value, timestampMs: 0 })));
        records.push(encodeBatch({ ...batch, baseOffset: first.batchBase, partitionLeaderEpoch: first.epoch }));
      }
      return { ...base, error: 'NONE' as const, records };
    });
    const empty = parts.every((p) => p.error === 'NONE' && p.records.length === 0);
    if (empty && this.ctx.now() < deadlineMs) {
      // Long poll: look again a little later, until the deadline.
      this.later(Math.min(10, deadlineMs - this.ctx.now()), () => this.fetch(from, req, deadlineMs));
      return;
    }
    for (const fp of req.partitions) {
      c.fetches.push({
        broker: this.ctx.name,
        partition: fp.partition,
        fetchOffset: fp.fetchOffset,
        currentLeaderEpoch: fp.currentLeaderEpoch,
        atMs: this.ctx.now(),
      });
    }
    this.ctx.send(from, { type: 'FetchResponse', correlationId: req.correlationId, partitions: parts });
  }
}

/** A controller that only hands out producer ids. */
export class FakeController implements Node<KafkaMessage> {
  constructor(private readonly cluster: FakeCluster) {}
  start(): void {}
  onTimer(): void {}
  onMessage(ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    this.cluster.requests.push({ node: ctx.name, from, type: msg.type, atMs: ctx.now() });
    if (msg.type !== 'InitProducerId') throw new Error(`fake controller: unexpected ${msg.type}`);
    ctx.send(from, {
      type: 'InitProducerIdResponse',
      correlationId: msg.correlationId,
      error: 'NONE',
      producerId: this.cluster.nextProducerId++,
      producerEpoch: 0,
    });
  }
}

/** A world with the fake brokers b1..bN and controller c1, and fixed 1 ms links. */
export function fakeWorld(cluster: FakeCluster, seed = 1): World {
  const w = new World({ seed, record: true, network: { link: { baseMs: 1, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 }, resetDetectMs: [1, 1] } });
  for (const id of cluster.brokers) w.addNode(brokerName(id), () => new FakeBroker(cluster));
  w.addNode('c1', () => new FakeController(cluster));
  cluster.world = w;
  return w;
}

/** The client history recorded in the world's trace. */
export function historyOf(w: World, process?: string): HistoryOp[] {
  return w.trace.recorded
    .filter((r) => r.kind === HISTORY_TRACE_KIND && (process === undefined || r.node === process))
    .map((r) => opFromTrace(r.node, r.fields ?? {}));
}

export function traceOf(w: World, kind: string, node?: string) {
  return w.trace.recorded.filter((r) => r.kind === kind && (node === undefined || r.node === node));
}

/**
 * Problems with a history: a completion without an outstanding invoke of the same value (sends)
 * or partition (polls), a value invoked twice, or a value completed twice.
 */
export function historyProblems(ops: readonly HistoryOp[]): string[] {
  const problems: string[] = [];
  const invoked = new Set<string>();
  const completed = new Set<string>();
  const pollsOpen = new Map<string, number>();
  for (const op of ops) {
    if (op.f === 'send') {
      const k = `${op.process}/${op.value}`;
      if (op.value === undefined) problems.push(`send ${op.type} without a value`);
      if (op.type === 'invoke') {
        if (invoked.has(k)) problems.push(`value ${op.value} invoked twice`);
        invoked.add(k);
      } else {
        if (!invoked.has(k)) problems.push(`${op.type} of ${op.value} without an invoke`);
        if (completed.has(k)) problems.push(`value ${op.value} completed twice`);
        completed.add(k);
        if (op.type === 'ok' && op.offset !== undefined && !(op.offset >= 0)) problems.push(`ok of ${op.value} with offset ${op.offset}`);
      }
    } else {
      const k = `${op.process}/${op.topic}-${op.partition}`;
      const open = pollsOpen.get(k) ?? 0;
      if (op.type === 'invoke') pollsOpen.set(k, open + 1);
      else {
        if (open === 0) problems.push(`poll ${op.type} on ${k} without an invoke`);
        pollsOpen.set(k, open - 1);
        if (op.type === 'ok' && (op.values?.length ?? -1) !== (op.offsets?.length ?? -2)) problems.push(`poll ok on ${k} with mismatched values and offsets`);
      }
    }
  }
  return problems;
}
