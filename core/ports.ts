// The ports a ksim node is written against.
//
// Every process (broker, controller, client) is an event-driven state machine. It never does I/O
// itself: it is handed a NodeContext and acts only through it. The simulator (sim/) implements
// these ports; a production runtime could implement them with sockets and files without any
// change to the node. Nothing here may assume it is simulated.
//
// One event is one step: a handler runs to completion, and everything it asks for (a message, a
// timer, a disk operation) happens in a later event. There is no async/await in protocol code.

/** A node's behaviour. A fresh instance is created on every start, so memory never survives a crash. */
export interface Node<M = unknown> {
  /** The process starts: `boot` on first start, `restart` after a crash (recover from disk). */
  start(ctx: NodeContext<M>, reason: StartReason): void;
  /** A message arrived from `from` on the connection between the two nodes. */
  onMessage(ctx: NodeContext<M>, from: string, msg: M): void;
  /** A timer set with `ctx.setTimer` fired. */
  onTimer(ctx: NodeContext<M>, tag: string, id: TimerId): void;
  /**
   * The connection to `peer` on `channel` broke (reset, partition detected, peer crashed). Messages
   * this node sent on it that had not been delivered are lost. The next `send` on it opens a new one.
   */
  onDisconnect?(ctx: NodeContext<M>, peer: string, channel: string): void;
  /**
   * The operator asks the process to stop (SIGTERM): it should finish what it must (flush, write
   * its clean-shutdown marker) and then call `ctx.halt`. A node without this handler halts at once.
   */
  onShutdown?(ctx: NodeContext<M>): void;
}

export type StartReason = 'boot' | 'restart';
export type TimerId = number;

export interface NodeContext<M = unknown> {
  /** This node's name (`b1`, `c1`, `p1`, …). */
  readonly name: string;
  /** The node's local clock in ms: simulated time plus this node's offset and drift. */
  now(): number;
  /**
   * Send a message to `to` over the (TCP-like) connection between the two nodes: FIFO, never
   * duplicated, lost only when the connection breaks. `sizeBytes` feeds the bandwidth model.
   * A pair of nodes may hold several connections, one per channel: the channel is chosen by the
   * message's type (protocol.ts `channelOf`), as each of a Kafka broker's clients owns its own
   * connection, and a response travels on its request's.
   */
  send(to: string, msg: M, sizeBytes?: number): void;
  /**
   * Close the connection to `peer` on `channel` (default: the default channel), as a client does on
   * a request timeout. Both ends are told.
   */
  disconnect(peer: string, channel?: string): void;
  /** Fire `onTimer(tag)` after `delayMs` of this node's local clock. */
  setTimer(delayMs: number, tag: string): TimerId;
  cancelTimer(id: TimerId): void;
  readonly disk: DiskPort;
  readonly random: RandomPort;
  /** Record a structured trace event (it also feeds the run's trace hash). */
  trace(kind: string, fields?: TraceFields): void;
  /**
   * The process exits (as Kafka halts when its only log directory fails). Unlike a crash the
   * machine stays up: what the process wrote to the page cache is kept. The node stays down until
   * it is restarted.
   */
  halt(reason: string): void;
}

export type TraceFields = Record<string, string | number | boolean | null | undefined | readonly (string | number)[]>;

/** A node's private random stream, derived from the run's root seed and the node's name. */
export interface RandomPort {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

// ---------------------------------------------------------------------------------------------
// Disk

export type DiskErrorCode = 'ENOENT' | 'ENOSPC' | 'EIO' | 'EEXIST';

export class DiskError extends Error {
  constructor(
    readonly code: DiskErrorCode,
    readonly op: string,
    readonly file: string,
  ) {
    super(`${code}: ${op} ${file}`);
    this.name = 'DiskError';
  }
}

/** The outcome of a disk operation: a value, or the error the operation failed with. */
export type DiskResult<T> = { ok: true; value: T } | { ok: false; error: DiskError };
export type DiskCallback<T> = (result: DiskResult<T>) => void;

/**
 * A node's file system. Every operation is asynchronous: it completes in a later event, in the
 * order operations were issued, and its callback runs then. A callback never runs if the node
 * crashed in between. Writes land in a volatile page cache; `fsync` makes a file's contents
 * durable; on a crash, what was not durable may be dropped, kept or torn.
 */
export interface DiskPort {
  /** Append `data` at the end of `file`, creating it if needed. Yields the offset written at. */
  append(file: string, data: Uint8Array, cb?: DiskCallback<number>): void;
  /** Write `data` at `offset` (extending the file if needed; never leaving a hole). */
  writeAt(file: string, offset: number, data: Uint8Array, cb?: DiskCallback<void>): void;
  /** Read up to `length` bytes at `offset` (fewer at the end of the file). */
  read(file: string, offset: number, length: number, cb: DiskCallback<Uint8Array>): void;
  /** The whole current contents of `file`. */
  readAll(file: string, cb: DiskCallback<Uint8Array>): void;
  /** Cut `file` to `length` bytes. */
  truncate(file: string, length: number, cb?: DiskCallback<void>): void;
  /** Make `file`'s current contents durable. */
  fsync(file: string, cb?: DiskCallback<void>): void;
  /** Atomically replace `to` by `from` (durable once complete). */
  rename(from: string, to: string, cb?: DiskCallback<void>): void;
  delete(file: string, cb?: DiskCallback<void>): void;
  /** The names of the files that start with `prefix`, sorted. */
  list(prefix: string, cb: DiskCallback<string[]>): void;
  /** The size of `file` in bytes. */
  size(file: string, cb: DiskCallback<number>): void;
}
