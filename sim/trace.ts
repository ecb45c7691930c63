// The trace: every event of a run as a structured record, and a running hash over all of them.
//
// Each record says when (simulated ms), where (node, or `world` for the simulator itself), what
// (kind and fields) and why (`cause`: the id of the message, timer, disk operation or fault whose
// handling produced it). The hash is the run's fingerprint: same scenario, seed and settings ⇒
// same hash, in any process on any machine (FoundationDB prints a random number drawn at the end
// for the same purpose). Records are kept only when asked for (JSONL export, determinism
// diagnosis); the hash and the listeners always run.

import type { TraceFields } from '../core/ports.js';

export interface TraceRecord {
  /** Position in the trace, from 0. */
  readonly seq: number;
  readonly timeMs: number;
  readonly node: string;
  readonly kind: string;
  /** Id of the message (`m…`), timer (`t…`), disk operation (`d…`) or fault (`f…`) being handled. */
  readonly cause: string | undefined;
  readonly fields: TraceFields | undefined;
}

export type TraceListener = (rec: TraceRecord) => void;

export class Trace {
  private count = 0;
  // Two independent 32-bit FNV-1a lanes make a 64-bit fingerprint.
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193 ^ 0x5bd1e995;
  private readonly records: TraceRecord[] | undefined;
  // Copy-on-write, so a listener may unsubscribe (or subscribe) while being called.
  private listeners: readonly TraceListener[] = [];

  constructor(options: { record?: boolean } = {}) {
    this.records = options.record ? [] : undefined;
  }

  get length(): number {
    return this.count;
  }

  /** The recorded events (empty unless the trace was created with `record: true`). */
  get recorded(): readonly TraceRecord[] {
    return this.records ?? [];
  }

  get isRecording(): boolean {
    return this.records !== undefined;
  }

  /** The running hash as 16 hex digits. */
  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  subscribe(listener: TraceListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(timeMs: number, node: string, kind: string, cause: string | undefined, fields?: TraceFields): void {
    const rec: TraceRecord = { seq: this.count++, timeMs, node, kind, cause, fields };
    this.mixRecord(rec);
    this.records?.push(rec);
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) (ls[i] as TraceListener)(rec);
  }

  // Hashing walks the record's values directly (no JSON.stringify): this runs for every event and
  // dominated the profile when it built a string first. Each value is tagged by its type so that
  // 1 and "1" differ, and strings are length-prefixed so that ("ab","c") and ("a","bc") differ.
  private mixRecord(r: TraceRecord): void {
    this.mixNumber(r.timeMs);
    this.mixString(r.node);
    this.mixString(r.kind);
    if (r.cause !== undefined) this.mixString(r.cause);
    else this.mixWord(0x7fff0001);
    const f = r.fields;
    if (f === undefined) {
      this.mixWord(0x7fff0002);
      return;
    }
    for (const k in f) {
      const v = f[k];
      if (v === undefined) continue; // as JSON.stringify: an undefined field is absent
      this.mixString(k);
      this.mixValue(v);
    }
    this.mixWord(0x7fff0003);
  }

  private mixValue(v: string | number | boolean | null | readonly (string | number)[]): void {
    if (typeof v === 'string') this.mixString(v);
    else if (typeof v === 'number') this.mixNumber(v);
    else if (typeof v === 'boolean') this.mixWord(v ? 0x7fff0011 : 0x7fff0010);
    else if (v === null) this.mixWord(0x7fff0012);
    else {
      this.mixWord(0x7fff0013 + v.length);
      for (let i = 0; i < v.length; i++) this.mixValue(v[i] as string | number);
    }
  }

  private mixString(s: string): void {
    this.mixWord(0x7ffe0000 + s.length);
    let a = this.h1;
    let b = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.h1 = a;
    this.h2 = b;
  }

  private mixNumber(x: number): void {
    f64[0] = x;
    this.mixWord(0x7ffd0000);
    this.mixWord(u32[0] as number);
    this.mixWord(u32[1] as number);
  }

  private mixWord(w: number): void {
    this.h1 = Math.imul(this.h1 ^ w, 0x01000193);
    let b = Math.imul(this.h2 ^ w, 0x5bd1e995);
    b ^= b >>> 15;
    this.h2 = b;
  }
}

const f64 = new Float64Array(1);
// Little- or big-endian, the same machine always reads the same words; the hash is compared
// across runs on one platform family (x86-64 and arm64 are both little-endian).
const u32 = new Uint32Array(f64.buffer);

/** A record as one canonical line (for comparing two traces event by event). */
export function canonical(rec: TraceRecord): string {
  return `${rec.timeMs}|${rec.node}|${rec.kind}|${rec.cause ?? ''}|${rec.fields === undefined ? '' : JSON.stringify(rec.fields)}`;
}

/** One JSON object per line, in trace order. */
export function toJsonLines(records: readonly TraceRecord[]): string {
  let out = '';
  for (const r of records) {
    out += `${JSON.stringify({ seq: r.seq, timeMs: r.timeMs, node: r.node, kind: r.kind, cause: r.cause, ...(r.fields === undefined ? {} : { fields: r.fields }) })}\n`;
  }
  return out;
}

/** Index of the first record where two traces differ, or undefined if they are identical. */
export function firstDivergence(a: readonly TraceRecord[], b: readonly TraceRecord[]): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (canonical(a[i] as TraceRecord) !== canonical(b[i] as TraceRecord)) return i;
  }
  return a.length === b.length ? undefined : n;
}

/** A record in one line, for people. */
export function formatRecord(r: TraceRecord | undefined): string {
  if (r === undefined) return '(end of trace)';
  const f = r.fields === undefined ? '' : ` ${JSON.stringify(r.fields)}`;
  return `#${r.seq} t=${r.timeMs}ms ${r.node} ${r.kind}${r.cause ? ` (cause ${r.cause})` : ''}${f}`;
}
