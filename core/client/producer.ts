// A Kafka producer client node with a built-in workload, after KafkaProducer, RecordAccumulator,
// Sender and TransactionManager (clients/src/main/java/org/apache/kafka/clients/producer/internals/,
// 4.x; docs/notes/kafka-data-plane.md §5).
//
// Workload: unique values (`<node>-<incarnation tag>-<n>`, the tag drawn from the node's random
// stream, so a restarted producer never reuses one), round-robin over the partitions with Poisson
// arrivals at `ratePerSec`, plus explicit `ops` at their times, until `stopAtMs`. Each value is
// recorded in the history (core/history.ts) as `invoke` when it is handed to the producer, then
// `ok` with its offset, `fail` (certainly not written) or `info` (maybe written).
//
// Kafka semantics modelled:
// - Batching per partition: a batch is sent when full (batch.size, or another batch is queued
//   behind it), when linger.ms has passed, or when its retry back-off has.
// - At most max.in.flight.requests.per.connection requests per broker; with 1, a partition is
//   muted while its batch is in flight (guaranteeMessageOrder).
// - acks 0/1/all; acks=0 sends expect no response and complete at once, as ok with no offset.
// - Retries of retriable errors with exponential back-off, up to `retries`, within
//   delivery.timeout.ms (which also expires batches waiting or in flight); metadata refresh on
//   METADATA_ERRORS and disconnections, so a retry goes to the new leader.
// - Idempotence (enable.idempotence, effective only with acks=all, max.in.flight ≤ 5, retries > 0,
//   as Kafka silently drops a defaulted idempotence that conflicts): a producer id and epoch from
//   InitProducerId (sent to the controller), a sequence per partition; a batch keeps its
//   sequence across retries; a retried batch is sent only when it is the first unacknowledged
//   one of its partition (RecordAccumulator.shouldStopDrainBatchesForPartition).
// - OUT_OF_ORDER_SEQUENCE_NUMBER, as in Kafka 4.x's idempotent (non-transactional) producer
//   (TransactionManager.canRetry): always retried; when the batch is the next one after the last
//   acknowledged sequence (a real gap: the broker lost acknowledged state), the producer bumps its
//   epoch LOCALLY (bumpIdempotentProducerEpoch — no InitProducerId; a new id only when the epoch
//   would overflow) and restarts that partition's unacknowledged batches at sequence 0. Other
//   partitions move to the new epoch at sequence 0 once their in-flight batches are done
//   (maybeUpdateProducerIdAndEpoch). A batch that fails for good after being sent leaves its
//   partition's sequences "unresolved": no new batch is sent there until the in-flight ones end,
//   then the epoch is bumped unless the last acknowledged sequence closes the gap
//   (maybeResolveSequences). A non-retriable error bumps the epoch too (handleFailedBatch).
//   Re-sequencing a batch that may have been written can duplicate it, as in Kafka.
//
// History is conservative: a value is `fail` only if no attempt of its batch can have been
// appended — never sent, or every attempt answered with an error that the broker returns before
// appending (NOT_ENOUGH_REPLICAS, OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH,
// CORRUPT_MESSAGE, INVALID_REQUEST). After a timeout, a disconnection or any other error, it is
// `info`. One value gets at most one completion.
//
// Simplifications: one batch per Produce request (Kafka packs a batch per partition into one
// request per broker), so max.in.flight counts batches; no max.block.ms or buffer.memory;
// no KIP-951 leader hints in responses; UNKNOWN_PRODUCER_ID does not exist in the protocol; a
// batch that exhausts its retries marks its sequence unresolved like an expired one.

import type { KafkaConfig } from '../config.js';
import { HISTORY_TRACE_KIND, type HistoryOp, opFields } from '../history.js';
import { encodeBatch, makeBatch } from '../log/batch.js';
import type { Node, NodeContext, StartReason, TimerId } from '../ports.js';
import { type Acks, type KafkaMessage, METADATA_ERRORS } from '../protocol.js';
import { Timers } from '../rpc.js';
import { type ClientError, NetworkClient, type Outcome } from './network-client.js';

export interface ProducerOptions {
  config: KafkaConfig;
  topic: string;
  /** Partitions to write to, round-robin (default: every partition the metadata shows). */
  partitions?: number[];
  /** Mean values per second, Poisson arrivals (default: none; only `ops`). */
  ratePerSec?: number;
  /** Explicit sends at local times; each value must be unique across the run. */
  ops?: { atMs: number; partition: number; value: string }[];
  /** Generate no value at or after this local time (in-flight ones still complete). */
  stopAtMs?: number;
  /** Brokers for the first metadata request (default ['b1']). */
  bootstrap?: string[];
  /** The node that answers InitProducerId (default 'c1'). */
  controller?: string;
}

/** Errors after which the producer retries a batch (Kafka's RetriableException family). */
const RETRIABLE: ReadonlySet<ClientError> = new Set<ClientError>([
  'NOT_LEADER_OR_FOLLOWER',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'REQUEST_TIMED_OUT',
  'DISCONNECTED',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'KAFKA_STORAGE_ERROR',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'CORRUPT_MESSAGE',
]);

/** Errors a broker returns only when it did not append the batch. */
const NOT_APPENDED: ReadonlySet<ClientError> = new Set<ClientError>([
  'NOT_ENOUGH_REPLICAS',
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'CORRUPT_MESSAGE',
  'INVALID_REQUEST',
]);

/** DefaultRecordBatch.RECORD_BATCH_OVERHEAD, and a record's framing estimate (DefaultRecord). */
const BATCH_OVERHEAD_BYTES = 61;
const RECORD_OVERHEAD_BYTES = 8;
const MAX_PRODUCER_EPOCH = 32_767;

interface ProducerBatch {
  readonly id: number;
  readonly partition: number;
  readonly values: string[];
  readonly timestampsMs: number[];
  sizeBytes: number;
  readonly createdMs: number;
  /** No more records are added (it was drained, or a newer batch follows it). */
  closed: boolean;
  producerId: number;
  producerEpoch: number;
  /** -1 until the batch is drained for the first time (idempotence only). */
  baseSequence: number;
  sequenceReset: boolean;
  /** Retries so far (Kafka's ProducerBatch.attempts). */
  attempts: number;
  sends: number;
  retryAtMs: number;
  /** The correlation id of the attempt in flight, if any. */
  inFlight: number | undefined;
  /** Some attempt may have been appended. */
  maybeWritten: boolean;
  done: boolean;
}

interface PartitionState {
  readonly partition: number;
  /** Batches waiting to be sent, oldest first; retried batches go back in sequence order. */
  readonly queue: ProducerBatch[];
  muted: boolean;
  // Idempotence (TxnPartitionEntry)
  producerEpoch: number;
  nextSequence: number;
  lastAckedSequence: number;
  /** Sequenced batches not yet completed, by base sequence (the "in-flight batches"). */
  incomplete: ProducerBatch[];
  unresolved: boolean;
}

export class Producer implements Node<KafkaMessage> {
  private readonly config: KafkaConfig;
  private readonly topic: string;
  private readonly options: ProducerOptions;
  private readonly acks: Acks;
  private readonly idempotent: boolean;
  private readonly lingerMs: number;
  private readonly batchSizeBytes: number;
  private readonly retries: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxInFlight: number;

  private ctx!: NodeContext<KafkaMessage>;
  private timers!: Timers;
  private net!: NetworkClient;
  private tag = '';
  private valueCounter = 0;
  private batchCounter = 0;
  private rrIndex = 0;
  private drainStart = 0;
  private generating = false;
  private readonly parts = new Map<number, PartitionState>();
  /** The keys of `parts`, ascending (kept sorted as partitions are added; the sender walks them each run). */
  private readonly partIds: number[] = [];
  /** Batches with a request in flight (answered or not yet). */
  private readonly sentBatches = new Set<ProducerBatch>();
  private wakeTimer: TimerId | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;

  // Idempotence (TransactionManager)
  private producerId = -1;
  private producerEpoch = -1;
  private initInFlight = false;
  private initAttempts = 0;
  private initRetryAtMs = 0;
  private epochBumpRequired = false;
  private readonly partitionsToRewrite = new Set<number>();

  /** Counts of history completions, for tests and reports. */
  readonly stats = { invoked: 0, ok: 0, fail: 0, info: 0 };

  constructor(options: ProducerOptions) {
    this.options = options;
    this.config = options.config;
    this.topic = options.topic;
    const acks = this.config.str('acks');
    this.acks = acks === '0' ? 0 : acks === '1' ? 1 : -1;
    this.lingerMs = this.config.int('linger.ms');
    this.batchSizeBytes = this.config.int('batch.size');
    this.retries = this.config.int('retries');
    this.maxInFlight = this.config.int('max.in.flight.requests.per.connection');
    this.idempotent = this.config.bool('enable.idempotence') && this.acks === -1 && this.maxInFlight <= 5 && this.retries > 0;
    // ProducerConfig: delivery.timeout.ms ≥ linger.ms + request.timeout.ms; an explicit smaller
    // value is a configuration error, a defaulted one is raised to the sum.
    const minDelivery = this.lingerMs + this.config.int('request.timeout.ms');
    const delivery = this.config.int('delivery.timeout.ms');
    if (delivery < minDelivery && 'delivery.timeout.ms' in this.config.changed) {
      throw new Error(`delivery.timeout.ms ${delivery} must be at least linger.ms + request.timeout.ms = ${minDelivery}`);
    }
    this.deliveryTimeoutMs = Math.max(delivery, minDelivery);
    if (options.ratePerSec !== undefined && !(options.ratePerSec > 0)) throw new Error(`Producer: ratePerSec must be positive, got ${options.ratePerSec}`);
    if (options.partitions !== undefined && options.partitions.length === 0) throw new Error('Producer: empty partition list');
  }

  /** The producer id and epoch in use (-1 before InitProducerId, or without idempotence). */
  get producerIdAndEpoch(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  /** Whether idempotence is in effect (enable.idempotence and compatible settings). */
  get isIdempotent(): boolean {
    return this.idempotent;
  }

  start(ctx: NodeContext<KafkaMessage>, reason: StartReason): void {
    this.ctx = ctx;
    this.timers = new Timers(ctx);
    this.net = new NetworkClient(ctx, this.timers, { config: this.config, topics: [this.topic], bootstrap: this.options.bootstrap ?? ['b1'] });
    this.tag = ctx.random.int(0, 36 ** 8 - 1).toString(36);
    ctx.trace('producer.start', { tag: this.tag, idempotent: this.idempotent, acks: this.acks, reason });
    this.net.onMetadataUpdate(() => this.runSender());
    this.net.start();
    const now = ctx.now();
    for (const op of this.options.ops ?? []) {
      // After a restart, ops whose time has come were handed to the previous incarnation.
      if (op.atMs < now || (reason === 'restart' && op.atMs === now)) continue;
      if (this.options.stopAtMs !== undefined && op.atMs >= this.options.stopAtMs) continue;
      this.timers.set(op.atMs - now, 'produce.op', () => this.send(op.partition, op.value));
    }
    if (this.options.ratePerSec !== undefined) {
      this.generating = true;
      this.scheduleNextValue();
    }
    if (this.idempotent) this.initProducerId();
  }

  onMessage(_ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    this.net.handleResponse(from, msg);
    this.runSender();
  }

  onTimer(_ctx: NodeContext<KafkaMessage>, _tag: string, id: TimerId): void {
    this.timers.fire(id);
    this.runSender();
  }

  onDisconnect(_ctx: NodeContext<KafkaMessage>, peer: string): void {
    this.net.onDisconnect(peer);
    this.runSender();
  }

  // -------------------------------------------------------------------------------------------
  // Workload

  private scheduleNextValue(): void {
    const meanMs = 1000 / (this.options.ratePerSec as number);
    const gapMs = -meanMs * Math.log(1 - this.ctx.random.next());
    this.timers.set(gapMs, 'produce.next', () => {
      if (this.options.stopAtMs !== undefined && this.ctx.now() >= this.options.stopAtMs) {
        this.generating = false;
        return;
      }
      const partitions = this.options.partitions ?? this.net.partitionsOf(this.topic);
      if (partitions !== undefined && partitions.length > 0) {
        const partition = partitions[this.rrIndex++ % partitions.length] as number;
        this.send(partition, `${this.ctx.name}-${this.tag}-${this.valueCounter++}`);
      }
      this.scheduleNextValue();
    });
  }

  /** Whether the workload still generates values. */
  get isGenerating(): boolean {
    return this.generating;
  }

  /** KafkaProducer.send: the value joins its partition's open batch (or a new one). */
  private send(partition: number, value: string): void {
    const now = Math.floor(this.ctx.now());
    this.stats.invoked++;
    this.history({ f: 'send', type: 'invoke', topic: this.topic, partition, value });
    const p = this.partition(partition);
    const recordBytes = RECORD_OVERHEAD_BYTES + value.length;
    const last = p.queue[p.queue.length - 1];
    if (last !== undefined && !last.closed && last.sizeBytes + recordBytes <= this.batchSizeBytes) {
      last.values.push(value);
      last.timestampsMs.push(now);
      last.sizeBytes += recordBytes;
      return;
    }
    if (last !== undefined) last.closed = true;
    p.queue.push({
      id: this.batchCounter++,
      partition,
      values: [value],
      timestampsMs: [now],
      sizeBytes: BATCH_OVERHEAD_BYTES + recordBytes,
      createdMs: now,
      closed: false,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      sequenceReset: false,
      attempts: 0,
      sends: 0,
      retryAtMs: 0,
      inFlight: undefined,
      maybeWritten: false,
      done: false,
    });
  }

  private partition(partition: number): PartitionState {
    let p = this.parts.get(partition);
    if (p === undefined) {
      p = { partition, queue: [], muted: false, producerEpoch: -1, nextSequence: 0, lastAckedSequence: -1, incomplete: [], unresolved: false };
      this.parts.set(partition, p);
      this.partIds.push(partition);
      this.partIds.sort((a, b) => a - b);
    }
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // InitProducerId

  private initProducerId(): void {
    if (this.initInFlight) return;
    const now = this.ctx.now();
    if (now < this.initRetryAtMs) {
      this.timers.set(this.initRetryAtMs - now, 'init-producer-id-retry', () => this.initProducerId());
      return;
    }
    this.initInFlight = true;
    this.net.send<'InitProducerId'>(this.options.controller ?? 'c1', { type: 'InitProducerId' }, (o) => {
      this.initInFlight = false;
      if (o.ok && o.response.error === 'NONE') {
        this.initAttempts = 0;
        this.producerId = o.response.producerId;
        this.producerEpoch = o.response.producerEpoch;
        this.ctx.trace('producer.init', { producerId: this.producerId, producerEpoch: this.producerEpoch });
        return;
      }
      this.ctx.trace('producer.init-failed', { error: o.ok ? o.response.error : o.error });
      this.initRetryAtMs = this.ctx.now() + this.net.backoffMs(this.initAttempts++);
      this.initProducerId();
    });
  }

  // -------------------------------------------------------------------------------------------
  // The sender loop (Sender.runOnce): expire, resolve sequences, bump the epoch, drain.

  private runSender(): void {
    const now = this.ctx.now();
    let wakeAtMs = Number.POSITIVE_INFINITY;
    this.expireBatches(now);
    if (this.idempotent) {
      this.maybeResolveSequences();
      this.maybeBumpEpoch();
    }
    const ids = this.partIds;
    if (ids.length > 0) {
      // Rotate the starting partition so no partition starves the others of in-flight slots.
      const start = this.drainStart++ % ids.length;
      let progress = true;
      while (progress) {
        progress = false;
        for (let i = 0; i < ids.length; i++) {
          const p = this.parts.get(ids[(start + i) % ids.length] as number) as PartitionState;
          const r = this.drainOne(p, now);
          if (r === 'sent') progress = true;
          else if (typeof r === 'number') wakeAtMs = Math.min(wakeAtMs, r);
        }
      }
    }
    for (const b of this.sentBatches) if (!b.done) wakeAtMs = Math.min(wakeAtMs, b.createdMs + this.deliveryTimeoutMs);
    for (const p of this.parts.values()) {
      for (const b of p.queue) wakeAtMs = Math.min(wakeAtMs, b.createdMs + this.deliveryTimeoutMs);
      for (const b of p.incomplete) wakeAtMs = Math.min(wakeAtMs, b.createdMs + this.deliveryTimeoutMs);
    }
    this.scheduleWake(wakeAtMs);
  }

  /** Send the partition's first batch if it may go now: 'sent', a time to look again, or 'wait' (for an event). */
  private drainOne(p: PartitionState, now: number): 'sent' | 'wait' | number {
    const first = p.queue[0];
    if (first === undefined || p.muted) return 'wait';
    // RecordAccumulator.ready: full, lingered, or its retry back-off is over.
    if (first.attempts > 0) {
      if (now < first.retryAtMs) return first.retryAtMs;
    } else if (!first.closed && p.queue.length === 1 && now < first.createdMs + this.lingerMs) {
      return first.createdMs + this.lingerMs;
    }
    const leader = this.net.leaderFor(this.topic, p.partition);
    if (leader === undefined) {
      this.net.requestMetadataUpdate('no leader');
      return 'wait';
    }
    if (!this.net.isReady(leader.node) || this.net.inFlightCount(leader.node) >= this.maxInFlight) return 'wait';
    if (this.idempotent && this.shouldStopDrain(first, p)) return 'wait';
    p.queue.shift();
    first.closed = true;
    if (this.idempotent && first.baseSequence < 0) {
      this.maybeUpdateProducerIdAndEpoch(p);
      first.producerId = this.producerId;
      first.producerEpoch = this.producerEpoch;
      first.baseSequence = p.nextSequence;
      p.nextSequence += first.values.length;
      p.incomplete.push(first);
    }
    this.sendBatch(first, leader.node);
    return 'sent';
  }

  private sendBatch(batch: ProducerBatch, node: string): void {
    const records = batch.values.map((value, i) => ({ key: null, value, timestampMs: batch.timestampsMs[i] as number }));
    const producer =
      batch.baseSequence >= 0 ? { producerId: batch.producerId, producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence } : undefined;
    const bytes = encodeBatch(makeBatch(records, producer));
    batch.sends++;
    const body = {
      type: 'Produce' as const,
      acks: this.acks,
      timeoutMs: this.config.int('request.timeout.ms'),
      topic: this.topic,
      partition: batch.partition,
      batch: bytes,
    };
    if (this.acks === 0) {
      // No response will come: the send completes as soon as it is handed to the network.
      this.net.send<'Produce'>(node, body, () => {}, { expectResponse: false });
      this.completeBatch(batch, -1);
      return;
    }
    const p = this.partition(batch.partition);
    if (this.maxInFlight === 1) p.muted = true;
    this.sentBatches.add(batch);
    batch.inFlight = this.net.send<'Produce'>(node, body, (o) => this.onProduceOutcome(batch, o));
  }

  private onProduceOutcome(batch: ProducerBatch, o: Outcome<'Produce'>): void {
    batch.inFlight = undefined;
    this.sentBatches.delete(batch);
    const p = this.partition(batch.partition);
    p.muted = false;
    if (batch.done) return; // expired while in flight: the answer comes too late
    const error: ClientError = o.ok ? o.response.error : o.error;
    if (error === 'NONE' && o.ok) {
      this.completeBatch(batch, o.response.baseOffset);
      return;
    }
    if (!NOT_APPENDED.has(error)) batch.maybeWritten = true;
    if (error === 'DISCONNECTED' || METADATA_ERRORS.has(error)) this.net.requestMetadataUpdate(`produce ${error}`);
    if (this.canRetry(batch, error)) {
      this.ctx.trace('producer.retry', { partition: batch.partition, batch: batch.id, error, attempts: batch.attempts + 1, baseSequence: batch.baseSequence });
      this.reenqueue(batch);
    } else {
      this.failBatch(batch, error, batch.attempts < this.retries);
    }
  }

  /** Sender.canRetry and, with idempotence, TransactionManager.canRetry. */
  private canRetry(batch: ProducerBatch, error: ClientError): boolean {
    if (this.ctx.now() >= batch.createdMs + this.deliveryTimeoutMs || batch.attempts >= this.retries || batch.done) return false;
    if (this.idempotent && error === 'OUT_OF_ORDER_SEQUENCE_NUMBER') {
      const p = this.partition(batch.partition);
      const isNext = batch.baseSequence - p.lastAckedSequence === 1;
      if (!p.unresolved && (batch.sequenceReset || !isNext)) return true; // an earlier batch is being retried
      if (!p.unresolved) this.requestEpochBump(p.partition, 'out-of-order sequence'); // a real gap
      return true;
    }
    return RETRIABLE.has(error);
  }

  /** RecordAccumulator.reenqueue: back to the front, in sequence order, after a back-off. */
  private reenqueue(batch: ProducerBatch): void {
    batch.attempts++;
    batch.retryAtMs = this.ctx.now() + this.net.backoffMs(batch.attempts - 1);
    const q = this.partition(batch.partition).queue;
    let i = 0;
    if (batch.baseSequence >= 0) {
      while (i < q.length && (q[i] as ProducerBatch).baseSequence >= 0 && (q[i] as ProducerBatch).baseSequence < batch.baseSequence) i++;
    }
    q.splice(i, 0, batch);
  }

  private completeBatch(batch: ProducerBatch, baseOffset: number): void {
    batch.done = true;
    const p = this.partition(batch.partition);
    this.removeIncomplete(p, batch);
    if (batch.baseSequence >= 0 && batch.producerEpoch === p.producerEpoch) {
      p.lastAckedSequence = Math.max(p.lastAckedSequence, batch.baseSequence + batch.values.length - 1);
    }
    batch.values.forEach((value, i) => {
      this.stats.ok++;
      this.history({ f: 'send', type: 'ok', topic: this.topic, partition: batch.partition, value, ...(baseOffset >= 0 ? { offset: baseOffset + i } : {}) });
    });
  }

  /** Sender.failBatch: `fail` if no attempt can have been appended, else `info`. */
  private failBatch(batch: ProducerBatch, error: string, adjustSequences: boolean): void {
    batch.done = true;
    const p = this.partition(batch.partition);
    const q = p.queue.indexOf(batch);
    if (q >= 0) p.queue.splice(q, 1);
    const wasSequenced = p.incomplete.includes(batch);
    this.removeIncomplete(p, batch);
    if (this.idempotent && wasSequenced) {
      if (adjustSequences) this.requestEpochBump(p.partition, `failed batch: ${error}`);
      else if (batch.sends > 0) p.unresolved = true;
    }
    const type = batch.maybeWritten ? 'info' : 'fail';
    this.ctx.trace('producer.batch-failed', { partition: batch.partition, batch: batch.id, error, type, records: batch.values.length });
    for (const value of batch.values) {
      this.stats[type]++;
      this.history({ f: 'send', type, topic: this.topic, partition: batch.partition, value, error });
    }
  }

  private removeIncomplete(p: PartitionState, batch: ProducerBatch): void {
    const i = p.incomplete.indexOf(batch);
    if (i >= 0) p.incomplete.splice(i, 1);
  }

  /** Sender: batches past delivery.timeout.ms fail, whether waiting or in flight. */
  private expireBatches(now: number): void {
    // Most runs expire nothing: look first, and build the ordered list only when something expires.
    if (!this.anyExpired(now)) return;
    const candidates = new Set<ProducerBatch>(this.sentBatches);
    for (const p of this.parts.values()) for (const b of [...p.queue, ...p.incomplete]) candidates.add(b);
    const expired = [...candidates].filter((b) => this.isExpired(b, now)).sort((a, b) => a.id - b.id);
    for (const b of expired) {
      if (b.inFlight !== undefined) b.maybeWritten = true;
      this.failBatch(b, 'DELIVERY_TIMEOUT', false);
    }
  }

  private isExpired(b: ProducerBatch, now: number): boolean {
    return !b.done && now >= b.createdMs + this.deliveryTimeoutMs;
  }

  private anyExpired(now: number): boolean {
    for (const b of this.sentBatches) if (this.isExpired(b, now)) return true;
    for (const p of this.parts.values()) {
      for (const b of p.queue) if (this.isExpired(b, now)) return true;
      for (const b of p.incomplete) if (this.isExpired(b, now)) return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Idempotence bookkeeping (TransactionManager)

  private shouldStopDrain(first: ProducerBatch, p: PartitionState): boolean {
    if (this.producerId < 0) {
      this.initProducerId();
      return true;
    }
    if (first.baseSequence < 0) {
      // No new batch with a new epoch (sequence 0) before the old epoch's batches are done.
      if (p.incomplete.length > 0 && p.producerEpoch !== this.producerEpoch) return true;
      if (p.unresolved) return true;
    }
    const firstInFlight = p.incomplete[0]?.baseSequence ?? -1;
    // A retried batch goes only when it is the first unacknowledged one.
    return firstInFlight >= 0 && first.baseSequence >= 0 && first.baseSequence !== firstInFlight;
  }

  private maybeUpdateProducerIdAndEpoch(p: PartitionState): void {
    if (p.producerEpoch !== this.producerEpoch && p.incomplete.length === 0) {
      p.producerEpoch = this.producerEpoch;
      p.nextSequence = 0;
      p.lastAckedSequence = -1;
    }
  }

  private requestEpochBump(partition: number, reason: string): void {
    this.ctx.trace('producer.epoch-bump-requested', { partition, reason });
    this.epochBumpRequired = true;
    this.partitionsToRewrite.add(partition);
  }

  private maybeResolveSequences(): void {
    for (const p of this.parts.values()) {
      if (!p.unresolved || p.incomplete.length > 0) continue;
      p.unresolved = false;
      if (p.nextSequence - p.lastAckedSequence !== 1) this.requestEpochBump(p.partition, 'unresolved sequence');
    }
  }

  private maybeBumpEpoch(): void {
    if (!this.epochBumpRequired || this.producerId < 0) return;
    this.epochBumpRequired = false;
    if (this.producerEpoch >= MAX_PRODUCER_EPOCH) {
      // The epoch is exhausted: a new producer id (resetIdempotentProducerId).
      this.producerId = -1;
      this.producerEpoch = -1;
      this.initProducerId();
    } else {
      this.producerEpoch++;
    }
    const partitions = [...this.partitionsToRewrite].sort((a, b) => a - b);
    // The values whose batches restart their sequences, and of those the ones an earlier attempt
    // may have written (in flight now, or an attempt ended in an error a broker may return after
    // appending): the broker cannot recognise the rewrite of those as a duplicate
    // (scenarios/guarantees.ts permits the duplicate and the reordering it causes).
    const batches = partitions.flatMap((partition) => this.partition(partition).incomplete);
    this.ctx.trace('producer.epoch-bump', {
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      partitions,
      rewritten: batches.flatMap((b) => b.values),
      maybeWritten: batches.filter((b) => b.maybeWritten || b.inFlight !== undefined).flatMap((b) => b.values),
    });
    for (const partition of partitions) {
      // startSequencesAtBeginning: the unacknowledged batches restart at 0 under the new epoch.
      const p = this.partition(partition);
      let seq = 0;
      for (const b of p.incomplete) {
        b.producerId = this.producerId;
        b.producerEpoch = this.producerEpoch;
        b.baseSequence = seq;
        b.sequenceReset = true;
        seq += b.values.length;
      }
      p.producerEpoch = this.producerEpoch;
      p.nextSequence = seq;
      p.lastAckedSequence = -1;
      p.unresolved = false;
    }
    this.partitionsToRewrite.clear();
  }

  // -------------------------------------------------------------------------------------------

  private scheduleWake(atMs: number): void {
    if (!Number.isFinite(atMs)) return;
    if (this.wakeTimer !== undefined && this.wakeAtMs <= atMs) return;
    this.timers.cancel(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = this.timers.set(atMs - this.ctx.now(), 'producer.wake', () => {
      this.wakeTimer = undefined;
      this.wakeAtMs = Number.POSITIVE_INFINITY;
    });
  }

  private history(op: Omit<HistoryOp, 'process'>): void {
    this.ctx.trace(HISTORY_TRACE_KIND, opFields(op));
  }
}
