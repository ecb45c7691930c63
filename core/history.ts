// The client history, shaped like Jepsen's queue workload (jepsen/tests/kafka.clj): every client
// operation is an `invoke` followed by `ok`, `fail` (it certainly did not happen) or `info` (it may
// or may not have happened). Clients record it through the trace (kind `client.op`), so the
// history is part of the run's fingerprint and can be rebuilt from a JSONL trace by a checker.
//
//   send:  invoke {value, topic, partition}; ok {value, offset}; fail/info {value, error}
//   poll:  invoke {topic, partition, offset}; ok {values[], offsets[]} (one entry per record)

import type { TraceFields } from './ports.js';

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type OpF = 'send' | 'poll';

export interface HistoryOp {
  /** The client node that performed it. */
  process: string;
  f: OpF;
  type: OpType;
  topic: string;
  partition: number;
  /** send: the unique value written. */
  value?: string;
  /** send ok: where the value landed; poll invoke: the position fetched from. */
  offset?: number;
  /** poll ok: the records read, in order. */
  values?: string[];
  offsets?: number[];
  error?: string;
}

export const HISTORY_TRACE_KIND = 'client.op';

/** The trace fields that record one history operation. */
export function opFields(op: Omit<HistoryOp, 'process'>): TraceFields {
  const f: TraceFields = { f: op.f, type: op.type, topic: op.topic, partition: op.partition };
  if (op.value !== undefined) f.value = op.value;
  if (op.offset !== undefined) f.offset = op.offset;
  if (op.values !== undefined) f.values = op.values;
  if (op.offsets !== undefined) f.offsets = op.offsets;
  if (op.error !== undefined) f.error = op.error;
  return f;
}

/** Rebuild a history operation from a trace record's node and fields. */
export function opFromTrace(node: string, fields: TraceFields): HistoryOp {
  const op: HistoryOp = {
    process: node,
    f: fields.f as OpF,
    type: fields.type as OpType,
    topic: fields.topic as string,
    partition: fields.partition as number,
  };
  if (fields.value !== undefined) op.value = fields.value as string;
  if (fields.offset !== undefined) op.offset = fields.offset as number;
  if (fields.values !== undefined) op.values = [...(fields.values as readonly string[])];
  if (fields.offsets !== undefined) op.offsets = [...(fields.offsets as readonly number[])];
  if (fields.error !== undefined) op.error = fields.error as string;
  return op;
}
