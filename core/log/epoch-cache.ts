// The leader-epoch cache of one partition replica (S/epoch/LeaderEpochFileCache.java): for each
// leader epoch seen in the log, the offset of its first record. It answers "where does my epoch
// E end?" — OffsetsForLeaderEpoch and the fetch divergence check (KIP-101, KIP-279, KIP-320) —
// and is persisted as `leader-epoch-checkpoint` (version 0, count, "epoch startOffset" lines).
//
// This class is memory only; PartitionLog writes the checkpoint file after every change (Kafka
// writes it synchronously, with fsync, on assign, and asynchronously after truncations).
// `endOffsetForKip101` is the original 0.11 answer (offset only), kept for the `fix.kip-279=false`
// bug-zoo switch (KAFKA-6361). docs/notes/kafka-data-plane.md §2.2, §2.4, §7.3.

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  /** Strictly increasing in both epoch and startOffset. */
  private list: EpochEntry[] = [];

  constructor(entries: readonly EpochEntry[] = []) {
    for (const e of entries) {
      const last = this.list[this.list.length - 1];
      if (last !== undefined && (e.epoch <= last.epoch || e.startOffset <= last.startOffset))
        throw new Error(`leader epoch cache: entry ${e.epoch}@${e.startOffset} does not follow ${last.epoch}@${last.startOffset}`);
      this.list.push({ epoch: e.epoch, startOffset: e.startOffset });
    }
  }

  entries(): EpochEntry[] {
    return this.list.slice();
  }

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  /** The latest epoch, or -1 if the cache is empty. */
  latestEpoch(): number {
    return this.list[this.list.length - 1]?.epoch ?? UNDEFINED_EPOCH;
  }

  latestEntry(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  earliestEntry(): EpochEntry | undefined {
    return this.list[0];
  }

  /**
   * Record that `epoch` starts at `startOffset` (LeaderEpochFileCache.assign). A no-op if `epoch` is
   * the latest epoch and `startOffset` is not below its start; otherwise every entry with an epoch
   * >= `epoch` or a start offset >= `startOffset` is removed first, so the entries stay monotonic.
   * Returns whether the cache changed.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(startOffset) || startOffset < 0)
      throw new Error(`leader epoch cache: cannot assign epoch ${epoch} at offset ${startOffset}`);
    const latest = this.latestEntry();
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    while (this.list.length > 0) {
      const last = this.list[this.list.length - 1] as EpochEntry;
      if (last.epoch >= epoch || last.startOffset >= startOffset) this.list.pop();
      else break;
    }
    this.list.push({ epoch, startOffset });
    return true;
  }

  /**
   * KIP-279 (current Kafka) answer to "end offset of `requestedEpoch`", as (epoch, endOffset):
   * - requested -1 → (-1, -1);
   * - requested = latest epoch → (requested, LEO);
   * - no epoch above the requested one → (-1, -1);
   * - no epoch at or below it (older than anything known) → (requested, start of the first higher epoch);
   * - otherwise → (largest epoch <= requested, start of the first epoch > requested).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const undefinedResult = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedResult;
    const latest = this.latestEntry();
    if (latest !== undefined && latest.epoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.list.find((e) => e.epoch > requestedEpoch);
    if (higher === undefined) return undefinedResult;
    let floor: EpochEntry | undefined;
    for (const e of this.list) if (e.epoch <= requestedEpoch) floor = e;
    if (floor === undefined) return { epoch: requestedEpoch, endOffset: higher.startOffset };
    return { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  /**
   * The original KIP-101 answer (Kafka 0.11 `endOffsetFor`, an offset only): the LEO if the
   * requested epoch is the latest (as in 0.11, this includes -1 on an empty cache); -1 if the
   * requested epoch is older than the first entry or no later epoch exists; else the start offset
   * of the first epoch > requested.
   */
  endOffsetForKip101(requestedEpoch: number, logEndOffset: number): number {
    if (requestedEpoch === this.latestEpoch()) return logEndOffset;
    const first = this.list[0];
    const subsequent = this.list.find((e) => e.epoch > requestedEpoch);
    if (subsequent === undefined || first === undefined || requestedEpoch < first.epoch) return UNDEFINED_EPOCH_OFFSET;
    return subsequent.startOffset;
  }

  /** Remove every entry starting at or after `endOffset` (the log was truncated to it). Returns whether the cache changed. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.list.length;
    if (endOffset >= 0) this.list = this.list.filter((e) => e.startOffset < endOffset);
    return this.list.length !== before;
  }

  /**
   * The log now starts at `startOffset`: drop entries that start at or before it, keeping the last
   * of them with its start moved up to `startOffset`. Returns whether the cache changed.
   */
  truncateFromStart(startOffset: number): boolean {
    const first = this.list[0];
    if (startOffset < 0 || first === undefined || first.startOffset >= startOffset) return false;
    let lastRemoved: EpochEntry | undefined;
    while (this.list.length > 0 && (this.list[0] as EpochEntry).startOffset <= startOffset) lastRemoved = this.list.shift();
    if (lastRemoved !== undefined) this.list.unshift({ epoch: lastRemoved.epoch, startOffset });
    return true;
  }

  clear(): boolean {
    const changed = this.list.length > 0;
    this.list = [];
    return changed;
  }

  /** The `leader-epoch-checkpoint` text: version 0, the entry count, then "epoch startOffset" lines. */
  toCheckpoint(): string {
    return ['0', String(this.list.length), ...this.list.map((e) => `${e.epoch} ${e.startOffset}`)].join('\n') + '\n';
  }

  /** Parse a `leader-epoch-checkpoint`; undefined if it is malformed (or its entries are not monotonic). */
  static fromCheckpoint(text: string): LeaderEpochCache | undefined {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length < 2 || lines[0]?.trim() !== '0') return undefined;
    const countText = (lines[1] as string).trim();
    if (!/^\d+$/.test(countText)) return undefined;
    const count = Number(countText);
    if (lines.length !== 2 + count) return undefined;
    const entries: EpochEntry[] = [];
    for (const line of lines.slice(2)) {
      const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
      if (m === null) return undefined;
      entries.push({ epoch: Number(m[1]), startOffset: Number(m[2]) });
    }
    try {
      return new LeaderEpochCache(entries);
    } catch {
      return undefined;
    }
  }
}
