// The determinism self-check: run the same case twice and compare the traces. Same scenario,
// seed and settings must give the same trace hash; when they do not, the report names the first
// event where the two runs differ — the place to look for a stray source of nondeterminism
// (an unseeded random draw, iteration over a hash-ordered structure, the wall clock).

import { firstDivergence, formatRecord, type TraceRecord } from './trace.js';

export interface TracedRun {
  hash: string;
  records: readonly TraceRecord[];
}

export interface DeterminismReport {
  deterministic: boolean;
  hashes: [string, string];
  /** Index of the first differing trace record (when not deterministic). */
  divergesAt: number | undefined;
  /** The two differing records, one line each. */
  first: string | undefined;
  second: string | undefined;
}

/** `runOnce` must build a fresh world with recording on and run it to the end. */
export function checkDeterminism(runOnce: () => TracedRun): DeterminismReport {
  const a = runOnce();
  const b = runOnce();
  if (a.hash === b.hash) return { deterministic: true, hashes: [a.hash, b.hash], divergesAt: undefined, first: undefined, second: undefined };
  const i = firstDivergence(a.records, b.records) ?? Math.min(a.records.length, b.records.length);
  return { deterministic: false, hashes: [a.hash, b.hash], divergesAt: i, first: formatRecord(a.records[i]), second: formatRecord(b.records[i]) };
}
