// End-of-run history checks: the anomalies of Jepsen's Kafka queue workload
// (jepsen/src/jepsen/tests/kafka.clj), computed from the client history (core/history.ts) and the
// authoritative final log of each partition (the leader's, after the liveness phase).
//
// Every value a ksim producer writes is unique, so each one can be followed from its send to the
// offsets where clients saw it and to where (if anywhere) it ended up. Jepsen has no final log and
// infers a "version order" from what clients observed; ksim can read the leader's log at the end,
// so the final log is the order every observation is compared with:
//
//   lost-write            a value that must have been written — acknowledged with an offset, or
//                         polled by a consumer — is nowhere in the final log; and Jepsen's
//                         stricter form for sends acknowledged without an offset (acks=0): absent
//                         while a value the same producer sent later to that partition is present.
//   duplicate             one value at two or more offsets (acks, polls and the final log together).
//   inconsistent-offsets  two different values observed at one offset (acks and polls).
//   nonmonotonic-send     a producer's acknowledged offsets on a partition go backwards (or stay
//                         put) for a later send than an earlier one.
//   poll-skip             two consecutive records a consumer read from a partition are not adjacent
//                         in the final log: offsets between them hold values it never read there.
//                         Each record read is placed at the occurrence where it was read (a value
//                         written twice has two), and another copy of either record is not a skip.
//   nonmonotonic-poll     two consecutive records a consumer read go backwards (or repeat) in the
//                         final log's order, with no reset or truncation of its position between.
//   unseen                a value in the final log below the high watermark that no consumer ever
//                         polled, on a partition consumers read (when consumers ran to the end).
//
// A consumer's position legitimately jumps when it resets (auto.offset.reset) or detects a
// truncation (KIP-320); such jumps are given to the checker as `seek` entries in the history (the
// guarantee checker makes them from the trace). Each anomaly names the partition, offsets, values,
// the process that observed it and when; scenarios/guarantees.ts judges whether it is permitted.

import type { HistoryOp } from '../core/history.js';
import { tpKey } from '../core/protocol.js';

export type AnomalyName = 'lost-write' | 'duplicate' | 'inconsistent-offsets' | 'nonmonotonic-send' | 'poll-skip' | 'nonmonotonic-poll' | 'unseen';

/** The order anomalies are reported in. */
export const ANOMALY_NAMES: readonly AnomalyName[] = [
  'lost-write',
  'duplicate',
  'inconsistent-offsets',
  'nonmonotonic-send',
  'poll-skip',
  'nonmonotonic-poll',
  'unseen',
];

/** A history operation, with the simulated time it was recorded at when known. */
export interface TimedOp extends HistoryOp {
  timeMs?: number;
}

/** A consumer's position moved by a reset or a detected truncation (not by reading). */
export interface SeekOp {
  process: string;
  f: 'seek';
  topic: string;
  partition: number;
  /** The new position. */
  offset: number;
  /** `reset (earliest)`, `truncation detected`, … */
  reason: string;
  timeMs?: number;
}

export type CheckedOp = TimedOp | SeekOp;

export interface FinalRecord {
  offset: number;
  value: string | null;
}

/** The authoritative final log of a partition, in offset order (undefined if it has none, e.g. no leader). */
export type FinalLogs = (topic: string, partition: number) => readonly FinalRecord[] | undefined;

export interface HistoryCheckOptions {
  /** The final high watermark of a partition (default: its whole final log counts). */
  highWatermark?: (topic: string, partition: number) => number | undefined;
  /**
   * Consumers ran until they had read everything committed (default true): then every unpolled
   * value below the high watermark is `unseen`. When false, only those below the furthest position
   * a consumer reached on the partition.
   */
  consumersRanToEnd?: boolean;
}

export interface RawAnomaly {
  anomaly: AnomalyName;
  topic: string;
  partition: number;
  /** The offsets concerned (for lost-write, where the value was observed; empty if never). */
  offsets: number[];
  /** The values concerned, in the order the detail names them. */
  values: string[];
  /** The client that observed it (the producer of an acknowledgement, the consumer of a poll). */
  process?: string;
  /** When it was observed (the later of two observations). */
  atMs?: number;
  /** lost-write: how the value was known to be written. */
  source?: 'ack' | 'poll' | 'ack-without-offset';
  /** unseen: the furthest position any consumer reached on the partition. */
  reach?: number;
  detail: string;
}

interface Observation {
  process: string;
  atMs: number | undefined;
  how: 'ack' | 'poll';
}

interface SendInfo {
  readonly process: string;
  readonly topic: string;
  readonly partition: number;
  readonly invokeIndex: number;
  readonly invokeMs: number | undefined;
  type: 'invoke' | 'ok' | 'fail' | 'info';
  offset: number | undefined;
  doneMs: number | undefined;
}

/** A consumer's reading of one partition: the last record it read, and where a fresh read starts. */
interface Reader {
  last:
    | {
        value: string;
        /** The offset it was read at. */
        offset: number;
        /** Where that read record is in the final log (the occurrence matching the read), if there. */
        finalAt: number | undefined;
        atMs: number | undefined;
      }
    | undefined;
  from: number | undefined;
}

/** A partition of the history, with its tpKey. */
interface PartitionRef {
  key: string;
  topic: string;
  partition: number;
}

/** A final log indexed both ways. */
class FinalIndex {
  readonly offsetOf = new Map<string, number[]>();
  constructor(readonly records: readonly FinalRecord[]) {
    for (const r of records) {
      if (r.value === null) continue;
      const list = this.offsetOf.get(r.value);
      if (list === undefined) this.offsetOf.set(r.value, [r.offset]);
      else list.push(r.offset);
    }
  }
  has(value: string): boolean {
    return this.offsetOf.has(value);
  }
  first(value: string): number | undefined {
    return this.offsetOf.get(value)?.[0];
  }
  /**
   * The occurrence of a value read at `readAt` in the final log: the one at that very offset if the
   * final log has it there; else the first after `after` (the previous record's place, when known);
   * else the first. With a value at one offset only, that offset. A value written twice (a permitted
   * duplicate) is so placed where this read actually found it, not at its first copy.
   */
  occurrence(value: string, readAt: number, after: number | undefined): number | undefined {
    const offsets = this.offsetOf.get(value);
    if (offsets === undefined) return undefined;
    if (offsets.length === 1) return offsets[0];
    if (offsets.includes(readAt)) return readAt;
    return (after === undefined ? undefined : offsets.find((o) => o > after)) ?? offsets[0];
  }
  /** Records with a value at offsets in [from, to). */
  between(from: number, to: number): FinalRecord[] {
    const out: FinalRecord[] = [];
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.records[mid] as FinalRecord).offset < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.records.length; i++) {
      const r = this.records[i] as FinalRecord;
      if (r.offset >= to) break;
      if (r.value !== null) out.push(r);
    }
    return out;
  }
}

const at = (ms: number | undefined): string => (ms === undefined ? '' : ` at ${Math.round(ms)} ms`);
const list = (xs: readonly (string | number)[], max = 8): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')}, … (${xs.length} in all)`;

/** The anomalies of a history against the final logs, in ANOMALY_NAMES order, then by partition and offset. */
export function checkHistory(history: readonly CheckedOp[], finalLogs: FinalLogs, options: HistoryCheckOptions = {}): RawAnomaly[] {
  const check = new HistoryCheck(finalLogs, options);
  for (let i = 0; i < history.length; i++) check.step(history[i] as CheckedOp, i);
  return check.finish();
}

/**
 * One run of checkHistory: what the history showed, per value and per partition, and the anomalies
 * found. (A class, not closures inside checkHistory: V8 keeps a method's optimized code from one
 * call to the next, whereas closures made anew in every call were compiled anew every few runs.)
 */
class HistoryCheck {
  private readonly out: RawAnomaly[] = [];
  /** Every partition of the history, by tpKey. */
  private readonly partitions = new Map<string, PartitionRef>();
  private readonly finals = new Map<string, FinalIndex | undefined>();
  private readonly sends = new Map<string, SendInfo>();
  /** Per partition: offset → value → its first observation there (acks and polls). */
  private readonly seenAt = new Map<string, Map<number, Map<string, Observation>>>();
  /** Per value: offset → its first observation there. */
  private readonly offsetsOf = new Map<string, Map<number, Observation>>();
  /** Per value: its first poll (where and by whom). */
  private readonly polled = new Map<string, Observation & { offset: number }>();
  /** Per partition: the furthest position any consumer reached. */
  private readonly reach = new Map<string, number>();
  private readonly consumed = new Set<string>();
  /** Consumers: per process and partition, the last record read and where a fresh read starts. */
  private readonly readers = new Map<string, Reader>();

  constructor(
    private readonly finalLogs: FinalLogs,
    private readonly options: HistoryCheckOptions,
  ) {}

  /** The final log of a partition, indexed (`key`: its tpKey, when the caller has it). */
  private finalOf(topic: string, partition: number, key = tpKey({ topic, partition })): FinalIndex | undefined {
    if (!this.finals.has(key)) {
      const log = this.finalLogs(topic, partition);
      this.finals.set(key, log === undefined ? undefined : new FinalIndex(log));
    }
    return this.finals.get(key);
  }

  /** `key` is the partition's tpKey. */
  private observe(key: string, offset: number, value: string, o: Observation): void {
    let byOffset = this.seenAt.get(key);
    if (byOffset === undefined) this.seenAt.set(key, (byOffset = new Map()));
    let values = byOffset.get(offset);
    if (values === undefined) byOffset.set(offset, (values = new Map()));
    if (!values.has(value)) values.set(value, o);
    let offsets = this.offsetsOf.get(value);
    if (offsets === undefined) this.offsetsOf.set(value, (offsets = new Map()));
    if (!offsets.has(offset)) offsets.set(offset, o);
  }

  /** The reading of a consumer of the partition with tpKey `key`. */
  private readerOf(process: string, key: string): Reader {
    const k = `${process}\u0000${key}`;
    let r = this.readers.get(k);
    if (r === undefined) this.readers.set(k, (r = { last: undefined, from: undefined }));
    return r;
  }

  private extendReach(key: string, position: number): void {
    this.reach.set(key, Math.max(this.reach.get(key) ?? 0, position));
  }

  /** Takes in the history entry at `index`. */
  step(op: CheckedOp, index: number): void {
    const key = tpKey(op);
    if (!this.partitions.has(key)) this.partitions.set(key, { key, topic: op.topic, partition: op.partition });
    if (op.f === 'seek') {
      const r = this.readerOf(op.process, key);
      r.last = undefined;
      r.from = op.offset;
      return;
    }
    if (op.f === 'send') this.stepSend(op, key, index);
    else this.stepPoll(op, key);
  }

  private stepSend(op: TimedOp, key: string, index: number): void {
    if (op.value === undefined) return;
    if (op.type === 'invoke') {
      this.sends.set(op.value, {
        process: op.process,
        topic: op.topic,
        partition: op.partition,
        invokeIndex: index,
        invokeMs: op.timeMs,
        type: 'invoke',
        offset: undefined,
        doneMs: undefined,
      });
      return;
    }
    let s = this.sends.get(op.value);
    if (s === undefined) {
      // A completion without its invocation (a history cut short at the front): keep what it says.
      s = {
        process: op.process,
        topic: op.topic,
        partition: op.partition,
        invokeIndex: index,
        invokeMs: undefined,
        type: op.type,
        offset: undefined,
        doneMs: op.timeMs,
      };
      this.sends.set(op.value, s);
    }
    s.type = op.type;
    s.doneMs = op.timeMs;
    if (op.type === 'ok' && op.offset !== undefined && op.offset >= 0) {
      s.offset = op.offset;
      this.observe(key, op.offset, op.value, { process: op.process, atMs: op.timeMs, how: 'ack' });
    }
  }

  private stepPoll(op: TimedOp, key: string): void {
    this.consumed.add(key);
    const r = this.readerOf(op.process, key);
    if (op.type === 'invoke') {
      if (op.offset !== undefined) {
        if (r.last === undefined && r.from === undefined) r.from = op.offset;
        this.extendReach(key, op.offset);
      }
      return;
    }
    if (op.type !== 'ok') return;
    const values = op.values ?? [];
    const offsets = op.offsets ?? [];
    const fin = this.finalOf(op.topic, op.partition, key);
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as string;
      const offset = offsets[i] as number;
      this.observe(key, offset, value, { process: op.process, atMs: op.timeMs, how: 'poll' });
      if (!this.polled.has(value)) this.polled.set(value, { process: op.process, atMs: op.timeMs, how: 'poll', offset });
      this.extendReach(key, offset + 1);
      const finalAt = fin === undefined ? undefined : checkPollStep(this.out, op, key, r, value, offset, fin);
      r.last = { value, offset, finalAt, atMs: op.timeMs };
      r.from = undefined;
    }
  }

  /** The end-of-history checks, then every anomaly in report order. */
  finish(): RawAnomaly[] {
    const sortedPartitions = [...this.partitions.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.lostWrites();
    this.duplicates(sortedPartitions);
    this.inconsistentOffsets(sortedPartitions);
    this.nonmonotonicSends();
    this.unseen(sortedPartitions);
    return sortAnomalies(this.out);
  }

  /** The sends (value, info) per producer and partition, in the order first seen; `acked`: only those acknowledged at an offset. */
  private sendsByProducer(acked: boolean): Map<string, [string, SendInfo][]> {
    const out = new Map<string, [string, SendInfo][]>();
    for (const [value, s] of this.sends) {
      if (acked && (s.type !== 'ok' || s.offset === undefined)) continue;
      pushTo(out, producerKey(s), [value, s]);
    }
    return out;
  }

  private lostWrites(): void {
    const sendsBy = this.sendsByProducer(false);
    /** The first value the same producer sent to the partition after `invokeIndex` that is in the final log. */
    const laterPresent = (key: string, invokeIndex: number, fin: FinalIndex): string | undefined => {
      for (const [v, t] of sendsBy.get(key) ?? []) if (t.invokeIndex > invokeIndex && fin.has(v)) return v;
      return undefined;
    };
    for (const [value, s] of this.sends) {
      const fin = this.finalOf(s.topic, s.partition);
      if (fin === undefined || fin.has(value) || s.type !== 'ok') continue;
      if (s.offset !== undefined) {
        const poll = this.polled.get(value);
        this.out.push({
          anomaly: 'lost-write',
          topic: s.topic,
          partition: s.partition,
          offsets: [s.offset],
          values: [value],
          process: s.process,
          atMs: s.doneMs,
          source: 'ack',
          detail: `${value} acknowledged to ${s.process} at ${tpKey(s)}@${s.offset}${at(s.doneMs)}${poll ? ` (and polled by ${poll.process})` : ''} is not in the final log`,
        });
        continue;
      }
      if (this.polled.has(value)) continue; // reported below, from the poll
      // Acknowledged without an offset (acks=0): lost if a later send of the producer made it.
      const later = laterPresent(producerKey(s), s.invokeIndex, fin);
      if (later !== undefined) {
        this.out.push({
          anomaly: 'lost-write',
          topic: s.topic,
          partition: s.partition,
          offsets: [],
          values: [value, later],
          process: s.process,
          atMs: s.doneMs,
          source: 'ack-without-offset',
          detail: `${value} acknowledged to ${s.process} (no offset)${at(s.doneMs)} is not in the final log of ${tpKey(s)}, though ${later}, sent after it, is (at ${fin.first(later)})`,
        });
      }
    }
    for (const [value, p] of this.polled) {
      const s = this.sends.get(value);
      if (s?.offset !== undefined && s.type === 'ok') continue; // reported above, from the acknowledgement
      const tp = s ?? findPartition(this.seenAt, this.partitions, value);
      if (tp === undefined) continue;
      const fin = this.finalOf(tp.topic, tp.partition);
      if (fin === undefined || fin.has(value)) continue;
      this.out.push({
        anomaly: 'lost-write',
        topic: tp.topic,
        partition: tp.partition,
        offsets: [p.offset],
        values: [value],
        process: p.process,
        atMs: p.atMs,
        source: 'poll',
        detail: `${value} polled by ${p.process} at ${tpKey(tp)}@${p.offset}${at(p.atMs)}${s ? ` (sent by ${s.process}, ${s.type})` : ''} is not in the final log`,
      });
    }
  }

  /** Observed offsets and final-log offsets together. */
  private duplicates(sortedPartitions: readonly PartitionRef[]): void {
    for (const { key, topic, partition } of sortedPartitions) {
      const fin = this.finalOf(topic, partition, key);
      const candidates = new Set<string>();
      for (const values of this.seenAt.get(key)?.values() ?? []) for (const v of values.keys()) candidates.add(v);
      if (fin !== undefined) for (const [v, offs] of fin.offsetOf) if (offs.length > 1) candidates.add(v);
      for (const value of candidates) {
        const where = new Map<number, Observation | undefined>();
        for (const [o, obs] of this.offsetsOf.get(value) ?? []) where.set(o, obs);
        for (const o of fin?.offsetOf.get(value) ?? []) if (!where.has(o)) where.set(o, undefined);
        if (where.size < 2) continue;
        const offsets = [...where.keys()].sort((a, b) => a - b);
        // The observation that revealed the second offset: the later of the first two by time.
        const obs = [...where.values()].filter((o): o is Observation => o !== undefined).sort((a, b) => (a.atMs ?? 0) - (b.atMs ?? 0));
        const second = obs[1] ?? obs[0];
        const inFinal = fin?.offsetOf.get(value) ?? [];
        this.out.push({
          anomaly: 'duplicate',
          topic,
          partition,
          offsets,
          values: [value],
          ...(second ? { process: second.process } : {}),
          ...(second?.atMs !== undefined ? { atMs: second.atMs } : {}),
          detail: `${value} is at ${offsets.length} offsets of ${key}: ${offsets
            .map((o) => {
              const ob = where.get(o);
              const how = [
                ob ? `${ob.how === 'ack' ? 'acknowledged to' : 'polled by'} ${ob.process}${at(ob.atMs)}` : '',
                inFinal.includes(o) ? 'in the final log' : '',
              ]
                .filter((x) => x !== '')
                .join(', ');
              return `${o} (${how})`;
            })
            .join('; ')}`,
        });
      }
    }
  }

  private inconsistentOffsets(sortedPartitions: readonly PartitionRef[]): void {
    for (const { key, topic, partition } of sortedPartitions) {
      const byOffset = this.seenAt.get(key);
      if (byOffset === undefined) continue;
      for (const offset of [...byOffset.keys()].sort((a, b) => a - b)) {
        const values = byOffset.get(offset) as Map<string, Observation>;
        if (values.size < 2) continue;
        const obs = [...values.entries()].sort((a, b) => (a[1].atMs ?? 0) - (b[1].atMs ?? 0));
        const second = (obs[1] as [string, Observation])[1];
        this.out.push({
          anomaly: 'inconsistent-offsets',
          topic,
          partition,
          offsets: [offset],
          values: obs.map(([v]) => v),
          process: second.process,
          ...(second.atMs !== undefined ? { atMs: second.atMs } : {}),
          detail: `${key}@${offset} was seen holding ${obs.length} values: ${obs.map(([v, o]) => `${v} (${o.how === 'ack' ? 'acknowledged to' : 'polled by'} ${o.process}${at(o.atMs)})`).join(', ')}`,
        });
      }
    }
  }

  /** Per producer and partition, acknowledged offsets in the order of invocation. */
  private nonmonotonicSends(): void {
    const byProducer = this.sendsByProducer(true);
    for (const key of [...byProducer.keys()].sort()) {
      const acks = (byProducer.get(key) as [string, SendInfo][]).sort((a, b) => a[1].invokeIndex - b[1].invokeIndex);
      let max: [string, SendInfo] | undefined;
      for (const [value, s] of acks) {
        const offset = s.offset as number;
        if (max !== undefined && offset <= (max[1].offset as number)) {
          this.out.push({
            anomaly: 'nonmonotonic-send',
            topic: s.topic,
            partition: s.partition,
            offsets: [max[1].offset as number, offset],
            values: [max[0], value],
            process: s.process,
            ...(s.doneMs !== undefined ? { atMs: s.doneMs } : {}),
            detail: `${s.process} sent ${value} after ${max[0]} to ${tpKey(s)}, but ${value} was acknowledged at ${offset}${at(s.doneMs)}, not after ${max[0]}'s ${max[1].offset}`,
          });
        }
        if (max === undefined || offset > (max[1].offset as number)) max = [value, s];
      }
    }
  }

  private unseen(sortedPartitions: readonly PartitionRef[]): void {
    for (const { key, topic, partition } of sortedPartitions) {
      if (!this.consumed.has(key)) continue;
      const fin = this.finalOf(topic, partition, key);
      if (fin === undefined) continue;
      const furthest = this.reach.get(key) ?? 0;
      const hw = this.options.highWatermark?.(topic, partition) ?? Number.POSITIVE_INFINITY;
      const limit = this.options.consumersRanToEnd === false ? Math.min(hw, furthest) : hw;
      for (const r of fin.records) {
        if (r.offset >= limit) break;
        if (r.value === null || this.polled.has(r.value)) continue;
        this.out.push({
          anomaly: 'unseen',
          topic,
          partition,
          offsets: [r.offset],
          values: [r.value],
          reach: furthest,
          detail: `${r.value} at ${key}@${r.offset} (below the high watermark ${hw === Number.POSITIVE_INFINITY ? '(none given)' : hw}) was never polled; consumers reached offset ${furthest}`,
        });
      }
    }
  }
}

/** Append `item` to the list of `key`, making the list if there is none. */
export function pushTo<K, T>(map: Map<K, T[]>, key: K, item: T): void {
  const l = map.get(key);
  if (l === undefined) map.set(key, [item]);
  else l.push(item);
}

/** A send's producer and partition, as one map key. */
function producerKey(s: SendInfo): string {
  return `${s.process}\u0000${tpKey(s)}`;
}

/** Anomalies in ANOMALY_NAMES order, then by partition and first offset, else as found. */
function sortAnomalies(out: RawAnomaly[]): RawAnomaly[] {
  // (Returning an empty list here keeps V8 from deoptimizing the sort below between runs with and
  // without anomalies: an empty literal array has another hidden class than a filled one.)
  if (out.length === 0) return out;
  const rank = new Map(ANOMALY_NAMES.map((n, i) => [n, i]));
  return out
    .map((a, i) => ({ a, i }))
    .sort(
      (x, y) =>
        (rank.get(x.a.anomaly) as number) - (rank.get(y.a.anomaly) as number) ||
        (x.a.topic < y.a.topic ? -1 : x.a.topic > y.a.topic ? 1 : 0) ||
        x.a.partition - y.a.partition ||
        (x.a.offsets[0] ?? -1) - (y.a.offsets[0] ?? -1) ||
        x.i - y.i,
    )
    .map((x) => x.a);
}

/**
 * One step of a consumer's reading: the record (value, offset) after `r.last` (or after a fresh start
 * at `r.from`). Returns where the record is in the final log (the occurrence matching this read), if
 * it is there.
 */
function checkPollStep(out: RawAnomaly[], op: TimedOp, key: string, r: Reader, value: string, offset: number, fin: FinalIndex): number | undefined {
  const base = { topic: op.topic, partition: op.partition, process: op.process, ...(op.timeMs !== undefined ? { atMs: op.timeMs } : {}) };
  const last = r.last;
  if (last === undefined) {
    const finalAt = fin.occurrence(value, offset, undefined);
    // A fresh start (first poll, reset, truncation): nothing between the start and the first record.
    if (r.from === undefined || offset <= r.from) return finalAt;
    const skipped = fin.between(r.from, offset).filter((s) => s.value !== value);
    if (skipped.length > 0) {
      out.push({
        anomaly: 'poll-skip',
        ...base,
        offsets: skipped.map((s) => s.offset),
        values: skipped.map((s) => s.value as string),
        detail: `${op.process} started reading ${key} at ${r.from} but its first record was ${value} at ${offset}${at(op.timeMs)}, skipping ${list(skipped.map((s) => `${s.value}@${s.offset}`))}`,
      });
    }
    return finalAt;
  }
  // Compare in the final log's order when both records are there, else by the offsets read. Each
  // record is placed at the occurrence matching where it was read: with a value at two offsets
  // (a duplicate, reported as such), reading either copy or both is reading in order.
  const a = last.finalAt;
  const b = fin.occurrence(value, offset, a);
  const inFinal = a !== undefined && b !== undefined;
  const from = inFinal ? a : last.offset;
  const to = inFinal ? b : offset;
  const order = inFinal ? 'in the final log' : 'as read';
  if (to <= from) {
    out.push({
      anomaly: 'nonmonotonic-poll',
      ...base,
      offsets: [last.offset, offset],
      values: [last.value, value],
      detail: `${op.process} read ${value} (${key}@${offset})${at(op.timeMs)} right after ${last.value} (@${last.offset}), but ${order} ${value} is at ${to}, not after ${from}, and no reset or truncation moved its position`,
    });
    return b;
  }
  if (to === from + 1) return b;
  // Another copy of either record between them is not a record the consumer missed: it read that value.
  const skipped = fin.between(from + 1, to).filter((s) => s.value !== last.value && s.value !== value);
  if (skipped.length === 0) return b;
  out.push({
    anomaly: 'poll-skip',
    ...base,
    offsets: skipped.map((s) => s.offset),
    values: skipped.map((s) => s.value as string),
    detail: `${op.process} read ${value} (${key}@${offset})${at(op.timeMs)} right after ${last.value} (@${last.offset}), skipping ${list(skipped.map((s) => `${s.value}@${s.offset}`))} of the final log`,
  });
  return b;
}

/** The partition a value was observed on (for polled values with no recorded send). */
function findPartition(
  seenAt: Map<string, Map<number, Map<string, Observation>>>,
  partitions: Map<string, PartitionRef>,
  value: string,
): PartitionRef | undefined {
  for (const [key, byOffset] of seenAt) for (const values of byOffset.values()) if (values.has(value)) return partitions.get(key);
  return undefined;
}
