// The world: the scheduler, random streams, network, disks, clocks and processes of one run.
//
// A node is a state machine (core/ports.ts) the world drives with events: start, message,
// timer, disk completion, disconnect. The world owns everything a node must not survive:
// a crash discards the node's object (memory), its timers and its queued disk operations, and
// applies power-loss semantics to its disk; a restart builds a new object that recovers from the
// disk. A pause (a stop-the-world GC pause, a frozen VM) queues the node's events while its clock
// keeps running, and delivers them, in order, when it ends.
//
// Invariants are named checks run after every event; the first one to fail stops the run at that
// event, with the time and the seed. A handler that throws (an assertion inside protocol code)
// stops the run the same way.

import type { DiskCallback, DiskPort, DiskResult, Node, NodeContext, StartReason, TimerId, TraceFields } from '../core/ports.js';
import { NodeClock } from './clock.js';
import { DEFAULT_DISK, type DiskConfig, type DiskFault, type DiskOpKind, SimDisk } from './disk.js';
import { DEFAULT_CHANNEL, DEFAULT_NETWORK, type InFlight, Network, type NetworkConfig } from './network.js';
import { RandomStreams, type Rng } from './rng.js';
import { type RunLimits, type RunStatus, Scheduler } from './scheduler.js';
import { Trace, type TraceRecord } from './trace.js';

export interface WorldOptions {
  seed: number;
  network?: Partial<NetworkConfig>;
  disk?: Partial<DiskConfig>;
  /** Keep every trace record in memory (for JSONL export and divergence reports). */
  record?: boolean;
  /** A short label for a message in the trace (default: its `type` field, if any). */
  describeMessage?: (msg: unknown) => string;
  /**
   * The channel (connection) a message travels on between two nodes (default: `default` for all).
   * A Kafka broker keeps separate connections to the controller for heartbeats, AlterPartition and
   * metadata fetches; requests and their responses share one.
   */
  channelOf?: (msg: unknown) => string;
}

export interface NodeOptions {
  /** Initial offset of the node's local clock from simulated time. */
  clockOffsetMs?: number;
  /** Initial drift of the node's local clock, in parts per million. */
  clockDriftPpm?: number;
}

/** A named check. `afterEvent` runs after every event; `atEnd` once, when the run is judged. */
export interface Invariant {
  readonly name: string;
  afterEvent?(world: World): string | undefined;
  atEnd?(world: World): string | undefined;
}

export interface Failure {
  readonly kind: 'invariant' | 'node-error';
  /** The invariant's name, or `node-error`. */
  readonly name: string;
  readonly detail: string;
  readonly timeMs: number;
  readonly node: string | undefined;
  /** The last trace record before the failure was seen. */
  readonly lastEvent: TraceRecord | undefined;
  readonly traceIndex: number;
}

export interface RunResult {
  readonly status: RunStatus | 'failed';
  readonly failure: Failure | undefined;
  readonly simulatedMs: number;
  readonly events: number;
}

interface TimerEntry {
  readonly tag: string;
  readonly localDeadlineMs: number;
  ev: ReturnType<Scheduler['at']>;
}

class NodeSlot {
  instance: Node | undefined;
  ctx: NodeContext | undefined;
  up = false;
  incarnation = 0;
  pausedUntilMs = 0;
  paused = false;
  pauseQueue: (() => void)[] = [];
  /** The incarnation a clean shutdown was requested of (it is still running while it flushes). */
  shuttingDown: number | undefined;
  /** Restart as soon as the process stops: healAll found it in the middle of a clean shutdown. */
  restartWhenStopped = false;
  readonly timers = new Map<TimerId, TimerEntry>();
  constructor(
    readonly name: string,
    readonly factory: () => Node,
    readonly clock: NodeClock,
    readonly disk: SimDisk,
    readonly random: Rng,
  ) {}
}

export class World {
  readonly seed: number;
  readonly scheduler = new Scheduler();
  readonly streams: RandomStreams;
  readonly trace: Trace;
  readonly network: Network;
  private readonly slots = new Map<string, NodeSlot>();
  private readonly invariants: Invariant[] = [];
  private readonly diskConfig: DiskConfig;
  private readonly describe: (msg: unknown) => string;
  private readonly channelOf: (msg: unknown) => string;
  private timerCounter = 0;
  private currentCause: string | undefined;
  private currentNode: string | undefined;
  private failure: Failure | undefined;

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.streams = new RandomStreams(options.seed);
    this.trace = new Trace({ record: options.record ?? false });
    this.diskConfig = { ...DEFAULT_DISK, ...options.disk };
    this.describe = options.describeMessage ?? defaultDescribe;
    this.channelOf = options.channelOf ?? (() => DEFAULT_CHANNEL);
    const netConfig: NetworkConfig = { ...DEFAULT_NETWORK, ...options.network };
    this.network = new Network(
      {
        scheduler: this.scheduler,
        stream: (name) => this.streams.stream(name),
        isUp: (node) => this.slots.get(node)?.up ?? false,
        deliver: (m) => this.deliver(m),
        notifyDisconnect: (node, peer, channel, cause) => this.notifyDisconnect(node, peer, channel, cause),
        trace: (node, kind, cause, fields) => this.trace.emit(this.scheduler.now, node, kind, cause, fields),
        describe: this.describe,
      },
      netConfig,
    );
    this.scheduler.afterEach = () => this.afterEvent();
  }

  get now(): number {
    return this.scheduler.now;
  }

  get nodeNames(): string[] {
    return [...this.slots.keys()];
  }

  // -------------------------------------------------------------------------------------------
  // Building the world

  addNode(name: string, factory: () => Node, options: NodeOptions = {}): void {
    if (this.slots.has(name)) throw new Error(`node ${name} already exists`);
    if (name === 'world') throw new Error('"world" is reserved for the simulator');
    const slot = new NodeSlot(
      name,
      factory,
      new NodeClock(options.clockOffsetMs ?? 0, options.clockDriftPpm ?? 0),
      new SimDisk(
        name,
        { scheduler: this.scheduler, trace: (kind, cause, fields) => this.trace.emit(this.scheduler.now, name, kind, cause, fields) },
        this.streams.stream(`disk/${name}`),
        this.diskConfig,
      ),
      this.streams.stream(`node/${name}`),
    );
    this.slots.set(name, slot);
  }

  addInvariant(inv: Invariant): void {
    this.invariants.push(inv);
  }

  /** The live object of a node, for checkers (undefined while it is down). */
  nodeState<T extends Node>(name: string): T | undefined {
    return this.slot(name).instance as T | undefined;
  }

  isUp(name: string): boolean {
    return this.slot(name).up;
  }

  isPaused(name: string): boolean {
    return this.slot(name).paused;
  }

  disk(name: string): SimDisk {
    return this.slot(name).disk;
  }

  localTime(name: string): number {
    return this.slot(name).clock.local(this.now);
  }

  // -------------------------------------------------------------------------------------------
  // Running

  /** Start every node that is not running yet, now. */
  startAll(): void {
    for (const name of this.slots.keys()) if (!this.slot(name).up) this.start(name, 'boot');
  }

  run(limits: RunLimits = {}): RunResult {
    if (this.failure !== undefined) return this.result('failed');
    const status = this.scheduler.run(limits);
    return this.result(status === 'stopped' && this.failure !== undefined ? 'failed' : status);
  }

  /** Run the end-of-run checks; the first failure is returned (and recorded). */
  checkAtEnd(): Failure | undefined {
    if (this.failure !== undefined) return this.failure;
    for (const inv of this.invariants) {
      const detail = inv.atEnd?.(this);
      if (detail !== undefined) {
        this.fail('invariant', inv.name, detail, undefined);
        break;
      }
    }
    return this.failure;
  }

  get firstFailure(): Failure | undefined {
    return this.failure;
  }

  private result(status: RunStatus | 'failed'): RunResult {
    return { status, failure: this.failure, simulatedMs: this.now, events: this.scheduler.eventsExecuted };
  }

  /** Schedule a world-level action (a fault, a workload step) at simulated time `atMs`. */
  at(atMs: number, cause: string | undefined, action: () => void): void {
    this.scheduler.at(atMs, () => this.asWorld(cause, action));
  }

  private asWorld(cause: string | undefined, action: () => void): void {
    const prevCause = this.currentCause;
    this.currentCause = cause;
    try {
      action();
    } finally {
      this.currentCause = prevCause;
    }
  }

  private afterEvent(): void {
    if (this.failure !== undefined || this.invariants.length === 0) return;
    for (let i = 0; i < this.invariants.length; i++) {
      const inv = this.invariants[i] as Invariant;
      if (inv.afterEvent === undefined) continue;
      const detail = inv.afterEvent(this);
      if (detail !== undefined) {
        this.fail('invariant', inv.name, detail, undefined);
        return;
      }
    }
  }

  private fail(kind: Failure['kind'], name: string, detail: string, node: string | undefined): void {
    if (this.failure !== undefined) return;
    const recs = this.trace.recorded;
    this.failure = { kind, name, detail, timeMs: this.now, node, lastEvent: recs[recs.length - 1], traceIndex: this.trace.length };
    this.trace.emit(this.now, node ?? 'world', kind === 'invariant' ? 'invariant.failed' : 'node.error', this.currentCause, { name, detail });
    this.scheduler.stop(`${name}: ${detail}`);
  }

  /** World-level trace event (faults, the nemesis, the workload). */
  emit(kind: string, fields?: TraceFields, node = 'world'): void {
    this.trace.emit(this.now, node, kind, this.currentCause, fields);
  }

  // -------------------------------------------------------------------------------------------
  // Dispatching events to nodes

  /** Run `fn` as node `name`'s handler: dropped if the node is down, queued if it is paused. */
  private dispatch(slot: NodeSlot, incarnation: number, cause: string, fn: (node: Node, ctx: NodeContext) => void): void {
    if (!slot.up || slot.incarnation !== incarnation) return;
    if (slot.paused) {
      slot.pauseQueue.push(() => this.dispatch(slot, incarnation, cause, fn));
      return;
    }
    const prevCause = this.currentCause;
    const prevNode = this.currentNode;
    this.currentCause = cause;
    this.currentNode = slot.name;
    try {
      fn(slot.instance as Node, slot.ctx as NodeContext);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.fail('node-error', 'node-error', `${slot.name}: ${msg}`, slot.name);
    } finally {
      this.currentCause = prevCause;
      this.currentNode = prevNode;
    }
  }

  private deliver(m: InFlight): void {
    const slot = this.slot(m.to);
    this.trace.emit(this.now, m.to, 'net.deliver', m.id, { from: m.from, type: this.describe(m.msg) });
    this.dispatch(slot, slot.incarnation, m.id, (node, ctx) => node.onMessage(ctx, m.from, m.msg));
  }

  private notifyDisconnect(name: string, peer: string, channel: string, cause: string): void {
    const slot = this.slot(name);
    this.trace.emit(this.now, name, 'net.disconnected', cause, { peer, channel: channel === DEFAULT_CHANNEL ? undefined : channel });
    this.dispatch(slot, slot.incarnation, cause, (node, ctx) => node.onDisconnect?.(ctx, peer, channel));
  }

  private start(name: string, reason: StartReason): void {
    const slot = this.slot(name);
    slot.up = true;
    slot.incarnation++;
    slot.paused = false;
    slot.pauseQueue = [];
    slot.instance = slot.factory();
    slot.ctx = this.makeContext(slot, slot.incarnation);
    this.trace.emit(this.now, name, reason === 'boot' ? 'node.boot' : 'node.restart', this.currentCause, { incarnation: slot.incarnation });
    this.dispatch(slot, slot.incarnation, `start:${name}.${slot.incarnation}`, (node, ctx) => node.start(ctx, reason));
  }

  private makeContext(slot: NodeSlot, incarnation: number): NodeContext {
    const live = () => slot.up && slot.incarnation === incarnation;
    const diskOp = <T>(kind: DiskOpKind, args: Parameters<SimDisk['submit']>[1], cb?: DiskCallback<T>): void => {
      if (!live()) return;
      const opId = slot.disk.submit(kind, args, (result: DiskResult<unknown>) => {
        if (cb === undefined) return;
        this.dispatch(slot, incarnation, opId, () => cb(result as DiskResult<T>));
      });
      this.trace.emit(this.now, slot.name, 'disk.submit', this.currentCause, {
        op: kind,
        id: opId,
        file: args.file,
        ...(args.data === undefined ? {} : { bytes: args.data.length }),
      });
    };
    const disk: DiskPort = {
      append: (file, data, cb) => diskOp('append', { file, data }, cb),
      writeAt: (file, offset, data, cb) => diskOp('writeAt', { file, offset, data }, cb),
      read: (file, offset, length, cb) => diskOp('read', { file, offset, length }, cb),
      readAll: (file, cb) => diskOp('readAll', { file }, cb),
      truncate: (file, length, cb) => diskOp('truncate', { file, length }, cb),
      fsync: (file, cb) => diskOp('fsync', { file }, cb),
      rename: (from, to, cb) => diskOp('rename', { file: from, to }, cb),
      delete: (file, cb) => diskOp('delete', { file }, cb),
      list: (prefix, cb) => diskOp('list', { file: prefix }, cb),
      size: (file, cb) => diskOp('size', { file }, cb),
    };
    return {
      name: slot.name,
      now: () => slot.clock.local(this.now),
      send: (to, msg, sizeBytes) => {
        if (!live()) return;
        if (!this.slots.has(to)) throw new Error(`${slot.name} sent to unknown node ${to}`);
        this.network.send(slot.name, to, msg, sizeBytes, this.currentCause, this.channelOf(msg));
      },
      disconnect: (peer, channel) => {
        if (!live()) return;
        this.network.close(slot.name, peer, this.currentCause, channel);
      },
      setTimer: (delayMs, tag) => {
        if (!(delayMs >= 0)) throw new Error(`${slot.name}: timer ${tag} with negative or NaN delay ${delayMs}`);
        const id = this.timerCounter++;
        if (!live()) return id;
        const localDeadlineMs = slot.clock.local(this.now) + delayMs;
        const entry: TimerEntry = { tag, localDeadlineMs, ev: this.scheduleTimer(slot, incarnation, id, tag, localDeadlineMs) };
        slot.timers.set(id, entry);
        return id;
      },
      cancelTimer: (id) => {
        const t = slot.timers.get(id);
        if (t === undefined) return;
        this.scheduler.cancel(t.ev);
        slot.timers.delete(id);
      },
      disk,
      random: slot.random,
      trace: (kind, fields) => {
        if (!live()) return;
        this.trace.emit(this.now, slot.name, kind, this.currentCause, fields);
      },
      halt: (reason) => {
        if (!live()) return;
        this.stop(slot.name, { keepPageCache: true, reason });
      },
    };
  }

  private scheduleTimer(slot: NodeSlot, incarnation: number, id: TimerId, tag: string, localDeadlineMs: number): ReturnType<Scheduler['at']> {
    return this.scheduler.at(slot.clock.toSim(localDeadlineMs, this.now), () => {
      slot.timers.delete(id);
      const cause = `t${id}`;
      this.trace.emit(this.now, slot.name, 'timer.fire', cause, { tag });
      this.dispatch(slot, incarnation, cause, (node, ctx) => node.onTimer(ctx, tag, id));
    });
  }

  /** After a clock change, every pending timer of the node is re-converted to simulated time. */
  private rescheduleTimers(slot: NodeSlot): void {
    // In deadline order (ties: the order they were set), so that timers a forward step makes
    // overdue, which all land on the same instant, still fire in local-clock order.
    const timers = [...slot.timers.entries()].sort((x, y) => x[1].localDeadlineMs - y[1].localDeadlineMs || x[0] - y[0]);
    for (const [id, t] of timers) {
      this.scheduler.cancel(t.ev);
      t.ev = this.scheduleTimer(slot, slot.incarnation, id, t.tag, t.localDeadlineMs);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Process and clock faults (called by the fault executor, or directly by tests)

  /** Power loss on the node's machine: memory, timers and unsynced writes may be lost. */
  crash(name: string): boolean {
    return this.stop(name, { keepPageCache: false });
  }

  /**
   * Stop the node's process. With `keepPageCache` (the process exited, the machine stayed up) its
   * queued disk operations are dropped but everything already written stays; otherwise power-loss
   * semantics apply to its disk.
   */
  private stop(name: string, how: { keepPageCache: boolean; reason?: string }): boolean {
    const slot = this.slot(name);
    if (!slot.up) return false;
    slot.up = false;
    slot.instance = undefined;
    slot.ctx = undefined;
    slot.paused = false;
    slot.pauseQueue = [];
    for (const t of slot.timers.values()) this.scheduler.cancel(t.ev);
    slot.timers.clear();
    slot.shuttingDown = undefined;
    if (how.keepPageCache) {
      slot.disk.dropQueue();
      this.emit('node.halt', { reason: how.reason ?? '' }, name);
    } else {
      const lost = slot.disk.crash();
      this.emit('node.crash', { ...lost }, name);
    }
    this.network.breakAllOf(name, this.currentCause);
    if (slot.restartWhenStopped) {
      slot.restartWhenStopped = false;
      this.scheduler.at(this.now, () => this.restart(name));
    }
    return true;
  }

  restart(name: string): boolean {
    const slot = this.slot(name);
    if (slot.up) return false;
    this.start(name, slot.incarnation === 0 ? 'boot' : 'restart');
    return true;
  }

  /**
   * Ask the node to shut down cleanly (SIGTERM): its `onShutdown` runs and it halts when done, or
   * at once if it has no such handler. If it has not halted within `graceMs`, it is killed
   * (halted, page cache kept), as an operator's kill -9 after a timeout.
   */
  shutdown(name: string, graceMs = 30_000): boolean {
    const slot = this.slot(name);
    if (!slot.up) return false;
    const incarnation = slot.incarnation;
    slot.shuttingDown = incarnation;
    this.emit('node.shutdown-requested', { graceMs }, name);
    const handler = slot.instance?.onShutdown;
    if (handler === undefined) {
      this.stop(name, { keepPageCache: true, reason: 'shutdown' });
      return true;
    }
    this.dispatch(slot, incarnation, `shutdown:${name}.${incarnation}`, (node, ctx) => node.onShutdown?.(ctx));
    this.scheduler.at(this.now + graceMs, () => {
      if (slot.up && slot.incarnation === incarnation) this.stop(name, { keepPageCache: true, reason: 'shutdown grace period expired: killed' });
    });
    return true;
  }

  /** Crash the node if it runs, and give it an empty disk. It stays down until restarted. */
  wipe(name: string): void {
    this.crash(name);
    this.slot(name).disk.wipe();
    this.emit('node.wipe', undefined, name);
  }

  /** Stop the world for this node for `durationMs`: its events queue; its clock keeps running. */
  pause(name: string, durationMs: number): boolean {
    const slot = this.slot(name);
    if (!slot.up) return false;
    const until = this.now + durationMs;
    if (slot.paused && until <= slot.pausedUntilMs) return true;
    slot.paused = true;
    slot.pausedUntilMs = until;
    const incarnation = slot.incarnation;
    this.emit('node.pause', { durationMs }, name);
    this.scheduler.at(until, () => {
      if (slot.incarnation !== incarnation || !slot.paused || slot.pausedUntilMs !== until) return;
      this.resume(slot);
    });
    return true;
  }

  private resume(slot: NodeSlot): void {
    slot.paused = false;
    const queued = slot.pauseQueue;
    slot.pauseQueue = [];
    this.trace.emit(this.now, slot.name, 'node.resume', undefined, { queued: queued.length });
    // Each queued event becomes its own event again, in the order it arrived.
    for (const fn of queued) this.scheduler.at(this.now, fn);
  }

  clockStep(name: string, deltaMs: number): void {
    const slot = this.slot(name);
    slot.clock.step(this.now, deltaMs);
    this.emit('clock.step', { deltaMs }, name);
    this.rescheduleTimers(slot);
  }

  clockDrift(name: string, ppm: number): void {
    const slot = this.slot(name);
    slot.clock.setDrift(this.now, ppm);
    this.emit('clock.drift', { ppm }, name);
    this.rescheduleTimers(slot);
  }

  diskFault(name: string, fault: DiskFault): void {
    const what = this.slot(name).disk.inject(fault);
    this.emit('disk.fault', { kind: fault.kind, what }, name);
  }

  /**
   * The end of the fault phase: no partitions or clogs, no disk faults, no clock drift, every
   * paused node resumed and every crashed node restarted (a node in the middle of a clean shutdown
   * finishes it and is restarted as it stops). Clock offsets from steps remain.
   */
  healAll(): void {
    this.network.heal();
    this.emit('world.heal-all');
    for (const name of this.slots.keys()) {
      const slot = this.slot(name);
      slot.disk.clearFaults();
      if (slot.clock.driftPpm !== 0) this.clockDrift(name, 0);
      if (slot.paused) this.resume(slot);
      if (!slot.up) this.restart(name);
      // A clean shutdown still flushing is let finish; the process is then started again at once.
      else if (slot.shuttingDown === slot.incarnation) slot.restartWhenStopped = true;
    }
  }

  private slot(name: string): NodeSlot {
    const s = this.slots.get(name);
    if (s === undefined) throw new Error(`unknown node ${name}`);
    return s;
  }
}

function defaultDescribe(msg: unknown): string {
  if (typeof msg === 'object' && msg !== null && 'type' in msg) return String((msg as { type: unknown }).type);
  return typeof msg;
}
