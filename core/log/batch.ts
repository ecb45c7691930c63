// Kafka's record batch, format v2 (magic 2): the unit a producer sends, a leader stamps and
// appends, a follower copies byte for byte, and a segment file stores (DefaultRecordBatch.java,
// DefaultRecord.java; docs/notes/kafka-data-plane.md §1.1).
//
// Layout, big-endian: a 61-byte header, then the records. The CRC-32C covers [21, end): it
// excludes baseOffset, batchLength, partitionLeaderEpoch and magic, so a leader can stamp the
// offset and its epoch (`restamp`) without recomputing it. Records carry zigzag varint/varlong
// deltas against the header.
//
// Simplifications: no compression (attributes are always 0), no transactions or control
// batches, no record headers (headersCount is always 0). Keys and values are strings, stored as
// UTF-8. Offsets, timestamps and producer ids are JS numbers (safe integers); int64 fields are
// written as two 32-bit halves.

import { crc32c } from './crc32c.js';

export interface LogRecord {
  key: string | null;
  value: string | null;
  timestampMs: number;
}

export interface RecordBatch {
  baseOffset: number;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  records: LogRecord[];
}

/** The header fields of an encoded batch, read without decoding its records. */
export interface BatchHeader {
  baseOffset: number;
  lastOffset: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  maxTimestamp: number;
  /** Bytes of the whole batch: 12 + batchLength. */
  sizeBytes: number;
}

export type DecodeResult = { kind: 'batch'; batch: RecordBatch; sizeBytes: number } | { kind: 'end' } | { kind: 'corrupt'; reason: string };

/** Header size (DefaultRecordBatch.RECORD_BATCH_OVERHEAD). */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength (Records.LOG_OVERHEAD). */
export const LOG_OVERHEAD_BYTES = 12;
/** Bytes up to and including magic (Records.HEADER_SIZE_UP_TO_MAGIC). */
export const HEADER_UP_TO_MAGIC_BYTES = 17;
/** Smallest declared batchLength FileLogInputStream accepts (LegacyRecord.RECORD_OVERHEAD_V0). */
export const MIN_BATCH_LENGTH = 14;
export const MAGIC_V2 = 2;
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

// Header field offsets.
const BASE_OFFSET = 0;
const LENGTH = 8;
const PARTITION_LEADER_EPOCH = 12;
const MAGIC = 16;
const CRC = 17;
const ATTRIBUTES = 21;
const LAST_OFFSET_DELTA = 23;
const BASE_TIMESTAMP = 27;
const MAX_TIMESTAMP = 35;
const PRODUCER_ID = 43;
const PRODUCER_EPOCH = 51;
const BASE_SEQUENCE = 53;
const RECORDS_COUNT = 57;

const TWO_32 = 0x1_0000_0000;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function setInt64(v: DataView, at: number, n: number): void {
  if (!Number.isSafeInteger(n)) throw new Error(`int64 field at ${at}: ${n} is not a safe integer`);
  const hi = Math.floor(n / TWO_32);
  v.setInt32(at, hi);
  v.setUint32(at + 4, n - hi * TWO_32);
}

function getInt64(v: DataView, at: number): number {
  return v.getInt32(at) * TWO_32 + v.getUint32(at + 4);
}

function checkInt(name: string, n: number, lo: number, hi: number): void {
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`record batch: ${name} ${n} is out of range [${lo}, ${hi}]`);
}

// ---------------------------------------------------------------------------------------------
// Varints (ByteUtils): zigzag, then unsigned LEB128. Arithmetic rather than bit operations, so
// that varlongs work for any safe integer.

/** Bytes written to a growable list. */
class Writer {
  readonly bytes: number[] = [];
  varlong(n: number): void {
    if (!Number.isSafeInteger(n)) throw new Error(`varlong: ${n} is not a safe integer`);
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    while (z >= 0x80) {
      this.bytes.push((z % 0x80) | 0x80);
      z = Math.floor(z / 0x80);
    }
    this.bytes.push(z);
  }
  varint(n: number): void {
    checkInt('varint', n, -0x8000_0000, 0x7fff_ffff);
    this.varlong(n);
  }
  raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x);
  }
}

/** A reader over [pos, end) that reports running out or a malformed varint by throwing Malformed. */
class Malformed extends Error {}

class Reader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}
  private varNumber(maxBytes: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.end) throw new Malformed('varint runs past the end of the batch');
      const b = this.buf[this.pos++] as number;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) throw new Malformed('varlong out of the safe-integer range');
        return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      }
      scale *= 0x80;
    }
    throw new Malformed(`varint longer than ${maxBytes} bytes`);
  }
  varint(): number {
    return this.varNumber(5);
  }
  varlong(): number {
    return this.varNumber(10);
  }
  int8(): number {
    if (this.pos >= this.end) throw new Malformed('record runs past the end of the batch');
    return this.buf[this.pos++] as number;
  }
  string(length: number): string {
    if (length < 0 || this.pos + length > this.end) throw new Malformed(`field of ${length} bytes runs past the end of the batch`);
    const s = utf8Decoder.decode(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeRecord(w: Writer, r: LogRecord, offsetDelta: number, baseTimestamp: number): void {
  const body = new Writer();
  body.bytes.push(0); // attributes
  body.varlong(r.timestampMs - baseTimestamp);
  body.varint(offsetDelta);
  for (const field of [r.key, r.value]) {
    if (field === null) body.varint(-1);
    else {
      const b = utf8Encoder.encode(field);
      body.varint(b.length);
      body.raw(b);
    }
  }
  body.varint(0); // headers count
  w.varint(body.bytes.length);
  for (const x of body.bytes) w.bytes.push(x);
}

/** Encode a batch (attributes 0: no compression, CreateTime, not transactional). */
export function encodeBatch(b: RecordBatch): Uint8Array {
  if (b.records.length === 0) throw new Error('record batch: no records');
  if (b.lastOffsetDelta !== b.records.length - 1) throw new Error(`record batch: lastOffsetDelta ${b.lastOffsetDelta} with ${b.records.length} records`);
  checkInt('partitionLeaderEpoch', b.partitionLeaderEpoch, -0x8000_0000, 0x7fff_ffff);
  checkInt('producerEpoch', b.producerEpoch, -0x8000, 0x7fff);
  checkInt('baseSequence', b.baseSequence, -0x8000_0000, 0x7fff_ffff);
  const w = new Writer();
  for (let i = 0; i < b.records.length; i++) encodeRecord(w, b.records[i] as LogRecord, i, b.baseTimestamp);
  const size = BATCH_HEADER_BYTES + w.bytes.length;
  const out = new Uint8Array(size);
  const v = view(out);
  setInt64(v, BASE_OFFSET, b.baseOffset);
  v.setInt32(LENGTH, size - LOG_OVERHEAD_BYTES);
  v.setInt32(PARTITION_LEADER_EPOCH, b.partitionLeaderEpoch);
  v.setInt8(MAGIC, MAGIC_V2);
  v.setInt16(ATTRIBUTES, 0);
  v.setInt32(LAST_OFFSET_DELTA, b.lastOffsetDelta);
  setInt64(v, BASE_TIMESTAMP, b.baseTimestamp);
  setInt64(v, MAX_TIMESTAMP, b.maxTimestamp);
  setInt64(v, PRODUCER_ID, b.producerId);
  v.setInt16(PRODUCER_EPOCH, b.producerEpoch);
  v.setInt32(BASE_SEQUENCE, b.baseSequence);
  v.setInt32(RECORDS_COUNT, b.records.length);
  out.set(w.bytes, BATCH_HEADER_BYTES);
  v.setUint32(CRC, crc32c(out, ATTRIBUTES, size));
  return out;
}

/** A batch as a client builds it: baseOffset 0, partitionLeaderEpoch -1 (the leader stamps both). */
export function makeBatch(records: LogRecord[], producer?: { producerId: number; producerEpoch: number; baseSequence: number }): RecordBatch {
  if (records.length === 0) throw new Error('makeBatch: no records');
  const first = records[0] as LogRecord;
  return {
    baseOffset: 0,
    partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
    lastOffsetDelta: records.length - 1,
    baseTimestamp: first.timestampMs,
    maxTimestamp: Math.max(...records.map((r) => r.timestampMs)),
    producerId: producer?.producerId ?? NO_PRODUCER_ID,
    producerEpoch: producer?.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: producer?.baseSequence ?? NO_SEQUENCE,
    records,
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Read the batch at `pos`, as FileLogInputStream.nextBatch followed by isValid():
 * - 'end' (no error) if fewer than 17 bytes remain or the declared size runs past the buffer —
 *   the torn tail of a segment;
 * - 'corrupt' if the declared batchLength is < 14, magic ≠ 2, the batch is shorter than the
 *   61-byte header, the CRC does not match, or the records do not parse.
 */
export function decodeBatch(buf: Uint8Array, pos: number): DecodeResult {
  if (pos < 0 || pos > buf.length) throw new Error(`decodeBatch: position ${pos} outside a buffer of ${buf.length} bytes`);
  if (buf.length - pos < HEADER_UP_TO_MAGIC_BYTES) return { kind: 'end' };
  const v = new DataView(buf.buffer, buf.byteOffset + pos, buf.length - pos);
  const batchLength = v.getInt32(LENGTH);
  if (batchLength < MIN_BATCH_LENGTH) return { kind: 'corrupt', reason: `batch length ${batchLength} is below ${MIN_BATCH_LENGTH}` };
  const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
  if (sizeBytes > buf.length - pos) return { kind: 'end' };
  const magic = v.getInt8(MAGIC);
  if (magic !== MAGIC_V2) return { kind: 'corrupt', reason: `magic ${magic}, expected ${MAGIC_V2}` };
  if (sizeBytes < BATCH_HEADER_BYTES) return { kind: 'corrupt', reason: `batch of ${sizeBytes} bytes is shorter than its ${BATCH_HEADER_BYTES}-byte header` };
  const stored = v.getUint32(CRC);
  const computed = crc32c(buf, pos + ATTRIBUTES, pos + sizeBytes);
  if (stored !== computed) return { kind: 'corrupt', reason: `CRC mismatch: stored ${stored}, computed ${computed}` };
  const attributes = v.getInt16(ATTRIBUTES);
  if (attributes !== 0) return { kind: 'corrupt', reason: `unsupported attributes ${attributes} (ksim writes no compression or transactions)` };
  const lastOffsetDelta = v.getInt32(LAST_OFFSET_DELTA);
  const baseTimestamp = getInt64(v, BASE_TIMESTAMP);
  const count = v.getInt32(RECORDS_COUNT);
  if (count < 0 || count !== lastOffsetDelta + 1) return { kind: 'corrupt', reason: `${count} records with lastOffsetDelta ${lastOffsetDelta}` };
  const records: LogRecord[] = [];
  const r = new Reader(buf, pos + BATCH_HEADER_BYTES, pos + sizeBytes);
  try {
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      const recordEnd = r.pos + length;
      if (length < 0 || recordEnd > pos + sizeBytes) throw new Malformed(`record ${i} of ${length} bytes runs past the end of the batch`);
      r.int8(); // attributes
      const timestampMs = baseTimestamp + r.varlong();
      const offsetDelta = r.varint();
      if (offsetDelta !== i) throw new Malformed(`record ${i} has offset delta ${offsetDelta}`);
      const keyLength = r.varint();
      const key = keyLength === -1 ? null : r.string(keyLength);
      const valueLength = r.varint();
      const value = valueLength === -1 ? null : r.string(valueLength);
      const headers = r.varint();
      if (headers !== 0) throw new Malformed(`record ${i} has ${headers} headers`);
      if (r.pos !== recordEnd) throw new Malformed(`record ${i} is ${length} bytes long but its fields take ${r.pos - recordEnd + length}`);
      records.push({ key, value, timestampMs });
    }
    if (r.pos !== pos + sizeBytes) throw new Malformed(`${pos + sizeBytes - r.pos} bytes after the last record`);
  } catch (e) {
    if (e instanceof Malformed) return { kind: 'corrupt', reason: e.message };
    throw e;
  }
  return {
    kind: 'batch',
    sizeBytes,
    batch: {
      baseOffset: getInt64(v, BASE_OFFSET),
      partitionLeaderEpoch: v.getInt32(PARTITION_LEADER_EPOCH),
      lastOffsetDelta,
      baseTimestamp,
      maxTimestamp: getInt64(v, MAX_TIMESTAMP),
      producerId: getInt64(v, PRODUCER_ID),
      producerEpoch: v.getInt16(PRODUCER_EPOCH),
      baseSequence: v.getInt32(BASE_SEQUENCE),
      records,
    },
  };
}

/** The header of the encoded batch `bytes` (which must hold at least its 61-byte header). Not validated. */
export function batchHeader(bytes: Uint8Array): BatchHeader {
  if (bytes.length < BATCH_HEADER_BYTES) throw new Error(`batchHeader: ${bytes.length} bytes is shorter than a batch header`);
  const v = view(bytes);
  const baseOffset = getInt64(v, BASE_OFFSET);
  return {
    baseOffset,
    lastOffset: baseOffset + v.getInt32(LAST_OFFSET_DELTA),
    partitionLeaderEpoch: v.getInt32(PARTITION_LEADER_EPOCH),
    producerId: getInt64(v, PRODUCER_ID),
    producerEpoch: v.getInt16(PRODUCER_EPOCH),
    baseSequence: v.getInt32(BASE_SEQUENCE),
    recordCount: v.getInt32(RECORDS_COUNT),
    maxTimestamp: getInt64(v, MAX_TIMESTAMP),
    sizeBytes: LOG_OVERHEAD_BYTES + v.getInt32(LENGTH),
  };
}

/**
 * A copy of the batch with baseOffset and partitionLeaderEpoch set, as a leader stamps a batch on
 * append (LogValidator). Both fields are outside the CRC, which stays valid and untouched.
 */
export function restamp(bytes: Uint8Array, baseOffset: number, partitionLeaderEpoch: number): Uint8Array {
  if (bytes.length < BATCH_HEADER_BYTES) throw new Error(`restamp: ${bytes.length} bytes is shorter than a batch header`);
  checkInt('partitionLeaderEpoch', partitionLeaderEpoch, -0x8000_0000, 0x7fff_ffff);
  const out = bytes.slice();
  const v = view(out);
  setInt64(v, BASE_OFFSET, baseOffset);
  v.setInt32(PARTITION_LEADER_EPOCH, partitionLeaderEpoch);
  return out;
}
