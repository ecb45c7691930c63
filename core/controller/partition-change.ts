// Partition changes: the pure core of the KRaft controller's PartitionChangeBuilder.
//
// Given a partition's registration and a target ISR (an ISR change the leader asked for, or the
// ISR minus a fenced or uncleanly restarted broker), compute the PartitionChange record, or
// undefined when nothing would change. It runs leader election in Kafka's order (notes §4.2) and
// maintains the KIP-966 Eligible Leader Replicas (notes §4.4):
//   1. keep the current leader if it is still valid (in the target ISR, or the target ISR is empty
//      and it is in the target ELR; and acceptable = registered and unfenced);
//   2. else the first valid replica in assignment order (an ELR member elected this way becomes
//      the ISR on its own and leaves the ELR);
//   3. else, with ELR on and both ISR and ELR empty, the last known leader if it is acceptable
//      (an unclean election);
//   4. else, with unclean.leader.election.enable, the first acceptable replica in assignment order
//      (ISR = [leader], leaderRecoveryState RECOVERING, ELR and lastKnownElr cleared);
//   5. else no leader (-1).
// Without ELR the ISR never becomes empty: removing the last member leaves it in the ISR
// ("last replica standing") and the partition waits, leaderless, for that broker.
//
// Simplifications: no reassignment (replicas never change), no PREFERRED election, no controlled
// shutdown, no leader epoch bump on ISR shrink (metadata.version ≥ 3.6). lastKnownElr is kept in
// Kafka's default "last known leader" mode. The last known leader must be acceptable to be
// elected (the notes' intended rule; the 2024 snapshot did not check liveness).

import type { KafkaConfig } from '../config.js';
import type { PartitionRegistration } from '../metadata.js';
import { type LeaderRecoveryState, type MetadataRecord, NO_LEADER, NO_LEADER_CHANGE } from '../protocol.js';

export type PartitionChangeRecord = Extract<MetadataRecord, { type: 'PartitionChange' }>;

export interface ElectionConfig {
  readonly minIsr: number;
  readonly uncleanLeaderElectionEnabled: boolean;
  /** KIP-966 Eligible Leader Replicas (`fix.kip-966`). */
  readonly elrEnabled: boolean;
}

export function electionConfigOf(config: KafkaConfig): ElectionConfig {
  return {
    minIsr: config.int('min.insync.replicas'),
    uncleanLeaderElectionEnabled: config.bool('unclean.leader.election.enable'),
    elrEnabled: config.fix('kip-966'),
  };
}

export interface PartitionChangeRequest {
  readonly partition: Readonly<PartitionRegistration>;
  /** The ISR the change aims for (a subset of the replicas), in the order it should be written. */
  readonly targetIsr: readonly number[];
  /** Brokers that may lead: registered and unfenced. */
  readonly acceptable: ReadonlySet<number>;
  readonly config: ElectionConfig;
  /** Brokers that registered after an unclean shutdown (KIP-966): they leave the ELR. */
  readonly uncleanShutdown?: ReadonlySet<number>;
  /** The recovery state the change asks for (AlterPartition); default: unchanged. */
  readonly targetLeaderRecoveryState?: LeaderRecoveryState;
  /** What triggered the change; the record's reason starts with it. */
  readonly cause: string;
}

export type ElectionKind = 'current' | 'isr' | 'elr' | 'last-known-leader' | 'unclean' | 'none';

export interface ElectionResult {
  readonly leader: number;
  readonly kind: ElectionKind;
}

export interface TargetElr {
  readonly elr: number[];
}

const ascending = (a: number, b: number): number => a - b;

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The ELR after a change to `targetIsr` (Kafka's maybePopulateTargetElr): empty when the target
 * ISR reaches min ISR; otherwise the old ELR and old ISR, minus the target ISR and the brokers
 * that shut down uncleanly. Always empty with ELR off.
 */
export function computeTargetElr(
  partition: Readonly<PartitionRegistration>,
  targetIsr: readonly number[],
  config: ElectionConfig,
  uncleanShutdown: ReadonlySet<number> = new Set(),
): number[] {
  if (!config.elrEnabled) return [];
  if (targetIsr.length >= config.minIsr) return [];
  const candidates = new Set<number>([...partition.elr, ...partition.isr]);
  return [...candidates].filter((r) => !targetIsr.includes(r) && !uncleanShutdown.has(r)).sort(ascending);
}

/** Leader election in Kafka's order (electAnyLeader); see the file comment. */
export function electLeader(
  partition: Readonly<PartitionRegistration>,
  targetIsr: readonly number[],
  targetElr: readonly number[],
  acceptable: ReadonlySet<number>,
  config: ElectionConfig,
): ElectionResult {
  const valid = (r: number): boolean => (targetIsr.includes(r) || (targetIsr.length === 0 && targetElr.includes(r))) && acceptable.has(r);
  if (partition.leader !== NO_LEADER && valid(partition.leader)) return { leader: partition.leader, kind: 'current' };
  const online = partition.replicas.find(valid);
  if (online !== undefined) return { leader: online, kind: targetIsr.includes(online) ? 'isr' : 'elr' };
  if (config.elrEnabled && targetIsr.length === 0 && targetElr.length === 0 && partition.lastKnownElr.length === 1) {
    const last = partition.lastKnownElr[0] as number;
    if (acceptable.has(last)) return { leader: last, kind: 'last-known-leader' };
  }
  if (config.uncleanLeaderElectionEnabled) {
    const unclean = partition.replicas.find((r) => acceptable.has(r));
    if (unclean !== undefined) return { leader: unclean, kind: 'unclean' };
  }
  return { leader: NO_LEADER, kind: 'none' };
}

/** Words for an election outcome, for the record's reason. */
export function describeElection(e: ElectionResult, previousLeader: number): string {
  switch (e.kind) {
    case 'current':
      return `leader b${e.leader} kept`;
    case 'isr':
      return `elected b${e.leader} (first live ISR member in assignment order)`;
    case 'elr':
      return `elected b${e.leader} from the ELR (ISR empty; first live ELR member in assignment order)`;
    case 'last-known-leader':
      return `unclean election of last known leader b${e.leader} (ISR and ELR empty)`;
    case 'unclean':
      return `unclean election of b${e.leader} (no live ISR or ELR member)`;
    case 'none':
      return previousLeader === NO_LEADER ? 'still no eligible leader' : `no eligible leader: partition offline (leader b${previousLeader} lost)`;
  }
}

/**
 * The PartitionChange record for a change towards `targetIsr`, or undefined for a no-op
 * (Kafka's PartitionChangeBuilder.build). Throws if the target ISR names a non-replica.
 */
export function buildPartitionChange(req: PartitionChangeRequest): PartitionChangeRecord | undefined {
  const p = req.partition;
  const { config } = req;
  for (const r of req.targetIsr)
    if (!p.replicas.includes(r)) throw new Error(`target ISR [${req.targetIsr}] of ${p.topic}-${p.partition} names non-replica ${r}`);
  if (new Set(req.targetIsr).size !== req.targetIsr.length) throw new Error(`target ISR [${req.targetIsr}] of ${p.topic}-${p.partition} has duplicates`);

  let targetIsr = [...req.targetIsr];
  let targetElr = computeTargetElr(p, targetIsr, config, req.uncleanShutdown);
  const election = electLeader(p, targetIsr, targetElr, req.acceptable, config);
  const leaderChanges = election.leader !== p.leader;
  const unclean = leaderChanges && (election.kind === 'unclean' || election.kind === 'last-known-leader');

  let recordIsr: number[] | undefined;
  let recoveryState: LeaderRecoveryState = req.targetLeaderRecoveryState ?? p.leaderRecoveryState;
  if (leaderChanges && election.kind === 'elr') {
    // An ELR member elected while the ISR is empty becomes the ISR and leaves the ELR.
    targetIsr = [election.leader];
    targetElr = targetElr.filter((r) => r !== election.leader);
  }
  if (unclean) {
    // Data may be lost: the new leader's log becomes the truth (KIP-704 recovery follows).
    recordIsr = [election.leader];
    recoveryState = 'RECOVERING';
    targetElr = [];
  }

  const notes: string[] = [];
  if (recordIsr === undefined && !sameList(targetIsr, p.isr)) {
    if (targetIsr.length > 0 || config.elrEnabled) recordIsr = targetIsr;
    else notes.push(`last replica standing: ISR kept [${p.isr.join(',')}]`);
  }

  // lastKnownElr in "last known leader" mode (maybeUpdateLastKnownLeader).
  let lastKnownElr = [...p.lastKnownElr];
  if (config.elrEnabled) {
    const recordLeader = leaderChanges ? election.leader : NO_LEADER_CHANGE;
    if (unclean) lastKnownElr = [];
    else if (targetIsr.length >= config.minIsr) lastKnownElr = [];
    else if (recordIsr !== undefined && recordIsr.length === 0 && p.leader !== NO_LEADER && !sameList(p.lastKnownElr, [p.leader])) lastKnownElr = [p.leader];
    else if ((recordLeader >= 0 || (p.leader !== NO_LEADER && recordLeader !== NO_LEADER)) && p.lastKnownElr.length > 0) lastKnownElr = [];
  } else {
    lastKnownElr = [];
  }

  const record: PartitionChangeRecord = {
    type: 'PartitionChange',
    topic: p.topic,
    partition: p.partition,
    leader: leaderChanges ? election.leader : NO_LEADER_CHANGE,
    reason: '',
  };
  if (recordIsr !== undefined) record.isr = recordIsr;
  if (!sameList(targetElr, p.elr)) record.elr = targetElr;
  if (!sameList(lastKnownElr, p.lastKnownElr)) record.lastKnownElr = lastKnownElr;
  if (recoveryState !== p.leaderRecoveryState) record.leaderRecoveryState = recoveryState;

  const changed =
    leaderChanges || record.isr !== undefined || record.elr !== undefined || record.lastKnownElr !== undefined || record.leaderRecoveryState !== undefined;
  if (!changed) return undefined;

  const parts = [req.cause];
  if (leaderChanges) parts.push(describeElection(election, p.leader));
  if (record.isr !== undefined && !unclean) parts.push(`ISR [${p.isr.join(',')}] → [${record.isr.join(',')}]`);
  if (record.elr !== undefined) parts.push(`ELR [${p.elr.join(',')}] → [${record.elr.join(',')}]`);
  parts.push(...notes);
  record.reason = parts.join('; ');
  return record;
}
