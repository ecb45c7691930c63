// The broker's side of the bug zoo: each historical behaviour is one small function beside the
// fixed one, chosen by a `fix.*` key (DESIGN.md §3; Kafka facts in docs/notes/kafka-data-plane.md).
// The rest of the broker asks these functions and never tests a `fix.*` key itself.

import type { KafkaConfig } from '../config.js';

/**
 * How a follower reconciles its log with a new leader's.
 * - `diverging-epoch` (all fixes in; Kafka ≥ 2.7): fetches carry lastFetchedEpoch and the leader
 *   answers a divergence with the end offset of that epoch; the follower iterates (KIP-279 rules).
 * - `epoch-end-offset-v0` (fix.kip-279 off): on becoming follower, one OffsetsForLeaderEpoch round
 *   whose reply is an end offset only, as KIP-101 first specified it (KAFKA-6361).
 * - `high-watermark` (fix.kip-101 off): truncate to the local high watermark on becoming follower,
 *   as before Kafka 0.11.
 */
export type FollowerTruncation = 'diverging-epoch' | 'epoch-end-offset-v0' | 'high-watermark';

export function followerTruncation(config: KafkaConfig): FollowerTruncation {
  if (!config.fix('kip-101')) return 'high-watermark';
  if (!config.fix('kip-279')) return 'epoch-end-offset-v0';
  return 'diverging-epoch';
}

/** KIP-320: the leader epoch a fetch (or epoch query) carries, or -1 when it carries none. */
export function fetchCurrentLeaderEpoch(config: KafkaConfig, leaderEpoch: number): number {
  return config.fix('kip-320') ? leaderEpoch : -1;
}

/**
 * Whether a follower may join the ISR (Partition.isFollowerInSync). Fixed (KAFKA-7128): its LEO
 * must reach the leader's high watermark and the start offset of the leader's epoch. Historical:
 * the high watermark alone, which lags on a new leader.
 */
export function caughtUpForIsr(config: KafkaConfig, followerLeo: number, leaderHw: number, leaderEpochStartOffset: number): boolean {
  if (followerLeo < leaderHw) return false;
  return config.fix('kafka-7128') ? followerLeo >= leaderEpochStartOffset : true;
}

/**
 * The replicas the high watermark waits for (KIP-497's maximal ISR). Fixed: the committed ISR plus
 * a replica whose addition is in flight. Historical: the committed ISR only, so the high watermark
 * can pass a record the replica being added does not have.
 */
export function highWatermarkIsr(config: KafkaConfig, committedIsr: readonly number[], pendingAddition: number | undefined): number[] {
  if (pendingAddition === undefined || !config.fix('maximal-isr') || committedIsr.includes(pendingAddition)) return [...committedIsr];
  return [...committedIsr, pendingAddition];
}

/**
 * KIP-966 strict min ISR: the high watermark does not move while the committed ISR is below
 * min(min.insync.replicas, replication factor). Historical: it moves on whatever ISR there is.
 */
export function highWatermarkFrozen(config: KafkaConfig, committedIsrSize: number, replicationFactor: number): boolean {
  if (!config.fix('kip-966')) return false;
  return committedIsrSize < Math.min(config.int('min.insync.replicas'), replicationFactor);
}

/** KIP-903: the broker epoch an AlterPartition names for an ISR member, or -1 when it names none. */
export function isrMemberEpoch(config: KafkaConfig, brokerEpoch: number): number {
  return config.fix('kip-903') ? brokerEpoch : -1;
}

/**
 * The leader's answer to OffsetsForLeaderEpoch. Fixed (KIP-279): the largest epoch ≤ the one asked
 * for, and where it ends. Historical (KIP-101 as first specified): an end offset only, with no
 * epoch, which a follower cannot iterate on (KAFKA-6361).
 */
export function epochEndOffsetReply(
  config: KafkaConfig,
  cache: {
    endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number };
    endOffsetForKip101(epoch: number, logEndOffset: number): number;
  },
  epoch: number,
  logEndOffset: number,
): { leaderEpoch: number; endOffset: number } {
  if (!config.fix('kip-279')) return { leaderEpoch: -1, endOffset: cache.endOffsetForKip101(epoch, logEndOffset) };
  const r = cache.endOffsetFor(epoch, logEndOffset);
  return { leaderEpoch: r.epoch, endOffset: r.endOffset };
}

/**
 * Whether the high watermark also waits for caught-up followers outside the ISR that are about to
 * join it (Partition.maybeIncrementLeaderHW, part of the maximal-ISR fix). Historical: the ISR only.
 */
export function highWatermarkWaitsForJoiningFollowers(config: KafkaConfig): boolean {
  return config.fix('maximal-isr');
}
