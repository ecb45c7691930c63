// Record batch v2 (core/log/batch.ts): layout, round trip, corruption and torn-tail detection,
// restamping outside the CRC, header reading.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_HEADER_BYTES, batchHeader, decodeBatch, encodeBatch, type LogRecord, makeBatch, type RecordBatch, restamp } from '../../../core/log/batch.js';
import { crc32c } from '../../../core/log/crc32c.js';

const rec = (i: number): LogRecord => ({ key: `k${i}`, value: `value-${i}`, timestampMs: 1_700_000_000_000 + i });

const recordArb: fc.Arbitrary<LogRecord> = fc.record({
  key: fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: null }),
  value: fc.option(fc.string({ unit: 'binary', maxLength: 200 }), { nil: null }),
  timestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
});

const batchArb: fc.Arbitrary<RecordBatch> = fc
  .record({
    records: fc.array(recordArb, { minLength: 1, maxLength: 8 }),
    baseOffset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 100 }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
    producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    producerEpoch: fc.integer({ min: -1, max: 32767 }),
    baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  })
  .map((r) => ({
    ...makeBatch(r.records, { producerId: r.producerId, producerEpoch: r.producerEpoch, baseSequence: r.baseSequence }),
    baseOffset: r.baseOffset,
    partitionLeaderEpoch: r.partitionLeaderEpoch,
  }));

describe('record batch v2: layout', () => {
  it('writes the 61-byte big-endian header of DefaultRecordBatch', () => {
    const b = encodeBatch({
      ...makeBatch([rec(0), rec(1)], { producerId: 7, producerEpoch: 2, baseSequence: 10 }),
      baseOffset: 0x1_0000_0005,
      partitionLeaderEpoch: 3,
    });
    const v = new DataView(b.buffer);
    expect(v.getInt32(0)).toBe(1); // baseOffset high half
    expect(v.getUint32(4)).toBe(5);
    expect(v.getInt32(8)).toBe(b.length - 12); // batchLength
    expect(v.getInt32(12)).toBe(3); // partitionLeaderEpoch
    expect(v.getInt8(16)).toBe(2); // magic
    expect(v.getUint32(17)).toBe(crc32c(b, 21, b.length)); // CRC over [21, end)
    expect(v.getInt16(21)).toBe(0); // attributes
    expect(v.getInt32(23)).toBe(1); // lastOffsetDelta
    expect(v.getUint32(47)).toBe(7); // producerId low half
    expect(v.getInt16(51)).toBe(2); // producerEpoch
    expect(v.getInt32(53)).toBe(10); // baseSequence
    expect(v.getInt32(57)).toBe(2); // recordsCount
    // First record: length varint, attributes 0, timestampDelta 0, offsetDelta 0, key "k0" (zigzag 2 → 4).
    expect([...b.subarray(BATCH_HEADER_BYTES + 1, BATCH_HEADER_BYTES + 7)]).toEqual([0, 0, 0, 4, 0x6b, 0x30]);
  });

  it('encodes a null key or value as length -1 (zigzag 1) and a non-idempotent batch with -1 producer fields', () => {
    const b = encodeBatch(makeBatch([{ key: null, value: null, timestampMs: 5 }]));
    expect([...b.subarray(BATCH_HEADER_BYTES)]).toEqual([12, 0, 0, 0, 1, 1, 0]);
    const h = batchHeader(b);
    expect(h).toMatchObject({
      baseOffset: 0,
      lastOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 1,
      sizeBytes: b.length,
    });
  });

  it('refuses to encode an empty batch or an inconsistent lastOffsetDelta', () => {
    expect(() => makeBatch([])).toThrow();
    expect(() => encodeBatch({ ...makeBatch([rec(0)]), lastOffsetDelta: 3 })).toThrow(/lastOffsetDelta/);
  });
});

describe('record batch v2: decoding', () => {
  it('round-trips any batch (null keys and values, unicode, negative timestamp deltas, large offsets)', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const bytes = encodeBatch(batch);
        const d = decodeBatch(bytes, 0);
        expect(d.kind).toBe('batch');
        if (d.kind !== 'batch') return;
        expect(d.sizeBytes).toBe(bytes.length);
        expect(d.batch).toEqual(batch);
        const h = batchHeader(bytes);
        expect(h.lastOffset).toBe(batch.baseOffset + batch.records.length - 1);
        expect(h.recordCount).toBe(batch.records.length);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes batches back to back at their positions, then reports the end', () => {
    const a = encodeBatch(makeBatch([rec(0)]));
    const b = encodeBatch({ ...makeBatch([rec(1), rec(2)]), baseOffset: 1 });
    const buf = new Uint8Array(a.length + b.length);
    buf.set(a);
    buf.set(b, a.length);
    const first = decodeBatch(buf, 0);
    expect(first.kind === 'batch' && first.sizeBytes).toBe(a.length);
    const second = decodeBatch(buf, a.length);
    expect(second.kind === 'batch' && second.batch.baseOffset).toBe(1);
    expect(decodeBatch(buf, buf.length)).toEqual({ kind: 'end' });
  });

  it('flipping any bit from byte 21 on (or in the CRC or magic) makes the batch corrupt', () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (batch, at, bit) => {
        const bytes = encodeBatch(batch);
        const pos = 16 + (at % (bytes.length - 16)); // magic, CRC, and everything the CRC covers
        bytes[pos] = (bytes[pos] as number) ^ (1 << bit);
        expect(decodeBatch(bytes, 0).kind).toBe('corrupt');
      }),
      { numRuns: 300 },
    );
  });

  it('a flip in baseOffset or partitionLeaderEpoch is not caught (they are outside the CRC, as in Kafka)', () => {
    const bytes = encodeBatch(makeBatch([rec(0)]));
    bytes[7] = (bytes[7] as number) ^ 1;
    bytes[15] = (bytes[15] as number) ^ 4;
    const d = decodeBatch(bytes, 0);
    expect(d.kind === 'batch' && [d.batch.baseOffset, d.batch.partitionLeaderEpoch]).toEqual([1, -5]);
  });

  it('a torn tail (any strict prefix) is the end of the log, not corruption', () => {
    const bytes = encodeBatch(makeBatch([rec(0), rec(1), rec(2)]));
    for (let len = 0; len < bytes.length; len++) expect(decodeBatch(bytes.subarray(0, len), 0), `prefix ${len}`).toEqual({ kind: 'end' });
  });

  it('a declared length below 14, or a batch shorter than its header, is corrupt (FileLogInputStream, isValid)', () => {
    const bytes = encodeBatch(makeBatch([rec(0)]));
    const small = bytes.slice();
    new DataView(small.buffer).setInt32(8, 13);
    expect(decodeBatch(small, 0)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/below 14/) });
    const short = bytes.slice();
    new DataView(short.buffer).setInt32(8, 40);
    expect(decodeBatch(short, 0)).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/shorter than its 61-byte header/) });
    const negative = bytes.slice();
    new DataView(negative.buffer).setInt32(8, -1);
    expect(decodeBatch(negative, 0).kind).toBe('corrupt');
  });
});

describe('record batch v2: restamp', () => {
  it('sets baseOffset and partitionLeaderEpoch in a copy; the CRC stays valid and untouched', () => {
    fc.assert(
      fc.property(batchArb, fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (batch, offset, epoch) => {
        const bytes = encodeBatch(batch);
        const original = bytes.slice();
        const stamped = restamp(bytes, offset, epoch);
        expect(bytes).toEqual(original); // the input is not modified
        expect([...stamped.subarray(16)]).toEqual([...bytes.subarray(16)]); // magic, CRC and the rest unchanged
        const d = decodeBatch(stamped, 0);
        expect(d.kind).toBe('batch');
        if (d.kind === 'batch') expect(d.batch).toEqual({ ...batch, baseOffset: offset, partitionLeaderEpoch: epoch });
        expect(batchHeader(stamped)).toMatchObject({ baseOffset: offset, lastOffset: offset + batch.lastOffsetDelta, partitionLeaderEpoch: epoch });
      }),
      { numRuns: 200 },
    );
  });
});
