// One partition on one broker, as leader or follower (Kafka's Partition.scala and the leader's
// half of ReplicaManager.fetchMessages; facts in docs/notes/kafka-data-plane.md §2.2, §3).
//
// As leader it keeps each follower's replica state (LEO, last caught-up time, broker epoch),
// decides ISR shrinks and expansions (sent to the controller as AlterPartition; one in flight at a
// time, the committed ISR unchanged until the controller answers), advances the high watermark
// over the maximal ISR, and validates and serves fetches. As follower it only records who leads;
// the broker's fetcher drives replication.
//
// Historical behaviours are chosen through ./zoo.ts, never by testing a fix.* key here.
//
// Simplifications: no reassignment (adding or removing replicas), no preferred-leader election,
// no fetch sessions, no read from followers (KIP-392).

import type { KafkaConfig } from '../config.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { MetadataImage, PartitionRegistration } from '../metadata.js';
import type { ErrorCode, FetchedPartition, FetchPartition, LeaderRecoveryState } from '../protocol.js';
import { NO_LEADER } from '../protocol.js';
import { caughtUpForIsr, highWatermarkFrozen, highWatermarkIsr, highWatermarkWaitsForJoiningFollowers } from './zoo.js';

/** What the leader knows of a follower (Kafka's Replica / ReplicaState). */
export interface ReplicaState {
  readonly brokerId: number;
  /** The follower's log end offset as of its last fetch; -1 while unknown in this leader epoch. */
  leo: number;
  /** The leader's LEO when that fetch arrived. */
  lastFetchLeaderLeo: number;
  lastFetchTimeMs: number;
  lastCaughtUpTimeMs: number;
  /** The broker epoch the follower's last fetch carried (KIP-903); -1 if none. */
  brokerEpoch: number;
}

/** An ISR change sent to the controller and not yet answered (Kafka's PendingExpandIsr / PendingShrinkIsr). */
export type PendingIsr =
  | { readonly kind: 'expand'; readonly replica: number; readonly newIsr: number[] }
  | { readonly kind: 'shrink'; readonly newIsr: number[] };

export type Role = 'none' | 'leader' | 'follower';

export class Partition {
  role: Role = 'none';
  leaderId = NO_LEADER;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: number[] = [];
  /** The committed ISR (as the controller last confirmed it). */
  isr: number[] = [];
  pendingIsr: PendingIsr | undefined;
  leaderRecoveryState: LeaderRecoveryState = 'RECOVERED';
  /** As leader: the log end offset when this leader epoch began (LESO). */
  leaderEpochStartOffset = -1;
  readonly remotes = new Map<number, ReplicaState>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly log: PartitionLog,
    private readonly config: KafkaConfig,
    private readonly localId: number,
  ) {}

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** The ISR the high watermark and acks=all wait for (committed ISR, plus an addition in flight). */
  maximalIsr(): number[] {
    return highWatermarkIsr(this.config, this.isr, this.pendingIsr?.kind === 'expand' ? this.pendingIsr.replica : undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Becoming leader or follower (Partition.makeLeader / makeFollower)

  /** Returns false when the registration is older than what this partition already knows. */
  makeLeader(reg: PartitionRegistration, nowMs: number): boolean {
    if (reg.partitionEpoch < this.partitionEpoch) return false;
    const wasLeader = this.role === 'leader';
    const isNewLeaderEpoch = !wasLeader || reg.leaderEpoch > this.leaderEpoch;
    this.adopt(reg);
    this.role = 'leader';
    this.pendingIsr = undefined;
    if (isNewLeaderEpoch) {
      this.log.assignEpochStartOffset(reg.leaderEpoch, this.log.logEndOffset);
      this.leaderEpochStartOffset = this.log.logEndOffset;
    }
    for (const id of [...this.remotes.keys()]) if (!reg.replicas.includes(id)) this.remotes.delete(id);
    for (const id of reg.replicas) {
      if (id === this.localId) continue;
      const known = this.remotes.get(id);
      const inIsr = reg.isr.includes(id);
      if (known === undefined || (isNewLeaderEpoch && !wasLeader)) {
        // A new leader knows nothing of its followers until they fetch in its epoch.
        this.remotes.set(id, { brokerId: id, leo: -1, lastFetchLeaderLeo: -1, lastFetchTimeMs: 0, lastCaughtUpTimeMs: inIsr ? nowMs : 0, brokerEpoch: -1 });
      } else if (isNewLeaderEpoch) {
        // Re-elected: keep what it knew, but caught-up times start again from this epoch.
        known.lastFetchLeaderLeo = this.leaderEpochStartOffset;
        known.lastCaughtUpTimeMs = inIsr ? nowMs : 0;
      }
    }
    return true;
  }

  /** Returns whether this is a new leader or leader epoch (the fetcher must restart), or undefined if stale. */
  makeFollower(reg: PartitionRegistration): { newLeader: boolean } | undefined {
    if (reg.partitionEpoch < this.partitionEpoch) return undefined;
    const newLeader = this.role !== 'follower' || reg.leader !== this.leaderId || reg.leaderEpoch > this.leaderEpoch;
    this.adopt(reg);
    this.role = 'follower';
    this.pendingIsr = undefined;
    this.remotes.clear();
    this.leaderEpochStartOffset = -1;
    return { newLeader };
  }

  /** No longer a replica, or no leader: stop acting as either. */
  makeNone(reg: PartitionRegistration | undefined): void {
    if (reg !== undefined) this.adopt(reg);
    this.role = 'none';
    this.pendingIsr = undefined;
    this.remotes.clear();
  }

  private adopt(reg: PartitionRegistration): void {
    this.leaderId = reg.leader;
    this.leaderEpoch = reg.leaderEpoch;
    this.partitionEpoch = reg.partitionEpoch;
    this.replicas = [...reg.replicas];
    this.isr = [...reg.isr];
    this.leaderRecoveryState = reg.leaderRecoveryState;
  }

  // -------------------------------------------------------------------------------------------
  // Followers, ISR and high watermark (leader only)

  /** Kafka's ReplicaState.isCaughtUp: at the leader's LEO, or caught up within the lag limit. */
  isCaughtUp(r: ReplicaState, nowMs: number): boolean {
    return r.leo === this.log.logEndOffset || nowMs - r.lastCaughtUpTimeMs <= this.config.int('replica.lag.time.max.ms');
  }

  /** KIP-841 / KIP-903: an unfenced broker whose last fetch carried its current broker epoch (or none). */
  isIsrEligible(r: ReplicaState, metadata: MetadataImage): boolean {
    const reg = metadata.brokers.get(r.brokerId);
    if (reg === undefined || reg.fenced) return false;
    return r.brokerEpoch === -1 || r.brokerEpoch === reg.brokerEpoch;
  }

  /**
   * A follower's fetch at `fetchOffset` reached the leader (Replica.updateFetchStateOrThrow).
   * `leaderLeo` is the leader's LEO before the read. A fetch from an older incarnation of the
   * broker (its epoch is below the registered one) is refused.
   */
  updateFollowerFetchState(replicaId: number, replicaEpoch: number, fetchOffset: number, leaderLeo: number, nowMs: number, metadata: MetadataImage): ErrorCode {
    const r = this.remotes.get(replicaId);
    if (r === undefined) return 'NOT_LEADER_OR_FOLLOWER';
    const registered = metadata.brokers.get(replicaId)?.brokerEpoch;
    if (replicaEpoch !== -1 && registered !== undefined && registered > replicaEpoch) return 'NOT_LEADER_OR_FOLLOWER';
    if (fetchOffset >= leaderLeo) r.lastCaughtUpTimeMs = Math.max(r.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= r.lastFetchLeaderLeo) r.lastCaughtUpTimeMs = Math.max(r.lastCaughtUpTimeMs, r.lastFetchTimeMs);
    r.leo = fetchOffset;
    r.lastFetchLeaderLeo = Math.max(r.lastFetchLeaderLeo, leaderLeo);
    r.lastFetchTimeMs = nowMs;
    r.brokerEpoch = replicaEpoch;
    return 'NONE';
  }

  /** The ISR to propose if follower `replicaId` may join it now (Partition.maybeExpandIsr), else undefined. */
  expansionFor(replicaId: number, metadata: MetadataImage): number[] | undefined {
    if (this.role !== 'leader' || this.pendingIsr !== undefined || this.isr.includes(replicaId)) return undefined;
    const r = this.remotes.get(replicaId);
    if (r === undefined || r.leo < 0) return undefined;
    if (!caughtUpForIsr(this.config, r.leo, this.log.highWatermark, this.leaderEpochStartOffset)) return undefined;
    if (!this.isIsrEligible(r, metadata)) return undefined;
    return [...this.isr, replicaId];
  }

  /** The ISR to propose without the followers that fell behind (Partition.maybeShrinkIsr), else undefined. */
  shrinkage(nowMs: number): { newIsr: number[]; outOfSync: number[] } | undefined {
    if (this.role !== 'leader' || this.pendingIsr !== undefined) return undefined;
    const outOfSync = this.isr.filter((id) => {
      if (id === this.localId) return false;
      const r = this.remotes.get(id);
      return r === undefined || !this.isCaughtUp(r, nowMs);
    });
    if (outOfSync.length === 0) return undefined;
    return { newIsr: this.isr.filter((id) => !outOfSync.includes(id)), outOfSync };
  }

  /**
   * Advance the high watermark to the smallest LEO among the replicas it waits for
   * (Partition.maybeIncrementLeaderHW). Returns true if it moved.
   */
  maybeIncrementHighWatermark(nowMs: number, metadata: MetadataImage): boolean {
    if (this.role !== 'leader') return false;
    if (highWatermarkFrozen(this.config, this.isr.length, this.replicas.length)) return false;
    const waitFor = this.maximalIsr();
    const joining = highWatermarkWaitsForJoiningFollowers(this.config);
    let hw = this.log.logEndOffset;
    for (const r of this.remotes.values()) {
      if (r.leo >= hw) continue;
      if (waitFor.includes(r.brokerId) || (joining && r.leo >= 0 && this.isCaughtUp(r, nowMs) && this.isIsrEligible(r, metadata))) hw = r.leo;
    }
    return hw >= 0 && this.log.maybeIncrementHighWatermark(hw);
  }

  /** Effective min ISR: min(min.insync.replicas, replication factor). */
  get minIsr(): number {
    return Math.min(this.config.int('min.insync.replicas'), this.replicas.length);
  }

  /**
   * A request meant for this partition's leader, carrying the leader epoch the sender believes
   * current (KIP-320; -1 for none): a newer local epoch fences it, an older one means this broker
   * has not caught up yet; then this broker must be the leader.
   */
  checkLeaderRequest(currentLeaderEpoch: number): ErrorCode {
    if (currentLeaderEpoch !== -1) {
      if (this.leaderEpoch > currentLeaderEpoch) return 'FENCED_LEADER_EPOCH';
      if (this.leaderEpoch < currentLeaderEpoch) return 'UNKNOWN_LEADER_EPOCH';
    }
    return this.role === 'leader' ? 'NONE' : 'NOT_LEADER_OR_FOLLOWER';
  }

  // -------------------------------------------------------------------------------------------
  // Serving a fetch (Partition.fetchRecords / readRecords; notes §2.2, in order)

  /**
   * Validate and read one partition of a fetch. `replicaId` is -1 for a consumer. Follower state
   * is updated unless the fetch diverges or fails. `readLimit` is where reads stop (LEO for
   * followers, high watermark for consumers).
   */
  serveFetch(req: FetchPartition, replicaId: number, replicaEpoch: number, nowMs: number, metadata: MetadataImage): FetchedPartition {
    const log = this.log;
    // The answer carries the log's numbers as they were on arrival, before the follower's state
    // is updated; it is built as one plain object (serveFetch runs on every fetch).
    const hw = log.highWatermark;
    const lso = log.logStartOffset;
    const leo = log.logEndOffset;
    const epochError = this.checkLeaderRequest(req.currentLeaderEpoch);
    if (epochError !== 'NONE') return this.fetched(hw, lso, leo, [], epochError);
    const isFollower = replicaId >= 0;
    if (isFollower && !this.remotes.has(replicaId))
      return this.fetched(hw, lso, leo, [], req.currentLeaderEpoch !== -1 ? 'UNKNOWN_LEADER_EPOCH' : 'NOT_LEADER_OR_FOLLOWER');
    if (req.lastFetchedEpoch !== -1) {
      const { epoch, endOffset } = log.endOffsetForEpoch(req.lastFetchedEpoch);
      if (epoch === -1 || endOffset === -1) return this.fetched(hw, lso, leo, [], 'OFFSET_OUT_OF_RANGE');
      if (req.fetchOffset < log.logStartOffset) return this.fetched(hw, lso, leo, [], 'OFFSET_OUT_OF_RANGE');
      if (epoch < req.lastFetchedEpoch || endOffset < req.fetchOffset) {
        return { ...this.fetched(hw, lso, leo, [], 'NONE'), divergingEpoch: { epoch, endOffset } };
      }
    }
    if (req.fetchOffset > log.logEndOffset || req.fetchOffset < log.logStartOffset) return this.fetched(hw, lso, leo, [], 'OFFSET_OUT_OF_RANGE');
    const limit = isFollower ? leo : hw;
    const records = req.fetchOffset >= limit ? [] : log.read(req.fetchOffset, req.maxBytes, limit);
    if (isFollower) {
      const error = this.updateFollowerFetchState(replicaId, replicaEpoch, req.fetchOffset, leo, nowMs, metadata);
      if (error !== 'NONE') return this.fetched(hw, lso, leo, [], error);
    }
    return this.fetched(hw, lso, leo, records, 'NONE');
  }

  private fetched(highWatermark: number, logStartOffset: number, logEndOffset: number, records: Uint8Array[], error: ErrorCode): FetchedPartition {
    return { topic: this.topic, partition: this.partition, highWatermark, logStartOffset, logEndOffset, records, error };
  }
}
