// Broker-side idempotence for one partition (S/log/ProducerStateManager.java,
// ProducerAppendInfo.java, ProducerStateEntry.java; docs/notes/kafka-data-plane.md §5.2):
// per producer id, the producer epoch and the metadata of its last 5 batches. A client batch is
// a duplicate if it has the current epoch and exactly the (firstSeq, lastSeq) of one of those
// batches — it is not appended, and the producer is told where the original landed. Otherwise
// the epoch must not go backwards, a new epoch must start at sequence 0, and within an epoch
// sequences must follow on (wrapping at Int.MAX to 0). Batches from replication (a follower's
// appends) skip the checks but update the same state, so a new leader keeps de-duplicating.
//
// Simplifications: no producer-state snapshot files — the state is rebuilt by scanning the log
// on load and after a truncation (Kafka replays from the newest `.snapshot` at or below the LEO,
// §5.3; the result is the same, only slower). No producer-id expiry, no transactions.

export const PRODUCER_BATCHES_TO_RETAIN = 5;
const INT_MAX = 0x7fff_ffff;

/** The fields of a batch header that idempotence uses (BatchHeader from batch.ts fits). */
export interface ProducerBatchInfo {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  baseOffset: number;
  lastOffset: number;
}

export interface ProducerBatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  producerEpoch: number;
  /** Oldest first; at most PRODUCER_BATCHES_TO_RETAIN. */
  batches: ProducerBatchMetadata[];
}

export type ProducerCheck =
  | { kind: 'ok' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'INVALID_PRODUCER_EPOCH' };

/** baseSequence + delta, wrapping past Int.MAX to 0 (DefaultRecordBatch.incrementSequence). */
export function incrementSequence(sequence: number, delta: number): number {
  if (sequence > INT_MAX - delta) return delta - (INT_MAX - sequence) - 1;
  return sequence + delta;
}

function lastSequenceOf(b: ProducerBatchInfo): number {
  return incrementSequence(b.baseSequence, b.lastOffset - b.baseOffset);
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

  /** The state of one producer (a copy), or undefined. */
  entry(producerId: number): ProducerEntry | undefined {
    const e = this.producers.get(producerId);
    return e === undefined ? undefined : { producerId, producerEpoch: e.producerEpoch, batches: e.batches.slice() };
  }

  get producerIds(): number[] {
    return [...this.producers.keys()].sort((a, b) => a - b);
  }

  /**
   * Validate a batch before it is appended (UnifiedLog.analyzeAndValidateProducerState then
   * ProducerAppendInfo.append). Non-idempotent batches (producerId -1) and replicated batches are
   * always 'ok'.
   */
  check(b: ProducerBatchInfo, origin: 'client' | 'replication'): ProducerCheck {
    if (b.producerId < 0 || origin === 'replication') return { kind: 'ok' };
    const current = this.producers.get(b.producerId);
    if (current === undefined) return { kind: 'ok' }; // an unknown producer may start at any sequence
    const firstSeq = b.baseSequence;
    const lastSeq = lastSequenceOf(b);
    // 1. Duplicate of one of the retained batches (same epoch, same sequence range).
    if (b.producerEpoch === current.producerEpoch) {
      const dup = current.batches.find((m) => m.firstSeq === firstSeq && m.lastSeq === lastSeq);
      if (dup !== undefined) return { kind: 'duplicate', firstOffset: dup.firstOffset, lastOffset: dup.lastOffset };
    }
    // 2. Epoch: never backwards; a bump must restart the sequence at 0.
    if (b.producerEpoch < current.producerEpoch) return { kind: 'error', error: 'INVALID_PRODUCER_EPOCH' };
    if (b.producerEpoch !== current.producerEpoch) {
      if (firstSeq !== 0 && current.producerEpoch !== -1) return { kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
      return { kind: 'ok' };
    }
    // 3. Sequence: continues the last batch of this epoch.
    const last = current.batches[current.batches.length - 1];
    const currentLastSeq = last === undefined ? -1 : last.lastSeq;
    const inSequence = firstSeq === currentLastSeq + 1 || (firstSeq === 0 && currentLastSeq === INT_MAX);
    if (!inSequence) return { kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' };
    return { kind: 'ok' };
  }

  /**
   * Record an appended batch, with its assigned offsets (ProducerStateEntry.addBatch): a different
   * epoch replaces the producer's epoch and forgets its batches; the oldest of 5 batches is dropped.
   */
  update(b: ProducerBatchInfo): void {
    if (b.producerId < 0) return;
    let e = this.producers.get(b.producerId);
    if (e === undefined) {
      e = { producerId: b.producerId, producerEpoch: b.producerEpoch, batches: [] };
      this.producers.set(b.producerId, e);
    }
    if (e.producerEpoch !== b.producerEpoch) {
      e.producerEpoch = b.producerEpoch;
      e.batches = [];
    }
    if (e.batches.length === PRODUCER_BATCHES_TO_RETAIN) e.batches.shift();
    e.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequenceOf(b), firstOffset: b.baseOffset, lastOffset: b.lastOffset });
  }

  /** Forget everything and replay the batches of the log, in log order. */
  rebuild(batches: Iterable<ProducerBatchInfo>): void {
    this.clear();
    for (const b of batches) this.update(b);
  }

  clear(): void {
    this.producers.clear();
  }
}
