import { describe, expect, it } from 'vitest';
import { crc32, decodeRecordLines, encodeRecordLine, encodeRecordLines } from '../../../core/controller/metadata-log.js';
import type { MetadataRecord } from '../../../core/protocol.js';

const RECORDS: MetadataRecord[] = [
  { type: 'RegisterBroker', brokerId: 1, incarnationId: 'a', brokerEpoch: 0 },
  { type: 'Topic', name: 'tópico', partitions: 2 },
  { type: 'PartitionChange', topic: 't', partition: 0, leader: -2, isr: [1, 2], reason: 'ISR shrink requested by leader' },
];

describe('metadata log lines', () => {
  it('crc32 matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips records', () => {
    const bytes = encodeRecordLines(RECORDS);
    expect(decodeRecordLines(bytes)).toEqual({ records: RECORDS, validBytes: bytes.length, stopReason: undefined });
    expect(decodeRecordLines(new Uint8Array(0)).records).toEqual([]);
  });

  it('stops at a torn last line (no newline) and reports where to cut', () => {
    const bytes = encodeRecordLines(RECORDS);
    const keep = encodeRecordLine(RECORDS[0] as MetadataRecord).length + encodeRecordLine(RECORDS[1] as MetadataRecord).length;
    for (const cut of [keep + 1, keep + 12, bytes.length - 1]) {
      const d = decodeRecordLines(bytes.subarray(0, cut));
      expect(d.records).toEqual(RECORDS.slice(0, 2));
      expect(d.validBytes).toBe(keep);
      expect(d.stopReason).toContain('torn');
    }
  });

  it('stops at the first corrupt line, even if later lines are intact', () => {
    const first = encodeRecordLine(RECORDS[0] as MetadataRecord).length;
    for (let pos = first; pos < first + 20; pos++) {
      const bytes = encodeRecordLines(RECORDS);
      bytes[pos] = (bytes[pos] as number) ^ 0x04;
      const d = decodeRecordLines(bytes);
      expect(d.records).toEqual(RECORDS.slice(0, 1));
      expect(d.validBytes).toBe(first);
    }
  });
});
