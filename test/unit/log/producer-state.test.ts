// Broker-side idempotence (core/log/producer-state.ts, notes §5.2): duplicates within the last 5
// batches, sequence and epoch checks, replication skipping them, rebuild.
import { describe, expect, it } from 'vitest';
import { incrementSequence, type ProducerBatchInfo, ProducerStateManager } from '../../../core/log/producer-state.js';

const PID = 42;
/** A batch of `count` records with sequences from `seq`, appended at `offset`. */
const batch = (seq: number, count: number, offset: number, epoch = 0, producerId = PID): ProducerBatchInfo => ({
  producerId,
  producerEpoch: epoch,
  baseSequence: seq,
  baseOffset: offset,
  lastOffset: offset + count - 1,
});
/** The same batch as a client sends it (baseOffset 0). */
const sent = (seq: number, count: number, epoch = 0): ProducerBatchInfo => batch(seq, count, 0, epoch);

/** A producer that appended batches of 2 records: seq 0-1 at 100, 2-3 at 102, … */
function withBatches(n: number): ProducerStateManager {
  const s = new ProducerStateManager();
  for (let i = 0; i < n; i++) s.update(batch(2 * i, 2, 100 + 2 * i));
  return s;
}

describe('producer state: duplicates', () => {
  it('a retried batch among the last 5 is a duplicate answering the original offsets', () => {
    const s = withBatches(5);
    expect(s.check(sent(0, 2), 'client')).toEqual({ kind: 'duplicate', firstOffset: 100, lastOffset: 101 });
    expect(s.check(sent(8, 2), 'client')).toEqual({ kind: 'duplicate', firstOffset: 108, lastOffset: 109 });
  });

  it('the 6th-oldest batch is forgotten: its retry is out of order, not a duplicate', () => {
    const s = withBatches(6);
    expect(s.entry(PID)?.batches).toHaveLength(5);
    expect(s.check(sent(0, 2), 'client')).toEqual({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(s.check(sent(2, 2), 'client')).toEqual({ kind: 'duplicate', firstOffset: 102, lastOffset: 103 });
  });

  it('a duplicate must match the sequence range exactly and have the current epoch', () => {
    const s = withBatches(3);
    expect(s.check(sent(0, 1), 'client').kind).toBe('error');
    expect(s.check(sent(0, 2, 1), 'client')).toEqual({ kind: 'ok' }); // a new epoch starting at 0
  });
});

describe('producer state: sequence and epoch checks', () => {
  it('accepts the next sequence and rejects a gap or a repeat that is not a retained batch', () => {
    const s = withBatches(2); // last seq 3
    expect(s.check(sent(4, 3), 'client')).toEqual({ kind: 'ok' });
    expect(s.check(sent(5, 1), 'client')).toEqual({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(s.check(sent(3, 1), 'client')).toEqual({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
  });

  it('an unknown producer may start at any sequence', () => {
    const s = new ProducerStateManager();
    expect(s.check(sent(17, 1), 'client')).toEqual({ kind: 'ok' });
  });

  it('an epoch bump must start at sequence 0', () => {
    const s = withBatches(2);
    expect(s.check(sent(4, 1, 1), 'client')).toEqual({ kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(s.check(sent(0, 1, 1), 'client')).toEqual({ kind: 'ok' });
    s.update(batch(0, 1, 200, 1));
    expect(s.entry(PID)).toEqual({ producerId: PID, producerEpoch: 1, batches: [{ firstSeq: 0, lastSeq: 0, firstOffset: 200, lastOffset: 200 }] });
  });

  it('an older epoch is fenced with INVALID_PRODUCER_EPOCH', () => {
    const s = new ProducerStateManager();
    s.update(batch(0, 1, 0, 3));
    expect(s.check(sent(1, 1, 2), 'client')).toEqual({ kind: 'error', error: 'INVALID_PRODUCER_EPOCH' });
  });

  it('sequences wrap from Int.MAX to 0', () => {
    expect(incrementSequence(2_147_483_646, 3)).toBe(1);
    const s = new ProducerStateManager();
    s.update(batch(2_147_483_646, 2, 0)); // seq MAX-1, MAX
    expect(s.check(sent(0, 1), 'client')).toEqual({ kind: 'ok' });
    expect(s.entry(PID)?.batches[0]?.lastSeq).toBe(2_147_483_647);
  });

  it('non-idempotent batches (producerId -1) are always ok and leave no state', () => {
    const s = new ProducerStateManager();
    s.update(batch(-1, 1, 0, -1, -1));
    expect(s.check(batch(-1, 1, 0, -1, -1), 'client')).toEqual({ kind: 'ok' });
    expect(s.producerIds).toEqual([]);
  });
});

describe('producer state: replication and rebuild', () => {
  it('replicated batches skip every check but update the state (a new leader keeps de-duplicating)', () => {
    const s = withBatches(2);
    expect(s.check(sent(99, 1), 'replication')).toEqual({ kind: 'ok' });
    expect(s.check(sent(0, 1, 0), 'replication')).toEqual({ kind: 'ok' });
    s.update(batch(4, 2, 104));
    expect(s.check(sent(4, 2), 'client')).toEqual({ kind: 'duplicate', firstOffset: 104, lastOffset: 105 });
  });

  it('rebuild replays the batches in log order; clear forgets everything', () => {
    const s = new ProducerStateManager();
    s.rebuild([batch(0, 2, 0), batch(0, 1, 2, 0, 7), batch(2, 2, 3)]);
    expect(s.producerIds).toEqual([7, PID]);
    expect(s.check(sent(2, 2), 'client')).toEqual({ kind: 'duplicate', firstOffset: 3, lastOffset: 4 });
    s.clear();
    expect(s.producerIds).toEqual([]);
  });
});
