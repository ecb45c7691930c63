// One partition replica's log (Kafka's UnifiedLog + LocalLog + LogSegment + LogLoader; notes
// docs/notes/kafka-data-plane.md §1.2–1.4, §2.3, §5.2–5.3).
//
// Files, in the partition's directory `${topic}-${partition}/` on the node's DiskPort:
// - segments `<20-digit baseOffset>.log`: v2 record batches back to back, append-only;
// - offset indexes `<20-digit baseOffset>.index`: 8-byte entries (relative offset int32, file
//   position int32), one after every `log.index.interval.bytes` of appended data;
// - `leader-epoch-checkpoint`, rewritten atomically (checkpoint.ts) after every epoch-cache change.
//
// The log keeps every batch in memory (header, encoded bytes, segment, position) and serves reads
// from there: that is the page cache, which on a real broker holds the recent data a fetch reads.
// The disk holds the same bytes for durability: writes land in the disk's page cache, a flush
// (fsync) makes them durable and advances the recovery point, a crash may drop or tear whatever
// was not flushed, and `load` recovers from what survived — validating batches from the segment
// that holds the recovery point, cutting the segment at the first torn or corrupt batch and
// deleting every later segment (LogLoader.recoverLog / LogSegment.recover).
//
// Simplifications:
// - No retention, compaction or log-start-offset increments: the log starts at its first segment
//   (0, or wherever truncateFullyAndStartAt put it). No time index, no transaction index.
// - No producer-state snapshots: producer state is rebuilt by scanning the log (producer-state.ts).
// - Load reads every segment and also checks batches below the recovery point (Kafka trusts them
//   until read): corruption found there is cut like a recovery would, and traced. Offsets must be
//   contiguous (a batch must start where the previous one ended; a segment where the previous
//   one ended), or the rest of the log is dropped as in a recovery.
// - Segments are deleted at once (Kafka renames them `.deleted` and deletes them later).
// - The flush.ms policy is checked on append and by `maybeFlush()` (Kafka: a scheduler task).
// - A disk error makes the log offline: `onStorageError` is called once, and appends then
//   answer KAFKA_STORAGE_ERROR (Kafka marks the log dir offline; with one dir, the broker halts).

import type { DiskError, DiskPort, DiskResult, TraceFields } from '../ports.js';
import type { ErrorCode } from '../protocol.js';
import { type BatchHeader, batchHeader, decodeBatch, restamp } from './batch.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { LeaderEpochCache } from './epoch-cache.js';
import { ProducerStateManager } from './producer-state.js';

export interface PartitionLogDeps {
  disk: DiskPort;
  trace(kind: string, fields?: TraceFields): void;
  now(): number;
  /** Called once, at the first failed disk operation of this log. */
  onStorageError(error: DiskError): void;
  /** `log.segment.bytes` */
  segmentBytes: number;
  /** `log.index.interval.bytes` */
  indexIntervalBytes: number;
  /** `log.flush.interval.messages` */
  flushIntervalMessages: number;
  /** `log.flush.interval.ms` */
  flushIntervalMs: number;
}

export interface LoadOptions {
  /** From `recovery-point-offset-checkpoint` (0 if absent). */
  recoveryPoint: number;
  /** From `replication-offset-checkpoint` (0 if absent). */
  highWatermark: number;
  /** The log dir had a clean-shutdown marker. */
  hadCleanShutdown: boolean;
}

/** A batch of the log: its header, its encoded bytes (never mutate them) and where it is stored. */
export interface LogBatch extends BatchHeader {
  readonly bytes: Uint8Array;
  /** Base offset of the segment holding it. */
  readonly segment: number;
  /** Byte position in that segment file. */
  readonly position: number;
}

export interface IndexEntry {
  /** lastOffset of the indexed batch, relative to the segment's base offset. */
  readonly relativeOffset: number;
  /** Position of that batch in the segment file. */
  readonly position: number;
}

export interface SegmentInfo {
  readonly baseOffset: number;
  readonly sizeBytes: number;
  readonly logFile: string;
  readonly indexFile: string;
  readonly index: readonly IndexEntry[];
}

export type LeaderAppendResult =
  | { kind: 'appended'; baseOffset: number; lastOffset: number }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'error'; error: ErrorCode };

export type FollowerAppendResult = { kind: 'appended'; lastOffset: number } | { kind: 'error'; error: ErrorCode };

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
const INDEX_ENTRY_BYTES = 8;
const EMPTY = new Uint8Array(0);

/** `00000000000000000042`: the 20-digit file name stem of a segment with base offset 42. */
export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

class Segment {
  sizeBytes = 0;
  index: IndexEntry[] = [];
  bytesSinceLastIndexEntry = 0;
  logDirty = false;
  indexDirty = false;
  constructor(
    readonly baseOffset: number,
    readonly logFile: string,
    readonly indexFile: string,
  ) {}
}

function encodeIndex(entries: readonly IndexEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * INDEX_ENTRY_BYTES);
  const v = new DataView(out.buffer);
  entries.forEach((e, i) => {
    v.setInt32(i * INDEX_ENTRY_BYTES, e.relativeOffset);
    v.setInt32(i * INDEX_ENTRY_BYTES + 4, e.position);
  });
  return out;
}

function decodeIndex(bytes: Uint8Array): IndexEntry[] | undefined {
  if (bytes.length % INDEX_ENTRY_BYTES !== 0) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: IndexEntry[] = [];
  for (let at = 0; at < bytes.length; at += INDEX_ENTRY_BYTES) out.push({ relativeOffset: v.getInt32(at), position: v.getInt32(at + 4) });
  return out;
}

/** An index read from disk is usable if every entry points at a batch start with that batch's last offset, in order. */
function indexMatches(entries: readonly IndexEntry[], batches: readonly LogBatch[], baseOffset: number): boolean {
  return entries.every((e, k) => {
    const b = batches.find((x) => x.position === e.position);
    const prev = entries[k - 1];
    return b !== undefined && e.relativeOffset === b.lastOffset - baseOffset && (prev === undefined || e.position > prev.position);
  });
}

interface SegmentFiles {
  baseOffset: number;
  log: Uint8Array;
  index: Uint8Array | undefined;
}

export class PartitionLog {
  readonly dir: string;
  private segs: Segment[] = [];
  private list: LogBatch[] = [];
  private readonly cache = new LeaderEpochCache();
  private readonly producers = new ProducerStateManager();
  private startOffset = 0;
  private endOffset = 0;
  private hw = 0;
  /**
   * The high watermark is still the one read from the replication-offset checkpoint at load: no
   * leader has told it since (a follower's fetch) and it has not led it forward. Kafka writes that
   * checkpoint every replica.high.watermark.checkpoint.interval.ms, not on truncation, so after a
   * crash it may name offsets whose records the log has since replaced. Observation only (for the
   * invariants); the broker does not read it.
   */
  private hwFromCheckpoint = false;
  private recoveryPointOffset = 0;
  /** The highest offset a flush was issued for (so that a flush policy does not re-issue it). */
  private flushIssuedOffset = 0;
  private lastFlushTimeMs: number;
  /** Counts truncations, so that a flush issued before one does not advance the recovery point. */
  private truncations = 0;
  private offline = false;

  /** An empty, unloaded log: use `PartitionLog.load` (or `createEmpty` for a brand-new partition). */
  constructor(
    private readonly deps: PartitionLogDeps,
    readonly topic: string,
    readonly partition: number,
  ) {
    if (!(deps.segmentBytes >= 1) || !(deps.indexIntervalBytes >= 1) || !(deps.flushIntervalMessages >= 1) || !(deps.flushIntervalMs >= 0))
      throw new Error(`log ${topic}-${partition}: bad configuration`);
    this.dir = `${topic}-${partition}/`;
    this.lastFlushTimeMs = deps.now();
  }

  // -------------------------------------------------------------------------------------------
  // State

  get logStartOffset(): number {
    return this.startOffset;
  }
  /** LEO: the offset the next appended record gets. */
  get logEndOffset(): number {
    return this.endOffset;
  }
  get highWatermark(): number {
    return this.hw;
  }
  /** True while the high watermark is the checkpointed one read at load (see `hwFromCheckpoint`). */
  get highWatermarkFromCheckpoint(): boolean {
    return this.hwFromCheckpoint;
  }
  /** Every offset below it is known to be durable (flushed). */
  get recoveryPoint(): number {
    return this.recoveryPointOffset;
  }
  get epochCache(): LeaderEpochCache {
    return this.cache;
  }
  get producerState(): ProducerStateManager {
    return this.producers;
  }
  /** The batches of the log, in offset order (do not mutate). */
  get batches(): readonly LogBatch[] {
    return this.list;
  }
  get segments(): SegmentInfo[] {
    return this.segs.map((s) => ({ baseOffset: s.baseOffset, sizeBytes: s.sizeBytes, logFile: s.logFile, indexFile: s.indexFile, index: s.index.slice() }));
  }
  /** Records appended since the recovery point (Kafka's unflushedMessages = LEO - recoveryPoint). */
  get unflushedMessages(): number {
    return this.endOffset - this.recoveryPointOffset;
  }
  /** True after a disk error: the log accepts no more appends. */
  get isOffline(): boolean {
    return this.offline;
  }
  get leaderEpochCheckpointFile(): string {
    return `${this.dir}${LEADER_EPOCH_CHECKPOINT}`;
  }

  latestEpoch(): number {
    return this.cache.latestEpoch();
  }

  /** The epoch of the log's last batch, or -1 if it has none. */
  lastBatchEpoch(): number {
    return this.list[this.list.length - 1]?.partitionLeaderEpoch ?? -1;
  }

  /** The partitionLeaderEpoch of the batch containing `offset`, or -1 if no batch contains it. */
  batchEpochAt(offset: number): number {
    const i = this.batchIndexFor(offset);
    return i === undefined ? -1 : (this.list[i] as LogBatch).partitionLeaderEpoch;
  }

  /** OffsetsForLeaderEpoch / the divergence check: the cache's KIP-279 answer with this LEO. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.cache.endOffsetFor(epoch, this.endOffset);
  }

  /** The original KIP-101 answer (offset only), for `fix.kip-279=false`. */
  endOffsetForEpochKip101(epoch: number): number {
    return this.cache.endOffsetForKip101(epoch, this.endOffset);
  }

  // -------------------------------------------------------------------------------------------
  // Creating and loading

  /**
   * A new, empty log at offset 0 for a partition that has no files yet (Kafka's getOrCreateLog).
   * Precondition: the directory is empty — a log that may exist on disk must be `load`ed.
   */
  static createEmpty(deps: PartitionLogDeps, topic: string, partition: number): PartitionLog {
    const log = new PartitionLog(deps, topic, partition);
    log.newSegment(0);
    deps.trace('log.created', { topic, partition });
    return log;
  }

  /**
   * Load the log from the disk (LogLoader.load). After an unclean shutdown, batches are validated
   * from the segment containing the recovery point on; the first torn or corrupt batch is cut off
   * with everything after it. `cb` runs once the files are read (the repairs are issued, and
   * complete before any later operation). A disk error calls onStorageError and not `cb`.
   */
  static load(deps: PartitionLogDeps, topic: string, partition: number, opts: LoadOptions, cb: (log: PartitionLog) => void): void {
    const log = new PartitionLog(deps, topic, partition);
    const disk = deps.disk;
    disk.list(log.dir, (lr) => {
      if (!lr.ok) return log.fail(lr.error);
      const names = lr.value.map((n) => n.slice(log.dir.length));
      const bases: number[] = [];
      for (const n of names) {
        const m = /^(\d{20})\.log$/.exec(n);
        if (m !== null) bases.push(Number(m[1]));
      }
      bases.sort((a, b) => a - b);
      for (const n of names) {
        const m = /^(\d{20})\.index$/.exec(n);
        if (m !== null && !bases.includes(Number(m[1]))) disk.delete(`${log.dir}${n}`, log.done); // orphan index
      }
      readCheckpoint(disk, log.leaderEpochCheckpointFile, (text, error) => {
        if (error !== undefined) return log.fail(error);
        const files: SegmentFiles[] = bases.map((baseOffset) => ({ baseOffset, log: EMPTY, index: undefined }));
        let pending = files.length * 2;
        let failed = false;
        const oneDone = (): void => {
          if (--pending === 0 && !failed) {
            log.finishLoad(files, text, opts);
            cb(log);
          }
        };
        if (files.length === 0) {
          log.finishLoad(files, text, opts);
          cb(log);
          return;
        }
        for (const f of files) {
          disk.readAll(`${log.dir}${segmentName(f.baseOffset)}.log`, (r) => {
            if (!r.ok) {
              failed = true;
              return log.fail(r.error);
            }
            f.log = r.value;
            oneDone();
          });
          disk.readAll(`${log.dir}${segmentName(f.baseOffset)}.index`, (r) => {
            if (!r.ok && r.error.code !== 'ENOENT') {
              failed = true;
              return log.fail(r.error);
            }
            if (r.ok) f.index = r.value;
            oneDone();
          });
        }
      });
    });
  }

  private finishLoad(files: SegmentFiles[], epochText: string | undefined, opts: LoadOptions): void {
    const disk = this.deps.disk;
    const clean = opts.hadCleanShutdown;
    // The first segment to validate: the one containing the recovery point (its floor segment).
    let recoverFrom = 0;
    files.forEach((f, i) => {
      if (f.baseOffset <= opts.recoveryPoint) recoverFrom = i;
    });
    let truncatedBytes = 0;
    let truncatedSegment: number | undefined;
    let reason: string | undefined;
    const deleted: number[] = [];
    let validatedSegments = 0;
    let stopped = false;
    let expected = files[0]?.baseOffset ?? 0;
    this.startOffset = expected;
    for (let i = 0; i < files.length; i++) {
      const f = files[i] as SegmentFiles;
      const logFile = `${this.dir}${segmentName(f.baseOffset)}.log`;
      const indexFile = `${this.dir}${segmentName(f.baseOffset)}.index`;
      if (stopped || f.baseOffset !== expected) {
        if (!stopped) reason = `segment ${f.baseOffset} does not start at the log end offset ${expected}`;
        stopped = true;
        deleted.push(f.baseOffset);
        disk.delete(logFile, this.done);
        if (f.index !== undefined) disk.delete(indexFile, this.done);
        continue;
      }
      const validate = !clean && i >= recoverFrom;
      if (validate) validatedSegments++;
      const seg = new Segment(f.baseOffset, logFile, indexFile);
      const segBatches: LogBatch[] = [];
      const computedIndex: IndexEntry[] = [];
      let bytesSince = 0;
      let pos = 0;
      while (pos < f.log.length) {
        const d = decodeBatch(f.log, pos);
        if (d.kind !== 'batch') {
          reason = d.kind === 'end' ? `torn batch at position ${pos}` : `corrupt batch at position ${pos}: ${d.reason}`;
          break;
        }
        const header = batchHeader(f.log.subarray(pos, pos + d.sizeBytes));
        if (header.baseOffset !== expected) {
          reason = `batch at position ${pos} starts at offset ${header.baseOffset}, expected ${expected}`;
          break;
        }
        if (bytesSince > this.deps.indexIntervalBytes) {
          computedIndex.push({ relativeOffset: header.lastOffset - seg.baseOffset, position: pos });
          bytesSince = 0;
        }
        bytesSince += d.sizeBytes;
        segBatches.push({ ...header, bytes: f.log.slice(pos, pos + d.sizeBytes), segment: seg.baseOffset, position: pos });
        expected = header.lastOffset + 1;
        pos += d.sizeBytes;
      }
      seg.sizeBytes = pos;
      if (pos < f.log.length) {
        // LogSegment.recover: truncate to the valid bytes; every later segment is deleted.
        truncatedBytes = f.log.length - pos;
        truncatedSegment = seg.baseOffset;
        stopped = true;
        if (!validate)
          this.deps.trace('log.corruption-below-recovery-point', { topic: this.topic, partition: this.partition, segment: seg.baseOffset, position: pos });
        disk.truncate(logFile, pos, this.done);
        seg.logDirty = true;
      }
      // The offset index: rebuilt for recovered (or cut) segments; trusted, if consistent, otherwise.
      const stored = f.index === undefined ? undefined : decodeIndex(f.index);
      const trusted = validate || stopped || stored === undefined || !indexMatches(stored, segBatches, seg.baseOffset) ? undefined : stored;
      if (trusted === undefined) {
        seg.index = computedIndex;
        seg.bytesSinceLastIndexEntry = bytesSince;
        const bytes = encodeIndex(computedIndex);
        disk.writeAt(indexFile, 0, bytes, this.done);
        disk.truncate(indexFile, bytes.length, this.done);
        seg.indexDirty = true;
      } else {
        seg.index = trusted;
        seg.bytesSinceLastIndexEntry = 0; // as a LogSegment opened from its files
      }
      this.segs.push(seg);
      for (const b of segBatches) this.list.push(b);
    }
    if (this.segs.length === 0) this.newSegment(this.startOffset);
    this.endOffset = expected;
    // The leader-epoch cache: the checkpoint, plus the epochs of the batches (LogSegment.recover
    // assigns an epoch greater than the latest), cut at the recovered LEO and the log start.
    const fromFile = epochText === undefined ? undefined : LeaderEpochCache.fromCheckpoint(epochText);
    if (epochText !== undefined && fromFile === undefined) this.deps.trace('log.epoch-checkpoint-malformed', { topic: this.topic, partition: this.partition });
    for (const e of fromFile?.entries() ?? []) this.cache.assign(e.epoch, e.startOffset);
    for (const b of this.list)
      if (b.partitionLeaderEpoch >= 0 && b.partitionLeaderEpoch > this.cache.latestEpoch()) this.cache.assign(b.partitionLeaderEpoch, b.baseOffset);
    this.cache.truncateFromEnd(this.endOffset);
    this.cache.truncateFromStart(this.startOffset);
    if (this.cache.toCheckpoint() !== epochText) this.persistEpochCache();
    this.producers.rebuild(this.list);
    this.recoveryPointOffset = clean ? this.endOffset : Math.max(this.startOffset, Math.min(opts.recoveryPoint, this.endOffset));
    this.flushIssuedOffset = this.recoveryPointOffset;
    this.hw = Math.max(this.startOffset, Math.min(opts.highWatermark, this.endOffset));
    this.hwFromCheckpoint = true;
    this.deps.trace('log.recovered', {
      topic: this.topic,
      partition: this.partition,
      clean,
      segments: this.segs.length,
      validatedSegments,
      truncatedBytes,
      truncatedSegment,
      deletedSegments: deleted,
      reason,
      logStartOffset: this.startOffset,
      logEndOffset: this.endOffset,
      recoveryPoint: this.recoveryPointOffset,
      highWatermark: this.hw,
      epochs: this.cache.entries().map((e) => `${e.epoch}@${e.startOffset}`),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Appending

  /**
   * Append a client's batch as the leader in `leaderEpoch` (UnifiedLog.appendAsLeader): validate
   * its CRC and records (CORRUPT_MESSAGE), check idempotence (a duplicate is not appended and
   * answers the original offsets), assign offsets from the LEO, stamp the epoch, write it.
   */
  appendAsLeader(batchBytes: Uint8Array, leaderEpoch: number, origin: 'client' = 'client'): LeaderAppendResult {
    if (!Number.isInteger(leaderEpoch) || leaderEpoch < 0) throw new Error(`${this.name}: appendAsLeader with leader epoch ${leaderEpoch}`);
    if (leaderEpoch < this.cache.latestEpoch())
      throw new Error(`${this.name}: appendAsLeader in epoch ${leaderEpoch}, older than the log's latest epoch ${this.cache.latestEpoch()}`);
    if (this.offline) return { kind: 'error', error: 'KAFKA_STORAGE_ERROR' };
    const d = decodeBatch(batchBytes, 0);
    if (d.kind !== 'batch' || d.sizeBytes !== batchBytes.length) return { kind: 'error', error: 'CORRUPT_MESSAGE' };
    const header = batchHeader(batchBytes);
    const check = this.producers.check(header, origin);
    if (check.kind === 'duplicate') return { kind: 'duplicate', baseOffset: check.firstOffset, lastOffset: check.lastOffset };
    if (check.kind === 'error') return { kind: 'error', error: check.error };
    const baseOffset = this.endOffset;
    const stamped = restamp(batchBytes, baseOffset, leaderEpoch);
    if (this.cache.assign(leaderEpoch, baseOffset)) {
      this.traceEpoch(leaderEpoch, baseOffset);
      this.persistEpochCache();
    }
    const b = this.writeBatch(stamped);
    this.producers.update(b);
    this.maybeFlushAfterAppend();
    return { kind: 'appended', baseOffset: b.baseOffset, lastOffset: b.lastOffset };
  }

  /**
   * Append batches fetched from the leader, offsets and epochs as given (appendAsFollower). All
   * must be valid (CORRUPT_MESSAGE) and contiguous from the LEO (OFFSET_OUT_OF_RANGE); nothing is
   * appended otherwise. A batch whose epoch is above the latest starts that epoch in the cache.
   */
  appendAsFollower(batches: Uint8Array[]): FollowerAppendResult {
    if (this.offline) return { kind: 'error', error: 'KAFKA_STORAGE_ERROR' };
    let expected = this.endOffset;
    for (const bytes of batches) {
      const d = decodeBatch(bytes, 0);
      if (d.kind !== 'batch' || d.sizeBytes !== bytes.length) return { kind: 'error', error: 'CORRUPT_MESSAGE' };
      if (d.batch.baseOffset !== expected) return { kind: 'error', error: 'OFFSET_OUT_OF_RANGE' };
      expected = d.batch.baseOffset + d.batch.lastOffsetDelta + 1;
    }
    let epochChanged = false;
    for (const bytes of batches) {
      const header = batchHeader(bytes);
      if (header.partitionLeaderEpoch >= 0 && header.partitionLeaderEpoch > this.cache.latestEpoch()) {
        this.cache.assign(header.partitionLeaderEpoch, header.baseOffset);
        this.traceEpoch(header.partitionLeaderEpoch, header.baseOffset);
        epochChanged = true;
      }
      const b = this.writeBatch(bytes.slice()); // the log's own copy: the caller's array may be shared
      this.producers.update(b);
    }
    if (epochChanged) this.persistEpochCache();
    this.maybeFlushAfterAppend();
    return { kind: 'appended', lastOffset: this.endOffset - 1 };
  }

  /**
   * A new leader records that its epoch starts at `offset` (normally its LEO), so that it can
   * answer for epochs its followers have and it lacks (Partition.makeLeader). Persisted with fsync.
   */
  assignEpochStartOffset(epoch: number, offset: number): void {
    if (offset > this.endOffset) throw new Error(`${this.name}: epoch ${epoch} cannot start at ${offset}, beyond the log end offset ${this.endOffset}`);
    if (this.cache.assign(epoch, offset)) {
      this.traceEpoch(epoch, offset);
      this.persistEpochCache();
    }
  }

  private writeBatch(bytes: Uint8Array): LogBatch {
    const header = batchHeader(bytes);
    if (header.baseOffset !== this.endOffset) throw new Error(`${this.name}: batch at ${header.baseOffset} appended at log end offset ${this.endOffset}`);
    let seg = this.active;
    if (seg.sizeBytes > 0 && seg.sizeBytes + bytes.length > this.deps.segmentBytes) seg = this.roll(header.baseOffset);
    const position = seg.sizeBytes;
    this.deps.disk.append(seg.logFile, bytes, (r) => {
      if (!r.ok) return this.fail(r.error);
      if (r.value !== position && !this.offline)
        throw new Error(`${this.name}: batch ${header.baseOffset} landed at ${seg.logFile}@${r.value}, expected @${position}`);
    });
    seg.logDirty = true;
    // LogSegment.append: an index entry (lastOffset, position) once more than the interval was appended.
    if (seg.bytesSinceLastIndexEntry > this.deps.indexIntervalBytes) {
      const entry = { relativeOffset: header.lastOffset - seg.baseOffset, position };
      seg.index.push(entry);
      this.deps.disk.append(seg.indexFile, encodeIndex([entry]), this.done);
      seg.indexDirty = true;
      seg.bytesSinceLastIndexEntry = 0;
    }
    seg.bytesSinceLastIndexEntry += bytes.length;
    seg.sizeBytes += bytes.length;
    const b: LogBatch = { ...header, bytes, segment: seg.baseOffset, position };
    this.list.push(b);
    this.endOffset = header.lastOffset + 1;
    return b;
  }

  /** Start a new active segment at `baseOffset`; the old ones are fsynced asynchronously (UnifiedLog.roll). */
  private roll(baseOffset: number): Segment {
    const old = this.active;
    const seg = this.newSegment(baseOffset);
    this.deps.trace('log.roll', { topic: this.topic, partition: this.partition, segment: baseOffset, previous: old.baseOffset, previousBytes: old.sizeBytes });
    this.flushSegments(baseOffset, false);
    return seg;
  }

  private newSegment(baseOffset: number): Segment {
    const name = segmentName(baseOffset);
    const seg = new Segment(baseOffset, `${this.dir}${name}.log`, `${this.dir}${name}.index`);
    this.segs.push(seg);
    // Create both files (an empty write creates a file, as open(O_CREAT) does).
    this.deps.disk.writeAt(seg.logFile, 0, EMPTY, this.done);
    this.deps.disk.writeAt(seg.indexFile, 0, EMPTY, this.done);
    return seg;
  }

  private get active(): Segment {
    const s = this.segs[this.segs.length - 1];
    if (s === undefined) throw new Error(`${this.name}: the log is not loaded`);
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /**
   * Whole batches from the one containing `fetchOffset`, stopping before a batch whose baseOffset
   * is >= `maxOffset` (the LEO for followers, the high watermark for consumers), and then once
   * `maxBytes` would be exceeded — but at least one batch if any qualifies. The caller checks the
   * range first: logStartOffset <= fetchOffset <= LEO (else OFFSET_OUT_OF_RANGE). The returned
   * arrays are the log's own: do not mutate them.
   */
  read(fetchOffset: number, maxBytes: number, maxOffset: number): Uint8Array[] {
    if (fetchOffset < this.startOffset || fetchOffset > this.endOffset)
      throw new Error(`${this.name}: read at ${fetchOffset} outside [${this.startOffset}, ${this.endOffset}] (check OFFSET_OUT_OF_RANGE first)`);
    const out: Uint8Array[] = [];
    const first = this.batchIndexFor(fetchOffset);
    if (first === undefined) return out;
    let bytes = 0;
    for (let i = first; i < this.list.length; i++) {
      const b = this.list[i] as LogBatch;
      if (b.baseOffset >= maxOffset) break;
      if (out.length > 0 && bytes + b.sizeBytes > maxBytes) break;
      out.push(b.bytes);
      bytes += b.sizeBytes;
    }
    return out;
  }

  /** Index in `list` of the batch containing `offset`, or undefined. */
  private batchIndexFor(offset: number): number | undefined {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.list[mid] as LogBatch).lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    const b = this.list[lo];
    return b !== undefined && b.baseOffset <= offset ? lo : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Truncation

  /**
   * Remove every batch at or after the one containing `offset` (UnifiedLog.truncateTo): the
   * segment holding it is cut at that batch's position, later segments are deleted, epoch-cache
   * entries from the new LEO on are dropped, producer state is rebuilt, and the high watermark and
   * recovery point are clamped to the new LEO. At or above the LEO only the epoch cache is trimmed.
   * Returns the new LEO (the base offset of the cut batch, which may be below `offset`).
   */
  truncateTo(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`${this.name}: truncateTo ${offset}`);
    if (offset >= this.endOffset) {
      if (this.cache.truncateFromEnd(this.endOffset)) this.persistEpochCache();
      return this.endOffset;
    }
    if (offset < this.startOffset) {
      this.truncateFullyAndStartAt(offset);
      return this.endOffset;
    }
    const from = this.endOffset;
    const cutIndex = this.batchIndexFor(offset);
    if (cutIndex === undefined) throw new Error(`${this.name}: no batch contains offset ${offset} in [${this.startOffset}, ${this.endOffset})`);
    const cut = this.list[cutIndex] as LogBatch;
    const newEnd = cut.baseOffset;
    const disk = this.deps.disk;
    // Delete the segments that start after the new end; cut the one holding it.
    while (this.segs.length > 1 && this.active.baseOffset > newEnd) {
      const s = this.segs.pop() as Segment;
      disk.delete(s.logFile, this.done);
      disk.delete(s.indexFile, this.done);
    }
    const seg = this.active;
    if (cut.segment !== seg.baseOffset) throw new Error(`${this.name}: batch ${cut.baseOffset} is in segment ${cut.segment}, not in ${seg.baseOffset}`);
    const position = cut.position;
    if (position < seg.sizeBytes) {
      disk.truncate(seg.logFile, position, this.done);
      seg.logDirty = true;
      seg.sizeBytes = position;
      const keep = seg.index.filter((e) => e.position < position);
      if (keep.length !== seg.index.length) {
        seg.index = keep;
        disk.truncate(seg.indexFile, keep.length * INDEX_ENTRY_BYTES, this.done);
        seg.indexDirty = true;
      }
      seg.bytesSinceLastIndexEntry = 0; // as LogSegment.truncateTo
    }
    this.list.length = cutIndex;
    this.endOffset = newEnd;
    this.afterTruncation();
    this.deps.trace('log.truncated', { topic: this.topic, partition: this.partition, requested: offset, from, logEndOffset: this.endOffset });
    return this.endOffset;
  }

  /** Delete the whole log and restart it, empty, at `offset` (UnifiedLog.truncateFullyAndStartAt). */
  truncateFullyAndStartAt(offset: number): void {
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`${this.name}: truncateFullyAndStartAt ${offset}`);
    const from = this.endOffset;
    for (const s of this.segs) {
      this.deps.disk.delete(s.logFile, this.done);
      this.deps.disk.delete(s.indexFile, this.done);
    }
    this.segs = [];
    this.list = [];
    this.newSegment(offset);
    this.startOffset = offset;
    this.endOffset = offset;
    this.hw = offset;
    this.recoveryPointOffset = offset;
    this.cache.clear();
    this.persistEpochCache();
    this.afterTruncation();
    this.deps.trace('log.truncated-fully', { topic: this.topic, partition: this.partition, from, logStartOffset: offset });
  }

  private afterTruncation(): void {
    this.truncations++;
    if (this.cache.truncateFromEnd(this.endOffset)) this.persistEpochCache();
    this.producers.rebuild(this.list);
    this.hw = Math.min(this.hw, this.endOffset);
    this.recoveryPointOffset = Math.min(this.recoveryPointOffset, this.endOffset);
    this.flushIssuedOffset = Math.min(this.flushIssuedOffset, this.endOffset);
  }

  // -------------------------------------------------------------------------------------------
  // High watermark

  /** Set the high watermark, clamped to [logStartOffset, LEO]; it may go down (a follower takes the leader's). Returns it. */
  updateHighWatermark(hw: number): number {
    this.hw = Math.max(this.startOffset, Math.min(hw, this.endOffset));
    this.hwFromCheckpoint = false;
    return this.hw;
  }

  /** Advance the high watermark to `hw` if that is forward (a leader). `hw` must not exceed the LEO. */
  maybeIncrementHighWatermark(hw: number): boolean {
    if (hw > this.endOffset) throw new Error(`${this.name}: high watermark ${hw} beyond the log end offset ${this.endOffset}`);
    if (hw <= this.hw) return false;
    this.hw = hw;
    this.hwFromCheckpoint = false;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Flushing

  /**
   * fsync every segment file with unflushed writes; when done, the recovery point becomes the LEO
   * as it was when the flush started (UnifiedLog.flush → markFlushed), unless the log was
   * truncated meanwhile. `cb(false)` after a disk error.
   */
  flush(cb?: (ok: boolean) => void): void {
    this.flushSegments(this.endOffset, true, cb);
  }

  /** Clean shutdown: flush everything (UnifiedLog.close). */
  close(cb?: (ok: boolean) => void): void {
    this.flush(cb);
  }

  /** The flush.ms policy (LogManager.flushDirtyLogs): flush if data is unflushed and the last flush is that old. */
  maybeFlush(): boolean {
    const unflushed = this.endOffset - Math.max(this.recoveryPointOffset, this.flushIssuedOffset);
    if (unflushed <= 0 || this.deps.now() - this.lastFlushTimeMs < this.deps.flushIntervalMs) return false;
    this.flush();
    return true;
  }

  private maybeFlushAfterAppend(): void {
    const unflushed = this.endOffset - Math.max(this.recoveryPointOffset, this.flushIssuedOffset);
    if (unflushed >= this.deps.flushIntervalMessages) this.flush();
    else this.maybeFlush();
  }

  /** fsync the dirty files of the segments below `offset` (all segments if `all`); then recovery point = offset. */
  private flushSegments(offset: number, all: boolean, cb?: (ok: boolean) => void): void {
    const targets = this.segs.filter((s) => all || s.baseOffset < offset);
    const generation = this.truncations;
    this.flushIssuedOffset = Math.max(this.flushIssuedOffset, offset);
    let pending = 0;
    let ok = true;
    const oneDone = (r: DiskResult<void>): void => {
      if (!r.ok) {
        ok = false;
        this.fail(r.error);
      }
      if (--pending > 0) return;
      if (ok && !this.offline && generation === this.truncations && offset > this.recoveryPointOffset) {
        this.recoveryPointOffset = Math.min(offset, this.endOffset);
        this.lastFlushTimeMs = this.deps.now();
        this.deps.trace('log.flushed', { topic: this.topic, partition: this.partition, recoveryPoint: this.recoveryPointOffset });
      } else if (ok) {
        this.lastFlushTimeMs = this.deps.now();
      }
      cb?.(ok && !this.offline);
    };
    targets.forEach((s, i) => {
      // The last target is always fsynced: it completes after any flush still in flight.
      if (s.logDirty || i === targets.length - 1) {
        s.logDirty = false;
        pending++;
        this.deps.disk.fsync(s.logFile, oneDone);
      }
      if (s.indexDirty) {
        s.indexDirty = false;
        pending++;
        this.deps.disk.fsync(s.indexFile, oneDone);
      }
    });
    if (pending === 0) cb?.(ok);
  }

  // -------------------------------------------------------------------------------------------
  // Disk plumbing

  private persistEpochCache(): void {
    writeCheckpoint(this.deps.disk, this.leaderEpochCheckpointFile, this.cache.toCheckpoint(), (ok, error) => {
      if (!ok && error !== undefined) this.fail(error);
    });
  }

  private traceEpoch(epoch: number, startOffset: number): void {
    this.deps.trace('log.epoch-assigned', { topic: this.topic, partition: this.partition, epoch, startOffset });
  }

  /** A disk callback that reports a failure. */
  private readonly done = (r: DiskResult<unknown>): void => {
    if (!r.ok) this.fail(r.error);
  };

  private fail(error: DiskError): void {
    if (this.offline) return;
    this.offline = true;
    this.deps.trace('log.storage-error', { topic: this.topic, partition: this.partition, code: error.code, op: error.op, file: error.file });
    this.deps.onStorageError(error);
  }

  private get name(): string {
    return `log ${this.topic}-${this.partition}`;
  }
}
