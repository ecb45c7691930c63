// The simulated disk: one per node, a flat namespace of files of bytes.
//
// Fault model (what a Kafka broker's log directory sees of a real Linux machine):
// - Writes land in a volatile page cache and are visible to reads at once. `fsync` makes a
//   file's contents durable. The kernel also writes dirty data back on its own after
//   `writebackDelayMs` (Linux: dirty_expire_centisecs, 30 s by default).
//   Simplification: write-back here makes a file's oldest dirty writes durable in the order they
//   were made; Linux writes back page by page, in no promised order.
// - A crash (power loss) keeps what is durable. Of each write made since, the seed decides
//   whether it is dropped, kept, or torn — a sector-aligned prefix of it kept. Surviving writes
//   are applied in order, and a write that would start beyond the end of what survived is dropped
//   too, so a file never gains a hole of bytes that were never written.
// - Metadata operations (create, rename, delete, truncate) are durable when they complete, as on
//   a journaling file system once its journal commits; `rename` is atomic. (Simplification: ext4
//   commits its journal every 5 s, so a metadata change can still be lost in that window; and
//   directory fsync is not modelled.)
// - Operations complete in the order issued, each after its own latency. Faults: a bit flip in
//   durable bytes (checksums must catch it), ENOSPC, EIO on write or fsync (the operation fails
//   and has no effect; Linux's dropping of dirty pages after a failed fsync is not modelled),
//   a slow disk (latency × factor), a stalled disk (nothing completes until the stall ends).

import { DiskError, type DiskErrorCode, type DiskResult } from '../core/ports.js';
import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';

export interface DiskConfig {
  /** Latency ranges [min, max] in ms per kind of operation. */
  latencyMs: { write: [number, number]; read: [number, number]; fsync: [number, number]; meta: [number, number] };
  /** Dirty data becomes durable this long after it was written, without fsync. */
  writebackDelayMs: number;
  /** A torn write keeps a prefix ending on a multiple of this (in file offsets). */
  sectorBytes: number;
  /** Total bytes the disk holds; writes that need more fail with ENOSPC. */
  capacityBytes: number;
  /** Relative weights of the fate of each unsynced write at a crash. */
  crashFate: { drop: number; keep: number; tear: number };
}

export const DEFAULT_DISK: DiskConfig = {
  latencyMs: { write: [0.005, 0.05], read: [0.005, 0.1], fsync: [0.5, 5], meta: [0.02, 0.5] },
  writebackDelayMs: 30_000,
  sectorBytes: 512,
  capacityBytes: 64 * 1024 * 1024 * 1024,
  crashFate: { drop: 1, keep: 1, tear: 1 },
};

/** A growable byte buffer. */
class Bytes {
  buf: Uint8Array;
  len: number;
  constructor(init?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(64, init?.length ?? 0));
    this.len = 0;
    if (init) this.write(0, init);
  }
  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < end) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(data, offset);
    if (end > this.len) this.len = end;
  }
  truncate(length: number): void {
    if (length < this.len) {
      this.buf.fill(0, length, this.len);
      this.len = length;
    }
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
  copy(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** An unsynced write (truncations are metadata, durable at once: see truncateDurably). */
type Mutation = { kind: 'write'; offset: number; data: Uint8Array; atMs: number };

/** A file: durable contents, visible (page cache) contents, and the mutations in between. */
class SimFile {
  durable: Bytes;
  visible: Bytes;
  pending: Mutation[] = [];
  constructor(durable?: Uint8Array) {
    this.durable = new Bytes(durable);
    this.visible = new Bytes(durable);
  }
}

function applyTo(b: Bytes, m: Mutation): void {
  b.write(m.offset, m.data);
}

export type DiskOpKind = 'append' | 'writeAt' | 'read' | 'readAll' | 'truncate' | 'fsync' | 'rename' | 'delete' | 'list' | 'size';

export interface DiskOp {
  readonly id: string;
  readonly kind: DiskOpKind;
  readonly file: string;
  readonly to?: string;
  readonly offset?: number;
  readonly length?: number;
  readonly data?: Uint8Array;
  readonly completeMs: number;
  readonly done: (result: DiskResult<unknown>) => void;
}

export type DiskFault =
  | { kind: 'bitflip'; file?: string; offset?: number; bit?: number }
  | { kind: 'enospc'; durationMs: number }
  | { kind: 'eio'; ops: ('write' | 'fsync' | 'read')[]; durationMs: number }
  | { kind: 'slow'; factor: number; durationMs: number }
  | { kind: 'stall'; durationMs: number };

export interface DiskHost {
  readonly scheduler: Scheduler;
  trace(kind: string, cause: string | undefined, fields: Record<string, string | number | boolean | undefined>): void;
}

const WRITE_OPS = new Set<DiskOpKind>(['append', 'writeAt', 'truncate']);

function failed(op: DiskOp, code: DiskErrorCode): DiskResult<unknown> {
  return { ok: false, error: new DiskError(code, op.kind, op.file) };
}

export class SimDisk {
  private files = new Map<string, SimFile>();
  private queue: DiskOp[] = [];
  private head = 0;
  private lastCompleteMs = 0;
  private writebackAtMs: number | undefined;
  private stalledUntilMs = 0;
  private slowFactor = 1;
  private slowUntilMs = 0;
  private enospcUntilMs = 0;
  private eioOps = new Set<string>();
  private eioUntilMs = 0;
  private opCounter = 0;
  readonly stats = { ops: 0, fsyncs: 0, bytesWritten: 0, errors: 0, crashes: 0, tornWrites: 0, droppedWrites: 0 };

  constructor(
    readonly node: string,
    private readonly host: DiskHost,
    private readonly rng: Rng,
    private readonly config: DiskConfig = DEFAULT_DISK,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Operations

  submit(
    kind: DiskOpKind,
    args: { file: string; to?: string; offset?: number; length?: number; data?: Uint8Array },
    done: (r: DiskResult<unknown>) => void,
  ): string {
    const id = `d${this.node}.${this.opCounter++}`;
    const now = this.host.scheduler.now;
    const [lo, hi] = this.latencyRange(kind);
    const factor = now < this.slowUntilMs ? this.slowFactor : 1;
    const completeMs = Math.max(now, this.lastCompleteMs) + Math.round(this.rng.uniform(lo, hi) * factor * 1000) / 1000;
    this.lastCompleteMs = completeMs;
    // The data is copied now, as a write() system call copies it: the caller may reuse its buffer.
    const data = args.data?.slice();
    this.queue.push({ id, kind, ...args, ...(data === undefined ? {} : { data }), completeMs, done });
    this.host.scheduler.at(completeMs, () => this.pump());
    return id;
  }

  private latencyRange(kind: DiskOpKind): [number, number] {
    const l = this.config.latencyMs;
    switch (kind) {
      case 'append':
      case 'writeAt':
      case 'truncate':
        return l.write;
      case 'read':
      case 'readAll':
      case 'size':
      case 'list':
        return l.read;
      case 'fsync':
        return l.fsync;
      default:
        return l.meta;
    }
  }

  private pump(): void {
    const now = this.host.scheduler.now;
    const op = this.queue[this.head];
    if (op === undefined || op.completeMs > now) return;
    if (this.stalledUntilMs > now) return; // a pump is scheduled for the stall's end
    this.head++;
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.stats.ops++;
    const result = this.execute(op);
    if (!result.ok) this.stats.errors++;
    this.host.trace('disk.done', op.id, {
      op: op.kind,
      file: op.file,
      ...(op.to === undefined ? {} : { to: op.to }),
      ...(result.ok ? {} : { error: result.error.code }),
    });
    op.done(result);
    const next = this.queue[this.head];
    if (next !== undefined && next.completeMs <= now) this.host.scheduler.at(now, () => this.pump());
  }

  /**
   * Carry out an operation that completes now. (The common operations are here, the rarer ones in
   * executeRare: V8 then recompiles only that small method when a run first meets one of them.)
   */
  private execute(op: DiskOp): DiskResult<unknown> {
    const now = this.host.scheduler.now;
    if (now < this.eioUntilMs && this.eioHits(op)) return failed(op, 'EIO');
    const f = this.files.get(op.file);
    switch (op.kind) {
      case 'append':
      case 'writeAt': {
        const data = op.data as Uint8Array;
        const offset = op.kind === 'append' ? (f?.visible.len ?? 0) : (op.offset as number);
        const curLen = f?.visible.len ?? 0;
        if (offset > curLen) throw new Error(`${this.node}: writeAt ${op.file} at ${offset} would leave a hole (size ${curLen})`);
        const growth = Math.max(0, offset + data.length - curLen);
        if (growth > 0 && (now < this.enospcUntilMs || this.usedBytes() + growth > this.config.capacityBytes)) return failed(op, 'ENOSPC');
        const file = f ?? this.create(op.file);
        this.mutate(file, { kind: 'write', offset, data, atMs: now });
        this.stats.bytesWritten += data.length;
        return { ok: true, value: op.kind === 'append' ? offset : undefined };
      }
      case 'read': {
        if (f === undefined) return failed(op, 'ENOENT');
        const start = Math.min(op.offset as number, f.visible.len);
        const end = Math.min(start + (op.length as number), f.visible.len);
        return { ok: true, value: f.visible.buf.slice(start, end) };
      }
      case 'size':
        if (f === undefined) return failed(op, 'ENOENT');
        return { ok: true, value: f.visible.len };
      case 'fsync': {
        if (f === undefined) return failed(op, 'ENOENT');
        this.stats.fsyncs++;
        this.makeDurable(f, f.pending.length);
        return { ok: true, value: undefined };
      }
      default:
        return this.executeRare(op, f);
    }
  }

  private executeRare(op: DiskOp, f: SimFile | undefined): DiskResult<unknown> {
    switch (op.kind) {
      case 'truncate': {
        if (f === undefined) return failed(op, 'ENOENT');
        if ((op.length as number) < f.visible.len) this.truncateDurably(f, op.length as number);
        return { ok: true, value: undefined };
      }
      case 'readAll':
        if (f === undefined) return failed(op, 'ENOENT');
        return { ok: true, value: f.visible.copy() };
      case 'rename': {
        if (f === undefined) return failed(op, 'ENOENT');
        this.files.delete(op.file);
        this.files.set(op.to as string, f);
        return { ok: true, value: undefined };
      }
      case 'delete':
        if (f === undefined) return failed(op, 'ENOENT');
        this.files.delete(op.file);
        return { ok: true, value: undefined };
      case 'list':
        return { ok: true, value: [...this.files.keys()].filter((n) => n.startsWith(op.file)).sort() };
      default:
        throw new Error(`${this.node}: unknown disk operation ${op.kind}`);
    }
  }

  /** An injected EIO fault covers this operation. */
  private eioHits(op: DiskOp): boolean {
    if (WRITE_OPS.has(op.kind)) return this.eioOps.has('write');
    if (op.kind === 'fsync') return this.eioOps.has('fsync');
    if (op.kind === 'read' || op.kind === 'readAll') return this.eioOps.has('read');
    return false;
  }

  private create(name: string): SimFile {
    const f = new SimFile();
    this.files.set(name, f);
    return f;
  }

  private mutate(f: SimFile, m: Mutation): void {
    applyTo(f.visible, m);
    f.pending.push(m);
    this.scheduleWriteback(m.atMs + this.config.writebackDelayMs);
  }

  /**
   * A truncation changes the file's size: metadata, durable once it completes (as the journal of
   * a journaling file system makes it, within its commit interval). Unsynced writes lose whatever
   * lay beyond the new end, so they cannot bring truncated bytes back.
   */
  private truncateDurably(f: SimFile, length: number): void {
    f.visible.truncate(length);
    f.durable.truncate(length);
    const kept: Mutation[] = [];
    for (const m of f.pending) {
      if (m.offset >= length) continue;
      kept.push(m.offset + m.data.length <= length ? m : { ...m, data: m.data.subarray(0, length - m.offset) });
    }
    f.pending = kept;
  }

  private makeDurable(f: SimFile, count: number): void {
    for (let i = 0; i < count; i++) applyTo(f.durable, f.pending[i] as Mutation);
    f.pending.splice(0, count);
  }

  private usedBytes(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.visible.len;
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // Background write-back of dirty data

  private scheduleWriteback(atMs: number): void {
    if (this.writebackAtMs !== undefined && this.writebackAtMs <= atMs) return;
    this.writebackAtMs = atMs;
    this.host.scheduler.at(atMs, () => this.writeback(atMs));
  }

  private writeback(scheduledFor: number): void {
    if (this.writebackAtMs !== scheduledFor) return; // superseded by an earlier one
    this.writebackAtMs = undefined;
    const now = this.host.scheduler.now;
    let next = Number.POSITIVE_INFINITY;
    let flushed = 0;
    for (const name of [...this.files.keys()].sort()) {
      const f = this.files.get(name) as SimFile;
      let n = 0;
      while (n < f.pending.length && (f.pending[n] as Mutation).atMs + this.config.writebackDelayMs <= now) n++;
      if (n > 0) {
        this.makeDurable(f, n);
        flushed += n;
      }
      const first = f.pending[0];
      if (first !== undefined) next = Math.min(next, first.atMs + this.config.writebackDelayMs);
    }
    if (flushed > 0) this.host.trace('disk.writeback', undefined, { writes: flushed });
    if (next !== Number.POSITIVE_INFINITY) this.scheduleWriteback(next);
  }

  // -------------------------------------------------------------------------------------------
  // Crash, wipe and faults

  /**
   * Power loss: queued operations never happen, and each file keeps its durable contents plus, in
   * order, the unsynced writes the seed lets survive (some torn at a sector boundary).
   */
  crash(): { dropped: number; torn: number; kept: number } {
    this.stats.crashes++;
    this.queue = [];
    this.head = 0;
    this.lastCompleteMs = this.host.scheduler.now; // the dropped operations delay nothing
    this.writebackAtMs = undefined;
    const fate = this.config.crashFate;
    const total = fate.drop + fate.keep + fate.tear;
    let dropped = 0;
    let torn = 0;
    let kept = 0;
    for (const name of [...this.files.keys()].sort()) {
      const f = this.files.get(name) as SimFile;
      const result = new Bytes(f.durable.view());
      for (const m of f.pending) {
        if (m.offset > result.len) {
          dropped++; // would leave a hole
          continue;
        }
        const r = this.rng.next() * total;
        if (r < fate.drop) {
          dropped++;
        } else if (r < fate.drop + fate.keep) {
          kept++;
          result.write(m.offset, m.data);
        } else {
          const keep = this.tornLength(m.offset, m.data.length);
          if (keep === m.data.length) kept++;
          else if (keep === 0) dropped++;
          else torn++;
          if (keep > 0) result.write(m.offset, m.data.subarray(0, keep));
        }
      }
      const survived = result.copy();
      this.files.set(name, new SimFile(survived));
    }
    this.stats.droppedWrites += dropped;
    this.stats.tornWrites += torn;
    return { dropped, torn, kept };
  }

  /** How many bytes of a write at `offset` survive a tear: a prefix ending on a sector boundary. */
  private tornLength(offset: number, length: number): number {
    const s = this.config.sectorBytes;
    const firstBoundary = Math.floor(offset / s) * s + s;
    const boundaries: number[] = [];
    for (let b = firstBoundary; b < offset + length; b += s) boundaries.push(b - offset);
    // A write inside one sector is atomic: all or nothing.
    if (boundaries.length === 0) return this.rng.chance(0.5) ? length : 0;
    return this.rng.pick(boundaries);
  }

  /** The process died but the machine did not: queued operations never happen; written data stays. */
  dropQueue(): void {
    this.queue = [];
    this.head = 0;
    this.lastCompleteMs = this.host.scheduler.now;
  }

  /** The disk is replaced by an empty one. */
  wipe(): void {
    this.files.clear();
    this.queue = [];
    this.head = 0;
    this.lastCompleteMs = this.host.scheduler.now;
    this.writebackAtMs = undefined;
  }

  /** Apply a disk fault. Returns a description for the trace. */
  inject(fault: DiskFault): string {
    const now = this.host.scheduler.now;
    switch (fault.kind) {
      case 'bitflip':
        return this.bitflip(fault.file, fault.offset, fault.bit);
      case 'enospc':
        this.enospcUntilMs = Math.max(this.enospcUntilMs, now + fault.durationMs);
        return `ENOSPC for ${fault.durationMs}ms`;
      case 'eio':
        this.eioOps = new Set(fault.ops);
        this.eioUntilMs = now + fault.durationMs;
        return `EIO on ${fault.ops.join('/')} for ${fault.durationMs}ms`;
      case 'slow':
        this.slowFactor = fault.factor;
        this.slowUntilMs = now + fault.durationMs;
        return `latency ×${fault.factor} for ${fault.durationMs}ms`;
      case 'stall': {
        const until = now + fault.durationMs;
        if (until > this.stalledUntilMs) {
          this.stalledUntilMs = until;
          // Operations that came due during the stall complete after it, still in order.
          this.host.scheduler.at(until, () => this.pump());
        }
        return `stalled for ${fault.durationMs}ms`;
      }
    }
  }

  /** Clear ENOSPC, EIO, slowness and stalls (the world heals). */
  clearFaults(): void {
    const now = this.host.scheduler.now;
    this.enospcUntilMs = 0;
    this.eioUntilMs = 0;
    this.slowUntilMs = 0;
    if (this.stalledUntilMs > now) {
      this.stalledUntilMs = 0;
      this.host.scheduler.at(now, () => this.pump());
    }
  }

  private bitflip(file: string | undefined, offset: number | undefined, bit: number | undefined): string {
    const candidates = [...this.files.keys()].filter((n) => (this.files.get(n) as SimFile).durable.len > 0).sort();
    const name = file ?? (candidates.length > 0 ? this.rng.pick(candidates) : undefined);
    const f = name === undefined ? undefined : this.files.get(name);
    if (name === undefined || f === undefined || f.durable.len === 0) return 'bitflip: no durable data to corrupt';
    const pos = offset ?? this.rng.int(0, f.durable.len - 1);
    if (pos >= f.durable.len) return `bitflip: ${name} has no durable byte ${pos}`;
    const mask = 1 << (bit ?? this.rng.int(0, 7));
    (f.durable.buf as Uint8Array)[pos] = (f.durable.buf[pos] as number) ^ mask;
    // The page cache shows the flip too, unless a pending write replaced that byte.
    const shadowed = f.pending.some((m) => pos >= m.offset && pos < m.offset + m.data.length);
    if (!shadowed && pos < f.visible.len) f.visible.buf[pos] = (f.visible.buf[pos] as number) ^ mask;
    return `bitflip ${name}@${pos} mask ${mask}`;
  }

  // -------------------------------------------------------------------------------------------
  // Inspection (for checkers and tests; not part of a node's port)

  fileNames(): string[] {
    return [...this.files.keys()].sort();
  }

  /** What a read would return now (the page cache). */
  visibleContents(name: string): Uint8Array | undefined {
    return this.files.get(name)?.visible.copy();
  }

  /** What would survive for sure if the power failed now. */
  durableContents(name: string): Uint8Array | undefined {
    return this.files.get(name)?.durable.copy();
  }

  /** Durable bytes [start, end) of `name` (fewer at its end), without copying the whole file. */
  durableSlice(name: string, start: number, end: number): Uint8Array | undefined {
    const f = this.files.get(name);
    if (f === undefined) return undefined;
    return f.durable.buf.slice(Math.min(start, f.durable.len), Math.min(end, f.durable.len));
  }

  pendingWrites(name: string): number {
    return this.files.get(name)?.pending.length ?? 0;
  }

  get queuedOps(): number {
    return this.queue.length - this.head;
  }
}
