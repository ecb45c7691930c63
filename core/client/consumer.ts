// A Kafka consumer client node with manually assigned partitions (no group), after KafkaConsumer's
// fetcher and SubscriptionState (clients/src/main/java/org/apache/kafka/clients/consumer/internals/:
// AbstractFetch, FetchCollector, SubscriptionState, OffsetsForLeaderEpochUtils, OffsetFetcher;
// docs/notes/kafka-data-plane.md §6).
//
// Each partition has a state — awaiting reset, awaiting validation, fetching, or stalled — and a
// position {offset, offsetEpoch (leader epoch of the last consumed batch), current leader and its
// epoch (from metadata)}.
// - Reset (no position, or OFFSET_OUT_OF_RANGE): ListOffsets earliest/latest to the leader, by
//   auto.offset.reset. With `none` the partition stalls (Kafka throws to the application).
// - Fetch: one outstanding Fetch per broker for all the partitions it leads, a long poll of
//   fetch.max.wait.ms, carrying currentLeaderEpoch with fix.kip-320 (else -1). Records below the
//   position inside the first batch are skipped; the position moves past the last batch and takes
//   its partitionLeaderEpoch as offsetEpoch.
// - KIP-320 validation (fix.kip-320): when metadata shows a new leader or leader epoch and the
//   position has an offsetEpoch, the partition awaits validation: OffsetsForLeaderEpoch(current
//   leader epoch, leaderEpoch = offsetEpoch). An end offset below the position means the log was
//   truncated under the consumer: it traces `consumer.truncation-detected` and seeks back to the
//   end offset (with policy none it stalls: LogTruncationException). An undefined answer resets.
//   With the fix off there is no validation at all: the consumer goes on fetching at its
//   position (silently reading the new leader's different records) or, past the new log end,
//   resets on OFFSET_OUT_OF_RANGE — the historical behaviour (KAFKA-6880).
// - Errors: NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH and the other METADATA_ERRORS refresh
//   metadata; UNKNOWN_LEADER_EPOCH and the rest retry after retry.backoff.ms.
//
// History: a poll is recorded per partition and fetch: `invoke` with the position when the
// Fetch is sent, then `ok` with the values and offsets read (possibly none) or `fail` (a read
// that returned nothing has no effect). Null values (never written by ksim's producer) are skipped.
//
// Simplifications: no consumer group, commits or fetch sessions; no read_committed; no
// preferred read replica; records are handed to the "application" as soon as they arrive.

import type { KafkaConfig } from '../config.js';
import { HISTORY_TRACE_KIND, type HistoryOp, opFields } from '../history.js';
import { decodeBatch } from '../log/batch.js';
import type { Node, NodeContext, StartReason, TimerId } from '../ports.js';
import { brokerName, type FetchedPartition, type FetchPartition, type KafkaMessage, METADATA_ERRORS } from '../protocol.js';
import { Timers } from '../rpc.js';
import { type ClientError, NetworkClient, type Outcome } from './network-client.js';

export interface ConsumerOptions {
  config: KafkaConfig;
  topic: string;
  /** Partitions to consume (default: every partition the metadata shows). */
  partitions?: number[];
  /** Brokers for the first metadata request (default ['b1']). */
  bootstrap?: string[];
}

export type PartitionFetchState = 'awaiting-reset' | 'awaiting-validation' | 'fetching' | 'stalled';

/** A partition's consumer position (SubscriptionState.FetchPosition and its fetch state). */
export interface ConsumerPosition {
  readonly partition: number;
  state: PartitionFetchState;
  offset: number;
  /** Leader epoch of the last consumed batch (or the reset answer's), -1 if unknown. */
  offsetEpoch: number;
  /** The leader the consumer fetches from, and its epoch, as metadata showed it. */
  currentLeaderId: number;
  currentLeaderEpoch: number;
  /** A ListOffsets, OffsetsForLeaderEpoch or Fetch for this partition is outstanding. */
  busy: boolean;
  retryAtMs: number;
  retries: number;
}

export class Consumer implements Node<KafkaMessage> {
  private readonly config: KafkaConfig;
  private readonly topic: string;
  private readonly options: ConsumerOptions;
  /** fix.kip-320: the consumer validates its position after a leader change. */
  readonly kip320: boolean;
  private readonly resetPolicy: string;

  private ctx!: NodeContext<KafkaMessage>;
  private timers!: Timers;
  private net!: NetworkClient;
  private readonly positions = new Map<number, ConsumerPosition>();
  private readonly fetching = new Set<string>();
  private wakeTimer: TimerId | undefined;
  private wakeAtMs = Number.POSITIVE_INFINITY;

  /** Records read, for tests and reports. */
  readonly stats = { polls: 0, records: 0, truncations: 0, resets: 0 };

  constructor(options: ConsumerOptions) {
    this.options = options;
    this.config = options.config;
    this.topic = options.topic;
    this.kip320 = this.config.fix('kip-320');
    this.resetPolicy = this.config.str('auto.offset.reset');
    if (options.partitions !== undefined && options.partitions.length === 0) throw new Error('Consumer: empty partition list');
  }

  /** The position of a partition (undefined before the consumer knows the partition). */
  position(partition: number): Readonly<ConsumerPosition> | undefined {
    return this.positions.get(partition);
  }

  start(ctx: NodeContext<KafkaMessage>, reason: StartReason): void {
    this.ctx = ctx;
    this.timers = new Timers(ctx);
    this.net = new NetworkClient(ctx, this.timers, { config: this.config, topics: [this.topic], bootstrap: this.options.bootstrap ?? ['b1'] });
    ctx.trace('consumer.start', { kip320: this.kip320, resetPolicy: this.resetPolicy, reason });
    for (const p of this.options.partitions ?? []) this.assign(p);
    this.net.onMetadataUpdate(() => this.onMetadata());
    this.net.start();
  }

  onMessage(_ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    this.net.handleResponse(from, msg);
    this.run();
  }

  onTimer(_ctx: NodeContext<KafkaMessage>, _tag: string, id: TimerId): void {
    this.timers.fire(id);
    this.run();
  }

  onDisconnect(_ctx: NodeContext<KafkaMessage>, peer: string): void {
    this.net.onDisconnect(peer);
    this.run();
  }

  private assign(partition: number): void {
    if (this.positions.has(partition)) return;
    this.positions.set(partition, {
      partition,
      state: 'awaiting-reset',
      offset: -1,
      offsetEpoch: -1,
      currentLeaderId: -1,
      currentLeaderEpoch: -1,
      busy: false,
      retryAtMs: 0,
      retries: 0,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Metadata: leader changes (SubscriptionState.maybeValidatePositionForCurrentLeader)

  private onMetadata(): void {
    if (this.options.partitions === undefined) for (const p of this.net.partitionsOf(this.topic) ?? []) this.assign(p);
    for (const pos of this.positions.values()) {
      const leader = this.net.leaderFor(this.topic, pos.partition);
      if (leader === undefined || pos.state === 'awaiting-reset' || pos.state === 'stalled') continue;
      if (leader.leaderId === pos.currentLeaderId && leader.leaderEpoch === pos.currentLeaderEpoch) continue;
      const from = { leader: pos.currentLeaderId, epoch: pos.currentLeaderEpoch };
      pos.currentLeaderId = leader.leaderId;
      pos.currentLeaderEpoch = leader.leaderEpoch;
      if (this.kip320 && pos.offsetEpoch >= 0 && leader.leaderEpoch >= 0) {
        pos.state = 'awaiting-validation';
        pos.retryAtMs = 0;
        this.ctx.trace('consumer.validate-position', {
          topic: this.topic,
          partition: pos.partition,
          position: pos.offset,
          offsetEpoch: pos.offsetEpoch,
          oldLeader: from.leader,
          oldEpoch: from.epoch,
          leader: leader.leaderId,
          leaderEpoch: leader.leaderEpoch,
        });
      }
    }
    this.run();
  }

  // -------------------------------------------------------------------------------------------
  // The loop: resets, validations, fetches

  private run(): void {
    const now = this.ctx.now();
    let wakeAtMs = Number.POSITIVE_INFINITY;
    const byNode = new Map<string, ConsumerPosition[]>();
    for (const pos of [...this.positions.values()].sort((a, b) => a.partition - b.partition)) {
      if (pos.busy || pos.state === 'stalled') continue;
      if (now < pos.retryAtMs) {
        wakeAtMs = Math.min(wakeAtMs, pos.retryAtMs);
        continue;
      }
      const leader = this.net.leaderFor(this.topic, pos.partition);
      if (leader === undefined) {
        this.net.requestMetadataUpdate('no leader');
        continue;
      }
      if (!this.net.isReady(leader.node)) continue;
      if (pos.state === 'awaiting-reset') this.sendListOffsets(pos, leader.node, leader.leaderEpoch, leader.leaderId);
      else if (pos.state === 'awaiting-validation') this.sendValidation(pos, leader.node);
      else {
        // Fetch from the leader of the position (the metadata leader, once applied).
        if (pos.currentLeaderId < 0) continue;
        const node = brokerName(pos.currentLeaderId);
        let list = byNode.get(node);
        if (list === undefined) byNode.set(node, (list = []));
        list.push(pos);
      }
    }
    for (const [node, list] of byNode) if (!this.fetching.has(node) && this.net.isReady(node)) this.sendFetch(node, list);
    this.scheduleWake(wakeAtMs);
  }

  private backOff(pos: ConsumerPosition): void {
    pos.retryAtMs = this.ctx.now() + this.net.backoffMs(pos.retries++);
  }

  private resetPosition(pos: ConsumerPosition, reason: string): void {
    pos.state = this.resetPolicy === 'none' ? 'stalled' : 'awaiting-reset';
    this.ctx.trace('consumer.offset-reset-requested', { topic: this.topic, partition: pos.partition, position: pos.offset, reason, policy: this.resetPolicy });
  }

  // ListOffsets (OffsetFetcher.resetPositionsIfNeeded)
  private sendListOffsets(pos: ConsumerPosition, node: string, leaderEpoch: number, leaderId: number): void {
    const timestamp = this.resetPolicy === 'latest' ? 'latest' : 'earliest';
    pos.busy = true;
    this.net.send<'ListOffsets'>(
      node,
      { type: 'ListOffsets', topic: this.topic, partition: pos.partition, currentLeaderEpoch: this.kip320 ? leaderEpoch : -1, timestamp },
      (o) => {
        pos.busy = false;
        if (pos.state !== 'awaiting-reset') return;
        const error: ClientError = o.ok ? o.response.error : o.error;
        if (!o.ok || error !== 'NONE') {
          this.onError(pos, error);
          return;
        }
        pos.offset = o.response.offset;
        pos.offsetEpoch = o.response.leaderEpoch;
        pos.currentLeaderId = leaderId;
        pos.currentLeaderEpoch = leaderEpoch;
        pos.state = 'fetching';
        pos.retries = 0;
        this.stats.resets++;
        this.ctx.trace('consumer.offset-reset', {
          topic: this.topic,
          partition: pos.partition,
          strategy: timestamp,
          offset: pos.offset,
          offsetEpoch: pos.offsetEpoch,
        });
      },
    );
  }

  // OffsetsForLeaderEpoch (OffsetsForLeaderEpochUtils, SubscriptionState.maybeCompleteValidation)
  private sendValidation(pos: ConsumerPosition, node: string): void {
    const sent = { offset: pos.offset, offsetEpoch: pos.offsetEpoch, leaderEpoch: pos.currentLeaderEpoch };
    pos.busy = true;
    this.net.send<'OffsetsForLeaderEpoch'>(
      node,
      {
        type: 'OffsetsForLeaderEpoch',
        replicaId: -1,
        topic: this.topic,
        partition: pos.partition,
        currentLeaderEpoch: pos.currentLeaderEpoch,
        leaderEpoch: pos.offsetEpoch,
      },
      (o) => {
        pos.busy = false;
        // The answer is for the position it was asked for; a newer one is validated anew.
        if (
          pos.state !== 'awaiting-validation' ||
          pos.offset !== sent.offset ||
          pos.offsetEpoch !== sent.offsetEpoch ||
          pos.currentLeaderEpoch !== sent.leaderEpoch
        )
          return;
        const error: ClientError = o.ok ? o.response.error : o.error;
        if (!o.ok || error !== 'NONE') {
          this.onError(pos, error);
          return;
        }
        pos.retries = 0;
        const { endOffset, leaderEpoch } = o.response;
        if (endOffset < 0 || leaderEpoch < 0) {
          this.resetPosition(pos, 'undefined epoch end offset');
        } else if (endOffset < pos.offset) {
          this.stats.truncations++;
          this.ctx.trace('consumer.truncation-detected', { topic: this.topic, partition: pos.partition, position: pos.offset, endOffset, leaderEpoch });
          if (this.resetPolicy === 'none') {
            pos.state = 'stalled';
          } else {
            pos.offset = endOffset;
            pos.offsetEpoch = leaderEpoch;
            pos.state = 'fetching';
          }
        } else {
          pos.state = 'fetching';
          this.ctx.trace('consumer.position-validated', { topic: this.topic, partition: pos.partition, position: pos.offset, endOffset, leaderEpoch });
        }
      },
    );
  }

  // Fetch (AbstractFetch.prepareFetchRequests, FetchCollector)
  private sendFetch(node: string, list: ConsumerPosition[]): void {
    const maxBytes = this.config.int('max.partition.fetch.bytes');
    const parts: FetchPartition[] = list.map((pos) => ({
      topic: this.topic,
      partition: pos.partition,
      fetchOffset: pos.offset,
      currentLeaderEpoch: this.kip320 ? pos.currentLeaderEpoch : -1,
      lastFetchedEpoch: -1,
      logStartOffset: -1,
      maxBytes,
    }));
    const sent = list.map((pos) => ({ pos, offset: pos.offset }));
    for (const { pos, offset } of sent) {
      pos.busy = true;
      this.stats.polls++;
      this.history({ f: 'poll', type: 'invoke', topic: this.topic, partition: pos.partition, offset });
    }
    this.fetching.add(node);
    this.net.send<'Fetch'>(
      node,
      { type: 'Fetch', replicaId: -1, replicaEpoch: -1, maxWaitMs: this.config.int('fetch.max.wait.ms'), partitions: parts },
      (o) => this.onFetchOutcome(node, sent, o),
      // The long poll is part of the wait (ConsumerNetworkClient adds nothing; fetch.max.wait.ms < request.timeout.ms).
    );
  }

  private onFetchOutcome(node: string, sent: { pos: ConsumerPosition; offset: number }[], o: Outcome<'Fetch'>): void {
    this.fetching.delete(node);
    for (const { pos, offset } of sent) {
      pos.busy = false;
      const fail = (error: string) => this.history({ f: 'poll', type: 'fail', topic: this.topic, partition: pos.partition, error });
      if (!o.ok) {
        fail(o.error);
        this.backOff(pos);
        continue;
      }
      const r = o.response.partitions.find((x) => x.topic === this.topic && x.partition === pos.partition);
      if (r === undefined) {
        fail('NO_PARTITION_IN_RESPONSE');
        continue;
      }
      if (pos.state !== 'fetching' || pos.offset !== offset) {
        fail('STALE_FETCH'); // the position moved (reset, validation) while the fetch was out
        continue;
      }
      if (r.error !== 'NONE') {
        fail(r.error);
        if (r.error === 'OFFSET_OUT_OF_RANGE') {
          this.ctx.trace('consumer.offset-out-of-range', {
            topic: this.topic,
            partition: pos.partition,
            position: offset,
            logStartOffset: r.logStartOffset,
            highWatermark: r.highWatermark,
          });
          this.resetPosition(pos, 'OFFSET_OUT_OF_RANGE');
        } else {
          this.onError(pos, r.error);
        }
        continue;
      }
      this.consume(pos, r);
    }
  }

  /** Hand the fetched records at or after the position to the application, and advance. */
  private consume(pos: ConsumerPosition, r: FetchedPartition): void {
    const values: string[] = [];
    const offsets: number[] = [];
    let corrupt: string | undefined;
    for (const buf of r.records) {
      let at = 0;
      while (at < buf.length && corrupt === undefined) {
        const d = decodeBatch(buf, at);
        if (d.kind === 'end') break;
        if (d.kind === 'corrupt') {
          corrupt = d.reason;
          break;
        }
        at += d.sizeBytes;
        const b = d.batch;
        const lastOffset = b.baseOffset + b.lastOffsetDelta;
        if (lastOffset < pos.offset) continue;
        b.records.forEach((rec, i) => {
          const offset = b.baseOffset + i;
          if (offset < pos.offset || rec.value === null) return;
          values.push(rec.value);
          offsets.push(offset);
        });
        pos.offset = lastOffset + 1;
        pos.offsetEpoch = b.partitionLeaderEpoch;
      }
      if (corrupt !== undefined) break;
    }
    pos.retries = 0;
    this.stats.records += values.length;
    this.history({ f: 'poll', type: 'ok', topic: this.topic, partition: pos.partition, values, offsets });
    if (corrupt !== undefined) {
      // KafkaConsumer throws CorruptRecordException at the bad batch; the position stays before it.
      this.ctx.trace('consumer.corrupt-batch', { topic: this.topic, partition: pos.partition, position: pos.offset, reason: corrupt });
      this.backOff(pos);
    }
  }

  private onError(pos: ConsumerPosition, error: ClientError): void {
    this.ctx.trace('consumer.error', { topic: this.topic, partition: pos.partition, state: pos.state, error });
    if (error !== 'DISCONNECTED' && METADATA_ERRORS.has(error)) this.net.requestMetadataUpdate(`consumer ${error}`);
    this.backOff(pos);
  }

  private scheduleWake(atMs: number): void {
    if (!Number.isFinite(atMs)) return;
    if (this.wakeTimer !== undefined && this.wakeAtMs <= atMs) return;
    this.timers.cancel(this.wakeTimer);
    this.wakeAtMs = atMs;
    this.wakeTimer = this.timers.set(atMs - this.ctx.now(), 'consumer.wake', () => {
      this.wakeTimer = undefined;
      this.wakeAtMs = Number.POSITIVE_INFINITY;
    });
  }

  private history(op: Omit<HistoryOp, 'process'>): void {
    this.ctx.trace(HISTORY_TRACE_KIND, opFields(op));
  }
}
