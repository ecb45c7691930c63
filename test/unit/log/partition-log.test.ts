// PartitionLog (core/log/partition-log.ts) on a simulated disk: append and read, segment rolls,
// the offset index, recovery from torn tails and bit flips, truncation, the high watermark, flush
// and the recovery point, the epoch cache and producer state across restarts, disk errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchHeader, decodeBatch, encodeBatch, makeBatch } from '../../../core/log/batch.js';
import { LEADER_EPOCH_CHECKPOINT, type PartitionLog } from '../../../core/log/partition-log.js';
import { clientBatch, leaderBatch, logRig, rec, SEG0 } from './rig.js';

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const epochs = (log: PartitionLog): string[] => log.epochCache.entries().map((e) => `${e.epoch}@${e.startOffset}`);
const segName = (base: number): string => String(base).padStart(20, '0');
/** Decoded (baseOffset, epoch, first key) of what a read returned. */
const summary = (batches: Uint8Array[]): [number, number, string | null][] =>
  batches.map((b) => {
    const d = decodeBatch(b, 0);
    if (d.kind !== 'batch') throw new Error('not a batch');
    return [d.batch.baseOffset, d.batch.partitionLeaderEpoch, d.batch.records[0]?.key ?? null];
  });
const idempotent = (seq: number, count: number, producerEpoch = 0) => clientBatch(seq, count, { producerId: 7, producerEpoch, baseSequence: seq });

describe('partition log: append and read', () => {
  it('a new log starts empty at offset 0 with its first segment and index files', () => {
    const r = logRig();
    const log = r.log();
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.recoveryPoint]).toEqual([0, 0, 0, 0]);
    expect(r.w.disk('b1').fileNames()).toEqual([`t-0/${SEG0}.index`, `t-0/${SEG0}.log`, `t-0/${LEADER_EPOCH_CHECKPOINT}`]);
    expect(r.node().trace('log.recovered')).toMatchObject({ segments: 1, logEndOffset: 0, truncatedBytes: 0 });
  });

  it('the leader assigns offsets from the LEO and stamps its epoch; reads return whole batches', () => {
    const r = logRig();
    const log = r.log();
    expect(log.appendAsLeader(clientBatch(0, 3), 1)).toEqual({ kind: 'appended', baseOffset: 0, lastOffset: 2 });
    expect(log.appendAsLeader(clientBatch(3, 2), 1)).toEqual({ kind: 'appended', baseOffset: 3, lastOffset: 4 });
    expect(log.appendAsLeader(clientBatch(5, 1), 1)).toEqual({ kind: 'appended', baseOffset: 5, lastOffset: 5 });
    expect(log.logEndOffset).toBe(6);
    expect(epochs(log)).toEqual(['1@0']);
    const all = log.read(0, 1 << 20, 6);
    expect(summary(all)).toEqual([
      [0, 1, 'k0'],
      [3, 1, 'k3'],
      [5, 1, 'k5'],
    ]);
    expect(summary(log.read(4, 1 << 20, 6)).map((s) => s[0])).toEqual([3, 5]); // from the batch containing 4
    expect(log.read(0, 1, 6)).toHaveLength(1); // at least one batch
    expect(log.read(0, (all[0]?.length ?? 0) + (all[1]?.length ?? 0), 6)).toHaveLength(2); // then up to maxBytes
    expect(summary(log.read(0, 1 << 20, 3)).map((s) => s[0])).toEqual([0]); // stops before baseOffset >= maxOffset
    expect(summary(log.read(0, 1 << 20, 4)).map((s) => s[0])).toEqual([0, 3]); // a batch straddling maxOffset is included
    expect(log.read(6, 1 << 20, 6)).toEqual([]);
    expect(() => log.read(7, 1 << 20, 7)).toThrow(/outside/);
    expect(log.batchEpochAt(4)).toBe(1);
    expect(log.batchEpochAt(6)).toBe(-1);
    r.settle();
    expect(r.file(`${SEG0}.log`)).toEqual(concat(all));
  });

  it('rejects a corrupt or truncated client batch with CORRUPT_MESSAGE, appending nothing', () => {
    const r = logRig();
    const log = r.log();
    const bad = clientBatch(0, 2);
    bad[40] = (bad[40] as number) ^ 1;
    expect(log.appendAsLeader(bad, 0)).toEqual({ kind: 'error', error: 'CORRUPT_MESSAGE' });
    expect(log.appendAsLeader(clientBatch(0, 2).subarray(0, 70), 0)).toEqual({ kind: 'error', error: 'CORRUPT_MESSAGE' });
    expect(log.logEndOffset).toBe(0);
    expect(() => log.appendAsLeader(clientBatch(0, 1), -1)).toThrow();
  });

  it('a follower appends batches as given; they must be valid and start at its LEO', () => {
    const r = logRig();
    const log = r.log();
    expect(log.appendAsFollower([leaderBatch(0, 2, 1), leaderBatch(2, 2, 1), leaderBatch(4, 1, 3)])).toEqual({ kind: 'appended', lastOffset: 4 });
    expect(epochs(log)).toEqual(['1@0', '3@4']);
    expect(log.appendAsFollower([leaderBatch(5, 1, 3), leaderBatch(7, 1, 3)])).toEqual({ kind: 'error', error: 'OFFSET_OUT_OF_RANGE' });
    expect(log.appendAsFollower([leaderBatch(4, 1, 3)])).toEqual({ kind: 'error', error: 'OFFSET_OUT_OF_RANGE' });
    const bad = leaderBatch(5, 1, 3);
    bad[30] = (bad[30] as number) ^ 2;
    expect(log.appendAsFollower([bad])).toEqual({ kind: 'error', error: 'CORRUPT_MESSAGE' });
    expect(log.logEndOffset).toBe(5); // nothing of a rejected fetch was appended
    // An older epoch does not rewrite the cache (only an epoch above the latest starts an entry).
    expect(log.appendAsFollower([leaderBatch(5, 1, 2)]).kind).toBe('appended');
    expect(epochs(log)).toEqual(['1@0', '3@4']);
    expect(log.appendAsFollower([])).toEqual({ kind: 'appended', lastOffset: 5 });
  });
});

describe('partition log: segments and index', () => {
  it('rolls a new segment when the active one would exceed segment.bytes; the roll fsyncs the old one', () => {
    const r = logRig({ segmentBytes: 1024 });
    const log = r.log();
    for (let i = 0; i < 20; i++) log.appendAsLeader(clientBatch(5 * i, 5), 0);
    r.settle();
    const segs = log.segments;
    expect(segs.length).toBeGreaterThan(2);
    let expected = 0;
    for (const s of segs) {
      const inSeg = log.batches.filter((b) => b.segment === s.baseOffset);
      expect(inSeg[0]?.baseOffset).toBe(s.baseOffset);
      expect(s.baseOffset).toBe(expected);
      expected = (inSeg.at(-1)?.lastOffset ?? 0) + 1;
      expect(s.sizeBytes).toBeLessThanOrEqual(1024);
      expect(r.file(`${segName(s.baseOffset)}.log`)).toEqual(concat(inSeg.map((b) => b.bytes)));
    }
    // Every segment but the active one is durable, and the recovery point is the active segment's base.
    const active = segs.at(-1)?.baseOffset as number;
    for (const s of segs.slice(0, -1)) expect(r.durable(`${segName(s.baseOffset)}.log`)).toEqual(r.file(`${segName(s.baseOffset)}.log`));
    expect(r.durable(`${segName(active)}.log`)?.length).toBe(0);
    expect(log.recoveryPoint).toBe(active);
    expect(r.node().traces.filter((t) => t.kind === 'log.roll')).toHaveLength(segs.length - 1);
  });

  it('adds an index entry (lastOffset, position) once more than index.interval.bytes were appended, and rebuilds it on recovery', () => {
    const r = logRig({ indexIntervalBytes: 150 });
    const log = r.log();
    for (let i = 0; i < 7; i++) log.appendAsLeader(clientBatch(2 * i, 2), 0);
    const size = log.batches[0]?.sizeBytes as number;
    expect(size).toBeGreaterThan(75);
    expect(size).toBeLessThan(150);
    // Batches of 75..150 bytes: after 2 batches more than 150 bytes are pending, so batches 2, 4, 6 are indexed.
    const indexed = [2, 4, 6].map((i) => log.batches[i]);
    const expected = indexed.map((b) => ({ relativeOffset: b?.lastOffset, position: b?.position }));
    expect(log.segments[0]?.index).toEqual(expected);
    r.settle();
    const file = r.file(`${SEG0}.index`) as Uint8Array;
    expect(file.length).toBe(24);
    const v = new DataView(file.buffer, file.byteOffset);
    expect([0, 1, 2].map((k) => ({ relativeOffset: v.getInt32(8 * k), position: v.getInt32(8 * k + 4) }))).toEqual(expected);
    // Unclean restart: the recovered segment's index is rebuilt, with the same entries.
    log.flush();
    r.settle();
    r.crashAndRestart({ recoveryPoint: 0, highWatermark: 0, hadCleanShutdown: false });
    expect(r.log().segments[0]?.index).toEqual(expected);
    r.settle();
    expect(r.file(`${SEG0}.index`)).toEqual(file);
  });
});

describe('partition log: recovery', () => {
  it('after a crash that tears unflushed writes, recovery cuts the torn tail and keeps a prefix of the log', () => {
    let tornRuns = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = logRig({}, { sectorBytes: 16, crashFate: { drop: 0, keep: 0, tear: 1 } }, seed);
      const log = r.log();
      for (let i = 0; i < 3; i++) log.appendAsLeader(idempotent(2 * i, 2), 1);
      let flushed = false;
      log.flush((ok) => (flushed = ok));
      r.settle();
      expect(flushed).toBe(true);
      const durableEnd = log.recoveryPoint;
      expect(durableEnd).toBe(6);
      for (let i = 3; i < 7; i++) log.appendAsLeader(idempotent(2 * i, 2), 1);
      r.settle();
      const before = log.batches.map((b) => b.bytes);
      r.crashAndRestart({ recoveryPoint: durableEnd, highWatermark: 14, hadCleanShutdown: false });
      const after = r.log();
      const rec = r.node().trace('log.recovered');
      expect(after.logEndOffset).toBeGreaterThanOrEqual(durableEnd);
      expect(after.logEndOffset).toBeLessThan(14);
      expect(after.batches.map((b) => b.bytes)).toEqual(before.slice(0, after.batches.length));
      expect(after.highWatermark).toBe(after.logEndOffset); // clamped
      expect(after.recoveryPoint).toBe(durableEnd);
      expect(rec?.truncatedBytes).toBeGreaterThan(0); // the first unsynced write is always torn
      if ((rec?.truncatedBytes as number) > 0) tornRuns++;
      r.settle();
      expect(r.file(`${SEG0}.log`)).toEqual(concat(after.batches.map((b) => b.bytes)));
      // The log goes on from the recovered end.
      expect(after.appendAsLeader(clientBatch(100, 1), 2)).toMatchObject({ kind: 'appended', baseOffset: after.logEndOffset - 1 });
    }
    expect(tornRuns).toBe(12);
  });

  it('a bit flip in durable data is caught by the CRC: the log is cut at the corrupt batch and later segments deleted', () => {
    const r = logRig({ segmentBytes: 1024 });
    const log = r.log();
    for (let i = 0; i < 20; i++) log.appendAsLeader(clientBatch(5 * i, 5), 0);
    log.flush();
    r.settle();
    const victim = log.batches[3];
    if (victim === undefined) throw new Error('no batch 3');
    expect(victim.segment).toBe(0);
    const segmentsBefore = log.segments.length;
    r.w.diskFault('b1', { kind: 'bitflip', file: `t-0/${SEG0}.log`, offset: victim.position + 40, bit: 3 });
    r.crashAndRestart({ recoveryPoint: 0, highWatermark: 100, hadCleanShutdown: false });
    const after = r.log();
    expect(after.logEndOffset).toBe(victim.baseOffset);
    expect(after.segments.map((s) => s.baseOffset)).toEqual([0]);
    expect(r.node().trace('log.recovered')).toMatchObject({
      truncatedSegment: 0,
      truncatedBytes: (log.segments[0]?.sizeBytes as number) - victim.position,
      reason: expect.stringMatching(/corrupt batch.*CRC/),
    });
    expect((r.node().trace('log.recovered')?.deletedSegments as number[]).length).toBe(segmentsBefore - 1);
    r.settle();
    expect(
      r.w
        .disk('b1')
        .fileNames()
        .filter((n) => n.endsWith('.log')),
    ).toEqual([`t-0/${SEG0}.log`]);
    expect(r.file(`${SEG0}.log`)?.length).toBe(victim.position);
  });

  it('corruption below the recovery point is cut too, and traced (Kafka would only find it on read)', () => {
    const r = logRig();
    const log = r.log();
    for (let i = 0; i < 4; i++) log.appendAsLeader(clientBatch(i, 1), 0);
    log.flush();
    r.settle();
    const victim = log.batches[1] as { position: number; baseOffset: number };
    r.w.diskFault('b1', { kind: 'bitflip', file: `t-0/${SEG0}.log`, offset: victim.position + 30 });
    r.crashAndRestart({ recoveryPoint: 4, highWatermark: 4, hadCleanShutdown: true });
    expect(r.log().logEndOffset).toBe(1);
    expect(r.node().trace('log.corruption-below-recovery-point')).toMatchObject({ segment: 0, position: victim.position });
  });

  it('after a clean shutdown nothing is validated and the recovery point is the LEO', () => {
    const r = logRig({ segmentBytes: 1024 });
    const log = r.log();
    for (let i = 0; i < 12; i++) log.appendAsLeader(clientBatch(i, 5), 0);
    let closed = false;
    log.close((ok) => (closed = ok));
    r.settle();
    expect(closed).toBe(true);
    const segs = log.segments;
    r.crashAndRestart({ recoveryPoint: 0, highWatermark: 1000, hadCleanShutdown: true });
    const after = r.log();
    expect(after.logEndOffset).toBe(60);
    expect(after.recoveryPoint).toBe(60);
    expect(after.highWatermark).toBe(60);
    // Read from the checkpoint until a leader's answer sets it or leading moves it forward.
    expect(after.highWatermarkFromCheckpoint).toBe(true);
    after.maybeIncrementHighWatermark(60);
    expect(after.highWatermarkFromCheckpoint).toBe(true); // not forward: still the checkpointed value
    after.updateHighWatermark(59);
    expect(after.highWatermarkFromCheckpoint).toBe(false);
    expect(after.segments).toEqual(segs);
    expect(r.node().trace('log.recovered')).toMatchObject({ clean: true, validatedSegments: 0, truncatedBytes: 0 });
  });

  it('an unclean load validates from the segment containing the recovery point', () => {
    const r = logRig({ segmentBytes: 1024 });
    const log = r.log();
    for (let i = 0; i < 20; i++) log.appendAsLeader(clientBatch(i, 5), 0);
    log.flush();
    r.settle();
    const segs = log.segments.map((s) => s.baseOffset);
    const rp = (segs[2] as number) + 1;
    r.crashAndRestart({ recoveryPoint: rp, highWatermark: 0, hadCleanShutdown: false });
    expect(r.node().trace('log.recovered')).toMatchObject({ validatedSegments: segs.length - 2, recoveryPoint: rp, logEndOffset: 100 });
  });
});

describe('partition log: truncation', () => {
  function threeBatches() {
    const r = logRig();
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 3), 1);
    log.appendAsLeader(clientBatch(3, 2), 1);
    log.assignEpochStartOffset(2, 5);
    log.appendAsLeader(clientBatch(5, 1), 2);
    return { r, log };
  }

  it('truncateTo removes the batch containing the offset and everything after; the epoch cache, HW and recovery point follow', () => {
    const { r, log } = threeBatches();
    log.updateHighWatermark(6);
    log.flush();
    r.settle();
    expect(epochs(log)).toEqual(['1@0', '2@5']);
    expect(log.recoveryPoint).toBe(6);
    const cutAt = log.batches[1]?.position as number;
    expect(log.truncateTo(4)).toBe(3); // 4 is inside the batch 3..4
    expect(log.logEndOffset).toBe(3);
    expect(log.batches.map((b) => b.baseOffset)).toEqual([0]);
    expect(epochs(log)).toEqual(['1@0']);
    expect(log.highWatermark).toBe(3);
    expect(log.recoveryPoint).toBe(3);
    r.settle();
    expect(r.file(`${SEG0}.log`)?.length).toBe(cutAt);
    expect(text(r.file(LEADER_EPOCH_CHECKPOINT))).toBe('0\n1\n1 0\n');
    expect(log.appendAsLeader(clientBatch(9, 1), 3)).toMatchObject({ baseOffset: 3 });
  });

  it('truncating at or above the LEO changes no data but drops epoch entries from the LEO on', () => {
    const { r, log } = threeBatches();
    log.assignEpochStartOffset(3, 6); // a new leader's entry, with no batch yet
    expect(epochs(log)).toEqual(['1@0', '2@5', '3@6']);
    expect(log.truncateTo(10)).toBe(6);
    expect(log.logEndOffset).toBe(6);
    expect(epochs(log)).toEqual(['1@0', '2@5']);
    r.settle();
    expect(text(r.durable(LEADER_EPOCH_CHECKPOINT))).toBe('0\n2\n1 0\n2 5\n');
  });

  it('truncation across segments deletes the later segment files', () => {
    const r = logRig({ segmentBytes: 1024 });
    const log = r.log();
    for (let i = 0; i < 20; i++) log.appendAsLeader(clientBatch(i, 5), 0);
    r.settle();
    expect(log.segments.length).toBeGreaterThan(2);
    const second = log.segments[1]?.baseOffset as number;
    expect(log.truncateTo(second + 2)).toBe(second);
    expect(log.segments.map((s) => [s.baseOffset, s.sizeBytes])).toEqual([
      [0, log.segments[0]?.sizeBytes],
      [second, 0],
    ]);
    expect(log.truncateTo(7)).toBe(5);
    r.settle();
    expect(r.w.disk('b1').fileNames()).toEqual([`t-0/${SEG0}.index`, `t-0/${SEG0}.log`, `t-0/${LEADER_EPOCH_CHECKPOINT}`]);
    expect(r.file(`${SEG0}.log`)).toEqual(concat(log.batches.map((b) => b.bytes)));
  });

  it('producer state is rebuilt: a truncated batch is no longer a duplicate', () => {
    const r = logRig();
    const log = r.log();
    for (let i = 0; i < 3; i++) log.appendAsLeader(idempotent(2 * i, 2), 0);
    expect(log.appendAsLeader(idempotent(4, 2), 0)).toEqual({ kind: 'duplicate', baseOffset: 4, lastOffset: 5 });
    log.truncateTo(4);
    expect(log.appendAsLeader(idempotent(6, 2), 0)).toMatchObject({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(log.appendAsLeader(idempotent(4, 2), 0)).toEqual({ kind: 'appended', baseOffset: 4, lastOffset: 5 });
    expect(log.producerState.entry(7)?.batches.map((b) => b.firstOffset)).toEqual([0, 2, 4]);
  });

  it('truncateFullyAndStartAt empties the log and restarts it at an offset', () => {
    const { r, log } = threeBatches();
    log.truncateFullyAndStartAt(100);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.recoveryPoint]).toEqual([100, 100, 100, 100]);
    expect(log.batches).toEqual([]);
    expect(log.epochCache.isEmpty).toBe(true);
    expect(log.producerState.producerIds).toEqual([]);
    expect(log.appendAsFollower([leaderBatch(100, 2, 4)])).toEqual({ kind: 'appended', lastOffset: 101 });
    r.settle();
    expect(r.w.disk('b1').fileNames()).toEqual([`t-0/${segName(100)}.index`, `t-0/${segName(100)}.log`, `t-0/${LEADER_EPOCH_CHECKPOINT}`]);
    expect(() => log.read(99, 100, 102)).toThrow();
    // A truncation below the log start is a full truncation.
    expect(log.truncateTo(50)).toBe(50);
    expect(log.logStartOffset).toBe(50);
    // And it survives a restart.
    log.flush();
    r.settle();
    r.crashAndRestart({ recoveryPoint: 50, highWatermark: 0, hadCleanShutdown: false });
    expect([r.log().logStartOffset, r.log().logEndOffset, r.log().highWatermark]).toEqual([50, 50, 50]);
  });
});

describe('partition log: high watermark', () => {
  it('updateHighWatermark clamps to [logStart, LEO] and may go down; maybeIncrement only moves forward', () => {
    const r = logRig();
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 5), 0);
    expect(log.updateHighWatermark(100)).toBe(5);
    expect(log.updateHighWatermark(2)).toBe(2); // a follower takes a lower HW from a new leader
    expect(log.updateHighWatermark(-3)).toBe(0);
    expect(log.maybeIncrementHighWatermark(4)).toBe(true);
    expect(log.maybeIncrementHighWatermark(3)).toBe(false);
    expect(log.highWatermark).toBe(4);
    expect(() => log.maybeIncrementHighWatermark(6)).toThrow(/beyond the log end offset/);
  });

  it('a checkpointed HW above the recovered LEO is clamped on load', () => {
    const r = logRig();
    r.log().appendAsLeader(clientBatch(0, 3), 0);
    r.log().flush();
    r.settle();
    r.crashAndRestart({ recoveryPoint: 3, highWatermark: 50, hadCleanShutdown: false });
    expect(r.log().highWatermark).toBe(3);
  });
});

describe('partition log: flush and the recovery point', () => {
  it('flush fsyncs the segment and its index, then moves the recovery point to the LEO at the flush', () => {
    const r = logRig({ indexIntervalBytes: 1 });
    const log = r.log();
    for (let i = 0; i < 4; i++) log.appendAsLeader(clientBatch(i, 2), 0);
    r.settle();
    expect(log.recoveryPoint).toBe(0);
    expect(log.unflushedMessages).toBe(8);
    expect(r.w.disk('b1').pendingWrites(`t-0/${SEG0}.log`)).toBeGreaterThan(0);
    let result: boolean | undefined;
    log.flush((ok) => (result = ok));
    log.appendAsLeader(clientBatch(8, 2), 0); // after the flush started: not covered
    r.settle();
    expect(result).toBe(true);
    expect(log.recoveryPoint).toBe(8);
    expect(log.unflushedMessages).toBe(2);
    expect(r.durable(`${SEG0}.index`)?.length).toBe(3 * 8); // the entries of batches 1..3; batch 4's is not durable
    expect(r.file(`${SEG0}.index`)?.length).toBe(4 * 8);
    expect(r.node().trace('log.flushed')).toMatchObject({ recoveryPoint: 8 });
  });

  it('a flush issued before a truncation does not move the recovery point past it', () => {
    const r = logRig();
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 2), 0);
    log.appendAsLeader(clientBatch(2, 2), 0);
    log.flush();
    log.truncateTo(2);
    log.appendAsLeader(clientBatch(10, 2), 1);
    r.settle();
    expect(log.recoveryPoint).toBe(0);
    log.flush();
    r.settle();
    expect(log.recoveryPoint).toBe(4);
  });

  it('flush.messages: the log fsyncs itself once that many records are unflushed', () => {
    const r = logRig({ flushIntervalMessages: 3 });
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 2), 0);
    r.settle();
    expect(log.recoveryPoint).toBe(0);
    log.appendAsLeader(clientBatch(2, 2), 0);
    r.settle();
    expect(log.recoveryPoint).toBe(4);
    expect(r.durable(`${SEG0}.log`)).toEqual(r.file(`${SEG0}.log`));
  });

  it('flush.ms: maybeFlush (and an append) flush once the last flush is that old', () => {
    const r = logRig({ flushIntervalMs: 500 });
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 1), 0);
    expect(log.maybeFlush()).toBe(false);
    r.settle(600);
    expect(log.maybeFlush()).toBe(true);
    r.settle();
    expect(log.recoveryPoint).toBe(1);
    expect(log.maybeFlush()).toBe(false); // nothing unflushed
    r.settle(600);
    log.appendAsLeader(clientBatch(1, 1), 0); // the append finds the last flush 600 ms old
    r.settle();
    expect(log.recoveryPoint).toBe(2);
  });
});

describe('partition log: state rebuilt on load', () => {
  it('the leader-epoch checkpoint follows every change and the cache is rebuilt from it and the batches', () => {
    const r = logRig();
    const log = r.log();
    log.appendAsFollower([leaderBatch(0, 2, 1), leaderBatch(2, 2, 1), leaderBatch(4, 1, 3)]);
    r.settle();
    expect(text(r.durable(LEADER_EPOCH_CHECKPOINT))).toBe('0\n2\n1 0\n3 4\n');
    log.flush();
    r.settle();
    r.crashAndRestart({ recoveryPoint: 5, highWatermark: 0, hadCleanShutdown: false });
    expect(epochs(r.log())).toEqual(['1@0', '3@4']);
    // Without the checkpoint file, the batches' epochs rebuild the cache, and the file is rewritten.
    r.node().ctx?.disk.delete(`t-0/${LEADER_EPOCH_CHECKPOINT}`);
    r.settle();
    r.crashAndRestart({ recoveryPoint: 5, highWatermark: 0, hadCleanShutdown: false });
    expect(epochs(r.log())).toEqual(['1@0', '3@4']);
    r.settle();
    expect(text(r.durable(LEADER_EPOCH_CHECKPOINT))).toBe('0\n2\n1 0\n3 4\n');
  });

  it('an epoch entry beyond the recovered LEO is dropped (the checkpoint is fsynced before the data, notes §1.3)', () => {
    const r = logRig({}, { crashFate: { drop: 1, keep: 0, tear: 0 } });
    const log = r.log();
    log.appendAsFollower([leaderBatch(0, 3, 1)]);
    log.flush();
    r.settle();
    log.appendAsFollower([leaderBatch(3, 2, 4)]); // epoch 4 starts at 3: checkpoint fsynced, data not
    log.assignEpochStartOffset(6, 5); // and then this replica became leader of epoch 6 at its LEO
    r.settle();
    expect(text(r.durable(LEADER_EPOCH_CHECKPOINT))).toBe('0\n3\n1 0\n4 3\n6 5\n');
    r.crashAndRestart({ recoveryPoint: 3, highWatermark: 0, hadCleanShutdown: false });
    expect(r.log().logEndOffset).toBe(3);
    expect(epochs(r.log())).toEqual(['1@0']);
    expect(r.log().endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 3 });
  });

  it('producer state is rebuilt from the log: a retry after a restart is still a duplicate', () => {
    const r = logRig();
    const log = r.log();
    for (let i = 0; i < 3; i++) log.appendAsLeader(idempotent(2 * i, 2), 0);
    log.flush();
    r.settle();
    r.crashAndRestart({ recoveryPoint: 6, highWatermark: 6, hadCleanShutdown: false });
    const after = r.log();
    expect(after.appendAsLeader(idempotent(4, 2), 0)).toEqual({ kind: 'duplicate', baseOffset: 4, lastOffset: 5 });
    expect(after.appendAsLeader(idempotent(8, 2), 0)).toEqual({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(after.appendAsLeader(idempotent(6, 2), 0)).toEqual({ kind: 'appended', baseOffset: 6, lastOffset: 7 });
  });

  it('endOffsetForEpoch answers from the cache with the LEO; the KIP-101 variant too', () => {
    const r = logRig();
    const log = r.log();
    log.appendAsFollower([leaderBatch(0, 3, 1), leaderBatch(3, 2, 3)]);
    expect(log.latestEpoch()).toBe(3);
    expect(log.lastBatchEpoch()).toBe(3);
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 5 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 3 });
    expect(log.endOffsetForEpochKip101(2)).toBe(3);
  });
});

describe('partition log: disk errors', () => {
  it('a disk EIO calls onStorageError once; the log then refuses appends with KAFKA_STORAGE_ERROR', () => {
    const r = logRig();
    const log = r.log();
    r.w.diskFault('b1', { kind: 'eio', ops: ['write'], durationMs: 100 });
    expect(log.appendAsLeader(clientBatch(0, 1), 0).kind).toBe('appended'); // the write fails later
    log.appendAsLeader(clientBatch(1, 1), 0);
    r.settle();
    expect(r.node().errors.map((e) => e.code)).toEqual(['EIO']);
    expect(log.isOffline).toBe(true);
    expect(log.appendAsLeader(clientBatch(2, 1), 0)).toEqual({ kind: 'error', error: 'KAFKA_STORAGE_ERROR' });
    expect(log.appendAsFollower([leaderBatch(2, 1, 0)])).toEqual({ kind: 'error', error: 'KAFKA_STORAGE_ERROR' });
    expect(r.node().trace('log.storage-error')).toMatchObject({ code: 'EIO' });
  });

  it('a failed fsync fails the flush', () => {
    const r = logRig();
    const log = r.log();
    log.appendAsLeader(clientBatch(0, 1), 0);
    r.w.diskFault('b1', { kind: 'eio', ops: ['fsync'], durationMs: 100 });
    let result: boolean | undefined;
    log.flush((ok) => (result = ok));
    r.settle();
    expect(result).toBe(false);
    expect(log.recoveryPoint).toBe(0);
    expect(r.node().errors).toHaveLength(1);
  });

  it('a read error during load calls onStorageError and never yields a log', () => {
    const r = logRig();
    r.log().appendAsLeader(clientBatch(0, 1), 0);
    r.settle();
    r.w.crash('b1');
    r.w.diskFault('b1', { kind: 'eio', ops: ['read'], durationMs: 100 });
    r.w.restart('b1');
    r.settle();
    expect(r.node().log).toBeUndefined();
    expect(r.node().errors.map((e) => e.code)).toEqual(['EIO']);
  });
});

describe('partition log: batches from other producers of bytes', () => {
  it('a batch built by hand with encodeBatch appends like a client batch', () => {
    const r = logRig();
    const bytes = encodeBatch(makeBatch([rec(1), { key: null, value: 'ü', timestampMs: 3 }]));
    expect(r.log().appendAsLeader(bytes, 0)).toMatchObject({ kind: 'appended', lastOffset: 1 });
    expect(batchHeader(r.log().read(0, 10, 2)[0] as Uint8Array)).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: 0, recordCount: 2 });
  });
});

describe('partition log: crash fuzz', () => {
  type Op =
    | { kind: 'append'; records: number }
    | { kind: 'follow'; records: number }
    | { kind: 'flush' }
    | { kind: 'truncate'; back: number }
    | { kind: 'wait'; ms: number }
    | { kind: 'crash' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }).map((records) => ({ kind: 'append' as const, records })) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((records) => ({ kind: 'follow' as const, records })) },
    { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }).map((back) => ({ kind: 'truncate' as const, back })) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }).map((ms) => ({ kind: 'wait' as const, ms })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
  );

  it('whatever crashes do, flushed data survives and the recovered log is consistent', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(opArb, { minLength: 5, maxLength: 40 }), (seed, ops) => {
        const r = logRig({ segmentBytes: 1024, indexIntervalBytes: 100 }, { sectorBytes: 64 }, seed);
        let epoch = 1;
        let n = 0;
        for (const op of ops) {
          const log = r.log();
          switch (op.kind) {
            case 'append':
              expect(log.appendAsLeader(clientBatch(n, op.records), epoch).kind).toBe('appended');
              n += op.records;
              break;
            case 'follow':
              epoch++;
              expect(log.appendAsFollower([leaderBatch(log.logEndOffset, op.records, epoch)]).kind).toBe('appended');
              break;
            case 'flush':
              log.flush();
              break;
            case 'truncate':
              log.truncateTo(Math.max(0, log.logEndOffset - op.back));
              break;
            case 'wait':
              r.settle(op.ms);
              break;
            case 'crash': {
              const rp = log.recoveryPoint;
              const durable = log.batches.filter((b) => b.lastOffset < rp).map((b) => b.bytes);
              r.crashAndRestart({ recoveryPoint: rp, highWatermark: log.highWatermark, hadCleanShutdown: false });
              const after = r.log();
              expect(after.logEndOffset).toBeGreaterThanOrEqual(rp);
              expect(after.batches.slice(0, durable.length).map((b) => b.bytes)).toEqual(durable);
              let next = after.logStartOffset;
              for (const b of after.batches) {
                expect(b.baseOffset).toBe(next);
                next = b.lastOffset + 1;
              }
              expect(next).toBe(after.logEndOffset);
              const entries = after.epochCache.entries();
              entries.forEach((e, i) => {
                expect(e.startOffset).toBeLessThan(after.logEndOffset);
                if (i > 0) expect(e.epoch).toBeGreaterThan((entries[i - 1] as { epoch: number }).epoch);
              });
              epoch = Math.max(epoch, after.latestEpoch()) + 1;
              break;
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
