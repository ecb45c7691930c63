// Test rig for the log layer: a World with one tiny node ('b1') that loads a PartitionLog on every
// start, with fixed 1 ms disk latencies so that tests can aim crashes between operations.
import { encodeBatch, type LogRecord, makeBatch } from '../../../core/log/batch.js';
import { type LoadOptions, PartitionLog, type PartitionLogDeps } from '../../../core/log/partition-log.js';
import type { DiskError, Node, NodeContext, TraceFields } from '../../../core/ports.js';
import type { DiskConfig } from '../../../sim/disk.js';
import { World } from '../../../sim/world.js';

export const FIXED_LATENCY: DiskConfig['latencyMs'] = { write: [1, 1], read: [1, 1], fsync: [1, 1], meta: [1, 1] };
const MAX = Number.MAX_SAFE_INTEGER;

export interface LogConfig {
  segmentBytes: number;
  indexIntervalBytes: number;
  flushIntervalMessages: number;
  flushIntervalMs: number;
}

export const rec = (i: number): LogRecord => ({ key: `k${i}`, value: `value-${i}`, timestampMs: 1000 + i });

/** An encoded client batch of `count` records (numbered from `first`), optionally idempotent. */
export function clientBatch(first: number, count: number, producer?: { producerId: number; producerEpoch: number; baseSequence: number }): Uint8Array {
  return encodeBatch(
    makeBatch(
      Array.from({ length: count }, (_, i) => rec(first + i)),
      producer,
    ),
  );
}

/** An encoded batch as a leader wrote it: at `baseOffset`, stamped with `epoch`. */
export function leaderBatch(baseOffset: number, count: number, epoch: number): Uint8Array {
  return encodeBatch({ ...makeBatch(Array.from({ length: count }, (_, i) => rec(baseOffset + i))), baseOffset, partitionLeaderEpoch: epoch });
}

class LogNode implements Node {
  log: PartitionLog | undefined;
  readonly errors: DiskError[] = [];
  readonly traces: { kind: string; fields: TraceFields | undefined }[] = [];
  ctx: NodeContext | undefined;
  constructor(
    private readonly config: LogConfig,
    private readonly loadOptions: () => LoadOptions | 'create',
  ) {}
  start(ctx: NodeContext): void {
    this.ctx = ctx;
    const deps: PartitionLogDeps = {
      disk: ctx.disk,
      trace: (kind, fields) => {
        this.traces.push({ kind, fields });
        ctx.trace(kind, fields);
      },
      now: () => ctx.now(),
      onStorageError: (e) => this.errors.push(e),
      ...this.config,
    };
    const opts = this.loadOptions();
    if (opts === 'create') this.log = PartitionLog.createEmpty(deps, 't', 0);
    else PartitionLog.load(deps, 't', 0, opts, (log) => (this.log = log));
  }
  onMessage(): void {}
  onTimer(): void {}
  trace(kind: string): TraceFields | undefined {
    return this.traces.filter((t) => t.kind === kind).at(-1)?.fields;
  }
}

export interface Rig {
  readonly w: World;
  node(): LogNode;
  /** The node's live log (throws if it is down or still loading). */
  log(): PartitionLog;
  /** Let queued disk operations complete. */
  settle(ms?: number): void;
  /** Power loss, then a restart that loads the log with these options. */
  crashAndRestart(opts: LoadOptions): void;
  /** The visible contents of a file of the partition directory. */
  file(name: string): Uint8Array | undefined;
  durable(name: string): Uint8Array | undefined;
}

export function logRig(config: Partial<LogConfig> = {}, disk: Partial<DiskConfig> = {}, seed = 1): Rig {
  const w = new World({ seed, disk: { latencyMs: FIXED_LATENCY, ...disk } });
  let next: LoadOptions | 'create' = { recoveryPoint: 0, highWatermark: 0, hadCleanShutdown: false };
  const full: LogConfig = { segmentBytes: 64 * 1024, indexIntervalBytes: 4096, flushIntervalMessages: MAX, flushIntervalMs: MAX, ...config };
  w.addNode('b1', () => new LogNode(full, () => next));
  const node = (): LogNode => {
    const n = w.nodeState<LogNode>('b1');
    if (n === undefined) throw new Error('b1 is down');
    return n;
  };
  const settle = (ms = 50): void => {
    w.run({ untilMs: w.now + ms });
    if (w.firstFailure !== undefined) throw new Error(`run failed: ${w.firstFailure.detail}`);
  };
  w.startAll();
  settle();
  return {
    w,
    node,
    log: () => {
      const l = node().log;
      if (l === undefined) throw new Error('the log is not loaded');
      return l;
    },
    settle,
    crashAndRestart: (opts) => {
      w.crash('b1');
      next = opts;
      w.restart('b1');
      settle();
    },
    file: (name) => w.disk('b1').visibleContents(`t-0/${name}`),
    durable: (name) => w.disk('b1').durableContents(`t-0/${name}`),
  };
}

export const SEG0 = '00000000000000000000';
