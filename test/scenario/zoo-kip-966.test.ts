// Bug zoo, `fix.kip-966` (KIP-966 Eligible Leader Replicas, Kafka 4.0/4.1: strict min ISR, the ELR,
// and unclean-shutdown detection at registration; docs/notes/kafka-data-plane.md §3.4, §4.2, §4.4
// and §7.8; Vanlightly/kafka-tlaplus kafka_data_replication/kraft/kip-966).
//
// "Last replica standing": before KIP-966 the high watermark advanced on whatever ISR there was,
// even a single replica below min.insync.replicas, so acks=1 records written while the ISR was just
// the leader became committed (served to consumers). If that leader then lost power and its
// unflushed tail, the controller — which never empties the ISR — waited for exactly that broker and
// elected it again with its truncated log; the other replicas truncated to match, and committed
// records were gone. KIP-966: the HW does not move while the ISR is below min ISR; replicas that
// leave the ISR then join the ELR and stay electable while fenced; a broker that registers after an
// unclean shutdown leaves every ISR and ELR (in ksim every restart is unclean: no clean-shutdown
// marker is ever written).
//
// Script (RF 3, replicas [1,2,3], min.insync.replicas 2, replica.lag.time.max.ms 2000, Kafka's
// default of no fsync; the machine's power loss drops every unsynced write (crashFate drop-only) so
// the loss does not hang on the seed; a consumer reads from the start):
//   2.5 s   p0..p2 written acks=all (idempotent) on the full ISR;
//   4 s     b1 cut off from b2 and b3 (both still reach the controller);
//   5 s     w0..w4 written acks=1 to b1; ~7 s b1 shrinks the ISR to [1]
//           fix off: the HW moves on ISR [1]: w0..w4 are committed and served to the consumer;
//           fix on:  ISR [1] < min ISR 2: the HW stays at 3 (ELR [2,3]); the consumer never sees them;
//   11 s    b1 loses power and, with it, every record (nothing was fsynced);
//   ~20 s   b1's session expires
//           fix off: ISR [1] kept, no leader (last replica standing);
//           fix on:  b2 is elected from the ELR;
//   22 s    b1 restarts with an empty log
//           fix off: it is unfenced and re-elected from ISR [1];
//           fix on:  its registration is an unclean shutdown: it leaves ISR and ELR and follows b2;
//   30 s    heal; every replica follows the leader.
// fix off ⇒ the committed w0..w4 (and the acks=all p0..p2) are gone from every replica; fix on ⇒
// everything the consumer saw and every acks=all write survives (acks=1 writes that were never
// committed may be lost, as Kafka permits).
import { describe, expect, it } from 'vitest';
import { ackedWritesMissing, leaderOf, replicasDiverge } from '../../scenarios/final-state.js';
import { firstEvent, logValues, polled, polledButLost, runZooScenario, type ScenarioRun, withHistoryOf } from './zoo-helpers.js';

const SEEDS = [1, 2, 3, 4, 5];
const EARLY = ['p0', 'p1', 'p2'];
const ACKS1 = ['w0', 'w1', 'w2', 'w3', 'w4'];

// The cluster and fault script are the catalogue's `kip-966` (scenarios/builtin/zoo.ts).
function run(seed: number, fix: boolean): ScenarioRun {
  // A follower whose fetch response was lost on a half-open connection waits replica.socket.timeout.ms (30 s).
  return runZooScenario('kip-966', seed, fix, 80_000, [
    'isr.changed',
    'controller.elect',
    'controller.partition-change',
    'controller.unclean-shutdown',
    'partition.leader',
  ]);
}

/** The scenario ran as scripted: all eight writes were acknowledged, the ISR shrank to [1] and b1 lost everything. */
function expectScript(r: ScenarioRun, seed: number): void {
  const where = `seed ${seed}`;
  expect(r.result.failure, where).toBeUndefined();
  expect(r.unfired, where).toEqual([]);
  const oks = r.c.history.filter((o) => o.f === 'send' && o.type === 'ok').map((o) => o.value);
  expect(oks.sort(), where).toEqual([...EARLY, ...ACKS1].sort());
  expect(firstEvent(r.events, 'isr.changed', 'b1', { kind: 'shrink' })?.fields?.isr, where).toEqual([1]);
  expect(replicasDiverge(r.c, 't', 1), where).toEqual([]);
}

describe('bug zoo: fix.kip-966 (last replica standing; strict min ISR and ELR)', () => {
  it(`fix off: the sole ISR member returns truncated and is re-elected: committed records lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, false);
      expectScript(r, seed);
      const where = `seed ${seed}`;
      // The HW moved on ISR [1]: the consumer was served the acks=1 records, i.e. they were committed.
      expect(polled(r.c, 'k1'), where).toEqual([...EARLY, ...ACKS1]);
      // b1's fencing left it the last replica standing; it came back and was elected from ISR [1].
      const offline = r.events.find((e) => e.kind === 'controller.elect' && e.fields?.leader === -1);
      expect(offline?.fields?.isr, where).toEqual([1]);
      const reelected = r.events.find((e) => e.kind === 'controller.elect' && e.timeMs > 22_000);
      expect(reelected?.fields?.leader, where).toBe(1);
      // …with nothing left: every write since boot was unsynced when it lost power.
      expect(r.events.filter((e) => e.kind === 'partition.leader' && e.node === 'b1').pop()?.fields?.logEndOffset, where).toBe(0);
      expect(
        r.events.some((e) => e.kind === 'controller.unclean-shutdown'),
        where,
      ).toBe(false);
      expect(leaderOf(r.c, 't', 0), where).toBe('b1');
      // Committed records (and acknowledged acks=all writes) are gone from every replica.
      const lost = polledButLost(r.c, 'k1', 't', 0);
      expect(lost, where).toHaveLength((EARLY.length + ACKS1.length) * 3);
      expect(ackedWritesMissing(withHistoryOf(r.c, 'pall'), 't'), where).toHaveLength(EARLY.length * 3);
      for (const b of r.c.brokers) expect(logValues(r.c, b, 't', 0), `${where} ${b}`).toEqual([]);
    }
  });

  it(`fix on: the HW freezes below min ISR and a clean ELR member leads; nothing committed is lost (seeds ${SEEDS.join(', ')})`, () => {
    for (const seed of SEEDS) {
      const r = run(seed, true);
      expectScript(r, seed);
      const where = `seed ${seed}`;
      // The acks=1 records were appended on b1 alone and never committed: the consumer never saw them.
      expect(polled(r.c, 'k1'), where).toEqual(EARLY);
      expect(firstEvent(r.events, 'controller.partition-change', 'c1')?.fields?.elr, where).toEqual([2, 3]);
      // b2 was elected from the ELR when b1's session expired; b1's restart was an unclean shutdown.
      const elected = r.events.find((e) => e.kind === 'controller.elect' && e.timeMs > 11_000);
      expect(elected?.fields?.leader, where).toBe(2);
      expect(String(elected?.fields?.reason), where).toContain('from the ELR');
      expect(
        r.events.some((e) => e.kind === 'controller.unclean-shutdown' && e.fields?.broker === 1),
        where,
      ).toBe(true);
      expect(leaderOf(r.c, 't', 0), where).toBe('b2');
      expect(polledButLost(r.c, 'k1', 't', 0), where).toEqual([]);
      expect(ackedWritesMissing(withHistoryOf(r.c, 'pall'), 't'), where).toEqual([]);
      for (const b of r.c.brokers) expect(logValues(r.c, b, 't', 0), `${where} ${b}`).toEqual(EARLY);
    }
  });
});
