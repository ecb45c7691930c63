// Checkpoint files (server-common CheckpointFile.write; docs/notes/kafka-data-plane.md §1.3): a
// small text file replaced atomically — write `<file>.tmp`, fsync it, rename it over `<file>`.
// A crash at any point leaves either the old text or the new one, never a mix. Also the format of
// the per-log-dir offset checkpoints (`replication-offset-checkpoint`,
// `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`): version 0, the entry count,
// then "topic partition offset" lines.
//
// Kafka writes a checkpoint synchronously under a lock, so two writes never overlap. Here a write
// takes several disk operations, so writes to the same file through the same DiskPort are
// serialized: a write requested while one is in flight waits, and a newer request replaces an
// older waiting one (its callback gets the result of the write that superseded it).
// Simplification: the parent directory is not fsynced (the simulated disk makes renames durable).

import type { DiskError, DiskPort, DiskResult } from '../ports.js';

export type CheckpointCallback = (ok: boolean, error?: DiskError) => void;

interface FileWriter {
  inFlight: boolean;
  next: { text: string; cbs: CheckpointCallback[] } | undefined;
}

/** Per disk port (one per node incarnation), per file: the write in flight and the one waiting. */
const writers = new WeakMap<DiskPort, Map<string, FileWriter>>();

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** Atomically replace `file` by `text`: write and fsync `${file}.tmp`, then rename it over `file`. */
export function writeCheckpoint(disk: DiskPort, file: string, text: string, cb?: CheckpointCallback): void {
  let perDisk = writers.get(disk);
  if (perDisk === undefined) {
    perDisk = new Map();
    writers.set(disk, perDisk);
  }
  let w = perDisk.get(file);
  if (w === undefined) {
    w = { inFlight: false, next: undefined };
    perDisk.set(file, w);
  }
  const cbs = [...(w.next?.cbs ?? []), ...(cb === undefined ? [] : [cb])];
  w.next = { text, cbs };
  if (!w.inFlight) startWrite(disk, file, w);
}

function startWrite(disk: DiskPort, file: string, w: FileWriter): void {
  const job = w.next;
  if (job === undefined) return;
  w.next = undefined;
  w.inFlight = true;
  const finish = (error: DiskError | undefined): void => {
    w.inFlight = false;
    for (const cb of job.cbs) cb(error === undefined, error);
    startWrite(disk, file, w);
  };
  const tmp = `${file}.tmp`;
  const data = encoder.encode(job.text);
  let failed: DiskError | undefined;
  const note = (r: DiskResult<unknown>): void => {
    if (!r.ok && failed === undefined) failed = r.error;
  };
  // A fresh tmp file: write from 0 and cut whatever a previous tmp left beyond the new text.
  // The operations complete in the order issued, so they can be issued together.
  disk.writeAt(tmp, 0, data, note);
  disk.truncate(tmp, data.length, note);
  disk.fsync(tmp, (r) => {
    note(r);
    if (failed !== undefined) {
      finish(failed);
      return;
    }
    disk.rename(tmp, file, (rr) => finish(rr.ok ? undefined : rr.error));
  });
}

/** The text of `file`; undefined if it does not exist (error: any other disk error). */
export function readCheckpoint(disk: DiskPort, file: string, cb: (text: string | undefined, error?: DiskError) => void): void {
  disk.readAll(file, (r) => {
    if (r.ok) cb(decoder.decode(r.value));
    else if (r.error.code === 'ENOENT') cb(undefined);
    else cb(undefined, r.error);
  });
}

// ---------------------------------------------------------------------------------------------
// Offset checkpoints: Map<"topic-partition" (tpKey), offset>

export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';
export const RECOVERY_POINT_OFFSET_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';

/** Split a tpKey ("my-topic-3") at its last '-'. */
export function parseTpKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('-');
  const partition = Number(key.slice(i + 1));
  if (i <= 0 || !/^\d+$/.test(key.slice(i + 1)) || !Number.isSafeInteger(partition)) throw new Error(`"${key}" is not a topic-partition key`);
  return { topic: key.slice(0, i), partition };
}

/** Format offsets keyed by tpKey as an offset checkpoint (entries sorted by key, for determinism). */
export function formatOffsetCheckpoint(offsets: ReadonlyMap<string, number>): string {
  const keys = [...offsets.keys()].sort();
  const lines = keys.map((k) => {
    const { topic, partition } = parseTpKey(k);
    if (/\s/.test(topic)) throw new Error(`topic "${topic}" contains whitespace`);
    return `${topic} ${partition} ${offsets.get(k) as number}`;
  });
  return ['0', String(keys.length), ...lines].join('\n') + '\n';
}

/** Parse an offset checkpoint into offsets keyed by tpKey; undefined if malformed. */
export function parseOffsetCheckpoint(text: string): Map<string, number> | undefined {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2 || lines[0]?.trim() !== '0') return undefined;
  const countText = (lines[1] as string).trim();
  if (!/^\d+$/.test(countText) || lines.length !== 2 + Number(countText)) return undefined;
  const out = new Map<string, number>();
  for (const line of lines.slice(2)) {
    const m = /^\s*(\S+)\s+(\d+)\s+(-?\d+)\s*$/.exec(line);
    if (m === null) return undefined;
    out.set(`${m[1]}-${m[2]}`, Number(m[3]));
  }
  return out;
}
