// A Kafka broker in KRaft mode (KafkaBroker, ReplicaManager, LogManager, ReplicaFetcherThread,
// BrokerLifecycleManager; facts in docs/notes/kafka-data-plane.md).
//
// Life of a broker process:
// 1. Load every partition log found on disk (recovering after an unclean shutdown), with the high
//    watermarks and recovery points from the checkpoint files.
// 2. Register with the controller (a new incarnation gets a new broker epoch), heartbeat, and pull
//    the controller's metadata log, replaying it into a MetadataImage.
// 3. Act on the image: lead the partitions it names this broker leader of, follow the others.
//    A leader appends produce requests, serves fetches, tracks followers, proposes ISR changes
//    with AlterPartition and advances the high watermark; a follower fetches from its leader and
//    reconciles its log with the leader's first (how, depends on the bug zoo: ./zoo.ts).
// 4. Checkpoint high watermarks every replica.high.watermark.checkpoint.interval.ms and recovery
//    points every log.flush.offset.checkpoint.interval.ms. A disk error halts the broker (one log
//    directory, as Kafka does when its only log directory goes offline).
//
// Simplifications (README fidelity table): one log directory; a clean shutdown flushes and
// writes its marker but is not a controlled shutdown (leadership moves only when the session
// expires); the broker replays the controller's metadata log from offset 0 at every start (no
// local metadata log or snapshots); no fetch sessions; producer ids come from the controller.

import type { KafkaConfig } from '../config.js';
import {
  formatOffsetCheckpoint,
  parseOffsetCheckpoint,
  parseTpKey,
  RECOVERY_POINT_OFFSET_CHECKPOINT,
  REPLICATION_OFFSET_CHECKPOINT,
  readCheckpoint,
  writeCheckpoint,
} from '../log/checkpoint.js';
import { PartitionLog, type PartitionLogDeps } from '../log/partition-log.js';
import { MetadataImage, type PartitionRegistration } from '../metadata.js';
import type { Node, NodeContext, StartReason, TimerId } from '../ports.js';
import type {
  AlterPartitionResponse,
  ErrorCode,
  FetchedPartition,
  FetchPartition,
  FetchRequest,
  KafkaMessage,
  ListOffsetsRequest,
  MetadataRecord,
  MetadataRequest,
  OffsetsForLeaderEpochRequest,
  ProduceRequest,
} from '../protocol.js';
import { brokerName, channelOf, NO_LEADER, tpKey } from '../protocol.js';
import { type ReqBody, Rpc, Timers } from '../rpc.js';
import { Partition, type PendingIsr } from './partition.js';
import { epochEndOffsetReply, fetchCurrentLeaderEpoch, followerTruncation, isrMemberEpoch } from './zoo.js';

export const CONTROLLER = 'c1';
const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
const RETRY_MS = 500;

interface DelayedProduce {
  readonly from: string;
  readonly req: ProduceRequest;
  readonly baseOffset: number;
  readonly requiredOffset: number;
  readonly timer: TimerId;
}

interface ParkedFetch {
  readonly from: string;
  readonly req: FetchRequest;
  readonly timer: TimerId;
}

/** A follower partition's fetch state (AbstractFetcherThread's PartitionFetchState). */
type FollowerState = 'fetching' | 'truncating' | 'failed';

interface Fetcher {
  inFlight: boolean;
  retryTimer: TimerId | undefined;
}

export interface BrokerOptions {
  readonly id: number;
  readonly config: KafkaConfig;
}

export class Broker implements Node<KafkaMessage> {
  readonly id: number;
  private readonly config: KafkaConfig;
  private ctx!: NodeContext<KafkaMessage>;
  private timers!: Timers;
  private rpc!: Rpc;

  /** -1 until registered. */
  brokerEpoch = -1;
  /** Whether the controller last said this broker is fenced. */
  fenced = true;
  private incarnationId = '';
  private previousBrokerEpoch = -1;
  readonly image = new MetadataImage();
  readonly logs = new Map<string, PartitionLog>();
  readonly partitions = new Map<string, Partition>();
  /** The keys of `partitions` in ascending order (the fetcher walks them on every fetch). */
  private readonly partitionKeys: string[] = [];
  private readonly followerState = new Map<string, FollowerState>();
  private readonly fetchers = new Map<number, Fetcher>();
  private delayedProduces: DelayedProduce[] = [];
  private parkedFetches: ParkedFetch[] = [];
  private recoveredHw = new Map<string, number>();
  private recoveredRecoveryPoints = new Map<string, number>();
  private hadCleanShutdown = false;
  private halted = false;
  private shuttingDown = false;
  private heartbeatTimer: TimerId | undefined;
  private metadataLoopStarted = false;
  private metadataCaughtUp = false;
  /** Partitions touched by records replayed before the broker caught up with the metadata log. */
  private touchedBeforeCatchUp = new Set<string>();

  constructor(options: BrokerOptions) {
    this.id = options.id;
    this.config = options.config;
  }

  // -------------------------------------------------------------------------------------------
  // Node entry points

  start(ctx: NodeContext<KafkaMessage>, _reason: StartReason): void {
    this.ctx = ctx;
    this.timers = new Timers(ctx);
    this.rpc = new Rpc(ctx, this.timers, this.config.int('request.timeout.ms'));
    this.incarnationId = `${this.id}-${ctx.random.int(0, 0xffffffff).toString(16)}`;
    this.loadLogs(() => this.register());
  }

  onMessage(_ctx: NodeContext<KafkaMessage>, from: string, msg: KafkaMessage): void {
    if (this.halted || this.shuttingDown || this.rpc.handleResponse(from, msg)) return;
    switch (msg.type) {
      case 'Fetch':
        this.onFetch(from, msg);
        return;
      case 'Produce':
        this.onProduce(from, msg);
        return;
      case 'Metadata':
        this.onMetadataRequest(from, msg);
        return;
      case 'ListOffsets':
        this.onListOffsets(from, msg);
        return;
      case 'OffsetsForLeaderEpoch':
        this.onOffsetsForLeaderEpoch(from, msg);
        return;
      default:
        // A late response (its request timed out) or a message for another role.
        this.ctx.trace('broker.ignored', { from, type: msg.type });
    }
  }

  onTimer(_ctx: NodeContext<KafkaMessage>, _tag: string, id: TimerId): void {
    if (!this.halted && !this.shuttingDown) this.timers.fire(id);
  }

  onDisconnect(_ctx: NodeContext<KafkaMessage>, peer: string, channel: string): void {
    // Parked fetches came in on the Fetch channel (replica fetchers and consumers).
    if (channel === channelOf('Fetch')) {
      this.parkedFetches = this.parkedFetches.filter((f) => {
        if (f.from !== peer) return true;
        this.timers.cancel(f.timer);
        return false;
      });
    }
    this.rpc.onDisconnect(peer, channel);
  }

  // -------------------------------------------------------------------------------------------
  // Startup: logs and checkpoints (LogManager.loadLogs)

  private loadLogs(done: () => void): void {
    const disk = this.ctx.disk;
    disk.readAll(CLEAN_SHUTDOWN_FILE, (marker) => {
      if (marker.ok) {
        this.hadCleanShutdown = true;
        const parsed = /"brokerEpoch"\s*:\s*(-?\d+)/.exec(new TextDecoder().decode(marker.value));
        this.previousBrokerEpoch = parsed ? Number(parsed[1]) : -1;
        disk.delete(CLEAN_SHUTDOWN_FILE);
      }
      readCheckpoint(disk, REPLICATION_OFFSET_CHECKPOINT, (hwText) => {
        this.recoveredHw = (hwText && parseOffsetCheckpoint(hwText)) || new Map();
        readCheckpoint(disk, RECOVERY_POINT_OFFSET_CHECKPOINT, (rpText) => {
          this.recoveredRecoveryPoints = (rpText && parseOffsetCheckpoint(rpText)) || new Map();
          disk.list('', (r) => {
            if (!r.ok) return this.storageError(r.error.message);
            const dirs = [...new Set(r.value.filter((n) => n.includes('/')).map((n) => n.slice(0, n.indexOf('/'))))].sort();
            let pending = dirs.length;
            if (pending === 0) return done();
            for (const dir of dirs) {
              const { topic, partition } = parseTpKey(dir);
              const opts = {
                recoveryPoint: this.recoveredRecoveryPoints.get(dir) ?? 0,
                highWatermark: this.recoveredHw.get(dir) ?? 0,
                hadCleanShutdown: this.hadCleanShutdown,
              };
              PartitionLog.load(this.logDeps(), topic, partition, opts, (log) => {
                this.logs.set(dir, log);
                if (--pending === 0) done();
              });
            }
          });
        });
      });
    });
    this.timers.set(this.config.int('replica.high.watermark.checkpoint.interval.ms'), 'hw-checkpoint', () => this.checkpointHighWatermarks());
    this.timers.set(this.config.int('log.flush.offset.checkpoint.interval.ms'), 'recovery-point-checkpoint', () => this.checkpointRecoveryPoints());
    this.timers.set(this.config.int('replica.lag.time.max.ms') / 2, 'isr-expiration', () => this.isrExpiration());
    if (this.config.int('log.flush.interval.ms') < Number.MAX_SAFE_INTEGER) this.timers.set(1000, 'flush-check', () => this.flushCheck());
  }

  private logDeps(): PartitionLogDeps {
    return {
      disk: this.ctx.disk,
      trace: (kind, fields) => this.ctx.trace(kind, fields),
      now: () => this.ctx.now(),
      onStorageError: (e) => this.storageError(e.message),
      segmentBytes: this.config.int('log.segment.bytes'),
      indexIntervalBytes: this.config.int('log.index.interval.bytes'),
      flushIntervalMessages: this.config.int('log.flush.interval.messages'),
      flushIntervalMs: this.config.int('log.flush.interval.ms'),
    };
  }

  private logFor(topic: string, partition: number): PartitionLog {
    const key = tpKey({ topic, partition });
    let log = this.logs.get(key);
    if (log === undefined) {
      log = PartitionLog.createEmpty(this.logDeps(), topic, partition);
      this.logs.set(key, log);
    }
    return log;
  }

  private storageError(detail: string): void {
    if (this.halted) return;
    this.halted = true;
    this.ctx.trace('broker.halt', { reason: `storage error: ${detail}` });
    this.ctx.halt(`log directory failed: ${detail}`);
  }

  /** Write one per-log-dir offset checkpoint (`offsetOf` picks the offset from each log). */
  private writeOffsetCheckpoint(file: string, offsetOf: (log: PartitionLog) => number, done?: () => void): void {
    const offsets = new Map<string, number>();
    for (const [key, log] of [...this.logs.entries()].sort()) offsets.set(key, offsetOf(log));
    writeCheckpoint(this.ctx.disk, file, formatOffsetCheckpoint(offsets), (ok, error) => {
      if (!ok) this.storageError(error?.message ?? 'checkpoint failed');
      else done?.();
    });
  }

  private checkpointHighWatermarks(): void {
    this.writeOffsetCheckpoint(REPLICATION_OFFSET_CHECKPOINT, (log) => log.highWatermark);
    this.timers.set(this.config.int('replica.high.watermark.checkpoint.interval.ms'), 'hw-checkpoint', () => this.checkpointHighWatermarks());
  }

  private checkpointRecoveryPoints(): void {
    this.writeOffsetCheckpoint(RECOVERY_POINT_OFFSET_CHECKPOINT, (log) => log.recoveryPoint);
    this.timers.set(this.config.int('log.flush.offset.checkpoint.interval.ms'), 'recovery-point-checkpoint', () => this.checkpointRecoveryPoints());
  }

  /**
   * A clean shutdown (LogManager.shutdown): flush every log, write the high-watermark and
   * recovery-point checkpoints, then the clean-shutdown marker with this broker epoch (KIP-966),
   * then exit. Requests are no longer served meanwhile. Simplification: no controlled shutdown
   * (the controller does not move leadership away first; it notices when the session expires).
   */
  onShutdown(ctx: NodeContext<KafkaMessage>): void {
    if (this.halted || this.shuttingDown) return;
    this.shuttingDown = true;
    ctx.trace('broker.shutdown', { brokerEpoch: this.brokerEpoch });
    const logs = [...this.logs.entries()].sort().map(([, log]) => log);
    let pending = logs.length;
    const afterFlush = () =>
      this.writeOffsetCheckpoint(
        REPLICATION_OFFSET_CHECKPOINT,
        (log) => log.highWatermark,
        () =>
          this.writeOffsetCheckpoint(
            RECOVERY_POINT_OFFSET_CHECKPOINT,
            (log) => log.recoveryPoint,
            () =>
              writeCheckpoint(ctx.disk, CLEAN_SHUTDOWN_FILE, JSON.stringify({ version: 0, brokerEpoch: this.brokerEpoch }), (ok, error) => {
                if (!ok) this.storageError(error?.message ?? 'clean-shutdown marker failed');
                else ctx.halt('clean shutdown');
              }),
          ),
      );
    if (pending === 0) afterFlush();
    for (const log of logs) {
      log.close((ok) => {
        if (ok && --pending === 0) afterFlush();
      });
    }
  }

  private flushCheck(): void {
    for (const [, log] of [...this.logs.entries()].sort()) log.maybeFlush();
    this.timers.set(1000, 'flush-check', () => this.flushCheck());
  }

  // -------------------------------------------------------------------------------------------
  // The controller: registration, heartbeats, metadata (BrokerLifecycleManager, MetadataLoader)

  private register(): void {
    this.rpc.send(
      CONTROLLER,
      { type: 'BrokerRegistration', brokerId: this.id, incarnationId: this.incarnationId, previousBrokerEpoch: this.previousBrokerEpoch },
      (o) => {
        if (!o.ok || o.response.error !== 'NONE') {
          this.timers.set(RETRY_MS, 'register-retry', () => this.register());
          return;
        }
        this.brokerEpoch = o.response.brokerEpoch;
        this.ctx.trace('broker.registered', { brokerEpoch: this.brokerEpoch, incarnation: this.incarnationId });
        this.heartbeat();
        // One metadata loop per process, whatever the number of registrations.
        if (!this.metadataLoopStarted) {
          this.metadataLoopStarted = true;
          this.fetchMetadata();
        }
        // Fetchers pause while the broker is unregistered; resume them.
        const leaders = new Set<number>();
        for (const p of this.partitions.values()) if (p.role === 'follower') leaders.add(p.leaderId);
        for (const id of [...leaders].sort((a, b) => a - b)) this.kickFetcher(id);
      },
    );
  }

  private heartbeat(): void {
    this.timers.cancel(this.heartbeatTimer);
    const epoch = this.brokerEpoch;
    this.rpc.send(
      CONTROLLER,
      { type: 'BrokerHeartbeat', brokerId: this.id, brokerEpoch: epoch, metadataOffset: this.image.offset - 1, wantFence: false },
      (o) => {
        if (epoch !== this.brokerEpoch) return;
        if (o.ok && (o.response.error === 'STALE_BROKER_EPOCH' || o.response.error === 'BROKER_ID_NOT_REGISTERED')) {
          // The controller no longer knows this incarnation: register again.
          this.brokerEpoch = -1;
          this.register();
          return;
        }
        if (o.ok && o.response.error === 'NONE' && o.response.isFenced !== this.fenced) {
          this.fenced = o.response.isFenced;
          this.ctx.trace(this.fenced ? 'broker.fenced' : 'broker.unfenced', { brokerEpoch: epoch });
        }
        this.heartbeatTimer = this.timers.set(this.config.int('broker.heartbeat.interval.ms'), 'heartbeat', () => this.heartbeat());
      },
      this.config.int('broker.session.timeout.ms'),
    );
  }

  private fetchMetadata(): void {
    const from = this.image.offset;
    const maxWaitMs = this.config.int('metadata.fetch.wait.max.ms');
    this.rpc.send(
      CONTROLLER,
      { type: 'MetadataFetch', brokerId: this.id, fromOffset: from, maxWaitMs },
      (o) => {
        if (!o.ok) {
          this.timers.set(RETRY_MS, 'metadata-retry', () => this.fetchMetadata());
          return;
        }
        if (o.response.fromOffset === this.image.offset) this.applyMetadata(o.response.records, o.response.endOffset);
        this.fetchMetadata();
      },
      maxWaitMs + this.config.int('request.timeout.ms'),
    );
  }

  /**
   * Replay metadata records, then act on every partition they touched (in a stable order). A
   * starting broker acts on nothing until it has caught up with the log's end (as KRaft's
   * MetadataLoader publishes its first image only then): mid-replay states are history, and
   * acting on them could revive a leadership long gone.
   */
  private applyMetadata(records: readonly MetadataRecord[], endOffset: number): void {
    const touched = this.touchedBeforeCatchUp;
    let brokersChanged = false;
    for (const rec of records) {
      this.image.apply(rec);
      if (rec.type === 'Partition' || rec.type === 'PartitionChange') touched.add(tpKey(rec));
      else if (rec.type === 'RegisterBroker' || rec.type === 'FenceBroker' || rec.type === 'UnfenceBroker') brokersChanged = true;
    }
    if (!this.metadataCaughtUp) {
      if (this.image.offset < endOffset) return;
      this.metadataCaughtUp = true;
      this.ctx.trace('broker.metadata-caught-up', { offset: this.image.offset });
    }
    this.touchedBeforeCatchUp = new Set();
    for (const key of [...touched].sort()) {
      const reg = this.image.partitions.get(key);
      if (reg !== undefined) this.applyPartition(reg);
    }
    // A broker state change can make a follower eligible for the ISR or let the HW move.
    if (brokersChanged) for (const p of this.ledPartitions()) this.afterLeaderStateChange(p);
  }

  private applyPartition(reg: PartitionRegistration): void {
    const key = tpKey(reg);
    if (!reg.replicas.includes(this.id)) {
      const p = this.partitions.get(key);
      if (p !== undefined && p.role !== 'none') this.stopReplica(p, reg);
      return;
    }
    let p = this.partitions.get(key);
    if (p === undefined) {
      p = new Partition(reg.topic, reg.partition, this.logFor(reg.topic, reg.partition), this.config, this.id);
      this.partitions.set(key, p);
      this.partitionKeys.push(key);
      this.partitionKeys.sort();
    }
    if (reg.leader === this.id) this.becomeLeader(p, reg);
    else if (reg.leader === NO_LEADER) this.stopReplica(p, reg);
    else this.becomeFollower(p, reg);
  }

  // -------------------------------------------------------------------------------------------
  // Leader and follower transitions

  private becomeLeader(p: Partition, reg: PartitionRegistration): void {
    const wasLeaderEpoch = p.role === 'leader' ? p.leaderEpoch : -1;
    const wasIsr = p.isr;
    if (!p.makeLeader(reg, this.ctx.now())) return;
    this.followerState.delete(tpKey(p));
    if (reg.leaderEpoch === wasLeaderEpoch && !sameMembers(wasIsr, p.isr)) {
      // The ISR changed under the same leader epoch, learned from the metadata log (which may come
      // before the AlterPartition response: the two travel on different connections).
      const kind = p.isr.every((r) => wasIsr.includes(r)) ? 'shrink' : wasIsr.every((r) => p.isr.includes(r)) ? 'expand' : 'change';
      this.ctx.trace('isr.changed', { topic: p.topic, partition: p.partition, kind, isr: p.isr, partitionEpoch: p.partitionEpoch, via: 'metadata' });
    }
    if (reg.leaderEpoch !== wasLeaderEpoch) {
      this.ctx.trace('partition.leader', {
        topic: p.topic,
        partition: p.partition,
        leaderEpoch: p.leaderEpoch,
        logEndOffset: p.log.logEndOffset,
        highWatermark: p.log.highWatermark,
        isr: p.isr,
      });
      // An unclean election leaves the partition RECOVERING until its new leader says otherwise (KIP-704).
      if (reg.leaderRecoveryState === 'RECOVERING') this.proposeIsr(p, { kind: 'shrink', newIsr: [...p.isr] }, 'RECOVERED');
    }
    this.afterLeaderStateChange(p);
  }

  private becomeFollower(p: Partition, reg: PartitionRegistration): void {
    const r = p.makeFollower(reg);
    if (r === undefined || !r.newLeader) return;
    const key = tpKey(p);
    this.failDelayedProduces(key, 'NOT_LEADER_OR_FOLLOWER');
    this.wakeParkedFetches(key);
    this.ctx.trace('partition.follower', {
      topic: p.topic,
      partition: p.partition,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      logEndOffset: p.log.logEndOffset,
      highWatermark: p.log.highWatermark,
    });
    switch (followerTruncation(this.config)) {
      case 'high-watermark':
        // Before Kafka 0.11: every become-follower truncates to the local high watermark.
        this.truncate(p, p.log.highWatermark, 'truncate-to-high-watermark (fix.kip-101 off)');
        this.followerState.set(key, 'fetching');
        break;
      case 'epoch-end-offset-v0':
        if (p.log.latestEpoch() === -1) {
          this.truncate(p, p.log.highWatermark, 'no leader epochs: truncate to the high watermark');
          this.followerState.set(key, 'fetching');
        } else {
          this.followerState.set(key, 'truncating');
          this.queryEpochEndOffset(p);
        }
        break;
      case 'diverging-epoch':
        if (p.log.latestEpoch() === -1) this.truncate(p, p.log.highWatermark, 'no leader epochs: truncate to the high watermark');
        this.followerState.set(key, 'fetching');
        break;
    }
    this.kickFetcher(p.leaderId);
  }

  private stopReplica(p: Partition, reg: PartitionRegistration): void {
    p.makeNone(reg);
    const key = tpKey(p);
    this.followerState.delete(key);
    this.failDelayedProduces(key, 'NOT_LEADER_OR_FOLLOWER');
    this.wakeParkedFetches(key);
  }

  private truncate(p: Partition, offset: number, rule: string, detail: Record<string, number> = {}): void {
    const from = p.log.logEndOffset;
    if (offset >= from) {
      // Nothing to cut, but the epoch cache may end in an entry the leader never had (this broker
      // led an epoch and appended nothing in it): as UnifiedLog.truncateTo, drop entries at or past
      // the log end. Without it the follower meets the same diverging epoch on every fetch.
      p.log.truncateTo(offset);
      return;
    }
    const to = p.log.truncateTo(offset);
    this.ctx.trace('replica.truncate', { topic: p.topic, partition: p.partition, from, to, rule, leader: p.leaderId, leaderEpoch: p.leaderEpoch, ...detail });
  }

  private ledPartitions(): Partition[] {
    return [...this.partitions.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([, p]) => p)
      .filter((p) => p.isLeader);
  }

  // -------------------------------------------------------------------------------------------
  // Leader: ISR changes and the high watermark

  /** Re-evaluate what a leader's state change allows: a higher HW (and completed requests). */
  private afterLeaderStateChange(p: Partition): void {
    if (p.maybeIncrementHighWatermark(this.ctx.now(), this.image)) this.onHighWatermarkIncrease(p);
  }

  private onHighWatermarkIncrease(p: Partition): void {
    const key = tpKey(p);
    this.completeDelayedProduces(key);
    this.wakeParkedFetches(key);
  }

  private isrExpiration(): void {
    for (const p of this.ledPartitions()) {
      const s = p.shrinkage(this.ctx.now());
      if (s === undefined) continue;
      this.ctx.trace('isr.shrink-proposed', { topic: p.topic, partition: p.partition, isr: p.isr, newIsr: s.newIsr, outOfSync: s.outOfSync });
      this.proposeIsr(p, { kind: 'shrink', newIsr: s.newIsr });
    }
    this.timers.set(this.config.int('replica.lag.time.max.ms') / 2, 'isr-expiration', () => this.isrExpiration());
  }

  private proposeIsr(p: Partition, pending: PendingIsr, recoveryState = p.leaderRecoveryState): void {
    p.pendingIsr = pending;
    const leaderEpoch = p.leaderEpoch;
    const partitionEpoch = p.partitionEpoch;
    const body: ReqBody<'AlterPartition'> = {
      type: 'AlterPartition',
      brokerId: this.id,
      brokerEpoch: this.brokerEpoch,
      topic: p.topic,
      partition: p.partition,
      leaderEpoch,
      partitionEpoch,
      newIsrWithEpochs: pending.newIsr.map((id) => ({
        brokerId: id,
        brokerEpoch: isrMemberEpoch(this.config, id === this.id ? this.brokerEpoch : (p.remotes.get(id)?.brokerEpoch ?? -1)),
      })),
      leaderRecoveryState: recoveryState,
    };
    this.rpc.send(CONTROLLER, body, (o) => {
      // Ignore the answer if the partition moved on meanwhile (Partition.handleAlterPartitionUpdate).
      if (p.pendingIsr !== pending || p.leaderEpoch !== leaderEpoch || p.partitionEpoch !== partitionEpoch || !p.isLeader) return;
      if (!o.ok) {
        this.timers.set(RETRY_MS, 'alter-partition-retry', () => {
          if (p.pendingIsr === pending && p.isLeader) this.proposeIsr(p, pending, recoveryState);
        });
        return;
      }
      this.onAlterPartitionResponse(p, pending, o.response);
    });
  }

  private onAlterPartitionResponse(p: Partition, pending: PendingIsr, resp: AlterPartitionResponse): void {
    const where = { topic: p.topic, partition: p.partition };
    switch (resp.error) {
      case 'NONE':
        if (resp.leaderEpoch !== p.leaderEpoch || resp.partitionEpoch < p.partitionEpoch) return;
        p.isr = [...resp.isr];
        p.partitionEpoch = resp.partitionEpoch;
        p.leaderRecoveryState = resp.leaderRecoveryState;
        p.pendingIsr = undefined;
        this.ctx.trace('isr.changed', { ...where, kind: pending.kind, isr: p.isr, partitionEpoch: p.partitionEpoch });
        this.afterLeaderStateChange(p);
        return;
      case 'INELIGIBLE_REPLICA':
        // Roll back to the committed state; the follower may qualify on a later fetch.
        p.pendingIsr = undefined;
        this.ctx.trace('isr.change-rejected', { ...where, error: resp.error, newIsr: pending.newIsr });
        return;
      default:
        // Stay pending (no further ISR change) until new metadata arrives.
        this.ctx.trace('isr.change-rejected', { ...where, error: resp.error, newIsr: pending.newIsr });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Produce (ReplicaManager.appendRecords, DelayedProduce)

  private onProduce(from: string, req: ProduceRequest): void {
    const key = tpKey(req);
    const p = this.partitions.get(key);
    const reply = (error: ErrorCode, baseOffset = -1) => {
      if (req.acks !== 0)
        this.ctx.send(from, { type: 'ProduceResponse', correlationId: req.correlationId, topic: req.topic, partition: req.partition, error, baseOffset });
    };
    if (p === undefined || !p.isLeader) {
      reply(p === undefined && !this.image.partitions.has(key) ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'NOT_LEADER_OR_FOLLOWER');
      return;
    }
    if (req.acks === -1 && p.isr.length < p.minIsr) {
      reply('NOT_ENOUGH_REPLICAS');
      return;
    }
    const result = p.log.appendAsLeader(req.batch, p.leaderEpoch);
    if (result.kind === 'error') {
      reply(result.error);
      return;
    }
    this.ctx.trace('produce.append', {
      topic: req.topic,
      partition: req.partition,
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      duplicate: result.kind === 'duplicate',
      acks: req.acks,
      leaderEpoch: p.leaderEpoch,
    });
    if (result.kind === 'appended') {
      this.wakeParkedFetches(key);
      this.afterLeaderStateChange(p);
    }
    if (req.acks === 1) {
      reply('NONE', result.baseOffset);
      return;
    }
    if (req.acks === 0) return;
    const requiredOffset = result.lastOffset + 1;
    const delayed: DelayedProduce = {
      from,
      req,
      baseOffset: result.baseOffset,
      requiredOffset,
      timer: this.timers.set(req.timeoutMs, 'produce-timeout', () => this.finishProduce(delayed, 'REQUEST_TIMED_OUT')),
    };
    this.delayedProduces.push(delayed);
    this.completeDelayedProduces(key);
  }

  /** DelayedProduce.tryComplete: done once the HW passes the batch (or leadership is gone). */
  private completeDelayedProduces(key: string): void {
    const p = this.partitions.get(key);
    for (const d of this.delayedProduces.filter((x) => tpKey(x.req) === key)) {
      if (p === undefined || !p.isLeader) this.finishProduce(d, 'NOT_LEADER_OR_FOLLOWER');
      else if (p.log.highWatermark >= d.requiredOffset) this.finishProduce(d, p.maximalIsr().length < p.minIsr ? 'NOT_ENOUGH_REPLICAS_AFTER_APPEND' : 'NONE');
    }
  }

  private failDelayedProduces(key: string, error: ErrorCode): void {
    for (const d of this.delayedProduces.filter((x) => tpKey(x.req) === key)) this.finishProduce(d, error);
  }

  private finishProduce(d: DelayedProduce, error: ErrorCode): void {
    const i = this.delayedProduces.indexOf(d);
    if (i < 0) return;
    this.delayedProduces.splice(i, 1);
    this.timers.cancel(d.timer);
    this.ctx.send(d.from, {
      type: 'ProduceResponse',
      correlationId: d.req.correlationId,
      topic: d.req.topic,
      partition: d.req.partition,
      error,
      baseOffset: error === 'NONE' ? d.baseOffset : -1,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Fetch, as leader (ReplicaManager.fetchMessages, DelayedFetch)

  private onFetch(from: string, req: FetchRequest): void {
    const results = this.serveFetch(req);
    const hasData = results.some((r) => r.error !== 'NONE' || r.records.length > 0 || r.divergingEpoch !== undefined);
    if (hasData || req.maxWaitMs <= 0) {
      this.respondFetch(from, req, results);
      return;
    }
    const parked: ParkedFetch = {
      from,
      req,
      timer: this.timers.set(req.maxWaitMs, 'fetch-wait', () => {
        this.parkedFetches = this.parkedFetches.filter((f) => f !== parked);
        this.respondFetch(from, req, this.serveFetch(req));
      }),
    };
    this.parkedFetches.push(parked);
  }

  private serveFetch(req: FetchRequest): FetchedPartition[] {
    const now = this.ctx.now();
    const results = req.partitions.map((fp) => {
      const p = this.partitions.get(tpKey(fp));
      if (p === undefined) return emptyFetch(fp, this.image.partitions.has(tpKey(fp)) ? 'NOT_LEADER_OR_FOLLOWER' : 'UNKNOWN_TOPIC_OR_PARTITION');
      return p.serveFetch(fp, req.replicaId, req.replicaEpoch, now, this.image);
    });
    if (req.replicaId >= 0) {
      // A follower's successful read (its state updated) may let it join the ISR and the high
      // watermark move; a failed or diverging fetch changes nothing (Partition.fetchRecords).
      for (const r of results) {
        if (r.error !== 'NONE' || r.divergingEpoch !== undefined) continue;
        const p = this.partitions.get(tpKey(r));
        if (p === undefined || !p.isLeader) continue;
        const newIsr = p.expansionFor(req.replicaId, this.image);
        if (newIsr !== undefined) {
          this.ctx.trace('isr.expand-proposed', {
            topic: p.topic,
            partition: p.partition,
            isr: p.isr,
            newIsr,
            replica: req.replicaId,
            replicaLeo: p.remotes.get(req.replicaId)?.leo ?? -1,
          });
          this.proposeIsr(p, { kind: 'expand', replica: req.replicaId, newIsr });
        }
        this.afterLeaderStateChange(p);
      }
    }
    return results;
  }

  private respondFetch(to: string, req: FetchRequest, partitions: FetchedPartition[]): void {
    this.ctx.send(
      to,
      { type: 'FetchResponse', correlationId: req.correlationId, partitions },
      64 + partitions.reduce((n, p) => n + p.records.reduce((m, r) => m + r.length, 0), 0),
    );
  }

  /** New data, a higher HW or a role change on `key`: answer parked fetches that now have something to return. */
  private wakeParkedFetches(key: string): void {
    const p = this.partitions.get(key);
    for (const f of this.parkedFetches.filter((x) => x.req.partitions.some((fp) => tpKey(fp) === key && this.mayAnswer(p, fp, x.req.replicaId)))) {
      const results = this.serveFetch(f.req);
      if (!results.some((r) => r.error !== 'NONE' || r.records.length > 0 || r.divergingEpoch !== undefined)) continue;
      this.parkedFetches = this.parkedFetches.filter((x) => x !== f);
      this.timers.cancel(f.timer);
      this.respondFetch(f.from, f.req, results);
    }
  }

  /** Cheap precheck before re-serving a parked fetch: could this partition answer it now? */
  private mayAnswer(p: Partition | undefined, fp: FetchPartition, replicaId: number): boolean {
    if (p === undefined || !p.isLeader || p.leaderEpoch !== fp.currentLeaderEpoch) return true; // an error to report
    return (replicaId >= 0 ? p.log.logEndOffset : p.log.highWatermark) > fp.fetchOffset;
  }

  // -------------------------------------------------------------------------------------------
  // Fetch, as follower (ReplicaFetcherThread / AbstractFetcherThread)

  private kickFetcher(leaderId: number): void {
    let f = this.fetchers.get(leaderId);
    if (f === undefined) this.fetchers.set(leaderId, (f = { inFlight: false, retryTimer: undefined }));
    if (f.inFlight || f.retryTimer !== undefined || this.brokerEpoch < 0) return;
    const mode = followerTruncation(this.config);
    const parts: FetchPartition[] = [];
    const epochs = new Map<string, number>();
    for (const key of this.partitionKeys) {
      const p = this.partitions.get(key) as Partition;
      if (p.role !== 'follower' || p.leaderId !== leaderId || this.followerState.get(key) !== 'fetching') continue;
      epochs.set(key, p.leaderEpoch);
      parts.push({
        topic: p.topic,
        partition: p.partition,
        fetchOffset: p.log.logEndOffset,
        currentLeaderEpoch: fetchCurrentLeaderEpoch(this.config, p.leaderEpoch),
        lastFetchedEpoch: mode === 'diverging-epoch' ? p.log.latestEpoch() : -1,
        logStartOffset: p.log.logStartOffset,
        maxBytes: this.config.int('replica.fetch.max.bytes'),
      });
    }
    if (parts.length === 0) return;
    f.inFlight = true;
    const fetcher = f;
    const body: ReqBody<'Fetch'> = {
      type: 'Fetch',
      replicaId: this.id,
      replicaEpoch: isrMemberEpoch(this.config, this.brokerEpoch),
      maxWaitMs: this.config.int('replica.fetch.wait.max.ms'),
      partitions: parts,
    };
    this.rpc.send(
      brokerName(leaderId),
      body,
      (o) => {
        fetcher.inFlight = false;
        if (!o.ok) return this.backOffFetcher(leaderId);
        let backOff = false;
        for (const fp of o.response.partitions) {
          const sent = parts.find((x) => x.topic === fp.topic && x.partition === fp.partition);
          if (sent === undefined) continue;
          backOff = this.processFetched(leaderId, sent, epochs.get(tpKey(fp)) ?? -1, fp) || backOff;
        }
        if (backOff) this.backOffFetcher(leaderId);
        else this.kickFetcher(leaderId);
      },
      this.config.int('replica.socket.timeout.ms'),
    );
  }

  private backOffFetcher(leaderId: number): void {
    const f = this.fetchers.get(leaderId);
    if (f === undefined || f.retryTimer !== undefined) return;
    f.retryTimer = this.timers.set(this.config.int('replica.fetch.backoff.ms'), 'fetch-backoff', () => {
      f.retryTimer = undefined;
      this.kickFetcher(leaderId);
    });
  }

  /** Process one partition of a fetch response; returns true if the fetcher should back off. */
  private processFetched(leaderId: number, sent: FetchPartition, sentLeaderEpoch: number, fp: FetchedPartition): boolean {
    const key = tpKey(fp);
    const p = this.partitions.get(key);
    // The partition moved on since the request was sent: drop the answer.
    if (p === undefined || p.role !== 'follower' || p.leaderId !== leaderId || p.leaderEpoch !== sentLeaderEpoch) return false;
    if (this.followerState.get(key) !== 'fetching' || p.log.logEndOffset !== sent.fetchOffset) return false;
    switch (fp.error) {
      case 'NONE': {
        if (fp.divergingEpoch !== undefined) {
          this.truncateOnDivergence(p, fp.divergingEpoch.epoch, fp.divergingEpoch.endOffset);
          return false;
        }
        if (fp.records.length > 0) {
          const r = p.log.appendAsFollower(fp.records);
          if (r.kind === 'error') {
            this.ctx.trace('replica.append-failed', { topic: p.topic, partition: p.partition, error: r.error });
            return true;
          }
        }
        p.log.updateHighWatermark(Math.min(fp.highWatermark, p.log.logEndOffset));
        return false;
      }
      case 'OFFSET_OUT_OF_RANGE':
        // Simplification: the leader's LEO and log start come in the fetch response (Kafka asks with ListOffsets).
        if (fp.logEndOffset < p.log.logEndOffset)
          this.truncate(p, fp.logEndOffset, 'offset out of range: truncate to the leader log end', { leaderLogEndOffset: fp.logEndOffset });
        else if (fp.logStartOffset > p.log.logEndOffset) p.log.truncateFullyAndStartAt(fp.logStartOffset);
        return true;
      case 'FENCED_LEADER_EPOCH':
        // Our epoch is stale: stop fetching this partition until new metadata arrives.
        this.followerState.set(key, 'failed');
        this.ctx.trace('replica.fetch-fenced', { topic: p.topic, partition: p.partition, leaderEpoch: p.leaderEpoch });
        return false;
      default:
        return true;
    }
  }

  /** AbstractFetcherThread.getOffsetTruncationState, with the leader's (epoch, end offset). */
  private truncateOnDivergence(p: Partition, leaderEpoch: number, leaderEndOffset: number): void {
    const leo = p.log.logEndOffset;
    const detail = { divergingEpoch: leaderEpoch, divergingEndOffset: leaderEndOffset };
    if (leaderEndOffset === -1) return;
    if (leaderEpoch === -1) {
      this.truncate(p, Math.min(leaderEndOffset, leo), 'diverging epoch (leader has no epoch)', detail);
      return;
    }
    const local = p.log.endOffsetForEpoch(leaderEpoch);
    if (local.epoch === -1) {
      this.truncate(p, Math.min(leaderEndOffset, leo), 'diverging epoch (no local epoch at or below the leader epoch)', detail);
      return;
    }
    if (local.epoch !== leaderEpoch) {
      this.truncate(p, Math.min(local.endOffset, leo), 'diverging epoch (the follower never had the leader epoch; iterate)', detail);
      return;
    }
    this.truncate(p, Math.min(local.endOffset, leaderEndOffset, leo), 'diverging epoch', detail);
  }

  /** fix.kip-279 off: one OffsetsForLeaderEpoch round with an offset-only reply (KIP-101 as first shipped). */
  private queryEpochEndOffset(p: Partition): void {
    const key = tpKey(p);
    const leaderEpoch = p.leaderEpoch;
    const askedEpoch = p.log.latestEpoch();
    this.rpc.send(
      brokerName(p.leaderId),
      {
        type: 'OffsetsForLeaderEpoch',
        replicaId: this.id,
        topic: p.topic,
        partition: p.partition,
        currentLeaderEpoch: fetchCurrentLeaderEpoch(this.config, leaderEpoch),
        leaderEpoch: askedEpoch,
      },
      (o) => {
        if (p.role !== 'follower' || p.leaderEpoch !== leaderEpoch || this.followerState.get(key) !== 'truncating') return;
        if (!o.ok || o.response.error !== 'NONE') {
          this.timers.set(this.config.int('replica.fetch.backoff.ms'), 'epoch-query-retry', () => {
            if (p.role === 'follower' && p.leaderEpoch === leaderEpoch && this.followerState.get(key) === 'truncating') this.queryEpochEndOffset(p);
          });
          return;
        }
        const endOffset = o.response.endOffset;
        const detail = { askedEpoch, replyEndOffset: endOffset };
        if (endOffset === -1) this.truncate(p, p.log.highWatermark, 'epoch end offset undefined: truncate to the high watermark', detail);
        else this.truncate(p, endOffset, 'epoch end offset (KIP-101 v0 reply)', detail);
        this.followerState.set(key, 'fetching');
        this.kickFetcher(p.leaderId);
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Other client requests

  /**
   * The partition a leader-only request is for, if this broker leads it in the epoch the request
   * names; otherwise undefined, after `fail` was called with the error to answer.
   */
  private ledPartitionFor(req: { topic: string; partition: number; currentLeaderEpoch: number }, fail: (error: ErrorCode) => void): Partition | undefined {
    const p = this.partitions.get(tpKey(req));
    const error = p === undefined ? 'UNKNOWN_TOPIC_OR_PARTITION' : p.checkLeaderRequest(req.currentLeaderEpoch);
    if (error !== 'NONE') {
      fail(error);
      return undefined;
    }
    return p;
  }

  private onOffsetsForLeaderEpoch(from: string, req: OffsetsForLeaderEpochRequest): void {
    const reply = (error: ErrorCode, leaderEpoch = -1, endOffset = -1) =>
      this.ctx.send(from, {
        type: 'OffsetsForLeaderEpochResponse',
        correlationId: req.correlationId,
        error,
        topic: req.topic,
        partition: req.partition,
        leaderEpoch,
        endOffset,
      });
    const p = this.ledPartitionFor(req, reply);
    if (p === undefined) return;
    const r = epochEndOffsetReply(this.config, p.log.epochCache, req.leaderEpoch, p.log.logEndOffset);
    reply('NONE', r.leaderEpoch, r.endOffset);
  }

  private onListOffsets(from: string, req: ListOffsetsRequest): void {
    const reply = (error: ErrorCode, offset = -1, leaderEpoch = -1) =>
      this.ctx.send(from, {
        type: 'ListOffsetsResponse',
        correlationId: req.correlationId,
        error,
        topic: req.topic,
        partition: req.partition,
        offset,
        leaderEpoch,
      });
    const p = this.ledPartitionFor(req, reply);
    if (p === undefined) return;
    reply('NONE', req.timestamp === 'earliest' ? p.log.logStartOffset : p.log.highWatermark, p.leaderEpoch);
  }

  private onMetadataRequest(from: string, req: MetadataRequest): void {
    const names = req.topics.length > 0 ? req.topics : [...this.image.topics.keys()].sort();
    const topics = names.map((name) => {
      const count = this.image.topics.get(name) ?? 0;
      const partitions = [];
      for (let i = 0; i < count; i++) {
        const reg = this.image.partition({ topic: name, partition: i });
        if (reg === undefined) continue;
        partitions.push({
          partition: i,
          error: (reg.leader === NO_LEADER ? 'LEADER_NOT_AVAILABLE' : 'NONE') as ErrorCode,
          leader: reg.leader,
          leaderEpoch: reg.leaderEpoch,
          replicas: [...reg.replicas],
          isr: [...reg.isr],
        });
      }
      return { name, partitions };
    });
    const brokers = [...this.image.brokers.values()].filter((b) => !b.fenced).map((b) => b.brokerId);
    this.ctx.send(from, { type: 'MetadataResponse', correlationId: req.correlationId, brokers: brokers.sort((a, b) => a - b), topics });
  }
}

function emptyFetch(fp: FetchPartition, error: ErrorCode): FetchedPartition {
  return { topic: fp.topic, partition: fp.partition, error, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, records: [] };
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
