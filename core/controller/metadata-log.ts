// The controller's metadata log on disk: one record per line, `<crc32 hex> <json>\n`.
//
// KRaft keeps __cluster_metadata as a replicated log of record batches with CRCs. ksim's
// single-node controller keeps one local file; a record counts as committed once the append that
// wrote it has been fsynced. Recovery keeps the lines up to the first torn or corrupt one (a
// missing newline, a checksum mismatch or unparsable JSON) and reports how many bytes to cut.
//
// Simplification: text lines rather than binary batches; CRC-32 (IEEE) rather than CRC-32C; no
// snapshots, so the log grows without bound (runs are short).

import type { MetadataRecord } from '../protocol.js';

export const METADATA_LOG_FILE = 'metadata.log';

const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3) of `data`. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = 0x0a;
const SPACE = 0x20;

/** The bytes of one log line for `record`. */
export function encodeRecordLine(record: MetadataRecord): Uint8Array {
  const json = encoder.encode(JSON.stringify(record));
  const head = encoder.encode(`${crc32(json).toString(16).padStart(8, '0')} `);
  const line = new Uint8Array(head.length + json.length + 1);
  line.set(head, 0);
  line.set(json, head.length);
  line[line.length - 1] = NEWLINE;
  return line;
}

export function encodeRecordLines(records: readonly MetadataRecord[]): Uint8Array {
  const lines = records.map(encodeRecordLine);
  const out = new Uint8Array(lines.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of lines) {
    out.set(l, at);
    at += l.length;
  }
  return out;
}

export interface DecodedLog {
  readonly records: MetadataRecord[];
  /** Bytes of the valid prefix: the file is cut here if it is longer. */
  readonly validBytes: number;
  /** Why decoding stopped before the end of the file, if it did. */
  readonly stopReason: string | undefined;
}

/** Decode a metadata log file, stopping at the first torn or corrupt line. */
export function decodeRecordLines(data: Uint8Array): DecodedLog {
  const records: MetadataRecord[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf(NEWLINE, at);
    if (end < 0) return { records, validBytes: at, stopReason: `torn line at byte ${at} (no newline)` };
    const record = decodeLine(data.subarray(at, end));
    if (record === undefined) return { records, validBytes: at, stopReason: `corrupt line at byte ${at}` };
    records.push(record);
    at = end + 1;
  }
  return { records, validBytes: at, stopReason: undefined };
}

function decodeLine(line: Uint8Array): MetadataRecord | undefined {
  if (line.length < 10 || line[8] !== SPACE) return undefined;
  const json = line.subarray(9);
  let head: string;
  let text: string;
  try {
    head = decoder.decode(line.subarray(0, 8));
    text = decoder.decode(json);
  } catch {
    return undefined;
  }
  if (!/^[0-9a-f]{8}$/.test(head) || Number.parseInt(head, 16) !== crc32(json)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') return undefined;
    return value as MetadataRecord;
  } catch {
    return undefined;
  }
}
