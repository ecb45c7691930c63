// The request plumbing every ksim client shares, after Kafka's NetworkClient, ClientUtils and
// Metadata (clients/src/main/java/org/apache/kafka/clients/):
// - correlation ids, and the requests in flight to each node;
// - request.timeout.ms: a request without a response is failed with REQUEST_TIMED_OUT and its
//   connection closed (NetworkClient.handleTimedOutRequests closes the channel); the other
//   requests on that connection then fail as DISCONNECTED (a NetworkException, retriable);
// - a metadata cache, refreshed from the least loaded broker when a client asks for it (after a
//   METADATA_ERRORS error or a disconnection) and at least every metadata.max.age.ms. With
//   fix.kip-320 the cache refuses partition metadata whose leader epoch is older than the cached
//   one (Metadata.updateLatestMetadata), so a lagging broker cannot send a client back to a
//   deposed leader; with the fix off any answer is taken;
// - exponential retry back-off with ±20% jitter (ExponentialBackoff, KIP-580), drawn from the
//   node's random stream.
//
// Correlation ids, timeouts and disconnections are core/rpc.ts's (shared with the brokers); this
// class adds what only clients have: the metadata cache, back-off and node selection.
//
// Simplifications: there is no connection state machine (the simulated network opens a
// connection on the first send), so no reconnect.backoff.ms: a broker whose connection failed is
// avoided for metadata requests for one retry back-off instead. Bootstrap servers are an option
// of the client (there is no bootstrap.servers config key); their union with the brokers of the
// last metadata answer are the candidates for metadata requests.

import type { KafkaConfig } from '../config.js';
import type { NodeContext, TimerId } from '../ports.js';
import {
  brokerName,
  type ErrorCode,
  type KafkaMessage,
  METADATA_ERRORS,
  type MetadataResponse,
  NO_LEADER,
  type PartitionMetadata,
  tpKey,
} from '../protocol.js';
import { type ReqBody, Rpc, type RpcOutcome, type Timers } from '../rpc.js';

/** A request's error as a client sees it: a Kafka error code, or the connection broke under it. */
export type ClientError = ErrorCode | 'DISCONNECTED';

/** The client requests and their responses. */
export type ClientRequestType = 'Metadata' | 'Produce' | 'Fetch' | 'ListOffsets' | 'OffsetsForLeaderEpoch' | 'InitProducerId';
/** A request as a caller hands it over: the correlation id is filled in. */
export type RequestBody<K extends ClientRequestType> = { type: K } & ReqBody<K>;
export type Outcome<K extends ClientRequestType> = RpcOutcome<K>;

/** The leader of a partition as the metadata cache knows it. */
export interface LeaderAndEpoch {
  leaderId: number;
  node: string;
  leaderEpoch: number;
}

/** ExponentialBackoff's jitter (CommonClientConfigs.RETRY_BACKOFF_JITTER). */
const BACKOFF_JITTER = 0.2;
const BACKOFF_MULTIPLIER = 2;

interface CachedPartition {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly error: ErrorCode;
}

export interface NetworkClientOptions {
  readonly config: KafkaConfig;
  /** Topics whose metadata the client keeps. */
  readonly topics: readonly string[];
  /** Brokers to ask for metadata before any answer names the live ones. */
  readonly bootstrap: readonly string[];
}

export class NetworkClient {
  private readonly config: KafkaConfig;
  private readonly topics: readonly string[];
  private readonly bootstrap: readonly string[];
  private readonly requestTimeoutMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly metadataMaxAgeMs: number;
  private readonly kip320: boolean;

  private readonly rpc: Rpc;
  /** Nodes whose connection this client closed and has not yet been told is gone. */
  private readonly closing = new Set<string>();
  /** Brokers to avoid for metadata requests until the time given (their connection failed). */
  private readonly avoidUntilMs = new Map<string, number>();

  // Metadata
  private readonly partitions = new Map<string, CachedPartition>();
  private readonly partitionIds = new Map<string, number[]>();
  private liveBrokers: number[] = [];
  private metadataVersion = 0;
  private metadataUpdateNeeded = true;
  private metadataInFlight = false;
  private metadataFailures = 0;
  private lastMetadataAttemptMs = Number.NEGATIVE_INFINITY;
  private metadataTimer: TimerId | undefined;
  private metadataTimerAtMs = Number.POSITIVE_INFINITY;
  private ageTimer: TimerId | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly ctx: NodeContext<KafkaMessage>,
    private readonly timers: Timers,
    options: NetworkClientOptions,
  ) {
    if (options.bootstrap.length === 0) throw new Error('NetworkClient: no bootstrap brokers');
    this.config = options.config;
    this.topics = options.topics;
    this.bootstrap = options.bootstrap;
    this.requestTimeoutMs = this.config.int('request.timeout.ms');
    this.backoffInitialMs = this.config.int('retry.backoff.ms');
    // ExponentialBackoff with max < initial degenerates to the constant initial back-off.
    this.backoffMaxMs = Math.max(this.config.int('retry.backoff.max.ms'), this.backoffInitialMs);
    this.metadataMaxAgeMs = this.config.int('metadata.max.age.ms');
    this.kip320 = this.config.fix('kip-320');
    this.rpc = new Rpc(ctx, timers, this.requestTimeoutMs);
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /**
   * Send a request to `node`; `callback` runs once, with the response or the reason there is
   * none. With `expectResponse: false` (a produce with acks=0) nothing is tracked and the
   * callback is never called. Returns the correlation id.
   */
  send<K extends ClientRequestType>(
    node: string,
    body: RequestBody<K>,
    callback: (o: Outcome<K>) => void,
    options: { expectResponse?: boolean; timeoutMs?: number } = {},
  ): number {
    if (options.expectResponse === false) {
      this.rpc.sendOneWay<K>(node, body);
      return -1;
    }
    return this.rpc.send<K>(
      node,
      body,
      (o) => {
        if (o.ok) this.avoidUntilMs.delete(node);
        else if (o.error === 'REQUEST_TIMED_OUT') {
          // Rpc has closed the connection; the rest of its requests fail when the close is reported.
          this.closing.add(node);
          this.ctx.trace('client.request-timeout', { node, type: body.type });
        }
        callback(o);
      },
      options.timeoutMs ?? this.requestTimeoutMs,
    );
  }

  /** Route a message to the request it answers. False if it answers none of ours (stale or unknown). */
  handleResponse(from: string, msg: KafkaMessage): boolean {
    const matched = this.rpc.handleResponse(from, msg);
    if (!matched && 'correlationId' in msg) this.ctx.trace('client.stale-response', { from, type: msg.type, correlationId: msg.correlationId });
    return matched;
  }

  /** The connection to `peer` broke: every request on it fails with DISCONNECTED. */
  onDisconnect(peer: string): void {
    this.closing.delete(peer);
    this.avoidUntilMs.set(peer, this.ctx.now() + this.backoffMs(0));
    const failed = this.rpc.inFlightTo(peer);
    if (failed > 0) this.ctx.trace('client.disconnected', { peer, failedRequests: failed });
    this.rpc.onDisconnect(peer, 'default'); // a client's requests all travel on the default channel
    // NetworkClient asks for a metadata update on a disconnection: the broker may be gone.
    this.requestMetadataUpdate('disconnected');
  }

  /** Requests sent to `node` and not yet answered (nor failed). */
  inFlightCount(node: string): number {
    return this.rpc.inFlightTo(node);
  }

  /** False while a connection this client closed is being torn down (sends would be lost). */
  isReady(node: string): boolean {
    return !this.closing.has(node);
  }

  /** ExponentialBackoff.backoff(attempts): initial·2^attempts, jittered ±20%, capped at the max. */
  backoffMs(attempts: number): number {
    if (attempts < 0) throw new Error(`backoffMs: negative attempts ${attempts}`);
    const expMax = this.backoffMaxMs > this.backoffInitialMs ? Math.log(this.backoffMaxMs / this.backoffInitialMs) / Math.log(BACKOFF_MULTIPLIER) : 0;
    if (expMax === 0) return this.backoffInitialMs;
    const term = this.backoffInitialMs * BACKOFF_MULTIPLIER ** Math.min(attempts, expMax);
    const factor = 1 - BACKOFF_JITTER + this.ctx.random.next() * 2 * BACKOFF_JITTER;
    return Math.min(Math.floor(term * factor), this.backoffMaxMs);
  }

  // -------------------------------------------------------------------------------------------
  // Metadata

  /** Start the metadata cycle: a first refresh now, then one at least every metadata.max.age.ms. */
  start(): void {
    this.maybeUpdateMetadata();
  }

  /** Call `fn` after every metadata answer is applied. */
  onMetadataUpdate(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Ask for a refresh (sent as soon as the metadata back-off allows). */
  requestMetadataUpdate(reason: string): void {
    if (!this.metadataUpdateNeeded) this.ctx.trace('client.metadata-update-requested', { reason });
    this.metadataUpdateNeeded = true;
    this.maybeUpdateMetadata();
  }

  /** How many metadata answers have been applied. */
  get version(): number {
    return this.metadataVersion;
  }

  /** The partition ids of `topic`, or undefined while its metadata is unknown. */
  partitionsOf(topic: string): readonly number[] | undefined {
    return this.partitionIds.get(topic);
  }

  /** The leader of a partition, or undefined when the cache knows none. */
  leaderFor(topic: string, partition: number): LeaderAndEpoch | undefined {
    const c = this.partitions.get(tpKey({ topic, partition }));
    if (c === undefined || c.leaderId === NO_LEADER || c.leaderId < 0) return undefined;
    return { leaderId: c.leaderId, node: brokerName(c.leaderId), leaderEpoch: c.leaderEpoch };
  }

  private maybeUpdateMetadata(): void {
    if (!this.metadataUpdateNeeded || this.metadataInFlight) return;
    const now = this.ctx.now();
    const allowedAtMs = this.lastMetadataAttemptMs + (this.metadataVersion === 0 && this.metadataFailures === 0 ? 0 : this.backoffMs(this.metadataFailures));
    if (now < allowedAtMs) {
      this.scheduleMetadataRetry(allowedAtMs);
      return;
    }
    const node = this.leastLoadedNode();
    this.lastMetadataAttemptMs = now;
    this.metadataInFlight = true;
    this.send<'Metadata'>(node, { type: 'Metadata', topics: [...this.topics] }, (o) => {
      this.metadataInFlight = false;
      if (o.ok) this.applyMetadata(o.response);
      else {
        this.metadataFailures++;
        this.maybeUpdateMetadata();
      }
    });
  }

  private scheduleMetadataRetry(atMs: number): void {
    if (this.metadataTimer !== undefined && this.metadataTimerAtMs <= atMs) return;
    this.timers.cancel(this.metadataTimer);
    this.metadataTimerAtMs = atMs;
    this.metadataTimer = this.timers.set(atMs - this.ctx.now(), 'metadata-retry', () => {
      this.metadataTimer = undefined;
      this.metadataTimerAtMs = Number.POSITIVE_INFINITY;
      this.maybeUpdateMetadata();
    });
  }

  /** NetworkClient.leastLoadedNode: fewest requests in flight, ties broken at random; shunned brokers last. */
  private leastLoadedNode(): string {
    const now = this.ctx.now();
    const names = [...new Set([...this.liveBrokers.map(brokerName), ...this.bootstrap])].filter((n) => !this.closing.has(n));
    const candidates = names.length > 0 ? names : [...this.bootstrap];
    const offset = this.ctx.random.int(0, candidates.length - 1);
    let best: string | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = 0; i < candidates.length; i++) {
      const n = candidates[(offset + i) % candidates.length] as string;
      const avoided = (this.avoidUntilMs.get(n) ?? 0) > now;
      const score = this.inFlightCount(n) + (avoided ? 1_000_000 : 0);
      if (score < bestScore) {
        best = n;
        bestScore = score;
      }
    }
    return best as string;
  }

  private applyMetadata(r: MetadataResponse): void {
    this.metadataFailures = 0;
    this.metadataUpdateNeeded = false;
    this.metadataVersion++;
    this.liveBrokers = [...r.brokers].sort((a, b) => a - b);
    let incomplete = false;
    for (const topic of this.topics) {
      const t = r.topics.find((x) => x.name === topic);
      if (t === undefined || t.partitions.length === 0) {
        incomplete = true;
        continue;
      }
      this.partitionIds.set(
        topic,
        t.partitions.map((p) => p.partition).sort((a, b) => a - b),
      );
      for (const p of t.partitions) if (!this.applyPartition(topic, p)) incomplete = true;
    }
    this.timers.cancel(this.ageTimer);
    this.ageTimer = this.timers.set(this.metadataMaxAgeMs, 'metadata-max-age', () => {
      this.ageTimer = undefined;
      this.requestMetadataUpdate('metadata.max.age.ms');
    });
    for (const fn of this.listeners) fn();
    // A partition without a leader (or a missing topic) keeps the refresh going, with back-off.
    if (incomplete) {
      this.metadataUpdateNeeded = true;
      this.metadataFailures = 1;
      this.maybeUpdateMetadata();
    }
  }

  /** Apply one partition's metadata; false when it names no leader. */
  private applyPartition(topic: string, p: PartitionMetadata): boolean {
    const key = tpKey({ topic, partition: p.partition });
    const old = this.partitions.get(key);
    if (this.kip320 && old !== undefined && p.leaderEpoch >= 0 && old.leaderEpoch > p.leaderEpoch) {
      // Metadata.updateLatestMetadata: never go back to an older leader epoch.
      this.ctx.trace('client.metadata-stale-epoch', { topic, partition: p.partition, cachedEpoch: old.leaderEpoch, answeredEpoch: p.leaderEpoch });
      return true;
    }
    const leaderId = p.error === 'NONE' || !METADATA_ERRORS.has(p.error) ? p.leader : NO_LEADER;
    this.partitions.set(key, { leaderId, leaderEpoch: p.leaderEpoch, error: p.error });
    return leaderId >= 0;
  }
}
