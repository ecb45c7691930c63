// The guarantee model (DESIGN.md §4): every history anomaly (scenarios/history.ts) is reported,
// and each is a violation unless the configuration or the faults permit it:
//   (a) a write acknowledged with acks=1/0 that was never committed may be lost;
//   (b) after an unclean election on a partition, loss and divergence there are permitted;
//   (c) a committed record may be lost only if, at some moment after its commit, every replica
//       that held it had lost its copy to a fault (a crash that dropped unsynced data, a wipe,
//       corruption) — Kafka's promise that committed data survives while one in-sync replica
//       stays alive. A copy removed by the protocol (truncation) still counts as surviving: if the
//       protocol destroyed the last copies, the report names the replica, time, rule and message.
//   Duplicates and reorderings are permitted only without idempotence, or (e) with it, where an
//   epoch bump rewrote a batch; anomalies that follow from a permitted loss (the offsets it freed
//   are reused) are permitted; anything else is a violation.
//   A consumer that misses records is not excused by a loss or an unclean election as such (that
//   is KAFKA-6880, the silent skip KIP-320 fixed), with one exception, (d):
//   (d) KIP-320's truncation detection is best effort after an unclean election: the consumer asks
//       the new leader where the epoch of its last record ends, and a leader that never had that
//       epoch answers with the end of an earlier one, which may lie above the true divergence. So
//       a record a consumer did not read (unseen, poll-skip) at offset o is permitted when, after an
//       unclean election on the partition, that consumer validated its position p and went on above
//       o — it detected a truncation (the answer e was below p and it moved there, o < e) or was
//       told e ≥ p and kept p (o < p) — having read a different record at o before (its log diverged
//       from the final log at o, below where it went on).
//   (e) An idempotent producer that bumps its epoch on OUT_OF_ORDER_SEQUENCE_NUMBER (or after a
//       failed batch) restarts its unacknowledged batches of the partition at sequence 0 under the
//       new epoch (Kafka 4.x TransactionManager.bumpIdempotentProducerEpoch → startSequencesAtBeginning),
//       and the broker sees each rewrite as a new batch. So a duplicate of v is permitted when such a
//       bump (`producer.epoch-bump`) rewrote v's batch after an attempt that may have been written
//       (`maybeWritten`: in flight, or answered with an error a broker may return after appending).
//       This happens in Kafka when more than 5 batches of a partition are unacknowledged — 5 in flight
//       to an old leader, more sent to the new one — so the oldest falls out of the broker's 5-batch
//       duplicate window (ProducerStateEntry.NUM_BATCHES_TO_RETAIN), its retry is answered
//       OUT_OF_ORDER_SEQUENCE_NUMBER, and being the next sequence after the last acknowledged one it
//       makes the producer bump its epoch. A reordering (a sent before b, written after it) is
//       permitted when a bump rewrote a's batch and b had been written under the old epoch by then
//       (acknowledged before the bump, or in a rewritten batch that may have been written).
//
// How the checker knows what was committed and who held it. It is installed before the run and
// mirrors, for every broker and partition, the live log's batches (by object identity: a log only
// changes at its tail, so comparing the last mirrored batch with the log's is O(1) per event) and
// the value at each offset. A trace listener marks a broker dirty when it emits anything; after the
// event (an afterEvent hook, registered as a no-fail invariant) each dirty broker's logs are
// compared with their mirrors:
//   - new batches are decoded once; a record that is already committed gains a holder;
//   - removed batches are a protocol truncation (the `replica.truncate` or `log.truncated` record of
//     the same event gives rule, leader and cause); a committed copy removed so is marked;
//   - a leader's high watermark above what was seen commits the records below it (by value, at
//     their offset), with every replica whose mirror has that value there as a holder.
// A crash, halt or wipe detaches the broker's mirrors. When its new incarnation loads a log, the
// recovered records are compared with the mirror: a committed copy that did not come back was lost
// to the fault at the moment the broker went down; one that did come back was alive all along.
// The cost is O(partitions) per event touching a broker plus O(records) work per appended,
// truncated, committed or recovered record — the same order as the replication itself.
//
// At the end: for each committed record, the holders' alive intervals are merged from its commit
// on; a gap is the moment every holder had lost its copy to a fault (permission (c)).

import type { Broker } from '../core/broker/broker.js';
import { HISTORY_TRACE_KIND, opFromTrace } from '../core/history.js';
import { decodeBatch } from '../core/log/batch.js';
import type { LogBatch, PartitionLog } from '../core/log/partition-log.js';
import { tpKey } from '../core/protocol.js';
import type { TraceRecord } from '../sim/trace.js';
import type { World } from '../sim/world.js';
import type { Anomaly, RunChecker } from './checks.js';
import { type Cluster, replicaRecords } from './cluster.js';
import { leaderOf } from './final-state.js';
import { type CheckedOp, checkHistory, pushTo, type RawAnomaly } from './history.js';

export interface GuaranteeOptions {
  /** Passed to checkHistory: consumers ran until they had read everything committed (default true). */
  consumersRanToEnd?: boolean;
}

/** A protocol truncation that removed a committed copy. */
export interface Truncation {
  broker: string;
  atMs: number;
  rule: string;
  cause: string | undefined;
  leader: number | undefined;
  leaderEpoch: number | undefined;
}

/** A stretch of time a holder had a live copy: from acquiring it to losing it to a fault (`end` says how). */
interface AliveSpan {
  from: number;
  to: number | undefined;
  end: string | undefined;
}

interface Holder {
  spans: AliveSpan[];
  /** The first protocol truncation of its copy: from then on it counts as surviving. */
  removedBy: Truncation | undefined;
}

/** A committed record: a leader's high watermark passed it while it held `value` at `offset`. */
export interface Commit {
  topic: string;
  partition: number;
  offset: number;
  value: string;
  atMs: number;
  leader: string;
  holders: Map<string, Holder>;
}

interface DownInfo {
  atMs: number;
  kind: 'crash' | 'halt' | 'wipe';
  detail: string;
}

interface Mirror {
  readonly topic: string;
  readonly partition: number;
  /** The live log mirrored, or undefined while the broker is down (or has not loaded it yet). */
  log: PartitionLog | undefined;
  batches: LogBatch[];
  start: number;
  vals: (string | null)[];
  /** As leader, the high watermark up to which records were committed. */
  hwSeen: number;
  /** Why it was detached, if it was. */
  down: DownInfo | undefined;
}

interface UncleanElection {
  atMs: number;
  leader: number;
  leaderEpoch: number;
  reason: string;
}

/**
 * A consumer's position validation answered: `consumer.truncation-detected` (the end offset was below
 * its position; it moved there) or `consumer.position-validated` (at or above; it kept its position).
 */
interface ValidationAnswer {
  process: string;
  atMs: number;
  /** True: a truncation was detected and the consumer moved to `endOffset`; false: it kept `position`. */
  truncated: boolean;
  /** Its index in the history (the seek it made, if any): reads before it happened before the answer. */
  index: number;
  position: number;
  endOffset: number;
  leaderEpoch: number;
  /** The validation it answered (the consumer's last `consumer.validate-position` of the partition). */
  validated: { offsetEpoch: number; leader: number; leaderEpoch: number } | undefined;
}

interface ProducerInfo {
  acks: number;
  idempotent: boolean;
}

/** An idempotent producer's epoch bump (`producer.epoch-bump`): the values whose batches it rewrote. */
interface EpochBump {
  atMs: number;
  producerEpoch: number;
  rewritten: Set<string>;
  /** Of those, the values an earlier attempt may have written. */
  maybeWritten: Set<string>;
}

/** A RunChecker that also exposes what it tracked, for tests and reports. */
export interface GuaranteeChecker extends RunChecker {
  /** The committed record of a value, if it was committed. */
  commitOf(value: string): Commit | undefined;
  /** The raw anomalies of the last finish(). */
  readonly raw: readonly RawAnomaly[];
}

const ms = (t: number): string => `${Math.round(t)} ms`;
const acksName = (acks: number): string => (acks === -1 ? 'all' : String(acks));

export function createGuaranteeChecker(c: Cluster, options: GuaranteeOptions = {}): GuaranteeChecker {
  return new GuaranteeTracker(c, options);
}

/**
 * The guarantee model's tracking during a run and its judgement at the end. (A class, not closures
 * made in createGuaranteeChecker: V8 keeps a method's optimized code from one run to the next,
 * while the closures of each run were compiled anew every few runs.)
 */
class GuaranteeTracker implements GuaranteeChecker {
  readonly name = 'guarantee-model';
  private readonly world: World;
  private readonly brokers: Set<string>;
  private readonly mirrors: Map<string, Map<string, Mirror>>;
  private readonly dirty = new Set<string>();
  /** Per broker, this event's truncation records by partition key (replica.truncate wins over log.truncated). */
  private readonly truncations = new Map<string, Map<string, Truncation>>();
  private readonly recoveries = new Map<string, string>();
  private readonly commits = new Map<string, Commit>();
  private readonly unclean = new Map<string, UncleanElection[]>();
  private readonly producers = new Map<string, ProducerInfo>();
  private readonly bumps = new Map<string, EpochBump[]>();
  /** Per partition, the answers to the consumers' position validations; per consumer and partition, its last validation. */
  private readonly answers = new Map<string, ValidationAnswer[]>();
  private readonly validations = new Map<string, ValidationAnswer['validated']>();
  readonly history: CheckedOp[] = [];
  private rawAnomalies: RawAnomaly[] = [];

  constructor(
    private readonly c: Cluster,
    private readonly options: GuaranteeOptions,
  ) {
    this.world = c.world;
    this.brokers = new Set(c.brokers);
    this.mirrors = new Map(c.brokers.map((b) => [b, new Map()]));
    this.world.trace.subscribe((r) => this.onTrace(r));
    this.world.addInvariant({ name: 'guarantee-model tracking (never fails)', afterEvent: () => this.afterEvent() });
  }

  get raw(): readonly RawAnomaly[] {
    return this.rawAnomalies;
  }

  commitOf(value: string): Commit | undefined {
    return this.commits.get(value);
  }

  private afterEvent(): undefined {
    if (this.dirty.size === 0) return undefined;
    for (const b of [...this.dirty].sort()) this.syncBroker(b);
    this.dirty.clear();
    return undefined;
  }

  private mirrorOf(b: string, key: string, topic: string, partition: number): Mirror {
    const m = this.mirrors.get(b) as Map<string, Mirror>;
    let mirror = m.get(key);
    if (mirror === undefined) {
      mirror = { topic, partition, log: undefined, batches: [], start: 0, vals: [], hwSeen: 0, down: undefined };
      m.set(key, mirror);
    }
    return mirror;
  }

  private committedAt(value: string | null, topic: string, partition: number, offset: number): Commit | undefined {
    if (value === null) return undefined;
    const cm = this.commits.get(value);
    return cm !== undefined && cm.offset === offset && cm.partition === partition && cm.topic === topic ? cm : undefined;
  }

  /** `b` holds the committed record from now on (unless it already does). */
  private gainHolder(cm: Commit, b: string): void {
    let h = cm.holders.get(b);
    if (h === undefined) cm.holders.set(b, (h = { spans: [], removedBy: undefined }));
    if (openSpan(h) === undefined) h.spans.push({ from: this.world.now, to: undefined, end: undefined });
  }

  private appendToMirror(b: string, m: Mirror, batch: LogBatch): void {
    const values = decode(batch);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as string | null;
      m.vals.push(v);
      const cm = this.committedAt(v, m.topic, m.partition, batch.baseOffset + i);
      if (cm !== undefined) this.gainHolder(cm, b);
    }
    m.batches.push(batch);
  }

  /** Bring a mirror attached to `log` up to date; removed records are protocol truncations. */
  private syncLog(b: string, key: string, m: Mirror, log: PartitionLog): void {
    const L = log.batches;
    const M = m.batches;
    if (M.length === L.length && (M.length === 0 || M[M.length - 1] === L[L.length - 1]) && m.start === log.logStartOffset) return;
    let k = Math.min(M.length, L.length);
    if (m.start !== log.logStartOffset) k = 0;
    while (k > 0 && M[k - 1] !== L[k - 1]) k--;
    const cutAt = k > 0 ? (M[k - 1] as LogBatch).lastOffset + 1 : m.start;
    const end = m.start + m.vals.length;
    if (cutAt < end) {
      const t = this.truncations.get(b)?.get(key) ?? {
        broker: b,
        atMs: this.world.now,
        rule: 'log truncated (no rule traced)',
        cause: undefined,
        leader: undefined,
        leaderEpoch: undefined,
      };
      for (let o = cutAt; o < end; o++) {
        const cm = this.committedAt(m.vals[o - m.start] as string | null, m.topic, m.partition, o);
        const h = cm?.holders.get(b);
        if (h !== undefined && openSpan(h) !== undefined && h.removedBy === undefined) h.removedBy = t;
      }
      m.vals.length = cutAt - m.start;
      M.length = k;
      m.hwSeen = Math.min(m.hwSeen, cutAt);
    }
    if (m.start !== log.logStartOffset) {
      m.start = log.logStartOffset;
      m.vals.length = 0;
      m.hwSeen = m.start;
    }
    for (let i = k; i < L.length; i++) this.appendToMirror(b, m, L[i] as LogBatch);
  }

  /** A (re)loaded log after the broker was down: what did not come back was lost to the fault. */
  private attach(b: string, key: string, m: Mirror, log: PartitionLog): void {
    const fresh: Mirror = { ...m, log, batches: [], start: log.logStartOffset, vals: [], hwSeen: log.logStartOffset, down: undefined };
    for (const batch of log.batches) {
      const values = decode(batch);
      fresh.batches.push(batch);
      for (const v of values) fresh.vals.push(v);
    }
    if (m.down !== undefined) {
      const why = this.lossReason(b, key, m.down, fresh.vals.length === 0 && log.batches.length === 0);
      for (let i = 0; i < m.vals.length; i++) {
        const o = m.start + i;
        const cm = this.committedAt(m.vals[i] as string | null, m.topic, m.partition, o);
        const h = cm?.holders.get(b);
        const span = h === undefined ? undefined : openSpan(h);
        if (span === undefined || fresh.vals[o - fresh.start] === m.vals[i]) continue;
        span.to = m.down.atMs;
        span.end = why;
      }
    }
    fresh.vals.forEach((v, i) => {
      const cm = this.committedAt(v, fresh.topic, fresh.partition, fresh.start + i);
      if (cm !== undefined) this.gainHolder(cm, b);
    });
    Object.assign(m, fresh);
  }

  private lossReason(b: string, key: string, down: DownInfo, empty: boolean): string {
    const recovered = this.recoveries.get(`${b}\u0000${key}`);
    switch (down.kind) {
      case 'wipe':
        return `${b} was wiped at ${ms(down.atMs)}`;
      case 'halt':
        return `${b} halted at ${ms(down.atMs)} (${down.detail}) before its copy reached the disk`;
      case 'crash':
        if (recovered !== undefined && /corrupt/.test(recovered)) return `${b}'s copy was cut as corrupt by recovery after its crash at ${ms(down.atMs)}`;
        return `${b}'s crash at ${ms(down.atMs)} dropped its unsynced copy${empty ? ' (its log came back empty)' : ''}`;
    }
  }

  /** As leader: commit every record below the high watermark not seen committed yet. */
  private commitBelow(b: string, key: string, m: Mirror, hw: number): void {
    const upTo = Math.min(hw, m.start + m.vals.length);
    for (let o = Math.max(m.hwSeen, m.start); o < upTo; o++) {
      const v = m.vals[o - m.start] as string | null;
      if (v === null || this.commits.has(v)) continue;
      const cm: Commit = { topic: m.topic, partition: m.partition, offset: o, value: v, atMs: this.world.now, leader: b, holders: new Map() };
      this.commits.set(v, cm);
      for (const other of this.mirrors.keys()) {
        const om = this.mirrors.get(other)?.get(key);
        if (om?.log !== undefined && om.vals[o - om.start] === v) this.gainHolder(cm, other);
      }
    }
    m.hwSeen = Math.max(m.hwSeen, hw);
  }

  private syncBroker(b: string): void {
    const inst = this.world.nodeState<Broker>(b);
    if (inst === undefined) return;
    // Keys, then get: an entries loop allocates a pair per partition, and this runs after most events.
    for (const key of inst.logs.keys()) {
      const log = inst.logs.get(key) as PartitionLog;
      const m = this.mirrorOf(b, key, log.topic, log.partition);
      if (m.log !== log) this.attach(b, key, m, log);
      else this.syncLog(b, key, m, log);
      if (inst.partitions.get(key)?.isLeader && log.highWatermark > m.hwSeen) this.commitBelow(b, key, m, log.highWatermark);
    }
    this.truncations.delete(b);
  }

  private onDown(b: string, down: DownInfo): void {
    for (const m of (this.mirrors.get(b) as Map<string, Mirror>).values()) {
      if (m.log !== undefined) {
        m.log = undefined;
        m.down = down;
      } else if (m.down !== undefined && down.kind === 'wipe' && m.down.atMs === down.atMs) {
        m.down = down;
      }
    }
  }

  private noteTruncation(r: TraceRecord, rule: string): void {
    const f = r.fields ?? {};
    const key = tpKey({ topic: f.topic as string, partition: f.partition as number });
    let m = this.truncations.get(r.node);
    if (m === undefined) this.truncations.set(r.node, (m = new Map()));
    if (r.kind !== 'replica.truncate' && m.has(key)) return;
    m.set(key, {
      broker: r.node,
      atMs: r.timeMs,
      rule,
      cause: r.cause,
      leader: typeof f.leader === 'number' ? f.leader : undefined,
      leaderEpoch: typeof f.leaderEpoch === 'number' ? f.leaderEpoch : undefined,
    });
  }

  finish(): Anomaly[] {
    for (const b of this.c.brokers) this.syncBroker(b);
    this.dirty.clear();
    // Replicas still down at the end: their copies count as lost when they went down.
    for (const [b, m] of this.mirrors) {
      for (const mirror of m.values()) {
        if (mirror.log !== undefined || mirror.down === undefined) continue;
        const down = mirror.down;
        mirror.vals.forEach((v, i) => {
          const h = this.committedAt(v, mirror.topic, mirror.partition, mirror.start + i)?.holders.get(b);
          const span = h === undefined ? undefined : openSpan(h);
          if (span === undefined) return;
          span.to = down.atMs;
          span.end = `${b} went down at ${ms(down.atMs)} (${down.kind}) and had not recovered its log by the end`;
        });
      }
    }
    const finalLogs = (topic: string, partition: number) => {
      const leader = leaderOf(this.c, topic, partition);
      return leader === undefined ? undefined : replicaRecords(this.world, leader, topic, partition);
    };
    const highWatermark = (topic: string, partition: number) => {
      const leader = leaderOf(this.c, topic, partition);
      return leader === undefined ? undefined : this.world.nodeState<Broker>(leader)?.logs.get(tpKey({ topic, partition }))?.highWatermark;
    };
    this.rawAnomalies = checkHistory(this.history, finalLogs, {
      highWatermark,
      ...(this.options.consumersRanToEnd === undefined ? {} : { consumersRanToEnd: this.options.consumersRanToEnd }),
    });
    return judge(this.rawAnomalies, {
      commits: this.commits,
      unclean: this.unclean,
      producers: this.producers,
      bumps: this.bumps,
      answers: this.answers,
      history: this.history,
      defaultAcks: this.c.config.str('acks'),
    });
  }

  /**
   * Every trace record. (The switches over the rarer kinds are methods of their own: when a run
   * first meets such a kind, V8 deoptimizes and recompiles that small method, not this hot one.)
   */
  private onTrace(r: TraceRecord): void {
    if (this.brokers.has(r.node)) {
      this.dirty.add(r.node);
      this.onBrokerRecord(r);
    } else if (r.kind === HISTORY_TRACE_KIND) {
      if (r.fields !== undefined) this.history.push({ ...opFromTrace(r.node, r.fields), timeMs: r.timeMs });
    } else {
      this.onClientRecord(r);
    }
  }

  private onBrokerRecord(r: TraceRecord): void {
    switch (r.kind) {
      case 'replica.truncate':
        this.noteTruncation(r, String(r.fields?.rule ?? 'replica.truncate'));
        break;
      case 'log.truncated':
        this.noteTruncation(r, 'log truncated');
        break;
      case 'log.truncated-fully':
        this.noteTruncation(r, 'log truncated fully (restarted at a new log start offset)');
        break;
      case 'log.recovered':
        if (typeof r.fields?.reason === 'string')
          this.recoveries.set(`${r.node}\u0000${tpKey({ topic: r.fields.topic as string, partition: r.fields.partition as number })}`, r.fields.reason);
        break;
      case 'node.crash': {
        const f = r.fields ?? {};
        this.onDown(r.node, { atMs: r.timeMs, kind: 'crash', detail: `${f.dropped ?? 0} unsynced writes dropped, ${f.torn ?? 0} torn, ${f.kept ?? 0} kept` });
        break;
      }
      case 'node.halt':
        this.onDown(r.node, { atMs: r.timeMs, kind: 'halt', detail: String(r.fields?.reason ?? 'halted') });
        break;
      case 'node.wipe':
        this.onDown(r.node, { atMs: r.timeMs, kind: 'wipe', detail: 'wiped' });
        break;
    }
  }

  private onClientRecord(r: TraceRecord): void {
    switch (r.kind) {
      case 'consumer.offset-reset':
        this.history.push(seek(r, r.fields?.offset as number, `reset (${String(r.fields?.strategy)})`));
        break;
      case 'consumer.validate-position': {
        const f = r.fields ?? {};
        this.validations.set(`${r.node}\u0000${tpKey({ topic: f.topic as string, partition: f.partition as number })}`, {
          offsetEpoch: Number(f.offsetEpoch),
          leader: Number(f.leader),
          leaderEpoch: Number(f.leaderEpoch),
        });
        break;
      }
      case 'consumer.truncation-detected':
      case 'consumer.position-validated': {
        const f = r.fields ?? {};
        const key = tpKey({ topic: f.topic as string, partition: f.partition as number });
        const truncated = r.kind === 'consumer.truncation-detected';
        pushTo(this.answers, key, {
          process: r.node,
          atMs: r.timeMs,
          truncated,
          index: this.history.length,
          position: Number(f.position),
          endOffset: Number(f.endOffset),
          leaderEpoch: Number(f.leaderEpoch),
          validated: this.validations.get(`${r.node}\u0000${key}`),
        });
        if (truncated) this.history.push(seek(r, r.fields?.endOffset as number, 'truncation detected'));
        break;
      }
      case 'producer.start':
        this.producers.set(r.node, { acks: Number(r.fields?.acks ?? -1), idempotent: r.fields?.idempotent === true });
        break;
      case 'producer.epoch-bump': {
        const f = r.fields ?? {};
        const values = (x: unknown): Set<string> => new Set(Array.isArray(x) ? x.map(String) : []);
        pushTo(this.bumps, r.node, {
          atMs: r.timeMs,
          producerEpoch: Number(f.producerEpoch),
          rewritten: values(f.rewritten),
          maybeWritten: values(f.maybeWritten),
        });
        break;
      }
      case 'controller.elect': {
        const reason = String(r.fields?.reason ?? '');
        if (!/unclean election/.test(reason)) break; // not "registered after an unclean shutdown"
        const key = tpKey({ topic: r.fields?.topic as string, partition: r.fields?.partition as number });
        pushTo(this.unclean, key, { atMs: r.timeMs, leader: r.fields?.leader as number, leaderEpoch: r.fields?.leaderEpoch as number, reason });
        break;
      }
    }
  }
}

function openSpan(h: Holder): AliveSpan | undefined {
  const last = h.spans[h.spans.length - 1];
  return last !== undefined && last.to === undefined ? last : undefined;
}

function decode(batch: LogBatch): (string | null)[] {
  const d = decodeBatch(batch.bytes, 0);
  if (d.kind !== 'batch') throw new Error(`guarantees: undecodable batch at ${batch.baseOffset} in memory`);
  return d.batch.records.map((r) => r.value);
}

function seek(r: TraceRecord, offset: number, reason: string): CheckedOp {
  return { process: r.node, f: 'seek', topic: r.fields?.topic as string, partition: r.fields?.partition as number, offset, reason, timeMs: r.timeMs };
}

// ---------------------------------------------------------------------------------------------
// Judging

interface JudgeInput {
  commits: Map<string, Commit>;
  unclean: Map<string, UncleanElection[]>;
  producers: Map<string, ProducerInfo>;
  bumps: Map<string, EpochBump[]>;
  answers: Map<string, ValidationAnswer[]>;
  history: readonly CheckedOp[];
  defaultAcks: string;
}

interface LossVerdict {
  value: string;
  offset: number | undefined;
  allowed: boolean;
  why: string;
  /** When the loss became permitted (for anomalies that follow from it). */
  sinceMs: number;
}

/** The moment every holder of a committed record had lost its copy to a fault, and how each lost it. */
export function exposure(cm: Commit): { atMs: number; how: string[] } | undefined {
  const holders = [...cm.holders.entries()];
  if (holders.length === 0 || holders.some(([, h]) => h.removedBy !== undefined)) return undefined;
  const spans = holders.flatMap(([, h]) => h.spans).sort((a, b) => a.from - b.from);
  let cursor = cm.atMs;
  for (const s of spans) {
    if (s.from > cursor) break;
    cursor = Math.max(cursor, s.to ?? Number.POSITIVE_INFINITY);
  }
  if (cursor === Number.POSITIVE_INFINITY) return undefined;
  const how = holders
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([b, h]) => {
      const last = h.spans.filter((s) => s.to !== undefined && s.to <= cursor).pop();
      return last?.end ?? `${b} lost it`;
    });
  return { atMs: cursor, how };
}

function firstTruncation(cm: Commit): Truncation | undefined {
  let first: Truncation | undefined;
  for (const h of cm.holders.values()) if (h.removedBy !== undefined && (first === undefined || h.removedBy.atMs < first.atMs)) first = h.removedBy;
  return first;
}

function describeTruncation(t: Truncation): string {
  const following =
    t.leader !== undefined && t.leader >= 0 ? ` following leader b${t.leader}${t.leaderEpoch !== undefined ? ` in epoch ${t.leaderEpoch}` : ''}` : '';
  return `${t.broker} truncated it at ${ms(t.atMs)} by rule '${t.rule}'${following} (cause ${t.cause ?? 'unknown'})`;
}

function judge(raw: readonly RawAnomaly[], input: JudgeInput): Anomaly[] {
  // Nothing to judge. (Also keeps V8 from seeing an empty array here: an empty literal array has
  // another hidden class than a filled one, and a run without anomalies followed by one with them
  // deoptimized this function again and again: three times in 24 seeds, by --trace-deopt.)
  if (raw.length === 0) return [];
  const sends = new Map<string, { process: string; invokeMs: number | undefined; type: string; offset: number | undefined; doneMs: number | undefined }>();
  for (const op of input.history) {
    if (op.f !== 'send' || op.value === undefined) continue;
    const s = sends.get(op.value);
    if (op.type === 'invoke') sends.set(op.value, { process: op.process, invokeMs: op.timeMs, type: 'invoke', offset: undefined, doneMs: undefined });
    else if (s !== undefined) {
      s.type = op.type;
      s.doneMs = op.timeMs;
      if (op.offset !== undefined) s.offset = op.offset;
    }
  }
  const polled = new Set<string>();
  for (const op of input.history) if (op.f === 'poll' && op.type === 'ok') for (const v of op.values ?? []) polled.add(v);
  /** Per consumer and partition: offset → the records read there (value, history index), in order. */
  const reads = new Map<string, Map<number, { value: string; index: number }[]>>();
  input.history.forEach((op, index) => {
    if (op.f !== 'poll' || op.type !== 'ok') return;
    const k = `${op.process}\u0000${tpKey(op)}`;
    let byOffset = reads.get(k);
    if (byOffset === undefined) reads.set(k, (byOffset = new Map()));
    (op.values ?? []).forEach((value, i) => {
      const offset = op.offsets?.[i] as number;
      pushTo(byOffset, offset, { value, index });
    });
  });
  /** The consumers that read an offset of the partition above `offset`. */
  const furthestRead = new Map<string, Map<string, number>>();
  for (const [k, byOffset] of reads) {
    const [process, partition] = k.split('\u0000') as [string, string];
    let m = furthestRead.get(partition);
    if (m === undefined) furthestRead.set(partition, (m = new Map()));
    let max = -1;
    for (const o of byOffset.keys()) if (o > max) max = o;
    m.set(process, max);
  }
  const readersPast = (key: string, offset: number): string[] =>
    [...(furthestRead.get(key) ?? [])]
      .filter(([, o]) => o > offset)
      .map(([process]) => process)
      .sort();
  const acksOf = (process: string | undefined): number => {
    const p = process === undefined ? undefined : input.producers.get(process);
    if (p !== undefined) return p.acks;
    return input.defaultAcks === '0' ? 0 : input.defaultAcks === '1' ? 1 : -1;
  };
  const uncleanSince = (key: string, fromMs: number | undefined, toMs: number | undefined): UncleanElection | undefined =>
    (input.unclean.get(key) ?? []).find((e) => (fromMs === undefined || e.atMs >= fromMs) && (toMs === undefined || e.atMs <= toMs));
  const describeUnclean = (e: UncleanElection) => `unclean election of b${e.leader} at ${ms(e.atMs)} (epoch ${e.leaderEpoch})`;

  /**
   * (d) The record `value` at `offset` of the final log, which `process` did not read: permitted if,
   * after an unclean election on the partition, the consumer validated its position and went on
   * above `offset` — it detected a truncation whose end offset lies above `offset`, or was told an
   * end offset at or above its position, which lies above `offset` — having read a different record
   * at `offset` before (where its log diverged). One round of OffsetsForLeaderEpoch cannot see a
   * divergence below the end of the largest epoch the new leader has.
   */
  const validationExcuse = (process: string, key: string, offset: number, value: string): string | undefined => {
    const readsThere = reads.get(`${process}\u0000${key}`)?.get(offset) ?? [];
    for (const d of input.answers.get(key) ?? []) {
      if (d.process !== process) continue;
      // Below where it went on, it never came back; at or above, a poll-skip is mended if it read the
      // final log's record there after the validation.
      const below = offset < (d.truncated ? d.endOffset : d.position);
      if (!below && !readsThere.some((r) => r.index >= d.index && r.value === value)) continue;
      const u = (input.unclean.get(key) ?? []).filter((e) => e.atMs <= d.atMs).pop();
      if (u === undefined) continue;
      const before = readsThere.filter((r) => r.index < d.index).pop();
      if (below ? before === undefined || before.value === value : before?.value === value) continue;
      const asked =
        d.validated === undefined
          ? `validating its position ${d.position}`
          : `validating its position ${d.position} (epoch ${d.validated.offsetEpoch}) with b${d.validated.leader} (epoch ${d.validated.leaderEpoch})`;
      const told = d.truncated
        ? `consumer ${process} detected truncation at ${ms(d.atMs)} after the ${describeUnclean(u)}: ${asked}, it was told epoch ${d.leaderEpoch} ends at ${d.endOffset} and moved there`
        : `consumer ${process} validated its position at ${ms(d.atMs)} after the ${describeUnclean(u)}: ${asked}, it was told epoch ${d.leaderEpoch} ends at ${d.endOffset} and kept its position`;
      if (before === undefined)
        return `permitted: ${told}; it read ${value} at ${offset} afterwards (its read before the validation skipped it only in the final log's numbering)`;
      const where = below ? `below that, at ${offset}` : `at ${offset}, whose final record it read afterwards`;
      return (
        `permitted: ${told}, but the log it had read diverged from the final log ${where} ` +
        `(it read ${before.value} there; the final log has ${value}); after an unclean election KIP-320's truncation detection is best effort`
      );
    }
    return undefined;
  };

  // Losses first: the other anomalies may follow from them.
  const losses = new Map<string, LossVerdict[]>();
  const lossOf = (a: RawAnomaly): LossVerdict => {
    const value = a.values[0] as string;
    const key = tpKey(a);
    const send = sends.get(value);
    const acks = acksOf(send?.process);
    const cm = input.commits.get(value);
    const committed = cm !== undefined && cm.topic === a.topic && cm.partition === a.partition ? cm : undefined;
    const offset = a.offsets[0] ?? committed?.offset;
    const acked = send?.type === 'ok';
    // (a) Consumers read only committed records, so a polled value does not qualify.
    if (committed === undefined && acked && acks !== -1 && !polled.has(value)) {
      return { value, offset, allowed: true, why: `permitted: acknowledged with acks=${acksName(acks)} and never committed`, sinceMs: send?.doneMs ?? 0 };
    }
    if (committed !== undefined) {
      const e = exposure(committed);
      if (e !== undefined) {
        return {
          value,
          offset,
          allowed: true,
          why: `permitted: every replica holding it lost its copy to a fault by ${ms(e.atMs)} (${e.how.join('; ')})`,
          sinceMs: e.atMs,
        };
      }
    }
    const u = uncleanSince(key, send?.invokeMs, undefined) ?? (send === undefined ? uncleanSince(key, undefined, undefined) : undefined);
    if (u !== undefined) return { value, offset, allowed: true, why: `permitted: ${describeUnclean(u)}`, sinceMs: u.atMs };
    if (committed !== undefined) {
      const t = firstTruncation(committed);
      const where = `committed at ${committed.topic}-${committed.partition}@${committed.offset} at ${ms(committed.atMs)} (leader ${committed.leader})`;
      if (t !== undefined) return { value, offset, allowed: false, why: `violation: ${describeTruncation(t)}; it had been ${where}`, sinceMs: t.atMs };
      const holders = [...committed.holders.keys()].sort().join(', ');
      return {
        value,
        offset,
        allowed: false,
        why: `violation: ${where}, held by ${holders || 'no replica'}, never lost to a fault, yet it is not in the final log`,
        sinceMs: committed.atMs,
      };
    }
    if (a.source === 'poll')
      return {
        value,
        offset,
        allowed: false,
        why: `violation: polled by ${a.process}${a.atMs === undefined ? '' : ` at ${ms(a.atMs)}`} (consumers read only committed records), then lost; no leader's high watermark was seen passing it`,
        sinceMs: a.atMs ?? 0,
      };
    return {
      value,
      offset,
      allowed: false,
      why: `violation: acknowledged with acks=${acksName(acks)}${send?.doneMs === undefined ? '' : ` at ${ms(send.doneMs)}`}, then lost; no leader's high watermark was seen passing it`,
      sinceMs: send?.doneMs ?? 0,
    };
  };
  const verdicts = new Map<RawAnomaly, { allowed: boolean; why: string }>();
  for (const a of raw) {
    if (a.anomaly !== 'lost-write') continue;
    const v = lossOf(a);
    verdicts.set(a, v);
    const key = tpKey(a);
    pushTo(losses, key, v);
  }

  /** An anomaly that follows from a loss at or below its offsets (the freed offsets are reused). */
  const followsFrom = (a: RawAnomaly): { allowed: boolean; why: string } | undefined => {
    const key = tpKey(a);
    const u = uncleanSince(key, undefined, a.atMs);
    if (u !== undefined) return { allowed: true, why: `permitted: ${describeUnclean(u)}` };
    const top = a.offsets.length > 0 ? Math.max(...a.offsets) : Number.POSITIVE_INFINITY;
    const related = (losses.get(key) ?? []).filter(
      (l) => a.values.includes(l.value) || (l.offset !== undefined && l.offset <= top && (a.atMs === undefined || l.sinceMs <= a.atMs)),
    );
    const permitted = related.find((l) => l.allowed);
    if (permitted !== undefined)
      return { allowed: true, why: `permitted: follows from the permitted loss of ${permitted.value} (${permitted.why.replace(/^permitted: /, '')})` };
    // A value whose copy at another offset was committed and lost to faults (a retry wrote it again).
    for (const v of a.values) {
      const cm = input.commits.get(v);
      const e = cm === undefined ? undefined : exposure(cm);
      if (cm !== undefined && e !== undefined && tpKey(cm) === key)
        return {
          allowed: true,
          why: `permitted: follows from the loss of ${v}'s committed copy at ${cm.offset}, which every replica holding it lost to a fault by ${ms(e.atMs)}`,
        };
    }
    const violating = related.find((l) => !l.allowed);
    return violating === undefined
      ? undefined
      : { allowed: false, why: `following from the loss of ${violating.value} (${violating.why.replace(/^violation: /, 'a violation: ')})` };
  };

  const idempotenceNote = (process: string | undefined): string | undefined => {
    const p = process === undefined ? undefined : input.producers.get(process);
    if (p === undefined || p.idempotent) return undefined;
    return `${process} is not idempotent (acks=${acksName(p.acks)})`;
  };

  const describeBump = (process: string, b: EpochBump): string =>
    `${process} bumped its producer epoch to ${b.producerEpoch} at ${ms(b.atMs)} and restarted its unacknowledged batches at sequence 0`;
  /** (e) A duplicate of `value`: an epoch bump rewrote its batch after an attempt that may have been written. */
  const rewriteDuplicate = (value: string): string | undefined => {
    const process = sends.get(value)?.process;
    const b = process === undefined ? undefined : input.bumps.get(process)?.find((x) => x.maybeWritten.has(value));
    if (process === undefined || b === undefined) return undefined;
    return `permitted: ${describeBump(process, b)}; ${value}'s batch was among them after an attempt that may have been written, and a broker takes the rewrite for a new batch (TransactionManager.bumpIdempotentProducerEpoch)`;
  };
  /** (e) `first` sent before `second` but written after it: a bump rewrote first's batch once second was written under the old epoch. */
  const rewriteReorder = (process: string | undefined, first: string, second: string): string | undefined => {
    if (process === undefined) return undefined;
    const done = sends.get(second);
    const writtenBefore = (x: EpochBump): boolean =>
      x.maybeWritten.has(second) || (!x.rewritten.has(second) && done?.type === 'ok' && (done.doneMs ?? Infinity) <= x.atMs);
    const b = input.bumps.get(process)?.find((x) => x.rewritten.has(first) && writtenBefore(x));
    if (b === undefined) return undefined;
    return `permitted: ${describeBump(process, b)}; ${first}'s batch was among them, after ${second} had been written under the old epoch (TransactionManager.bumpIdempotentProducerEpoch)`;
  };
  /** A duplicate or a reordering: permitted without idempotence, after an epoch bump (e), or as following a permitted loss. */
  const writeVerdict = (
    what: string,
    note: string | undefined,
    consequence: string,
    rewrite: string | undefined,
    derived: { allowed: boolean; why: string } | undefined,
  ): { allowed: boolean; why: string } => {
    if (note !== undefined) return { allowed: true, why: `permitted: ${note}, so ${consequence}` };
    if (rewrite !== undefined) return { allowed: true, why: rewrite };
    if (derived?.allowed) return derived;
    return { allowed: false, why: `violation: ${what} with idempotence on${derived ? `, ${derived.why}` : ''}` };
  };

  for (const a of raw) {
    if (verdicts.has(a)) continue;
    // A consumer that skips records still in the final log is not excused by a loss or an unclean
    // election elsewhere in the log: a truncation explains a skip only if the consumer detected it
    // (a recorded seek, which the history check already honours). A silent skip past records that
    // exist is KAFKA-6880's symptom, the bug KIP-320 fixed.
    // (d) is the exception: the consumer validated its position after the unclean election, and was
    // told too high an end offset.
    const consumerSide = a.anomaly === 'unseen' || a.anomaly === 'poll-skip';
    const derived = consumerSide ? undefined : followsFrom(a);
    const key = tpKey(a);
    let v: { allowed: boolean; why: string };
    switch (a.anomaly) {
      case 'duplicate': {
        const value = a.values[0] as string;
        const note = idempotenceNote(sends.get(value)?.process);
        v = writeVerdict('a duplicate', note, 'a retried batch may be written twice', rewriteDuplicate(value), derived);
        break;
      }
      case 'nonmonotonic-send': {
        const rewrite = rewriteReorder(a.process, a.values[0] as string, a.values[1] as string);
        v = writeVerdict('a reordering', idempotenceNote(a.process), 'retries may reorder its writes', rewrite, derived);
        break;
      }
      case 'unseen': {
        const offset = a.offsets[0] as number;
        // Every consumer that read past it detected the truncation that hid it.
        const past = readersPast(key, offset);
        const excuses = past.map((k) => validationExcuse(k, key, offset, a.values[0] as string));
        if (a.reach !== undefined && offset >= a.reach) {
          v = {
            allowed: true,
            why: `permitted as far as safety goes: no consumer's position reached it (furthest ${a.reach}); whether consumers caught up is the liveness check's business`,
          };
        } else if (past.length > 0 && excuses.every((x) => x !== undefined)) {
          v = { allowed: true, why: excuses.join('; ') };
        } else {
          v = derived?.allowed
            ? derived
            : { allowed: false, why: `violation: consumers read past it without ever polling it${derived ? `, ${derived.why}` : ''}` };
        }
        break;
      }
      case 'poll-skip': {
        const excuses = a.offsets.map((o, i) => (a.process === undefined ? undefined : validationExcuse(a.process, key, o, a.values[i] as string)));
        v =
          excuses.length > 0 && excuses.every((x) => x !== undefined)
            ? { allowed: true, why: [...new Set(excuses)].join('; ') }
            : { allowed: false, why: 'violation: a skipped record with no reset or truncation to explain it' };
        break;
      }
      default: {
        const what = a.anomaly === 'inconsistent-offsets' ? 'two values at one offset' : 'a consumer read backwards with no reset or truncation to explain it';
        v = derived?.allowed ? derived : { allowed: false, why: `violation: ${what}${derived ? `, ${derived.why}` : ''}` };
      }
    }
    verdicts.set(a, v);
  }

  return raw.map((a) => {
    const v = verdicts.get(a) as { allowed: boolean; why: string };
    return {
      anomaly: a.anomaly,
      allowed: v.allowed,
      why: v.why,
      ...(a.atMs !== undefined ? { atMs: a.atMs } : {}),
      ...(a.process !== undefined ? { node: a.process } : {}),
      partition: tpKey(a),
      detail: a.detail,
    };
  });
}
