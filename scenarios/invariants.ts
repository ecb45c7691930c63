// The per-event invariants of DESIGN.md §4, named as in Kafka's raft simulation tests
// (MonotonicHighWatermark, SingleLeader, MonotonicEpoch) and the TLA+ specs (hachikuji's
// KafkaReplication.tla StrongIsr / LeaderInIsr, Vanlightly's LeaderCompletenessProperty and
// LogMatchingProperty). The world runs them after every scheduler event; the first to fail stops
// the run at that event. ReplicasConverge runs once, when the run is judged (world.checkAtEnd()).
//
// Cost. Every event is followed by a scan of a few numbers per live replica (role, leader epoch,
// high watermark, log end offset, batch count, last batch): a replica whose numbers did not move
// costs nothing more, and a partition none of whose replicas moved is skipped. Logs are compared
// incrementally: each replica remembers how far it has been compared (to the other replicas, and
// to the partition's committed prefix), and truncations are learned from the trace
// (`log.truncated`), so only the part of a log that changed is read again. A restarted broker (a
// new process, logs reloaded from disk) is compared in full once.
//
// The guarantee model (DESIGN.md §4) decides what an invariant may not flag:
// - a replica whose log of a partition was hit by a bit flip is not judged by LogMatching or
//   ReplicasConverge on it: corruption is a fault, and a flip in a batch's leader epoch (outside
//   the CRC, so leaders can restamp it) goes undetected by Kafka as well;
// - after an unclean election on a partition, loss and divergence are permitted there. LogMatching
//   then compares only replicas that have reconciled with the unclean leader (their epoch cache
//   reaches its epoch), and LeaderCompleteness takes the first leader of the new regime's log as
//   the committed truth (records it lacks were lost, as permitted). `allowUncleanDivergence: false`
//   turns both exceptions off.
// - a committed record may be lost when every replica that held it was down or lost its copy to a
//   fault (power loss, wipe, corruption found on load). LeaderCompleteness flags a leader lacking a
//   committed record only while a copy survives: some live replica holds it, or some live replica
//   removed it by truncation in its current process (the protocol destroying a copy is never an
//   excuse). Otherwise the loss is the guarantee model's to judge, and the committed prefix is cut.
//
// - a replica's high watermark read from the replication-offset checkpoint at start is a claim
//   only once confirmed: LogMatching ignores it until the replica leads or a leader's fetch
//   response gives it one. Kafka writes that checkpoint every 5 s, not on truncation, so after a
//   crash it may cover records the log has since replaced (search-kip-279 seed 622: b1 restarts
//   with HW 482 over an epoch-2 tail that the new leader's epoch 3 overwrote from 441; its first
//   fetch would truncate it to 441).
//
// Tracking is per process incarnation where the broker's own state resets on restart: a broker
// replays the controller's metadata log from offset 0 at every start, so its leader epochs start
// again from the beginning (LeaderEpochMonotonic and HighWatermarkMonotonic are per incarnation).
// SingleLeaderPerEpoch remembers (partition, epoch) → broker across the whole run.

import type { Cluster } from './cluster.js';

// -------------------------------------------------------------------------------------------------
// What the invariants read (structural: Broker, Partition, PartitionLog and Controller satisfy it;
// tests may hand in plain objects).

/** A batch of a replica's log (core/log/partition-log.ts LogBatch). */
export interface BatchView {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly partitionLeaderEpoch: number;
  /** The encoded batch (v2): its CRC and size identify its content. */
  readonly bytes: Uint8Array;
}

export interface LogView {
  readonly highWatermark: number;
  /** The high watermark is still the checkpointed one read at load (PartitionLog); absent: false. */
  readonly highWatermarkFromCheckpoint?: boolean;
  readonly logEndOffset: number;
  readonly batches: readonly BatchView[];
  latestEpoch(): number;
}

export interface PartitionView {
  readonly role: 'none' | 'leader' | 'follower';
  readonly leaderEpoch: number;
  readonly log: LogView;
}

export interface BrokerView {
  readonly partitions: ReadonlyMap<string, PartitionView>;
  readonly logs: ReadonlyMap<string, LogView>;
}

export interface RegistrationView {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly elr: readonly number[];
  readonly lastKnownElr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly leaderRecoveryState: string;
}

export interface ControllerView {
  readonly image: { readonly offset: number; readonly partitions: ReadonlyMap<string, RegistrationView> };
}

// -------------------------------------------------------------------------------------------------
// Public API

export const INVARIANT_NAMES = [
  'SingleLeaderPerEpoch',
  'LeaderEpochMonotonic',
  'HighWatermarkMonotonic',
  'LeaderInIsr',
  'IsrElrDisjoint',
  'LeaderCompleteness',
  'LogMatching',
  'ReplicasConverge',
] as const;
export type InvariantName = (typeof INVARIANT_NAMES)[number];

export interface InvariantOptions {
  /**
   * Apply the guarantee model's unclean-election exception (default true): after an unclean
   * election on a partition, LogMatching compares only replicas reconciled with the new leader,
   * and LeaderCompleteness accepts the records that leader lacks as lost. False: no exception.
   */
  allowUncleanDivergence?: boolean;
  /** The controller node's name (default `c1`). */
  controller?: string;
}

export interface InvariantStats {
  /** Events after which the invariants ran. */
  events: number;
  /** Events after which at least one partition's replicas had moved. */
  partitionsExamined: number;
  /** Batches compared (LogMatching, LeaderCompleteness, committed-prefix bookkeeping). */
  batchesCompared: number;
  /** Controller images examined (LeaderInIsr, IsrElrDisjoint). */
  imagesExamined: number;
  /** Partitions where an unclean election was seen, with its leader epoch. */
  uncleanElections: Record<string, number>;
  /** Committed prefixes cut because every copy of a record was lost to a fault (permitted loss). */
  lossesToFaults: string[];
  /** Committed prefixes cut after an unclean election (permitted loss). */
  uncleanRebases: string[];
}

export interface InvariantSet {
  readonly names: readonly InvariantName[];
  readonly stats: InvariantStats;
  /** The committed prefix learned so far for `topic-partition`: its end offset (exclusive). */
  committedEnd(tp: string): number;
}

/** Add the named invariants of DESIGN.md §4 to `c.world`. */
export function installInvariants(c: Cluster, options: InvariantOptions = {}): InvariantSet {
  const engine = new InvariantEngine(c, options);
  const pending = engine.pending;
  INVARIANT_NAMES.forEach((name, i) => {
    if (name === 'ReplicasConverge') {
      c.world.addInvariant({ name, atEnd: () => engine.replicasConverge() });
      return;
    }
    c.world.addInvariant({
      name,
      afterEvent: () => {
        // The first invariant runs the step; the others read what it found for them.
        if (i === 0) engine.step();
        return pending.get(name);
      },
    });
  });
  return { names: [...INVARIANT_NAMES], stats: engine.stats, committedEnd: (tp) => engine.committedEnd(tp) };
}

// -------------------------------------------------------------------------------------------------
// Pure rules (unit-testable on plain data). Each returns undefined when the rule holds, else a
// sentence naming the partition, brokers, offsets and epochs.

/** Leaders seen per `tp@epoch`. SingleLeaderPerEpoch: one broker per (partition, leader epoch), ever. */
export function checkSingleLeader(
  seen: Map<string, { broker: string; atMs: number }>,
  tp: string,
  epoch: number,
  broker: string,
  atMs: number,
): string | undefined {
  const key = `${tp}@${epoch}`;
  const prev = seen.get(key);
  if (prev === undefined) {
    seen.set(key, { broker, atMs });
    return undefined;
  }
  if (prev.broker === broker) return undefined;
  return `${tp}: ${broker} acts as leader in leader epoch ${epoch}, which ${prev.broker} led (first seen at ${prev.atMs} ms): two leaders in one epoch`;
}

/** LeaderEpochMonotonic: a replica's leader epoch never decreases (within one process incarnation). */
export function checkLeaderEpoch(tp: string, broker: string, previous: number, current: number): string | undefined {
  if (current >= previous) return undefined;
  return `${tp}: ${broker}'s leader epoch went from ${previous} back to ${current} (same process)`;
}

/** HighWatermarkMonotonic: a leader's high watermark never decreases within its leader epoch. */
export function checkHighWatermark(tp: string, broker: string, epoch: number, previous: number, current: number): string | undefined {
  if (current >= previous) return undefined;
  return `${tp}: leader ${broker}'s high watermark went from ${previous} back to ${current} within leader epoch ${epoch}`;
}

/** LeaderInIsr: the controller's leader (if any) is a member of the ISR. */
export function checkLeaderInIsr(reg: RegistrationView): string | undefined {
  if (reg.leader < 0 || reg.isr.includes(reg.leader)) return undefined;
  return `${reg.topic}-${reg.partition}: the controller's leader b${reg.leader} (epoch ${reg.leaderEpoch}) is not in its ISR [${reg.isr.join(',')}]`;
}

/**
 * IsrElrDisjoint and the KIP-966 rules on a committed registration: ISR and ELR share no member;
 * both are subsets of the replicas; the ELR is non-empty only while the ISR is below
 * min.insync.replicas; lastKnownElr names at most one broker (last-known-leader mode). With ELR off
 * (fix.kip-966=false) the ELR and lastKnownElr stay empty and the ISR is never empty.
 */
export function checkIsrElr(reg: RegistrationView, o: { minIsr: number; elrEnabled: boolean }): string | undefined {
  const tp = `${reg.topic}-${reg.partition}`;
  const both = reg.isr.filter((r) => reg.elr.includes(r));
  const where = `ISR [${reg.isr.join(',')}], ELR [${reg.elr.join(',')}], leader epoch ${reg.leaderEpoch}`;
  if (both.length > 0) return `${tp}: ${both.map((r) => `b${r}`).join(',')} in both ISR and ELR (${where})`;
  const strangers = [...reg.isr, ...reg.elr, ...reg.lastKnownElr].filter((r) => !reg.replicas.includes(r));
  if (strangers.length > 0)
    return `${tp}: ISR/ELR name non-replicas ${strangers.map((r) => `b${r}`).join(',')} (replicas [${reg.replicas.join(',')}]; ${where})`;
  if (!o.elrEnabled) {
    if (reg.elr.length > 0 || reg.lastKnownElr.length > 0)
      return `${tp}: ELR in use with fix.kip-966 off (${where}, lastKnownElr [${reg.lastKnownElr.join(',')}])`;
    if (reg.isr.length === 0) return `${tp}: empty ISR without ELR (the last replica standing must stay in the ISR; ${where})`;
    return undefined;
  }
  if (reg.elr.length > 0 && reg.isr.length >= o.minIsr)
    return `${tp}: ELR non-empty while the ISR has ${reg.isr.length} ≥ min.insync.replicas ${o.minIsr} members (${where}) (KIP-966)`;
  if (reg.lastKnownElr.length > 1) return `${tp}: lastKnownElr [${reg.lastKnownElr.join(',')}] names more than one broker (KIP-966 last-known-leader mode)`;
  return undefined;
}

/** The CRC-32C field of a v2 batch (bytes 17…20), which covers everything after it. */
export function batchCrc(bytes: Uint8Array): number {
  if (bytes.length < 21) return -1;
  return (((bytes[17] as number) << 24) | ((bytes[18] as number) << 16) | ((bytes[19] as number) << 8) | (bytes[20] as number)) >>> 0;
}

/** Two batches hold the same records: same offsets, leader epoch, size and CRC. */
export function sameBatch(a: BatchView, b: BatchView): boolean {
  return (
    a.baseOffset === b.baseOffset &&
    a.lastOffset === b.lastOffset &&
    a.partitionLeaderEpoch === b.partitionLeaderEpoch &&
    a.bytes.length === b.bytes.length &&
    batchCrc(a.bytes) === batchCrc(b.bytes)
  );
}

export function describeBatch(b: BatchView | undefined): string {
  if (b === undefined) return 'nothing';
  return `batch ${b.baseOffset}..${b.lastOffset} (epoch ${b.partitionLeaderEpoch}, crc ${batchCrc(b.bytes).toString(16).padStart(8, '0')})`;
}

/** Index of the batch containing `offset`, or of the first batch after it (batches.length if none). */
export function batchIndexAtOrAfter(batches: readonly BatchView[], offset: number): number {
  let lo = 0;
  let hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((batches[mid] as BatchView).lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface BatchDifference {
  /** The first offset where the logs differ. */
  offset: number;
  a: BatchView | undefined;
  b: BatchView | undefined;
}

/**
 * Where two logs first differ among the offsets [from, to): batch by batch (replicas copy batches
 * whole, so equal records come in equal batches). `counter` counts batches compared.
 */
export function firstDifference(
  a: readonly BatchView[],
  b: readonly BatchView[],
  from: number,
  to: number,
  counter?: { n: number },
): BatchDifference | undefined {
  if (from >= to) return undefined;
  let i = batchIndexAtOrAfter(a, from);
  let j = batchIndexAtOrAfter(b, from);
  let offset = from;
  while (offset < to) {
    const x = a[i];
    const y = b[j];
    const xHas = x !== undefined && x.baseOffset <= offset;
    const yHas = y !== undefined && y.baseOffset <= offset;
    if (counter !== undefined) counter.n++;
    if (!xHas && !yHas) {
      // Neither holds `offset` (a gap in both, or both ended): skip to the next batch start.
      const next = Math.min(x?.baseOffset ?? Number.POSITIVE_INFINITY, y?.baseOffset ?? Number.POSITIVE_INFINITY);
      if (next === Number.POSITIVE_INFINITY) return undefined;
      offset = next;
      continue;
    }
    if (!xHas || !yHas || !sameBatch(x, y)) return { offset, a: xHas ? x : undefined, b: yHas ? y : undefined };
    offset = x.lastOffset + 1;
    i++;
    j++;
  }
  return undefined;
}

// -------------------------------------------------------------------------------------------------
// The engine

/** One committed batch, and who committed it. */
interface Committed {
  readonly batch: BatchView;
  readonly by: string;
  readonly epoch: number;
  readonly atMs: number;
}

/** One partition's committed prefix: batches a leader's high watermark has passed, in offset order. */
interface PartitionState {
  readonly tp: string;
  committed: Committed[];
  /** Highest leader epoch any broker has acted as leader in (older leaders are zombies). */
  maxActingEpoch: number;
  /** Leader epoch of the latest unclean election (-1: none). */
  uncleanEpoch: number;
  /** The unclean epoch whose new leader has already been taken as the committed truth. */
  rebasedFor: number;
  dirty: boolean;
}

/** One broker process's replica of one partition, and how far it has been checked. */
interface Watch {
  readonly broker: string;
  readonly tp: string;
  readonly log: LogView;
  role: PartitionView['role'];
  leaderEpoch: number;
  /** The high watermark last seen while leading in `leaderEpoch` (-1 when not leading). */
  leaderHw: number;
  hw: number;
  leo: number;
  batchCount: number;
  lastBatch: BatchView | undefined;
  /** Lowest offset truncated since the last check (from the trace); +∞ if none. */
  truncatedFrom: number;
  truncateRule: string;
  /** LogMatching: [0, matchedHw) has been compared to the other replicas. */
  matchedHw: number;
  /** The unclean epoch this replica was last eligible for LogMatching under (-2: never). */
  eligibleFor: number;
  /** LeaderCompleteness: the log holds the committed prefix below this offset (a batch boundary). */
  heldCommitted: number;
  /** Committed records this process removed by truncation (the protocol destroying a copy). */
  removed: { from: number; to: number; atMs: number; rule: string } | undefined;
}

/** What a replica's last process held when it stopped (its disk will tell, when it restarts). */
interface Ghost {
  readonly heldCommitted: number;
  readonly removed: Watch['removed'];
  readonly stoppedAtMs: number;
}

interface BrokerWatch {
  readonly instance: BrokerView;
  readonly watches: Map<string, Watch>;
}

const NOT_ELIGIBLE = -2;

class InvariantEngine {
  readonly pending = new Map<string, string>();
  readonly stats: InvariantStats = {
    events: 0,
    partitionsExamined: 0,
    batchesCompared: 0,
    imagesExamined: 0,
    uncleanElections: {},
    lossesToFaults: [],
    uncleanRebases: [],
  };
  private readonly world: Cluster['world'];
  private readonly brokers: readonly string[];
  private readonly controllerName: string;
  private readonly allowUnclean: boolean;
  private readonly minIsr: number;
  private readonly elrEnabled: boolean;
  private readonly brokerWatches = new Map<string, BrokerWatch>();
  /**
   * `broker|topic-partition` logs hit by a bit flip. Such a replica is not judged by LogMatching or
   * ReplicasConverge on that partition from then on: the flip may land in a field the CRC does not
   * cover (a batch's leader epoch, which leaders restamp), where Kafka cannot detect it either, and
   * its divergence is the fault's doing, not the protocol's.
   */
  private readonly corrupted = new Set<string>();
  private readonly partitions = new Map<string, PartitionState>();
  private readonly leaders = new Map<string, { broker: string; atMs: number }>();
  /** Per partition, per broker: the replica of a stopped process, until the broker's next process loads that log. */
  private readonly ghosts = new Map<string, Map<string, Ghost>>();
  private readonly counter = { n: 0 };
  private controller: ControllerView | undefined;
  private imageOffset = -1;

  constructor(c: Cluster, options: InvariantOptions) {
    this.world = c.world;
    this.brokers = [...c.brokers];
    this.controllerName = options.controller ?? 'c1';
    this.allowUnclean = options.allowUncleanDivergence ?? true;
    this.minIsr = c.config.int('min.insync.replicas');
    this.elrEnabled = c.config.fix('kip-966');
    c.world.trace.subscribe((r) => {
      switch (r.kind) {
        case 'disk.fault': {
          // "bitflip t-0/00000000000000000000.log@96 mask 64": a replica's log of t-0 is corrupted.
          const m = /^bitflip ([^/@\s]+)\//.exec(String(r.fields?.what ?? ''));
          if (m !== null) this.corrupted.add(`${r.node}|${m[1]}`);
          return;
        }
        case 'log.truncated':
        case 'log.truncated-fully': {
          const f = r.fields;
          if (f === undefined) return;
          const w = this.brokerWatches.get(r.node)?.watches.get(`${f.topic}-${f.partition}`);
          const to = Number(r.kind === 'log.truncated' ? f.logEndOffset : f.logStartOffset);
          if (w !== undefined && to < w.truncatedFrom) w.truncatedFrom = to;
          return;
        }
        case 'replica.truncate': {
          const f = r.fields;
          const w = f === undefined ? undefined : this.brokerWatches.get(r.node)?.watches.get(`${f.topic}-${f.partition}`);
          if (w !== undefined && f !== undefined) w.truncateRule = `${String(f.rule)} (${f.from} → ${f.to}, leader b${f.leader} epoch ${f.leaderEpoch})`;
          return;
        }
        case 'controller.elect': {
          const f = r.fields;
          if (f === undefined || !String(f.reason).includes('unclean')) return;
          this.markUnclean(`${f.topic}-${f.partition}`, Number(f.leaderEpoch));
          return;
        }
      }
    });
  }

  committedEnd(tp: string): number {
    const s = this.partitions.get(tp);
    const last = s?.committed[s.committed.length - 1];
    return last === undefined ? 0 : last.batch.lastOffset + 1;
  }

  private flag(name: InvariantName, detail: string | undefined): void {
    if (detail !== undefined && !this.pending.has(name)) this.pending.set(name, detail);
  }

  private state(tp: string): PartitionState {
    let s = this.partitions.get(tp);
    if (s === undefined) {
      s = { tp, committed: [], maxActingEpoch: -1, uncleanEpoch: -1, rebasedFor: -1, dirty: false };
      this.partitions.set(tp, s);
    }
    return s;
  }

  private markUnclean(tp: string, epoch: number): void {
    const s = this.state(tp);
    if (epoch <= s.uncleanEpoch) return;
    s.uncleanEpoch = epoch;
    s.dirty = true;
    this.stats.uncleanElections[tp] = epoch;
  }

  // ---------------------------------------------------------------------------------------------
  // After every event

  step(): void {
    this.stats.events++;
    if (this.pending.size > 0) return; // the run has stopped at the first failure
    this.checkController();
    this.scanBrokers();
    for (const s of this.partitions.values()) {
      if (!s.dirty) continue;
      s.dirty = false;
      this.stats.partitionsExamined++;
      this.examine(s);
    }
    this.stats.batchesCompared = this.counter.n;
  }

  /** LeaderInIsr and IsrElrDisjoint on the committed image, when it changed; unclean elections it shows. */
  private checkController(): void {
    const ctrl = this.world.nodeState(this.controllerName) as unknown as ControllerView | undefined;
    if (ctrl === undefined) return;
    if (ctrl === this.controller && ctrl.image.offset === this.imageOffset) return;
    this.controller = ctrl;
    this.imageOffset = ctrl.image.offset;
    this.stats.imagesExamined++;
    for (const [tp, reg] of ctrl.image.partitions) {
      this.flag('LeaderInIsr', checkLeaderInIsr(reg));
      this.flag('IsrElrDisjoint', checkIsrElr(reg, { minIsr: this.minIsr, elrEnabled: this.elrEnabled }));
      if (reg.leaderRecoveryState === 'RECOVERING' && reg.leader >= 0) this.markUnclean(tp, reg.leaderEpoch);
    }
  }

  /** Compare each live replica's numbers with the last seen; mark the partitions that moved. */
  private scanBrokers(): void {
    const now = this.world.now;
    for (const name of this.brokers) {
      const instance = this.world.nodeState(name) as unknown as BrokerView | undefined;
      let bw = this.brokerWatches.get(name);
      if (instance === undefined) {
        if (bw !== undefined) {
          // Down: its replicas leave the comparisons; what they held is remembered until restart.
          this.bury(bw, now);
          this.brokerWatches.delete(name);
        }
        continue;
      }
      if (bw === undefined || bw.instance !== instance) {
        if (bw !== undefined) this.bury(bw, now);
        bw = { instance, watches: new Map() };
        this.brokerWatches.set(name, bw);
      }
      // Keys, then get: iterating entries would allocate a [key, value] pair per partition per event.
      for (const tp of instance.logs.keys()) {
        const log = instance.logs.get(tp) as LogView;
        const part = instance.partitions.get(tp);
        let w = bw.watches.get(tp);
        if (w === undefined || w.log !== log) {
          w = newWatch(name, tp, log);
          bw.watches.set(tp, w);
          this.ghosts.get(tp)?.delete(name); // the log this process loaded now speaks for the disk
          this.state(tp).dirty = true;
        }
        const role = part?.role ?? 'none';
        const leaderEpoch = part?.leaderEpoch ?? -1;
        // A replica that is not leading and whose high watermark is still the checkpointed one
        // (no leader has told it one since it loaded its log) claims nothing yet: LogMatching
        // compares it from the first high watermark a leader gives it.
        const hw = role !== 'leader' && log.highWatermarkFromCheckpoint === true ? 0 : log.highWatermark;
        const batches = log.batches;
        const n = batches.length;
        const last = batches[n - 1];
        if (leaderEpoch !== w.leaderEpoch || role !== w.role) {
          this.flag('LeaderEpochMonotonic', checkLeaderEpoch(tp, name, w.leaderEpoch, leaderEpoch));
          if (role === 'leader') {
            this.flag('SingleLeaderPerEpoch', checkSingleLeader(this.leaders, tp, leaderEpoch, name, now));
            const s = this.state(tp);
            if (leaderEpoch > s.maxActingEpoch) s.maxActingEpoch = leaderEpoch;
          }
          w.leaderHw = -1;
          w.role = role;
          w.leaderEpoch = leaderEpoch;
          this.state(tp).dirty = true;
        }
        if (role === 'leader') {
          if (w.leaderHw >= 0) this.flag('HighWatermarkMonotonic', checkHighWatermark(tp, name, leaderEpoch, w.leaderHw, hw));
          w.leaderHw = hw;
        }
        if (hw !== w.hw || log.logEndOffset !== w.leo || n !== w.batchCount || last !== w.lastBatch || w.truncatedFrom !== Number.POSITIVE_INFINITY) {
          w.hw = hw;
          w.leo = log.logEndOffset;
          w.batchCount = n;
          w.lastBatch = last;
          this.state(tp).dirty = true;
        }
      }
    }
  }

  private bury(bw: BrokerWatch, now: number): void {
    for (const [tp, w] of bw.watches) {
      let g = this.ghosts.get(tp);
      if (g === undefined) this.ghosts.set(tp, (g = new Map()));
      g.set(w.broker, { heldCommitted: w.heldCommitted, removed: w.removed, stoppedAtMs: now });
      this.state(tp).dirty = true;
    }
  }

  private liveWatches(tp: string): Watch[] {
    const out: Watch[] = [];
    for (const name of this.brokers) {
      const w = this.brokerWatches.get(name)?.watches.get(tp);
      if (w !== undefined) out.push(w);
    }
    return out;
  }

  /** A partition whose replicas moved: committed prefix, LeaderCompleteness, LogMatching. */
  private examine(s: PartitionState): void {
    const watches = this.liveWatches(s.tp);
    const now = this.world.now;
    // Truncations since the last look: what was compared or known committed there must be again.
    for (const w of watches) {
      if (w.truncatedFrom === Number.POSITIVE_INFINITY) continue;
      const from = w.truncatedFrom;
      if (from < w.heldCommitted)
        w.removed = { from: Math.min(from, w.removed?.from ?? from), to: Math.max(w.heldCommitted, w.removed?.to ?? 0), atMs: now, rule: w.truncateRule };
      w.heldCommitted = Math.min(w.heldCommitted, from);
      w.matchedHw = Math.min(w.matchedHw, from);
      w.truncatedFrom = Number.POSITIVE_INFINITY;
    }
    for (const w of watches) this.extendHeld(s, w);

    // The newest leader (zombies of older epochs are not judged) must hold the committed prefix.
    const leader = watches.find((w) => w.role === 'leader' && w.leaderEpoch === s.maxActingEpoch);
    if (leader !== undefined) {
      this.leaderCompleteness(s, leader, watches);
      if (this.pending.has('LeaderCompleteness')) return;
      // The leader's high watermark commits what lies below it.
      if (leader.heldCommitted >= this.committedEnd(s.tp)) {
        const batches = leader.log.batches;
        for (let i = batchIndexAtOrAfter(batches, this.committedEnd(s.tp)); i < batches.length; i++) {
          const b = batches[i] as BatchView;
          if (b.baseOffset >= leader.hw) break;
          s.committed.push({ batch: b, by: leader.broker, epoch: leader.leaderEpoch, atMs: now });
        }
        for (const w of watches) this.extendHeld(s, w);
      }
    }
    this.logMatching(s, watches);
  }

  /** Advance `w.heldCommitted` over the committed batches its log holds identically. */
  private extendHeld(s: PartitionState, w: Watch): void {
    const committed = s.committed;
    if (committed.length === 0) return;
    const last = committed[committed.length - 1] as Committed;
    if (w.heldCommitted > last.batch.lastOffset) return;
    const batches = w.log.batches;
    let k = committedIndexAt(committed, w.heldCommitted);
    let i = batchIndexAtOrAfter(batches, w.heldCommitted);
    while (k < committed.length) {
      const c = committed[k] as Committed;
      const b = batches[i];
      this.counter.n++;
      if (b === undefined || !sameBatch(b, c.batch)) return;
      w.heldCommitted = c.batch.lastOffset + 1;
      k++;
      i++;
    }
  }

  private leaderCompleteness(s: PartitionState, leader: Watch, watches: Watch[]): void {
    const end = this.committedEnd(s.tp);
    const unclean = this.allowUnclean && s.uncleanEpoch >= 0 && leader.leaderEpoch >= s.uncleanEpoch && s.rebasedFor < s.uncleanEpoch;
    if (unclean) s.rebasedFor = s.uncleanEpoch;
    if (leader.heldCommitted >= end) return;
    const m = leader.heldCommitted;
    const k = committedIndexAt(s.committed, m);
    const c = s.committed[k] as Committed;
    const mine = leader.log.batches[batchIndexAtOrAfter(leader.log.batches, m)];
    const lacks = `leader ${leader.broker} (epoch ${leader.leaderEpoch}) lacks committed offset ${m}: it holds ${describeBatch(mine && mine.baseOffset <= m ? mine : undefined)} where ${c.by} committed ${describeBatch(c.batch)} in epoch ${c.epoch} at ${c.atMs} ms (committed prefix ends at ${end})`;
    if (unclean) {
      this.cutCommitted(s, k);
      this.ghosts.delete(s.tp);
      this.stats.uncleanRebases.push(`${s.tp} at ${this.world.now} ms: unclean election (epoch ${s.uncleanEpoch}); ${lacks}: permitted`);
      return;
    }
    const holder = watches.find((w) => w !== leader && w.heldCommitted > m);
    if (holder !== undefined) {
      this.flag('LeaderCompleteness', `${s.tp}: ${lacks}, while ${holder.broker} still holds it`);
      return;
    }
    const ghosts = [...(this.ghosts.get(s.tp) ?? new Map<string, Ghost>()).entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    const removals = [...watches.map((w) => ({ broker: w.broker, removed: w.removed })), ...ghosts.map(([broker, g]) => ({ broker, removed: g.removed }))];
    const destroyer = removals.find((x) => x.removed !== undefined && x.removed.from <= m && m < x.removed.to);
    if (destroyer?.removed !== undefined) {
      const r = destroyer.removed;
      this.flag(
        'LeaderCompleteness',
        `${s.tp}: ${lacks}; ${destroyer.broker} removed its copy (offsets ${r.from}..${r.to - 1}) by truncation at ${r.atMs} ms: ${r.rule || 'log truncation'}`,
      );
      return;
    }
    // A stopped replica held it: its disk decides when it restarts (a copy that survived the crash
    // is a surviving copy; one the crash or a wipe took is a loss to a fault).
    if (ghosts.some(([, g]) => g.heldCommitted > m)) return;
    // Every replica that held it lost its copy to a fault: a permitted loss (the guarantee model judges it).
    this.cutCommitted(s, k);
    this.stats.lossesToFaults.push(`${s.tp} at ${this.world.now} ms: ${lacks}; no replica holds a copy, on disk or in memory, and none was truncated`);
  }

  /** Drop the committed prefix from index `k` on (the records there were lost, as permitted). */
  private cutCommitted(s: PartitionState, k: number): void {
    const at = s.committed[k]?.batch.baseOffset ?? this.committedEnd(s.tp);
    s.committed.length = k;
    for (const w of this.liveWatches(s.tp)) {
      w.heldCommitted = Math.min(w.heldCommitted, at);
      if (w.removed !== undefined && w.removed.to > at) w.removed = w.removed.from >= at ? undefined : { ...w.removed, to: at };
    }
    for (const [broker, g] of this.ghosts.get(s.tp) ?? []) {
      const removed = g.removed === undefined || g.removed.to <= at ? g.removed : g.removed.from >= at ? undefined : { ...g.removed, to: at };
      this.ghosts.get(s.tp)?.set(broker, { heldCommitted: Math.min(g.heldCommitted, at), removed, stoppedAtMs: g.stoppedAtMs });
    }
  }

  /** LogMatching (StrongIsr): below both high watermarks two replicas' logs are identical. */
  private logMatching(s: PartitionState, watches: Watch[]): void {
    const gate = this.allowUnclean ? s.uncleanEpoch : -1;
    for (const w of watches) {
      const eligible = gate < 0 || w.log.latestEpoch() >= gate;
      if (!eligible) {
        w.eligibleFor = NOT_ELIGIBLE;
        continue;
      }
      if (w.eligibleFor !== gate) {
        // Newly reconciled with the unclean leader (or the first look): compare it all.
        w.eligibleFor = gate;
        w.matchedHw = 0;
      }
    }
    for (const a of watches) {
      if (a.eligibleFor === NOT_ELIGIBLE) continue;
      if (a.hw < a.matchedHw) a.matchedHw = a.hw;
      if (a.matchedHw >= a.hw) continue;
      if (this.corrupted.has(`${a.broker}|${s.tp}`)) continue;
      for (const b of watches) {
        if (b === a || b.eligibleFor === NOT_ELIGIBLE || this.corrupted.has(`${b.broker}|${s.tp}`)) continue;
        const to = Math.min(a.hw, b.hw);
        const d = firstDifference(a.log.batches, b.log.batches, a.matchedHw, to, this.counter);
        if (d !== undefined) {
          const why = gate >= 0 ? ` (both reconciled after the unclean election of epoch ${gate})` : '';
          this.flag(
            'LogMatching',
            `${s.tp}: ${a.broker} (HW ${a.hw}, epoch ${a.leaderEpoch}) and ${b.broker} (HW ${b.hw}, epoch ${b.leaderEpoch}) differ at offset ${d.offset}, below both high watermarks${why}: ${a.broker} holds ${describeBatch(d.a)}, ${b.broker} holds ${describeBatch(d.b)}`,
          );
          return;
        }
      }
      a.matchedHw = a.hw;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // End of run

  /** ReplicasConverge: every live replica of each partition holds the same log. */
  replicasConverge(): string | undefined {
    const tps = new Set<string>();
    const ctrl = this.world.nodeState(this.controllerName) as unknown as ControllerView | undefined;
    const replicasOf = new Map<string, readonly number[]>();
    if (ctrl !== undefined) for (const [tp, reg] of ctrl.image.partitions) replicasOf.set(tp, reg.replicas);
    const instances = this.brokers.map((name) => ({ name, b: this.world.nodeState(name) as unknown as BrokerView | undefined }));
    for (const { b } of instances) if (b !== undefined) for (const tp of b.logs.keys()) tps.add(tp);
    for (const tp of replicasOf.keys()) tps.add(tp);
    for (const tp of [...tps].sort()) {
      const replicas = replicasOf.get(tp);
      const logs: { name: string; log: LogView | undefined }[] = [];
      for (const { name, b } of instances) {
        if (b === undefined) continue; // down: nothing to compare (the liveness verdict's business)
        if (replicas !== undefined && !replicas.includes(Number(name.replace(/^b/, '')))) continue;
        if (this.corrupted.has(`${name}|${tp}`)) continue;
        logs.push({ name, log: b.logs.get(tp) });
      }
      const [first, ...rest] = logs;
      if (first === undefined) continue;
      const a = first.log?.batches ?? [];
      const aEnd = first.log?.logEndOffset ?? 0;
      for (const other of rest) {
        const b = other.log?.batches ?? [];
        const bEnd = other.log?.logEndOffset ?? 0;
        const d = firstDifference(a, b, 0, Math.max(aEnd, bEnd));
        if (d !== undefined || aEnd !== bEnd)
          return `${tp}: ${first.name} (LEO ${aEnd}) and ${other.name} (LEO ${bEnd}) hold different logs at the end${d === undefined ? '' : `, first at offset ${d.offset}: ${first.name} holds ${describeBatch(d.a)}, ${other.name} holds ${describeBatch(d.b)}`}`;
      }
    }
    return undefined;
  }
}

function newWatch(broker: string, tp: string, log: LogView): Watch {
  return {
    broker,
    tp,
    log,
    role: 'none',
    leaderEpoch: -1,
    leaderHw: -1,
    hw: -1,
    leo: -1,
    batchCount: -1,
    lastBatch: undefined,
    truncatedFrom: Number.POSITIVE_INFINITY,
    truncateRule: '',
    matchedHw: 0,
    eligibleFor: NOT_ELIGIBLE,
    heldCommitted: 0,
    removed: undefined,
  };
}

/** Index of the committed batch containing `offset` (or the first after it). */
function committedIndexAt(committed: readonly Committed[], offset: number): number {
  let lo = 0;
  let hi = committed.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((committed[mid] as Committed).batch.lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
