// A toy protocol that exercises the kernel until Kafka itself runs on it: primary–backup
// replication of an append-only log. It is not Kafka and makes no claim to be; it uses every
// port a Kafka broker will use (messages, timers, disk appends, fsync, truncation, recovery from
// disk after a crash, disconnects) so that the kernel can be tested and demonstrated end to end.
//
// - `n1` is the primary, `n2` and `n3` its backups, `c` a client that writes unique values.
// - The primary appends a write to its log file, fsyncs it, then ships it to the backups; a
//   backup appends, fsyncs and acknowledges its durable length. A value is committed (and
//   acknowledged to the client) once it is durable on two of the three nodes.
// - Each log line carries a checksum; recovery keeps the lines up to the first torn or corrupt
//   one and truncates the file there.
// - The client resends unacknowledged values; the primary ignores values it already holds.

import type { DiskResult, Node, NodeContext } from '../../core/ports.js';

export type DemoMsg =
  | { type: 'write'; value: string }
  | { type: 'ok'; value: string }
  | { type: 'append'; from: number; entries: string[] }
  | { type: 'ack'; length: number };

export const PRIMARY = 'n1';
export const BACKUPS = ['n2', 'n3'] as const;
export const CLIENT = 'c';
export const LOG_FILE = 'log';
const HEARTBEAT_MS = 100;
const BATCH_MAX = 64;

export function encodeEntry(value: string): string {
  return `${checksum(value)}:${value}\n`;
}

/** The entries of a log file up to the first torn or corrupt line, and the byte length they span. */
export function decodeLog(bytes: Uint8Array): { entries: string[]; validBytes: number } {
  const text = new TextDecoder().decode(bytes);
  const entries: string[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    const line = text.slice(pos, nl);
    const colon = line.indexOf(':');
    if (colon < 0) break;
    const value = line.slice(colon + 1);
    if (line.slice(0, colon) !== checksum(value)) break;
    entries.push(value);
    pos = nl + 1;
  }
  // Lines are ASCII, so characters and bytes coincide.
  return { entries, validBytes: pos };
}

function checksum(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

const encoder = new TextEncoder();

/** Shared by primary and backups: the log in memory, recovered from and written to disk. */
abstract class LogNode implements Node<DemoMsg> {
  log: string[] = [];
  /** Entries known durable (fsync completed, or recovered from disk). */
  durable = 0;
  ready = false;
  protected writing = false;

  start(ctx: NodeContext<DemoMsg>): void {
    ctx.disk.readAll(LOG_FILE, (r) => {
      const { entries, validBytes } = r.ok ? decodeLog(r.value) : { entries: [], validBytes: 0 };
      if (r.ok && validBytes < r.value.length) {
        ctx.trace('log.recover-truncate', { keptBytes: validBytes, droppedBytes: r.value.length - validBytes });
        ctx.disk.truncate(LOG_FILE, validBytes);
      }
      this.log = entries;
      this.durable = entries.length;
      this.ready = true;
      ctx.trace('log.recovered', { entries: entries.length });
      this.onReady(ctx);
    });
  }

  /** Append entries at the end of the log, fsync, then call back with success. */
  protected persist(ctx: NodeContext<DemoMsg>, entries: string[], done: (ok: boolean) => void): void {
    this.writing = true;
    const data = encoder.encode(entries.map(encodeEntry).join(''));
    ctx.disk.append(LOG_FILE, data, (r) => {
      if (!r.ok) {
        this.writing = false;
        ctx.trace('log.write-failed', { error: r.error.code });
        done(false);
        return;
      }
      this.log.push(...entries);
      const target = this.log.length;
      const sync = (s: DiskResult<void>): void => {
        if (!s.ok) {
          // Retry the fsync: the data stays in the page cache meanwhile.
          ctx.disk.fsync(LOG_FILE, sync);
          return;
        }
        this.writing = false;
        if (target > this.durable) this.durable = target;
        done(true);
      };
      ctx.disk.fsync(LOG_FILE, sync);
    });
  }

  protected abstract onReady(ctx: NodeContext<DemoMsg>): void;
  abstract onMessage(ctx: NodeContext<DemoMsg>, from: string, msg: DemoMsg): void;
  abstract onTimer(ctx: NodeContext<DemoMsg>, tag: string): void;
}

export class Primary extends LogNode {
  /** Durable length acknowledged by each backup. */
  readonly acked = new Map<string, number>(BACKUPS.map((b) => [b, 0]));
  committed = 0;
  private queue: string[] = [];
  /** Values in the log or queued for it, with their index once in the log. */
  private readonly present = new Map<string, number>();

  protected onReady(ctx: NodeContext<DemoMsg>): void {
    for (let i = 0; i < this.log.length; i++) this.present.set(this.log[i] as string, i);
    ctx.setTimer(HEARTBEAT_MS, 'heartbeat');
  }

  onMessage(ctx: NodeContext<DemoMsg>, from: string, msg: DemoMsg): void {
    if (!this.ready) return;
    if (msg.type === 'write') {
      const i = this.present.get(msg.value);
      if (i !== undefined && i >= 0 && i < this.committed) ctx.send(from, { type: 'ok', value: msg.value });
      if (i !== undefined) return;
      this.present.set(msg.value, -1);
      this.queue.push(msg.value);
      this.flush(ctx);
    } else if (msg.type === 'ack') {
      this.acked.set(from, msg.length);
      this.advanceCommit(ctx);
      if (msg.length < this.durable) this.ship(ctx, from);
    }
  }

  onTimer(ctx: NodeContext<DemoMsg>, tag: string): void {
    if (tag !== 'heartbeat') return;
    for (const b of BACKUPS) this.ship(ctx, b);
    this.flush(ctx);
    ctx.setTimer(HEARTBEAT_MS, 'heartbeat');
  }

  private flush(ctx: NodeContext<DemoMsg>): void {
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, BATCH_MAX);
    this.persist(ctx, batch, (ok) => {
      if (!ok) {
        for (const v of batch) this.present.delete(v); // the client will resend
      } else {
        for (let k = 0; k < batch.length; k++) this.present.set(batch[k] as string, this.log.length - batch.length + k);
        for (const b of BACKUPS) this.ship(ctx, b);
        this.advanceCommit(ctx);
      }
      this.flush(ctx);
    });
  }

  private ship(ctx: NodeContext<DemoMsg>, backup: string): void {
    const from = this.acked.get(backup) ?? 0;
    if (from >= this.durable) return;
    ctx.send(backup, { type: 'append', from, entries: this.log.slice(from, Math.min(this.durable, from + BATCH_MAX)) });
  }

  private advanceCommit(ctx: NodeContext<DemoMsg>): void {
    // Durable on two of three: the primary and the better backup.
    const best = Math.max(...BACKUPS.map((b) => this.acked.get(b) ?? 0));
    const commit = Math.min(this.durable, best);
    while (this.committed < commit) {
      const value = this.log[this.committed] as string;
      ctx.trace('log.commit', { index: this.committed, value });
      ctx.send(CLIENT, { type: 'ok', value });
      this.committed++;
    }
  }
}

export class Backup extends LogNode {
  protected onReady(): void {}

  onMessage(ctx: NodeContext<DemoMsg>, from: string, msg: DemoMsg): void {
    if (!this.ready || msg.type !== 'append') return;
    if (this.writing) return; // the primary resends on its next heartbeat
    if (msg.from > this.log.length) {
      ctx.send(from, { type: 'ack', length: this.durable });
      return;
    }
    // Entries below our length are already here (the primary's log only grows).
    const fresh = msg.entries.slice(this.log.length - msg.from);
    if (fresh.length === 0) {
      ctx.send(from, { type: 'ack', length: this.durable });
      return;
    }
    this.persist(ctx, fresh, () => ctx.send(from, { type: 'ack', length: this.durable }));
  }

  onTimer(): void {}
}

/**
 * Writes a new value every `intervalMs` until `stopMs` (local time), resending what is not
 * acknowledged. Values are `<incarnation tag>-<n>`, unique across restarts of the client.
 */
export class Client implements Node<DemoMsg> {
  readonly acked = new Set<string>();
  private readonly unacked = new Set<string>();
  private next = 0;
  private tag = '';

  constructor(
    private readonly intervalMs: number,
    private readonly stopMs: number,
  ) {}

  start(ctx: NodeContext<DemoMsg>): void {
    this.tag = ctx.random.int(0, 0xffffff).toString(16);
    ctx.setTimer(this.intervalMs, 'write');
    ctx.setTimer(300, 'resend');
  }

  onMessage(ctx: NodeContext<DemoMsg>, _from: string, msg: DemoMsg): void {
    if (msg.type !== 'ok' || this.acked.has(msg.value)) return;
    this.acked.add(msg.value);
    this.unacked.delete(msg.value);
    ctx.trace('client.ok', { value: msg.value });
  }

  onTimer(ctx: NodeContext<DemoMsg>, tag: string): void {
    if (tag === 'write') {
      if (ctx.now() >= this.stopMs) return;
      const value = `${this.tag}-${this.next++}`;
      this.unacked.add(value);
      ctx.send(PRIMARY, { type: 'write', value });
      ctx.setTimer(this.intervalMs, 'write');
    } else if (tag === 'resend') {
      let n = 0;
      for (const v of this.unacked) {
        if (n++ >= BATCH_MAX) break;
        ctx.send(PRIMARY, { type: 'write', value: v });
      }
      ctx.setTimer(300, 'resend');
    }
  }

  get outstanding(): number {
    return this.unacked.size;
  }
}
