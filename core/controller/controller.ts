// The KRaft controller, single node: it owns the metadata log and every decision written to it.
//
// It models QuorumController with ClusterControlManager (broker registration, heartbeats, session
// expiry and fencing, notes §4.1) and ReplicationControlManager (topic creation, leader election,
// ELR, AlterPartition validation, notes §3.5 and §4.2–4.4). Decisions are made on the latest,
// possibly uncommitted, state (as Kafka's controller does with its timeline data structures); a
// record is committed once appended and fsynced to `metadata.log`, and nothing uncommitted is
// ever served: MetadataFetch returns committed records only, and every reply waits until every
// record written before it was decided is committed (so a crash loses the reply with the records).
//
// Simplifications (README fidelity table):
// - One controller, no Raft quorum, no snapshots; the metadata log is a local file of JSON lines.
// - A failed append or fsync is retried after a back-off (Kafka's controller would exit).
// - No controlled shutdown, no reassignment, no preferred-leader election, no topic deletion.
// - Topics are created by the controller itself from its options, once every assigned broker is
//   unfenced (an operator creating topics on a live cluster); assignment is round-robin without
//   Kafka's random start index.
// - Unclean elections for leaderless partitions are retried on every broker state change and on
//   every tick (500 ms) rather than every unclean.leader.election.interval.ms (5 min).
// - Producer ids are handed to clients directly, from blocks the controller records in its log.
// - Broker sessions are reset to "now" when the controller starts (as on a Kafka failover).
// - Replies are not dropped when a connection breaks: a reply to a closed connection opens a new
//   one, and the peer ignores a correlation id it no longer waits for.

import type { KafkaConfig } from '../config.js';
import { MetadataImage, type PartitionRegistration } from '../metadata.js';
import type { Node, NodeContext, StartReason, TimerId } from '../ports.js';
import {
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type BrokerHeartbeatRequest,
  type BrokerRegistrationRequest,
  type ErrorCode,
  type InitProducerIdRequest,
  type KafkaMessage,
  type LeaderRecoveryState,
  type MetadataFetchRequest,
  type MetadataRecord,
  messageSize,
  NO_LEADER,
  NO_LEADER_CHANGE,
} from '../protocol.js';
import { decodeRecordLines, encodeRecordLines, METADATA_LOG_FILE } from './metadata-log.js';
import { buildPartitionChange, type ElectionConfig, electionConfigOf, type PartitionChangeRecord } from './partition-change.js';

export interface ControllerTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Replicas per partition, preferred leader first; default: round-robin over the brokers. */
  readonly assignment?: readonly (readonly number[])[];
}

export interface ControllerOptions {
  readonly config: KafkaConfig;
  readonly topics: readonly ControllerTopic[];
  /** The broker ids of the cluster (for default assignments). */
  readonly brokers: readonly number[];
}

/** How often sessions are checked (and unclean elections retried). */
export const CONTROLLER_TICK_MS = 500;
/** Most records in one MetadataFetch response. */
export const METADATA_FETCH_MAX_RECORDS = 500;
/** Producer ids reserved per ProducerIds record. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const DISK_RETRY_BACKOFF_MS = 100;

interface DeferredReply {
  /** Sent once the committed offset reaches this. */
  readonly offset: number;
  readonly to: string;
  readonly msg: KafkaMessage;
}

interface HeldFetch {
  readonly from: string;
  readonly req: MetadataFetchRequest;
  readonly timer: TimerId;
}

interface TopicPlan {
  readonly name: string;
  readonly assignment: readonly (readonly number[])[];
}

/** Round-robin assignment: partition p's replicas are the sorted brokers rotated by p. */
export function defaultAssignment(brokers: readonly number[], partitions: number, replicationFactor: number): number[][] {
  const sorted = [...brokers].sort((a, b) => a - b);
  if (replicationFactor < 1 || replicationFactor > sorted.length) throw new Error(`replication factor ${replicationFactor} with ${sorted.length} brokers`);
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    const replicas: number[] = [];
    for (let i = 0; i < replicationFactor; i++) replicas.push(sorted[(p + i) % sorted.length] as number);
    out.push(replicas);
  }
  return out;
}

function planTopics(options: ControllerOptions): TopicPlan[] {
  const brokers = new Set(options.brokers);
  if (brokers.size !== options.brokers.length) throw new Error(`duplicate broker ids in [${options.brokers}]`);
  const names = new Set<string>();
  return options.topics.map((t) => {
    if (names.has(t.name)) throw new Error(`topic ${t.name} is defined twice`);
    names.add(t.name);
    if (!Number.isInteger(t.partitions) || t.partitions < 1) throw new Error(`topic ${t.name}: ${t.partitions} partitions`);
    const assignment = t.assignment ?? defaultAssignment(options.brokers, t.partitions, t.replicationFactor);
    if (assignment.length !== t.partitions) throw new Error(`topic ${t.name}: assignment for ${assignment.length} of ${t.partitions} partitions`);
    assignment.forEach((replicas, p) => {
      if (replicas.length !== t.replicationFactor)
        throw new Error(`topic ${t.name}-${p}: ${replicas.length} replicas, replication factor ${t.replicationFactor}`);
      if (new Set(replicas).size !== replicas.length) throw new Error(`topic ${t.name}-${p}: duplicate replicas [${replicas}]`);
      for (const r of replicas) if (!brokers.has(r)) throw new Error(`topic ${t.name}-${p}: replica ${r} is not a broker`);
    });
    return { name: t.name, assignment: assignment.map((r) => [...r]) };
  });
}

function freezeRecord(r: MetadataRecord): MetadataRecord {
  for (const v of Object.values(r)) if (Array.isArray(v)) Object.freeze(v);
  return Object.freeze(r);
}

export class Controller implements Node<KafkaMessage> {
  private readonly config: KafkaConfig;
  private readonly electionConfig: ElectionConfig;
  private readonly sessionTimeoutMs: number;
  private readonly plans: TopicPlan[];

  /** Committed records and the image they make. */
  private readonly committedLog: MetadataRecord[] = [];
  private readonly committed = new MetadataImage();
  /** Committed plus uncommitted records: what decisions are made on. */
  private readonly latest = new MetadataImage();
  /** Records decided but not yet handed to the disk. */
  private unwritten: MetadataRecord[] = [];
  /** The batch being appended and fsynced, and its bytes. */
  private writing: { records: MetadataRecord[]; bytes: Uint8Array } | undefined;

  private ready = false;
  private readonly buffered: { from: string; msg: KafkaMessage }[] = [];
  private deferred: DeferredReply[] = [];
  private held: HeldFetch[] = [];
  private readonly lastContactMs = new Map<number, number>();
  private nextProducerId = 0;

  constructor(options: ControllerOptions) {
    this.config = options.config;
    this.electionConfig = electionConfigOf(options.config);
    this.sessionTimeoutMs = options.config.int('broker.session.timeout.ms');
    this.plans = planTopics(options);
  }

  // -------------------------------------------------------------------------------------------
  // Read-only views for checkers and tests

  /** The image of the committed records. */
  get image(): MetadataImage {
    return this.committed;
  }

  /** The offset after the last committed record. */
  get committedOffset(): number {
    return this.committedLog.length;
  }

  /** Every committed record, in offset order. */
  get committedRecords(): readonly MetadataRecord[] {
    return this.committedLog;
  }

  /** The offset after the last decided record (committed or not). */
  get latestOffset(): number {
    return this.latest.offset;
  }

  /** True once the metadata log has been recovered and requests are served. */
  get isReady(): boolean {
    return this.ready;
  }

  // -------------------------------------------------------------------------------------------
  // Node

  start(ctx: NodeContext<KafkaMessage>, reason: StartReason): void {
    ctx.trace('controller.start', { reason });
    this.recover(ctx);
  }

  onMessage(ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    if (!this.ready) {
      this.buffered.push({ from, msg });
      return;
    }
    this.handle(ctx, from, msg);
    this.flush(ctx);
  }

  onTimer(ctx: NodeContext<KafkaMessage>, tag: string, id: TimerId): void {
    switch (tag) {
      case 'tick':
        this.tick(ctx);
        ctx.setTimer(CONTROLLER_TICK_MS, 'tick');
        break;
      case 'fetch-wait': {
        const h = this.held.find((x) => x.timer === id);
        if (h !== undefined) {
          this.held = this.held.filter((x) => x !== h);
          this.answerFetch(ctx, h.from, h.req);
        }
        break;
      }
      case 'retry-append':
        this.appendBatch(ctx);
        break;
      case 'retry-fsync':
        this.syncBatch(ctx);
        break;
      case 'retry-recover':
        this.recover(ctx);
        break;
      default:
        throw new Error(`controller: unknown timer ${tag}`);
    }
    this.flush(ctx);
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  private recover(ctx: NodeContext<KafkaMessage>): void {
    const retry = (why: string): void => {
      ctx.trace('controller.disk-error', { op: 'recover', error: why });
      ctx.setTimer(DISK_RETRY_BACKOFF_MS, 'retry-recover');
    };
    ctx.disk.readAll(METADATA_LOG_FILE, (r) => {
      if (!r.ok) {
        if (r.error.code === 'ENOENT') this.finishRecovery(ctx, [], 0);
        else retry(r.error.code);
        return;
      }
      const decoded = decodeRecordLines(r.value);
      const cut = r.value.length - decoded.validBytes;
      const sync = (): void =>
        ctx.disk.fsync(METADATA_LOG_FILE, (s) => {
          if (!s.ok) retry(s.error.code);
          else this.finishRecovery(ctx, decoded.records, cut);
        });
      if (cut === 0) {
        // Make sure what is read is durable before it is served (writes that survived a crash).
        sync();
        return;
      }
      ctx.trace('controller.log-truncate', { validBytes: decoded.validBytes, cutBytes: cut, records: decoded.records.length, why: decoded.stopReason });
      ctx.disk.truncate(METADATA_LOG_FILE, decoded.validBytes, (t) => {
        if (!t.ok) retry(t.error.code);
        else sync();
      });
    });
  }

  private finishRecovery(ctx: NodeContext<KafkaMessage>, records: MetadataRecord[], cutBytes: number): void {
    for (const raw of records) {
      const r = freezeRecord(raw);
      this.committed.apply(r);
      this.latest.apply(r);
      this.committedLog.push(r);
    }
    this.nextProducerId = this.latest.nextProducerId;
    const now = ctx.now();
    for (const id of this.latest.brokers.keys()) this.lastContactMs.set(id, now);
    this.ready = true;
    ctx.trace('controller.recovered', { records: records.length, cutBytes, nextProducerId: this.nextProducerId });
    ctx.setTimer(CONTROLLER_TICK_MS, 'tick');
    this.maybeCreateTopics(ctx);
    const queued = this.buffered.splice(0);
    for (const q of queued) this.handle(ctx, q.from, q.msg);
    this.flush(ctx);
  }

  // -------------------------------------------------------------------------------------------
  // The metadata log: decide, append + fsync, commit

  private append(record: MetadataRecord): void {
    const r = freezeRecord(record);
    this.latest.apply(r);
    this.unwritten.push(r);
  }

  /** Hand every undecided record to the disk as one batch, unless a batch is in flight. */
  private flush(ctx: NodeContext<KafkaMessage>): void {
    if (!this.ready || this.writing !== undefined || this.unwritten.length === 0) return;
    const records = this.unwritten;
    this.unwritten = [];
    this.writing = { records, bytes: encodeRecordLines(records) };
    this.appendBatch(ctx);
  }

  private appendBatch(ctx: NodeContext<KafkaMessage>): void {
    const w = this.writing;
    if (w === undefined) throw new Error('controller: append without a batch');
    ctx.disk.append(METADATA_LOG_FILE, w.bytes, (r) => {
      if (!r.ok) {
        ctx.trace('controller.disk-error', { op: 'append', error: r.error.code });
        ctx.setTimer(DISK_RETRY_BACKOFF_MS, 'retry-append');
        return;
      }
      this.syncBatch(ctx);
    });
  }

  private syncBatch(ctx: NodeContext<KafkaMessage>): void {
    ctx.disk.fsync(METADATA_LOG_FILE, (r) => {
      if (!r.ok) {
        ctx.trace('controller.disk-error', { op: 'fsync', error: r.error.code });
        ctx.setTimer(DISK_RETRY_BACKOFF_MS, 'retry-fsync');
        return;
      }
      this.commit(ctx);
      this.flush(ctx);
    });
  }

  private commit(ctx: NodeContext<KafkaMessage>): void {
    const w = this.writing;
    if (w === undefined) throw new Error('controller: commit without a batch');
    this.writing = undefined;
    const fromOffset = this.committedLog.length;
    for (const r of w.records) {
      this.committed.apply(r);
      this.committedLog.push(r);
    }
    ctx.trace('controller.commit', { fromOffset, endOffset: this.committedLog.length });
    const due = this.deferred.filter((d) => d.offset <= this.committedLog.length);
    this.deferred = this.deferred.filter((d) => d.offset > this.committedLog.length);
    for (const d of due) ctx.send(d.to, d.msg, messageSize(d.msg));
    const held = this.held;
    this.held = [];
    for (const h of held) {
      ctx.cancelTimer(h.timer);
      this.answerFetch(ctx, h.from, h.req);
    }
  }

  /** Send `msg` once every record decided so far is committed. */
  private reply(ctx: NodeContext<KafkaMessage>, to: string, msg: KafkaMessage): void {
    const offset = this.latest.offset;
    if (offset <= this.committedLog.length) ctx.send(to, msg, messageSize(msg));
    else this.deferred.push({ offset, to, msg });
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  private handle(ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    switch (msg.type) {
      case 'BrokerRegistration':
        this.onRegistration(ctx, from, msg);
        break;
      case 'BrokerHeartbeat':
        this.onHeartbeat(ctx, from, msg);
        break;
      case 'MetadataFetch':
        this.onMetadataFetch(ctx, from, msg);
        break;
      case 'AlterPartition':
        this.onAlterPartition(ctx, from, msg);
        break;
      case 'InitProducerId':
        this.onInitProducerId(ctx, from, msg);
        break;
      default:
        ctx.trace('controller.unexpected', { from, type: msg.type });
    }
  }

  private sessionValid(ctx: NodeContext<KafkaMessage>, brokerId: number): boolean {
    const last = this.lastContactMs.get(brokerId);
    return last !== undefined && ctx.now() - last <= this.sessionTimeoutMs;
  }

  private onRegistration(ctx: NodeContext<KafkaMessage>, from: string, req: BrokerRegistrationRequest): void {
    const id = req.brokerId;
    const respond = (error: ErrorCode, brokerEpoch: number): void =>
      this.reply(ctx, from, { type: 'BrokerRegistrationResponse', correlationId: req.correlationId, error, brokerEpoch });
    const existing = this.latest.brokers.get(id);
    if (existing !== undefined && existing.incarnationId === req.incarnationId) {
      // A retry of the same incarnation keeps its epoch (and fenced state).
      ctx.trace('controller.register', { broker: id, epoch: existing.brokerEpoch, incarnation: req.incarnationId, retry: true, error: 'NONE' });
      respond('NONE', existing.brokerEpoch);
      return;
    }
    if (existing !== undefined && this.sessionValid(ctx, id)) {
      ctx.trace('controller.register', {
        broker: id,
        incarnation: req.incarnationId,
        error: 'DUPLICATE_BROKER_REGISTRATION',
        reason: 'old incarnation session still valid',
      });
      respond('DUPLICATE_BROKER_REGISTRATION', -1);
      return;
    }
    const unclean = this.electionConfig.elrEnabled && existing !== undefined && req.previousBrokerEpoch !== existing.brokerEpoch;
    if (existing !== undefined && !existing.fenced) this.fenceBroker(ctx, id, 'new incarnation registered', unclean);
    if (unclean && existing !== undefined) this.handleUncleanShutdown(ctx, id, req.previousBrokerEpoch, existing.brokerEpoch);
    const brokerEpoch = this.latest.offset;
    this.append({ type: 'RegisterBroker', brokerId: id, incarnationId: req.incarnationId, brokerEpoch });
    this.lastContactMs.set(id, ctx.now());
    ctx.trace('controller.register', {
      broker: id,
      epoch: brokerEpoch,
      incarnation: req.incarnationId,
      previousBrokerEpoch: req.previousBrokerEpoch,
      uncleanShutdown: unclean,
      error: 'NONE',
    });
    respond('NONE', brokerEpoch);
  }

  private onHeartbeat(ctx: NodeContext<KafkaMessage>, from: string, req: BrokerHeartbeatRequest): void {
    const id = req.brokerId;
    const respond = (error: ErrorCode, isFenced: boolean): void =>
      this.reply(ctx, from, { type: 'BrokerHeartbeatResponse', correlationId: req.correlationId, error, isFenced });
    const b = this.latest.brokers.get(id);
    if (b === undefined) {
      ctx.trace('controller.heartbeat', { broker: id, error: 'BROKER_ID_NOT_REGISTERED' });
      respond('BROKER_ID_NOT_REGISTERED', true);
      return;
    }
    if (b.brokerEpoch !== req.brokerEpoch) {
      ctx.trace('controller.heartbeat', { broker: id, epoch: req.brokerEpoch, registeredEpoch: b.brokerEpoch, error: 'STALE_BROKER_EPOCH' });
      respond('STALE_BROKER_EPOCH', true);
      return;
    }
    this.lastContactMs.set(id, ctx.now());
    if (b.fenced && !req.wantFence && req.metadataOffset >= b.brokerEpoch) this.unfenceBroker(ctx, id, req.metadataOffset);
    else if (!b.fenced && req.wantFence) this.fenceBroker(ctx, id, 'broker asked to be fenced');
    respond('NONE', this.latest.brokers.get(id)?.fenced ?? true);
  }

  private onMetadataFetch(ctx: NodeContext<KafkaMessage>, from: string, req: MetadataFetchRequest): void {
    // At (or, after a lost log tail, beyond) the end: wait for new records rather than spin.
    if (req.fromOffset >= this.committedLog.length && req.maxWaitMs > 0) {
      this.held.push({ from, req, timer: ctx.setTimer(req.maxWaitMs, 'fetch-wait') });
      return;
    }
    this.answerFetch(ctx, from, req);
  }

  private answerFetch(ctx: NodeContext<KafkaMessage>, to: string, req: MetadataFetchRequest): void {
    const start = Math.max(0, req.fromOffset);
    const records = start < this.committedLog.length ? this.committedLog.slice(start, start + METADATA_FETCH_MAX_RECORDS) : [];
    const msg: KafkaMessage = {
      type: 'MetadataFetchResponse',
      correlationId: req.correlationId,
      records,
      fromOffset: req.fromOffset,
      endOffset: this.committedLog.length,
    };
    ctx.send(to, msg, messageSize(msg));
  }

  private onAlterPartition(ctx: NodeContext<KafkaMessage>, from: string, req: AlterPartitionRequest): void {
    const p = this.latest.partition(req);
    const respond = (error: ErrorCode, detail: string): void => {
      const cur = this.latest.partition(req);
      const msg: AlterPartitionResponse = {
        type: 'AlterPartitionResponse',
        correlationId: req.correlationId,
        error,
        topic: req.topic,
        partition: req.partition,
        leader: cur?.leader ?? NO_LEADER,
        isr: cur === undefined ? [] : [...cur.isr],
        leaderEpoch: cur?.leaderEpoch ?? -1,
        partitionEpoch: cur?.partitionEpoch ?? -1,
        leaderRecoveryState: cur?.leaderRecoveryState ?? 'RECOVERED',
      };
      ctx.trace('controller.alter-partition', {
        topic: req.topic,
        partition: req.partition,
        broker: req.brokerId,
        requestedIsr: req.newIsrWithEpochs.map((m) => m.brokerId),
        isr: msg.isr,
        leaderEpoch: msg.leaderEpoch,
        partitionEpoch: msg.partitionEpoch,
        error,
        detail,
      });
      this.reply(ctx, from, msg);
    };
    const error = this.validateAlterPartition(req, p);
    if (error !== undefined || p === undefined) {
      respond(error?.code ?? 'UNKNOWN_TOPIC_OR_PARTITION', error?.detail ?? 'unknown partition');
      return;
    }
    const newIsr = req.newIsrWithEpochs.map((m) => m.brokerId);
    const cause = alterCause(p, newIsr, req.leaderRecoveryState, req.brokerId);
    const record = this.changePartition(ctx, p, newIsr, cause, undefined, req.leaderRecoveryState);
    if (record === undefined) respond('NONE', 'no change');
    else if (record.leader !== NO_LEADER_CHANGE) respond('NEW_LEADER_ELECTED', record.reason);
    else respond('NONE', record.reason);
  }

  /** Kafka's checks, in order (notes §3.5); undefined when the request is valid. */
  private validateAlterPartition(req: AlterPartitionRequest, p: PartitionRegistration | undefined): { code: ErrorCode; detail: string } | undefined {
    const sender = this.latest.brokers.get(req.brokerId);
    if (sender === undefined || sender.brokerEpoch !== req.brokerEpoch)
      return { code: 'STALE_BROKER_EPOCH', detail: `broker epoch ${req.brokerEpoch}, registered ${sender?.brokerEpoch ?? 'none'}` };
    if (p === undefined) return { code: 'UNKNOWN_TOPIC_OR_PARTITION', detail: 'unknown partition' };
    if (req.leaderEpoch > p.leaderEpoch || req.partitionEpoch > p.partitionEpoch)
      return { code: 'NOT_CONTROLLER', detail: `request epochs ${req.leaderEpoch}/${req.partitionEpoch} ahead of ${p.leaderEpoch}/${p.partitionEpoch}` };
    if (req.leaderEpoch < p.leaderEpoch) return { code: 'FENCED_LEADER_EPOCH', detail: `leader epoch ${req.leaderEpoch} < ${p.leaderEpoch}` };
    if (req.brokerId !== p.leader) return { code: 'INVALID_REQUEST', detail: `b${req.brokerId} is not the leader (b${p.leader})` };
    if (req.partitionEpoch < p.partitionEpoch) return { code: 'INVALID_UPDATE_VERSION', detail: `partition epoch ${req.partitionEpoch} < ${p.partitionEpoch}` };
    const newIsr = req.newIsrWithEpochs.map((m) => m.brokerId);
    if (new Set(newIsr).size !== newIsr.length || newIsr.some((r) => !p.replicas.includes(r)) || !newIsr.includes(p.leader))
      return { code: 'INVALID_REQUEST', detail: `ISR [${newIsr}] is not a subset of replicas [${p.replicas}] containing the leader` };
    if (req.leaderRecoveryState === 'RECOVERING' && newIsr.length > 1) return { code: 'INVALID_REQUEST', detail: 'RECOVERING with an ISR of more than one' };
    if (p.leaderRecoveryState === 'RECOVERED' && req.leaderRecoveryState === 'RECOVERING') return { code: 'INVALID_REQUEST', detail: 'RECOVERED → RECOVERING' };
    const checkEpochs = this.config.fix('kip-903');
    for (const m of req.newIsrWithEpochs) {
      const b = this.latest.brokers.get(m.brokerId);
      if (b === undefined) return { code: 'INELIGIBLE_REPLICA', detail: `b${m.brokerId} is not registered` };
      if (b.fenced) return { code: 'INELIGIBLE_REPLICA', detail: `b${m.brokerId} is fenced` };
      if (checkEpochs && m.brokerEpoch !== -1 && m.brokerEpoch !== b.brokerEpoch)
        return { code: 'INELIGIBLE_REPLICA', detail: `b${m.brokerId} epoch ${m.brokerEpoch} is not its registered epoch ${b.brokerEpoch} (KIP-903)` };
    }
    return undefined;
  }

  private onInitProducerId(ctx: NodeContext<KafkaMessage>, from: string, req: InitProducerIdRequest): void {
    if (this.nextProducerId >= this.latest.nextProducerId) {
      const blockStart = Math.max(this.nextProducerId, this.latest.nextProducerId);
      this.append({ type: 'ProducerIds', nextProducerId: blockStart + PRODUCER_ID_BLOCK_SIZE });
      this.nextProducerId = blockStart;
      ctx.trace('controller.producer-ids', { blockStart, blockEnd: blockStart + PRODUCER_ID_BLOCK_SIZE });
    }
    const producerId = this.nextProducerId++;
    ctx.trace('controller.init-producer-id', { producerId });
    this.reply(ctx, from, { type: 'InitProducerIdResponse', correlationId: req.correlationId, error: 'NONE', producerId, producerEpoch: 0 });
  }

  // -------------------------------------------------------------------------------------------
  // Broker state changes and their partition effects

  private tick(ctx: NodeContext<KafkaMessage>): void {
    const now = ctx.now();
    for (const b of [...this.latest.brokers.values()].sort((x, y) => x.brokerId - y.brokerId)) {
      if (b.fenced) continue;
      const last = this.lastContactMs.get(b.brokerId) ?? now;
      if (now - last > this.sessionTimeoutMs) this.fenceBroker(ctx, b.brokerId, `session expired: no heartbeat for ${now - last} ms`);
    }
    if (this.electionConfig.uncleanLeaderElectionEnabled) this.electLeaderless(ctx, 'periodic election for leaderless partitions');
  }

  private fenceBroker(ctx: NodeContext<KafkaMessage>, id: number, why: string, uncleanShutdown = false): void {
    const b = this.latest.brokers.get(id);
    if (b === undefined || b.fenced) throw new Error(`controller: fencing b${id}, which is not an unfenced broker`);
    this.append({ type: 'FenceBroker', brokerId: id, brokerEpoch: b.brokerEpoch });
    ctx.trace('controller.fence', { broker: id, epoch: b.brokerEpoch, reason: why });
    const unclean = uncleanShutdown ? new Set([id]) : undefined;
    for (const p of this.latest.sortedPartitions()) {
      if (!p.isr.includes(id)) continue;
      const cause = p.leader === id ? `leader b${id} fenced (${why})` : `b${id} fenced (${why}): removed from ISR`;
      this.changePartition(
        ctx,
        p,
        p.isr.filter((r) => r !== id),
        cause,
        unclean,
      );
    }
  }

  private unfenceBroker(ctx: NodeContext<KafkaMessage>, id: number, metadataOffset: number): void {
    const b = this.latest.brokers.get(id);
    if (b === undefined || !b.fenced) throw new Error(`controller: unfencing b${id}, which is not a fenced broker`);
    this.append({ type: 'UnfenceBroker', brokerId: id, brokerEpoch: b.brokerEpoch });
    ctx.trace('controller.unfence', { broker: id, epoch: b.brokerEpoch, metadataOffset });
    this.electLeaderless(ctx, `b${id} unfenced`);
    this.maybeCreateTopics(ctx);
  }

  /** KIP-966: a broker back from an unclean shutdown leaves every ISR and ELR. */
  private handleUncleanShutdown(ctx: NodeContext<KafkaMessage>, id: number, previousBrokerEpoch: number, registeredEpoch: number): void {
    ctx.trace('controller.unclean-shutdown', { broker: id, previousBrokerEpoch, registeredEpoch });
    const unclean = new Set([id]);
    for (const p of this.latest.sortedPartitions()) {
      if (!p.isr.includes(id) && !p.elr.includes(id)) continue;
      const cause = `b${id} registered after an unclean shutdown (previous epoch ${previousBrokerEpoch}, registered ${registeredEpoch})`;
      this.changePartition(
        ctx,
        p,
        p.isr.filter((r) => r !== id),
        cause,
        unclean,
      );
    }
  }

  /** Re-run election for every leaderless partition (unclean too, when enabled). */
  private electLeaderless(ctx: NodeContext<KafkaMessage>, cause: string): void {
    for (const p of this.latest.sortedPartitions()) if (p.leader === NO_LEADER) this.changePartition(ctx, p, p.isr, cause);
  }

  private acceptable(): Set<number> {
    const out = new Set<number>();
    for (const b of this.latest.brokers.values()) if (!b.fenced) out.add(b.brokerId);
    return out;
  }

  private changePartition(
    ctx: NodeContext<KafkaMessage>,
    p: PartitionRegistration,
    targetIsr: readonly number[],
    cause: string,
    uncleanShutdown?: ReadonlySet<number>,
    targetLeaderRecoveryState?: LeaderRecoveryState,
  ): PartitionChangeRecord | undefined {
    const record = buildPartitionChange({
      partition: p,
      targetIsr,
      acceptable: this.acceptable(),
      config: this.electionConfig,
      cause,
      ...(uncleanShutdown === undefined ? {} : { uncleanShutdown }),
      ...(targetLeaderRecoveryState === undefined ? {} : { targetLeaderRecoveryState }),
    });
    if (record === undefined) return undefined;
    this.append(record);
    const after = this.latest.partition(p) as PartitionRegistration;
    const fields = {
      topic: p.topic,
      partition: p.partition,
      leader: after.leader,
      leaderEpoch: after.leaderEpoch,
      partitionEpoch: after.partitionEpoch,
      isr: [...after.isr],
      elr: [...after.elr],
      reason: record.reason,
    };
    ctx.trace(record.leader === NO_LEADER_CHANGE ? 'controller.partition-change' : 'controller.elect', fields);
    return record;
  }

  private maybeCreateTopics(ctx: NodeContext<KafkaMessage>): void {
    for (const plan of this.plans) {
      if (this.latest.topics.has(plan.name)) continue;
      const brokers = [...new Set(plan.assignment.flat())];
      if (!brokers.every((b) => this.latest.isActive(b))) continue;
      this.append({ type: 'Topic', name: plan.name, partitions: plan.assignment.length });
      ctx.trace('controller.create-topic', { topic: plan.name, partitions: plan.assignment.length });
      plan.assignment.forEach((replicas, partition) => {
        const leader = replicas[0] as number;
        this.append({ type: 'Partition', topic: plan.name, partition, replicas: [...replicas], isr: [...replicas], leader });
        ctx.trace('controller.elect', {
          topic: plan.name,
          partition,
          leader,
          leaderEpoch: 0,
          partitionEpoch: 0,
          isr: [...replicas],
          elr: [],
          reason: `topic created: leader b${leader} (first replica), ISR = replicas`,
        });
      });
    }
  }
}

function alterCause(p: PartitionRegistration, newIsr: readonly number[], lrs: LeaderRecoveryState, leader: number): string {
  const added = newIsr.filter((r) => !p.isr.includes(r));
  const removed = p.isr.filter((r) => !newIsr.includes(r));
  const what: string[] = [];
  if (added.length > 0 && removed.length > 0) what.push(`ISR change requested by leader b${leader}`);
  else if (added.length > 0) what.push(`ISR expansion requested by leader b${leader} (+${added.join(',')})`);
  else if (removed.length > 0) what.push(`ISR shrink requested by leader b${leader} (-${removed.join(',')})`);
  if (lrs !== p.leaderRecoveryState) what.push(`leader b${leader} reports ${lrs}`);
  if (what.length === 0) what.push(`AlterPartition from leader b${leader}`);
  return what.join('; ');
}
