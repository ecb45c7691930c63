// The leader-epoch cache (core/log/epoch-cache.ts): the assign invariant, every endOffsetFor case
// of docs/notes §2.2, the original KIP-101 answer, the KAFKA-6361 example of §7.3, truncation and
// the checkpoint format.
import { describe, expect, it } from 'vitest';
import { LeaderEpochCache } from '../../../core/log/epoch-cache.js';

const cacheOf = (...entries: [number, number][]): LeaderEpochCache => new LeaderEpochCache(entries.map(([epoch, startOffset]) => ({ epoch, startOffset })));
const pairs = (c: LeaderEpochCache): [number, number][] => c.entries().map((e) => [e.epoch, e.startOffset]);

describe('leader epoch cache: assign', () => {
  it('appends a newer epoch; re-assigning the latest epoch at a larger offset is a no-op', () => {
    const c = new LeaderEpochCache();
    expect(c.latestEpoch()).toBe(-1);
    expect(c.assign(1, 0)).toBe(true);
    expect(c.assign(1, 5)).toBe(false);
    expect(c.assign(1, 0)).toBe(false);
    expect(c.assign(2, 10)).toBe(true);
    expect(pairs(c)).toEqual([
      [1, 0],
      [2, 10],
    ]);
    expect(c.latestEpoch()).toBe(2);
  });

  it('removes every entry with epoch >= e or startOffset >= o before adding (e, o)', () => {
    const c = cacheOf([1, 0], [2, 10], [4, 20]);
    c.assign(3, 15); // 4@20 has a larger start offset
    expect(pairs(c)).toEqual([
      [1, 0],
      [2, 10],
      [3, 15],
    ]);
    c.assign(5, 12); // 3@15 starts after 12
    expect(pairs(c)).toEqual([
      [1, 0],
      [2, 10],
      [5, 12],
    ]);
    c.assign(5, 11); // the latest epoch at a smaller offset replaces it
    expect(pairs(c)).toEqual([
      [1, 0],
      [2, 10],
      [5, 11],
    ]);
    c.assign(2, 30); // an older epoch than the latest removes every entry with epoch >= 2
    expect(pairs(c)).toEqual([
      [1, 0],
      [2, 30],
    ]);
  });

  it('rejects a negative epoch or offset, and a non-monotonic initial list', () => {
    expect(() => new LeaderEpochCache().assign(-1, 0)).toThrow();
    expect(() => new LeaderEpochCache().assign(0, -1)).toThrow();
    expect(() => cacheOf([2, 0], [1, 5])).toThrow(/does not follow/);
  });
});

describe('leader epoch cache: endOffsetFor (KIP-279, notes §2.2)', () => {
  const c = cacheOf([1, 0], [3, 10], [5, 20]);
  const leo = 30;

  it('requested -1 → undefined (-1, -1)', () => {
    expect(c.endOffsetFor(-1, leo)).toEqual({ epoch: -1, endOffset: -1 });
  });
  it('requested = latest epoch → (requested, LEO)', () => {
    expect(c.endOffsetFor(5, leo)).toEqual({ epoch: 5, endOffset: 30 });
  });
  it('no entry with a higher epoch → undefined (-1, -1)', () => {
    expect(c.endOffsetFor(6, leo)).toEqual({ epoch: -1, endOffset: -1 });
    expect(new LeaderEpochCache().endOffsetFor(0, 7)).toEqual({ epoch: -1, endOffset: -1 });
  });
  it('older than every entry → (requested, start of the first higher epoch)', () => {
    const later = cacheOf([2, 4], [3, 10]);
    expect(later.endOffsetFor(1, leo)).toEqual({ epoch: 1, endOffset: 4 });
    expect(c.endOffsetFor(0, leo)).toEqual({ epoch: 0, endOffset: 0 });
  });
  it('otherwise → (largest epoch <= requested, start of the first epoch > requested)', () => {
    expect(c.endOffsetFor(1, leo)).toEqual({ epoch: 1, endOffset: 10 });
    expect(c.endOffsetFor(2, leo)).toEqual({ epoch: 1, endOffset: 10 });
    expect(c.endOffsetFor(3, leo)).toEqual({ epoch: 3, endOffset: 20 });
    expect(c.endOffsetFor(4, leo)).toEqual({ epoch: 3, endOffset: 20 });
  });
});

describe('leader epoch cache: the original KIP-101 answer', () => {
  const c = cacheOf([1, 0], [3, 10], [5, 20]);
  it('LEO for the latest epoch; start of the first later epoch; -1 if older than the first entry or nothing later', () => {
    expect(c.endOffsetForKip101(5, 30)).toBe(30);
    expect(c.endOffsetForKip101(4, 30)).toBe(20);
    expect(c.endOffsetForKip101(2, 30)).toBe(10);
    expect(c.endOffsetForKip101(1, 30)).toBe(10);
    expect(c.endOffsetForKip101(0, 30)).toBe(-1);
    expect(c.endOffsetForKip101(6, 30)).toBe(-1);
  });

  it('KAFKA-6361 (notes §7.3): the offset-only answer leaves the logs diverged; KIP-279 makes B truncate', () => {
    // A and B have 0..100 in epoch 1. A appended 101 (epoch 1) and died; B led epoch 2 and wrote
    // its own 101; A returns as leader of epoch 3 at its LEO 102.
    const a = cacheOf([1, 0], [3, 102]);
    const aLeo = 102;
    const b = cacheOf([1, 0], [2, 101]);
    const bLeo = 102;
    // B, now a follower, asks the leader for the end of its latest epoch, 2.
    const v0 = a.endOffsetForKip101(2, aLeo);
    expect(v0).toBe(102);
    const v0TruncateTo = Math.min(v0, bLeo);
    expect(v0TruncateTo).toBe(102); // no truncation: offset 101 differs between A (epoch 1) and B (epoch 2)
    const v1 = a.endOffsetFor(2, aLeo);
    expect(v1).toEqual({ epoch: 1, endOffset: 102 });
    // B does not have epoch 1 ending there: its own end of epoch 1 is 101 (§2.3).
    const own = b.endOffsetFor(v1.epoch, bLeo);
    expect(own).toEqual({ epoch: 1, endOffset: 101 });
    expect(Math.min(own.endOffset, v1.endOffset, bLeo)).toBe(101); // B truncates its divergent 101
  });
});

describe('leader epoch cache: truncation', () => {
  it('truncateFromEnd drops entries starting at or after the offset', () => {
    const c = cacheOf([1, 0], [3, 10], [5, 20]);
    expect(c.truncateFromEnd(25)).toBe(false);
    expect(c.truncateFromEnd(20)).toBe(true);
    expect(pairs(c)).toEqual([
      [1, 0],
      [3, 10],
    ]);
    expect(c.truncateFromEnd(5)).toBe(true);
    expect(pairs(c)).toEqual([[1, 0]]);
    expect(c.truncateFromEnd(0)).toBe(true);
    expect(c.isEmpty).toBe(true);
  });

  it('truncateFromStart keeps the epoch in force at the new start, moved up to it', () => {
    const c = cacheOf([1, 0], [3, 10], [5, 20]);
    expect(c.truncateFromStart(0)).toBe(false);
    expect(c.truncateFromStart(12)).toBe(true);
    expect(pairs(c)).toEqual([
      [3, 12],
      [5, 20],
    ]);
    expect(c.truncateFromStart(20)).toBe(true);
    expect(pairs(c)).toEqual([[5, 20]]);
  });
});

describe('leader epoch cache: checkpoint', () => {
  it('writes version 0, the count and "epoch startOffset" lines, and reads them back', () => {
    const c = cacheOf([1, 0], [3, 10]);
    expect(c.toCheckpoint()).toBe('0\n2\n1 0\n3 10\n');
    expect(pairs(LeaderEpochCache.fromCheckpoint(c.toCheckpoint()) as LeaderEpochCache)).toEqual(pairs(c));
    expect(new LeaderEpochCache().toCheckpoint()).toBe('0\n0\n');
    expect(LeaderEpochCache.fromCheckpoint('0\n0\n')?.isEmpty).toBe(true);
  });

  it('reads a malformed checkpoint as undefined', () => {
    for (const bad of ['', '0\n', '1\n0\n', '0\n2\n1 0\n', '0\nx\n', '0\n1\n1\n', '0\n1\n1 0 7\n', '0\n2\n3 0\n1 5\n', '0\n1\n-1 0\n'])
      expect(LeaderEpochCache.fromCheckpoint(bad), JSON.stringify(bad)).toBeUndefined();
  });
});
