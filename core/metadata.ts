// The metadata image: the cluster state the controller's metadata log describes.
//
// The controller appends records (core/protocol.ts MetadataRecord) to its log and applies them to
// its image; every broker replays the same log into its own image. Applying a record follows
// Kafka's PartitionRegistration.merge: every PartitionChange bumps the partition epoch; a change
// that names a leader (anything but NO_LEADER_CHANGE) also bumps the leader epoch.
// A broker's epoch is the metadata-log offset of its RegisterBroker record (as in KRaft).

import { type LeaderRecoveryState, type MetadataRecord, NO_LEADER, NO_LEADER_CHANGE, type TopicPartition, tpKey } from './protocol.js';

export interface BrokerRegistration {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly incarnationId: string;
  fenced: boolean;
}

export interface PartitionRegistration {
  readonly topic: string;
  readonly partition: number;
  /** Assignment order: the preferred replica first. */
  replicas: number[];
  isr: number[];
  /** KIP-966 Eligible Leader Replicas. */
  elr: number[];
  lastKnownElr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  leaderRecoveryState: LeaderRecoveryState;
}

export class MetadataImage {
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly topics = new Map<string, number>();
  readonly partitions = new Map<string, PartitionRegistration>();
  /** Offset of the next record to apply. */
  offset = 0;
  nextProducerId = 0;

  apply(record: MetadataRecord): void {
    const at = this.offset++;
    switch (record.type) {
      case 'RegisterBroker':
        if (record.brokerEpoch !== at) throw new Error(`RegisterBroker for ${record.brokerId} carries epoch ${record.brokerEpoch} at offset ${at}`);
        this.brokers.set(record.brokerId, { brokerId: record.brokerId, brokerEpoch: record.brokerEpoch, incarnationId: record.incarnationId, fenced: true });
        break;
      case 'FenceBroker':
      case 'UnfenceBroker': {
        const b = this.brokers.get(record.brokerId);
        if (b !== undefined && b.brokerEpoch === record.brokerEpoch) b.fenced = record.type === 'FenceBroker';
        break;
      }
      case 'Topic':
        this.topics.set(record.name, record.partitions);
        break;
      case 'ProducerIds':
        this.nextProducerId = Math.max(this.nextProducerId, record.nextProducerId);
        break;
      case 'Partition':
        this.partitions.set(tpKey(record), {
          topic: record.topic,
          partition: record.partition,
          replicas: [...record.replicas],
          isr: [...record.isr],
          elr: [],
          lastKnownElr: [],
          leader: record.leader,
          leaderEpoch: 0,
          partitionEpoch: 0,
          leaderRecoveryState: 'RECOVERED',
        });
        break;
      case 'PartitionChange': {
        const p = this.partitions.get(tpKey(record));
        if (p === undefined) throw new Error(`PartitionChange for unknown partition ${tpKey(record)}`);
        if (record.isr !== undefined) p.isr = [...record.isr];
        if (record.elr !== undefined) p.elr = [...record.elr];
        if (record.lastKnownElr !== undefined) p.lastKnownElr = [...record.lastKnownElr];
        if (record.leaderRecoveryState !== undefined) p.leaderRecoveryState = record.leaderRecoveryState;
        if (record.leader !== NO_LEADER_CHANGE) {
          p.leader = record.leader;
          p.leaderEpoch++;
        }
        p.partitionEpoch++;
        break;
      }
    }
  }

  partition(tp: TopicPartition): PartitionRegistration | undefined {
    return this.partitions.get(tpKey(tp));
  }

  /** Registered, unfenced brokers. */
  isActive(brokerId: number): boolean {
    const b = this.brokers.get(brokerId);
    return b !== undefined && !b.fenced;
  }

  /** Partitions in a stable order (topic, then partition). */
  sortedPartitions(): PartitionRegistration[] {
    return [...this.partitions.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  hasLeader(tp: TopicPartition): boolean {
    const p = this.partition(tp);
    return p !== undefined && p.leader !== NO_LEADER;
  }
}
