// The messages between ksim's Kafka nodes, shaped like Kafka's own RPCs (field names follow the
// JSON schemas in clients/src/main/resources/common/message/), reduced to the fields replication
// and its bugs depend on. Record data travels as encoded v2 record batches (bytes), as on the wire.
//
// Simplifications (also in the README's fidelity table):
// - One request, one response, matched by `correlationId`; no API versions, no fetch sessions.
// - Brokers pull the controller's metadata log with `MetadataFetch` (KRaft brokers use Fetch on
//   the __cluster_metadata partition for the same thing).
// - Producer ids come straight from the controller (`InitProducerId`); Kafka's brokers allocate
//   them from blocks the controller hands out.

/** Kafka error codes, by name. */
export type ErrorCode =
  | 'NONE'
  | 'NOT_LEADER_OR_FOLLOWER'
  | 'FENCED_LEADER_EPOCH'
  | 'UNKNOWN_LEADER_EPOCH'
  | 'OFFSET_OUT_OF_RANGE'
  | 'NOT_ENOUGH_REPLICAS'
  | 'NOT_ENOUGH_REPLICAS_AFTER_APPEND'
  | 'REQUEST_TIMED_OUT'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'CORRUPT_MESSAGE'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'LEADER_NOT_AVAILABLE'
  | 'KAFKA_STORAGE_ERROR'
  | 'STALE_BROKER_EPOCH'
  | 'INVALID_UPDATE_VERSION'
  | 'INVALID_REQUEST'
  | 'INELIGIBLE_REPLICA'
  | 'NEW_LEADER_ELECTED'
  | 'NOT_CONTROLLER'
  | 'DUPLICATE_BROKER_REGISTRATION'
  | 'BROKER_ID_NOT_REGISTERED';

/** Errors after which a client refreshes metadata before retrying. */
export const METADATA_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'KAFKA_STORAGE_ERROR',
]);

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** A node name for a broker id: broker 1 is `b1`. */
export function brokerName(id: number): string {
  return `b${id}`;
}

export function brokerIdOf(name: string): number {
  const m = /^b(\d+)$/.exec(name);
  if (m === null) throw new Error(`${name} is not a broker`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Metadata log records (KRaft: RegisterBrokerRecord, FenceBrokerRecord, …, PartitionChangeRecord)

export const NO_LEADER = -1;
/** In a PartitionChange: the leader does not change (and the leader epoch is not bumped). */
export const NO_LEADER_CHANGE = -2;

export type LeaderRecoveryState = 'RECOVERED' | 'RECOVERING';

export type MetadataRecord =
  | { type: 'RegisterBroker'; brokerId: number; incarnationId: string; brokerEpoch: number }
  | { type: 'FenceBroker'; brokerId: number; brokerEpoch: number }
  | { type: 'UnfenceBroker'; brokerId: number; brokerEpoch: number }
  | { type: 'Topic'; name: string; partitions: number }
  /** Producer ids below `nextProducerId` have been handed out (survives controller restarts). */
  | { type: 'ProducerIds'; nextProducerId: number }
  | {
      type: 'Partition';
      topic: string;
      partition: number;
      replicas: number[];
      isr: number[];
      leader: number;
    }
  | {
      type: 'PartitionChange';
      topic: string;
      partition: number;
      /** New leader, or NO_LEADER_CHANGE. Any other value bumps the leader epoch. */
      leader: number;
      isr?: number[];
      elr?: number[];
      lastKnownElr?: number[];
      leaderRecoveryState?: LeaderRecoveryState;
      /** Why the controller made the change (for the trace and reports). */
      reason: string;
    };

// ---------------------------------------------------------------------------------------------
// Broker ↔ controller

export interface BrokerRegistrationRequest {
  type: 'BrokerRegistration';
  correlationId: number;
  brokerId: number;
  /** Random per process start: a new incarnation gets a new broker epoch. */
  incarnationId: string;
  /** The broker epoch written at the last clean shutdown, or -1 (KIP-966 clean-shutdown detection). */
  previousBrokerEpoch: number;
}
export interface BrokerRegistrationResponse {
  type: 'BrokerRegistrationResponse';
  correlationId: number;
  error: ErrorCode;
  brokerEpoch: number;
}

export interface BrokerHeartbeatRequest {
  type: 'BrokerHeartbeat';
  correlationId: number;
  brokerId: number;
  brokerEpoch: number;
  /** Offset of the last metadata record the broker has applied (-1 if none; Kafka's currentMetadataOffset). */
  metadataOffset: number;
  wantFence: boolean;
}
export interface BrokerHeartbeatResponse {
  type: 'BrokerHeartbeatResponse';
  correlationId: number;
  error: ErrorCode;
  isFenced: boolean;
}

/** A broker pulls the metadata log from `fromOffset` (long poll). */
export interface MetadataFetchRequest {
  type: 'MetadataFetch';
  correlationId: number;
  brokerId: number;
  fromOffset: number;
  maxWaitMs: number;
}
export interface MetadataFetchResponse {
  type: 'MetadataFetchResponse';
  correlationId: number;
  /** Records from `fromOffset` on; the first has offset `fromOffset`. */
  records: MetadataRecord[];
  fromOffset: number;
  /** The offset after the last committed record. */
  endOffset: number;
}

export interface IsrMember {
  brokerId: number;
  /** -1 when unknown (or with fix.kip-903 off: never sent). */
  brokerEpoch: number;
}

export interface AlterPartitionRequest {
  type: 'AlterPartition';
  correlationId: number;
  brokerId: number;
  brokerEpoch: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsrWithEpochs: IsrMember[];
  leaderRecoveryState: LeaderRecoveryState;
}
export interface AlterPartitionResponse {
  type: 'AlterPartitionResponse';
  correlationId: number;
  error: ErrorCode;
  topic: string;
  partition: number;
  leader: number;
  isr: number[];
  leaderEpoch: number;
  partitionEpoch: number;
  leaderRecoveryState: LeaderRecoveryState;
}

export interface InitProducerIdRequest {
  type: 'InitProducerId';
  correlationId: number;
}
export interface InitProducerIdResponse {
  type: 'InitProducerIdResponse';
  correlationId: number;
  error: ErrorCode;
  producerId: number;
  producerEpoch: number;
}

// ---------------------------------------------------------------------------------------------
// Replication and clients ↔ brokers

export interface FetchPartition {
  topic: string;
  partition: number;
  fetchOffset: number;
  /** KIP-320: the leader epoch the fetcher believes current; -1 to skip the check. */
  currentLeaderEpoch: number;
  /** Epoch of the last batch in the follower's log (truncate-on-fetch); -1 for consumers. */
  lastFetchedEpoch: number;
  logStartOffset: number;
  maxBytes: number;
}

export interface FetchRequest {
  type: 'Fetch';
  correlationId: number;
  /** The fetching broker's id, or -1 for a consumer. */
  replicaId: number;
  /** KIP-903: the fetching broker's epoch, or -1. */
  replicaEpoch: number;
  maxWaitMs: number;
  partitions: FetchPartition[];
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  error: ErrorCode;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  /** Set when the follower's log diverges from the leader's (truncate to this, then refetch). */
  divergingEpoch?: { epoch: number; endOffset: number };
  /** Encoded record batches, in offset order. */
  records: Uint8Array[];
}

export interface FetchResponse {
  type: 'FetchResponse';
  correlationId: number;
  partitions: FetchedPartition[];
}

export interface OffsetsForLeaderEpochRequest {
  type: 'OffsetsForLeaderEpoch';
  correlationId: number;
  replicaId: number;
  topic: string;
  partition: number;
  currentLeaderEpoch: number;
  leaderEpoch: number;
}
export interface OffsetsForLeaderEpochResponse {
  type: 'OffsetsForLeaderEpochResponse';
  correlationId: number;
  error: ErrorCode;
  topic: string;
  partition: number;
  /** -1 in the original KIP-101 reply (fix.kip-279 off). */
  leaderEpoch: number;
  endOffset: number;
}

export interface ListOffsetsRequest {
  type: 'ListOffsets';
  correlationId: number;
  topic: string;
  partition: number;
  currentLeaderEpoch: number;
  /** Earliest (log start) or latest (high watermark for consumers). */
  timestamp: 'earliest' | 'latest';
}
export interface ListOffsetsResponse {
  type: 'ListOffsetsResponse';
  correlationId: number;
  error: ErrorCode;
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
}

export type Acks = 0 | 1 | -1;

export interface ProduceRequest {
  type: 'Produce';
  correlationId: number;
  acks: Acks;
  timeoutMs: number;
  topic: string;
  partition: number;
  /** One encoded record batch (baseOffset 0; the leader assigns offsets). */
  batch: Uint8Array;
}
export interface ProduceResponse {
  type: 'ProduceResponse';
  correlationId: number;
  topic: string;
  partition: number;
  error: ErrorCode;
  /** The offset of the batch's first record (for a duplicate: where the original landed). */
  baseOffset: number;
}

export interface MetadataRequest {
  type: 'Metadata';
  correlationId: number;
  topics: string[];
}
export interface PartitionMetadata {
  partition: number;
  error: ErrorCode;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}
export interface MetadataResponse {
  type: 'MetadataResponse';
  correlationId: number;
  brokers: number[];
  topics: { name: string; partitions: PartitionMetadata[] }[];
}

export type KafkaMessage =
  | BrokerRegistrationRequest
  | BrokerRegistrationResponse
  | BrokerHeartbeatRequest
  | BrokerHeartbeatResponse
  | MetadataFetchRequest
  | MetadataFetchResponse
  | AlterPartitionRequest
  | AlterPartitionResponse
  | InitProducerIdRequest
  | InitProducerIdResponse
  | FetchRequest
  | FetchResponse
  | OffsetsForLeaderEpochRequest
  | OffsetsForLeaderEpochResponse
  | ListOffsetsRequest
  | ListOffsetsResponse
  | ProduceRequest
  | ProduceResponse
  | MetadataRequest
  | MetadataResponse;

/** Bytes a message takes on the wire (approximate; feeds the network's bandwidth model). */
export function messageSize(m: KafkaMessage): number {
  let n = 64;
  if (m.type === 'FetchResponse') for (const p of m.partitions) for (const r of p.records) n += r.length;
  if (m.type === 'Produce') n += m.batch.length;
  if (m.type === 'MetadataFetchResponse') n += 64 * m.records.length;
  return n;
}

// -------------------------------------------------------------------------------------------------
// Channels: which connection a message travels on.
//
// A Kafka broker talks to the controller through separate clients, each with its own connection:
// BrokerLifecycleManager (registration and heartbeats, the `heartbeat` channel), AlterPartitionManager
// (`alter-partition`) and the KRaft metadata fetch of the raft client (`metadata`). So a stalled or
// broken AlterPartition connection does not delay heartbeats, and the other way round (KIP-903's race
// needs exactly that). Replica fetchers, clients and everything else use the `default` channel.
// (Simplification: Kafka opens a connection per replica fetcher thread and per client instance; ksim
// has one default connection per pair of nodes.)

export const CHANNELS = ['default', 'heartbeat', 'alter-partition', 'metadata'] as const;
export type Channel = (typeof CHANNELS)[number];

const CHANNEL_OF_REQUEST: Partial<Record<KafkaMessage['type'], Channel>> = {
  BrokerRegistration: 'heartbeat',
  BrokerHeartbeat: 'heartbeat',
  AlterPartition: 'alter-partition',
  MetadataFetch: 'metadata',
};

/** The channel of a request type or of its response. */
export function channelOf(type: string): Channel {
  const request = type.endsWith('Response') ? type.slice(0, -'Response'.length) : type;
  return CHANNEL_OF_REQUEST[request as KafkaMessage['type']] ?? 'default';
}
