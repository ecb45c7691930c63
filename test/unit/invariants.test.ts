// The per-event invariants (scenarios/invariants.ts): the pure rules on plain data, the engine on a
// tiny world of hand-driven fake brokers, no false positives on faulty clusters with every fix in
// (the cluster-durability schedule and a random nemesis with power losses), and the bug-zoo
// scenarios that must break them when their fix is switched off.
import { describe, expect, it } from 'vitest';
import { KafkaConfig } from '../../core/config.js';
import type { Node } from '../../core/ports.js';
import { builtinScenario } from '../../scenarios/builtin/index.js';
import type { Judges } from '../../scenarios/checkers.js';
import type { RunChecker } from '../../scenarios/checks.js';
import { buildCluster, type Cluster, type ClusterSpec } from '../../scenarios/cluster.js';
import {
  type BatchView,
  type BrokerView,
  type ControllerView,
  checkHighWatermark,
  checkIsrElr,
  checkLeaderEpoch,
  checkLeaderInIsr,
  checkSingleLeader,
  firstDifference,
  INVARIANT_NAMES,
  type InvariantOptions,
  type InvariantSet,
  installInvariants,
  type LogView,
  type PartitionView,
  type RegistrationView,
} from '../../scenarios/invariants.js';
import { runScenarioDetailed } from '../../scenarios/runner.js';
import { type FaultAction, installFaults } from '../../sim/faults.js';
import { drawNemesis } from '../../sim/nemesis.js';
import { Rng } from '../../sim/rng.js';
import { World } from '../../sim/world.js';

// -------------------------------------------------------------------------------------------------
// Plain data

/** A batch whose content is identified by `tag` (written where a v2 batch keeps its CRC). */
function batch(base: number, last: number, epoch: number, tag = 0): BatchView {
  const bytes = new Uint8Array(32);
  bytes[20] = tag;
  return { baseOffset: base, lastOffset: last, partitionLeaderEpoch: epoch, bytes };
}

function reg(over: Partial<RegistrationView> = {}): RegistrationView {
  return {
    topic: 't',
    partition: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    elr: [],
    lastKnownElr: [],
    leader: 1,
    leaderEpoch: 0,
    leaderRecoveryState: 'RECOVERED',
    ...over,
  };
}

describe('invariant rules on plain data', () => {
  it('SingleLeaderPerEpoch remembers (partition, epoch) → broker for the whole run', () => {
    const seen = new Map<string, { broker: string; atMs: number }>();
    expect(checkSingleLeader(seen, 't-0', 3, 'b1', 10)).toBeUndefined();
    expect(checkSingleLeader(seen, 't-0', 3, 'b1', 20)).toBeUndefined();
    expect(checkSingleLeader(seen, 't-0', 4, 'b2', 30)).toBeUndefined();
    expect(checkSingleLeader(seen, 't-1', 3, 'b2', 30)).toBeUndefined();
    expect(checkSingleLeader(seen, 't-0', 3, 'b2', 40)).toBe(
      't-0: b2 acts as leader in leader epoch 3, which b1 led (first seen at 10 ms): two leaders in one epoch',
    );
  });

  it('LeaderEpochMonotonic and HighWatermarkMonotonic flag a step back only', () => {
    expect(checkLeaderEpoch('t-0', 'b1', 2, 2)).toBeUndefined();
    expect(checkLeaderEpoch('t-0', 'b1', 2, 5)).toBeUndefined();
    expect(checkLeaderEpoch('t-0', 'b1', 5, 4)).toBe("t-0: b1's leader epoch went from 5 back to 4 (same process)");
    expect(checkHighWatermark('t-0', 'b1', 3, 10, 10)).toBeUndefined();
    expect(checkHighWatermark('t-0', 'b1', 3, 10, 9)).toBe("t-0: leader b1's high watermark went from 10 back to 9 within leader epoch 3");
  });

  it('LeaderInIsr: a leader outside its ISR is flagged; no leader is fine', () => {
    expect(checkLeaderInIsr(reg())).toBeUndefined();
    expect(checkLeaderInIsr(reg({ leader: -1, isr: [2] }))).toBeUndefined();
    expect(checkLeaderInIsr(reg({ leader: 3, isr: [1, 2], leaderEpoch: 7 }))).toBe("t-0: the controller's leader b3 (epoch 7) is not in its ISR [1,2]");
  });

  it('IsrElrDisjoint and the KIP-966 rules', () => {
    const on = { minIsr: 2, elrEnabled: true };
    expect(checkIsrElr(reg({ isr: [1], elr: [2, 3] }), on)).toBeUndefined();
    expect(checkIsrElr(reg({ isr: [], elr: [], lastKnownElr: [1], leader: -1 }), on)).toBeUndefined();
    expect(checkIsrElr(reg({ isr: [1], elr: [1, 2] }), on)).toMatch(/^t-0: b1 in both ISR and ELR/);
    expect(checkIsrElr(reg({ isr: [1, 2], elr: [3] }), on)).toMatch(/ELR non-empty while the ISR has 2 ≥ min.insync.replicas 2/);
    expect(checkIsrElr(reg({ isr: [1], elr: [4] }), on)).toMatch(/non-replicas b4/);
    expect(checkIsrElr(reg({ isr: [], elr: [], lastKnownElr: [1, 2], leader: -1 }), on)).toMatch(/lastKnownElr \[1,2\] names more than one broker/);
    const off = { minIsr: 2, elrEnabled: false };
    expect(checkIsrElr(reg({ isr: [1] }), off)).toBeUndefined();
    expect(checkIsrElr(reg({ isr: [1], elr: [2] }), off)).toMatch(/ELR in use with fix.kip-966 off/);
    expect(checkIsrElr(reg({ isr: [], leader: -1 }), off)).toMatch(/empty ISR without ELR/);
  });

  it('firstDifference compares batch by batch within the range asked for', () => {
    const a = [batch(0, 4, 0, 1), batch(5, 9, 0, 2), batch(10, 10, 1, 3)];
    const b = [batch(0, 4, 0, 1), batch(5, 9, 0, 2), batch(10, 10, 2, 9)];
    expect(firstDifference(a, b, 0, 10)).toBeUndefined();
    expect(firstDifference(a, b, 0, 11)).toMatchObject({ offset: 10 });
    expect(firstDifference(a, b, 7, 10)).toBeUndefined();
    // Same offsets and epoch, different content.
    expect(firstDifference([batch(0, 4, 0, 1)], [batch(0, 4, 0, 7)], 0, 5)).toMatchObject({ offset: 0 });
    // One log ends early.
    expect(firstDifference(a, a.slice(0, 2), 0, 11)).toMatchObject({ offset: 10, b: undefined });
    // Different batch boundaries are a difference.
    expect(firstDifference([batch(0, 4, 0, 1)], [batch(0, 2, 0, 1), batch(3, 4, 0, 1)], 0, 5)).toMatchObject({ offset: 0 });
  });
});

// -------------------------------------------------------------------------------------------------
// A tiny world: fake brokers and a fake controller whose state the test sets, one event at a time.

class FakeLog implements LogView {
  highWatermark = 0;
  highWatermarkFromCheckpoint = false;
  batches: BatchView[] = [];
  get logEndOffset(): number {
    return (this.batches[this.batches.length - 1]?.lastOffset ?? -1) + 1;
  }
  latestEpoch(): number {
    return this.batches[this.batches.length - 1]?.partitionLeaderEpoch ?? -1;
  }
}

class FakePartition implements PartitionView {
  role: PartitionView['role'] = 'follower';
  leaderEpoch = 0;
  constructor(readonly log: FakeLog) {}
}

class FakeBroker implements BrokerView, Node {
  readonly logs = new Map<string, FakeLog>();
  readonly partitions = new Map<string, FakePartition>();
  constructor() {
    const log = new FakeLog();
    this.logs.set('t-0', log);
    this.partitions.set('t-0', new FakePartition(log));
  }
  get p(): FakePartition {
    return this.partitions.get('t-0') as FakePartition;
  }
  start(): void {}
  onMessage(): void {}
  onTimer(): void {}
}

class FakeController implements ControllerView, Node {
  readonly image = { offset: 0, partitions: new Map<string, RegistrationView>([['t-0', reg()]]) };
  set(r: Partial<RegistrationView>): void {
    this.image.partitions.set('t-0', reg(r));
    this.image.offset++;
  }
  start(): void {}
  onMessage(): void {}
  onTimer(): void {}
}

interface Tiny {
  world: World;
  set: InvariantSet;
  b: (name: string) => FakeBroker;
  c1: () => FakeController;
  /** Run `fn` as the next event, then let the invariants look. */
  step: (fn: () => void) => void;
}

function tiny(brokers = 3, config: Record<string, string | number | boolean> = {}, options: InvariantOptions = {}): Tiny {
  const world = new World({ seed: 1 });
  const names = Array.from({ length: brokers }, (_, i) => `b${i + 1}`);
  world.addNode('c1', () => new FakeController());
  for (const n of names) world.addNode(n, () => new FakeBroker());
  const cluster: Cluster = { world, config: new KafkaConfig({ 'min.insync.replicas': 2, ...config }), brokers: names, clients: [], history: [] };
  const set = installInvariants(cluster, options);
  world.startAll();
  let t = 0;
  return {
    world,
    set,
    b: (name) => world.nodeState<FakeBroker>(name) as FakeBroker,
    c1: () => world.nodeState<FakeController>('c1') as FakeController,
    step: (fn) => {
      t += 10;
      world.at(t, undefined, fn);
      world.run({ untilMs: t });
    },
  };
}

/** b1 leads epoch 0 with [0..4] committed (HW 5) on every replica. */
function committedStart(x: Tiny): void {
  x.step(() => {
    for (const n of ['b1', 'b2', 'b3']) {
      const b = x.b(n);
      b.p.log.batches = [batch(0, 4, 0, 1)];
      b.p.log.highWatermark = 5;
    }
    x.b('b1').p.role = 'leader';
  });
}

describe('invariants on a tiny world', () => {
  it('installs the named invariants', () => {
    const x = tiny();
    expect(x.set.names).toEqual([...INVARIANT_NAMES]);
    expect(x.set.names).toEqual([
      'SingleLeaderPerEpoch',
      'LeaderEpochMonotonic',
      'HighWatermarkMonotonic',
      'LeaderInIsr',
      'IsrElrDisjoint',
      'LeaderCompleteness',
      'LogMatching',
      'ReplicasConverge',
    ]);
  });

  it('a consistent history passes every invariant, and the committed prefix is learned from the leader', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b1').p.log.batches.push(batch(5, 9, 0, 2));
    });
    x.step(() => {
      x.b('b1').p.log.highWatermark = 10;
      x.b('b2').p.log.batches.push(batch(5, 9, 0, 2));
    });
    expect(x.world.firstFailure).toBeUndefined();
    expect(x.set.committedEnd('t-0')).toBe(10);
    x.step(() => {
      for (const n of ['b2', 'b3']) x.b(n).p.log.highWatermark = 10;
      x.b('b3').p.log.batches.push(batch(5, 9, 0, 2));
    });
    expect(x.world.firstFailure).toBeUndefined();
    expect(x.world.checkAtEnd()).toBeUndefined();
  });

  it('SingleLeaderPerEpoch: two brokers leading epoch 0', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b2').p.role = 'leader';
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'SingleLeaderPerEpoch' });
    expect(x.world.firstFailure?.detail).toMatch(/t-0: b2 acts as leader in leader epoch 0, which b1 led/);
  });

  it('LeaderEpochMonotonic: a broker going back to an older epoch (and not across a restart)', () => {
    const x = tiny();
    x.step(() => {
      x.b('b2').p.leaderEpoch = 4;
    });
    // A restarted broker replays metadata from the beginning: epoch 0 again is fine.
    x.step(() => {
      x.world.crash('b2');
      x.world.restart('b2');
    });
    x.step(() => {
      x.b('b2').p.leaderEpoch = 1;
    });
    expect(x.world.firstFailure).toBeUndefined();
    x.step(() => {
      x.b('b2').p.leaderEpoch = 0;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LeaderEpochMonotonic', detail: "t-0: b2's leader epoch went from 1 back to 0 (same process)" });
  });

  it('HighWatermarkMonotonic: a leader whose high watermark moves back within its epoch', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b1').p.log.batches.push(batch(5, 9, 0, 2));
      x.b('b1').p.log.highWatermark = 3;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'HighWatermarkMonotonic' });
    expect(x.world.firstFailure?.detail).toBe("t-0: leader b1's high watermark went from 5 back to 3 within leader epoch 0");
  });

  it('HighWatermarkMonotonic: a new epoch starts a new count, and followers may move back', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b2').p.log.highWatermark = 2; // a follower takes a lower HW from its leader
      x.b('b1').p.role = 'follower';
      x.b('b3').p.role = 'leader';
      x.b('b3').p.leaderEpoch = 1;
      x.b('b3').p.log.highWatermark = 4; // a new leader's HW may start below the old one's
    });
    expect(x.world.firstFailure).toBeUndefined();
  });

  it('LeaderInIsr: the committed image names a leader outside the ISR', () => {
    const x = tiny();
    x.step(() => x.c1().set({ leader: 2, isr: [2, 3], leaderEpoch: 1 }));
    expect(x.world.firstFailure).toBeUndefined();
    x.step(() => x.c1().set({ leader: 1, isr: [2, 3], leaderEpoch: 2 }));
    expect(x.world.firstFailure).toMatchObject({ name: 'LeaderInIsr', detail: "t-0: the controller's leader b1 (epoch 2) is not in its ISR [2,3]" });
  });

  it('IsrElrDisjoint: a broker in both ISR and ELR', () => {
    const x = tiny();
    x.step(() => x.c1().set({ leader: 1, isr: [1], elr: [2, 3] }));
    expect(x.world.firstFailure).toBeUndefined();
    x.step(() => x.c1().set({ leader: 1, isr: [1], elr: [1, 3] }));
    expect(x.world.firstFailure).toMatchObject({ name: 'IsrElrDisjoint' });
  });

  it('LogMatching: two replicas differ below both high watermarks', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b3').p.log.batches.push(batch(5, 9, 0, 2));
      x.b('b2').p.log.batches.push(batch(5, 9, 0, 3));
    });
    expect(x.world.firstFailure).toBeUndefined(); // above the high watermarks: not yet
    x.step(() => {
      x.b('b3').p.log.highWatermark = 10;
      x.b('b2').p.log.highWatermark = 10;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LogMatching' });
    expect(x.world.firstFailure?.detail).toMatch(/^t-0: b2 \(HW 10, epoch 0\) and b3 \(HW 10, epoch 0\) differ at offset 5, below both high watermarks/);
  });

  it('LogMatching: a follower high watermark still read from the checkpoint claims nothing until a fetch response sets one', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      // b2 restarted with a stale checkpoint: HW 10 over a tail the leader b1 has since replaced.
      const b2 = x.b('b2').p.log;
      b2.batches.push(batch(5, 9, 0, 3));
      b2.highWatermarkFromCheckpoint = true;
      b2.highWatermark = 10;
      const b1 = x.b('b1').p.log;
      b1.batches.push(batch(5, 9, 0, 2));
      b1.highWatermark = 10;
    });
    expect(x.world.firstFailure).toBeUndefined();
    x.step(() => {
      x.b('b2').p.log.highWatermarkFromCheckpoint = false; // a leader's fetch response gave it HW 10
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LogMatching' });
    expect(x.world.firstFailure?.detail).toMatch(/^t-0: b2 \(HW 10, epoch 0\) and b1 \(HW 10, epoch 0\) differ at offset 5/);
  });

  it('LogMatching: a truncation and re-append inside one event is seen through the trace', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      const log = x.b('b2').p.log;
      // Replaced wholesale at the same length and HW: only the trace says it changed.
      log.batches = [batch(0, 4, 0, 9)];
      x.world.emit('log.truncated', { topic: 't', partition: 0, requested: 0, from: 5, logEndOffset: 0 }, 'b2');
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LogMatching' });
  });

  it('LogMatching after an unclean election: only replicas reconciled with the new leader are compared', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b2').p.log.batches.push(batch(5, 9, 0, 2));
      x.b('b2').p.log.highWatermark = 10;
      x.b('b1').p.log.batches.push(batch(5, 9, 0, 2));
      x.b('b1').p.log.highWatermark = 10;
    });
    // b1 and b2 crash; b3 is elected uncleanly in epoch 2 and writes other records at 5…
    x.step(() => {
      x.world.crash('b1');
      x.world.emit(
        'controller.elect',
        { topic: 't', partition: 0, leader: 3, leaderEpoch: 2, reason: 'unclean election of b3 (no live ISR or ELR member)' },
        'c1',
      );
      const b3 = x.b('b3').p;
      b3.role = 'leader';
      b3.leaderEpoch = 2;
      b3.log.batches.push(batch(5, 7, 2, 5));
      b3.log.highWatermark = 8;
    });
    // …b2 has not reconciled yet: its stale records may differ.
    expect(x.world.firstFailure).toBeUndefined();
    expect(x.set.stats.uncleanElections).toEqual({ 't-0': 2 });
    expect(x.set.stats.uncleanRebases).toHaveLength(1);
    // b2 fetches from b3 without truncating (the KAFKA-6361 shape): now it diverges below both HWs.
    x.step(() => {
      const b2 = x.b('b2').p;
      b2.leaderEpoch = 2;
      b2.log.batches.push(batch(10, 10, 2, 6));
      b2.log.highWatermark = 8;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LogMatching' });
    expect(x.world.firstFailure?.detail).toMatch(/both reconciled after the unclean election of epoch 2/);
  });

  it('LogMatching with allowUncleanDivergence=false compares every pair, unclean or not', () => {
    const x = tiny(3, {}, { allowUncleanDivergence: false });
    committedStart(x);
    x.step(() => {
      x.world.emit('controller.elect', { topic: 't', partition: 0, leader: 3, leaderEpoch: 1, reason: 'unclean election of b3' }, 'c1');
      x.b('b2').p.log.batches.push(batch(5, 9, 0, 2));
      x.b('b2').p.log.highWatermark = 10;
      x.b('b3').p.log.batches.push(batch(5, 9, 1, 3));
      x.b('b3').p.log.highWatermark = 10;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LogMatching' });
  });

  it('LeaderCompleteness: a new leader lacking a committed record another live replica holds', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.b('b1').p.role = 'follower';
      const b3 = x.b('b3').p;
      b3.log.batches = [];
      b3.log.highWatermark = 0;
      b3.role = 'leader';
      b3.leaderEpoch = 1;
      x.world.emit('log.truncated', { topic: 't', partition: 0, requested: 0, from: 5, logEndOffset: 0 }, 'b3');
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LeaderCompleteness' });
    expect(x.world.firstFailure?.detail).toMatch(
      /^t-0: leader b3 \(epoch 1\) lacks committed offset 0: it holds nothing where b1 committed batch 0\.\.4 .* while b1 still holds it$/,
    );
  });

  it('LeaderCompleteness: a copy the protocol truncated still counts as surviving', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      x.world.crash('b1');
      x.world.crash('b2');
      const b3 = x.b('b3').p;
      b3.log.batches = [];
      b3.log.highWatermark = 0;
      x.world.emit('log.truncated', { topic: 't', partition: 0, requested: 0, from: 5, logEndOffset: 0 }, 'b3');
      x.world.emit(
        'replica.truncate',
        { topic: 't', partition: 0, from: 5, to: 0, rule: 'truncate-to-high-watermark (fix.kip-101 off)', leader: 2, leaderEpoch: 1 },
        'b3',
      );
    });
    x.step(() => {
      const b3 = x.b('b3').p;
      b3.role = 'leader';
      b3.leaderEpoch = 2;
    });
    expect(x.world.firstFailure).toMatchObject({ name: 'LeaderCompleteness' });
    expect(x.world.firstFailure?.detail).toMatch(
      /b3 removed its copy \(offsets 0\.\.4\) by truncation at 20 ms: truncate-to-high-watermark \(fix\.kip-101 off\)/,
    );
  });

  it('LeaderCompleteness: a record whose every copy was lost to faults is a permitted loss; one that survived on disk is not', () => {
    for (const survives of [false, true]) {
      const x = tiny();
      committedStart(x);
      // b1 and b2 lose power; b3 (which never had the records: a fresh log) leads epoch 1.
      x.step(() => {
        x.world.crash('b1');
        x.world.crash('b2');
        const b3 = x.b('b3');
        const log = new FakeLog();
        b3.logs.set('t-0', log);
        b3.partitions.set('t-0', Object.assign(new FakePartition(log), { role: 'leader' as const, leaderEpoch: 1 }));
      });
      expect(x.world.firstFailure).toBeUndefined(); // undecided until their disks are read
      // They restart: their logs come back from disk with the records (survives) or without.
      x.step(() => {
        x.world.restart('b1');
        x.world.restart('b2');
        for (const n of ['b1', 'b2']) {
          x.b(n).p.log.batches = survives ? [batch(0, 4, 0, 1)] : [];
          x.b(n).p.log.highWatermark = 0;
        }
      });
      if (survives) {
        expect(x.world.firstFailure).toMatchObject({ name: 'LeaderCompleteness' });
      } else {
        expect(x.world.firstFailure).toBeUndefined();
        expect(x.set.stats.lossesToFaults).toHaveLength(1);
        expect(x.set.committedEnd('t-0')).toBe(0);
      }
    }
  });

  it('LeaderCompleteness does not judge a zombie leader of an older epoch', () => {
    const x = tiny();
    committedStart(x);
    x.step(() => {
      const b2 = x.b('b2').p;
      b2.role = 'leader';
      b2.leaderEpoch = 1;
      b2.log.batches.push(batch(5, 9, 1, 2));
      b2.log.highWatermark = 10;
    });
    expect(x.set.committedEnd('t-0')).toBe(10);
    expect(x.world.firstFailure).toBeUndefined(); // b1 still thinks it leads epoch 0 and lacks 5..9
  });

  it('ReplicasConverge: replicas that end with different logs', () => {
    const x = tiny();
    committedStart(x);
    expect(x.world.checkAtEnd()).toBeUndefined();
    const y = tiny();
    committedStart(y);
    y.step(() => y.b('b3').p.log.batches.push(batch(5, 5, 0, 4)));
    expect(y.world.checkAtEnd()).toMatchObject({
      name: 'ReplicasConverge',
      detail: 't-0: b1 (LEO 5) and b3 (LEO 6) hold different logs at the end, first at offset 5: b1 holds nothing, b3 holds batch 5..5 (epoch 0, crc 00000004)',
    });
  });
});

// -------------------------------------------------------------------------------------------------
// Real clusters

interface Outcome {
  c: Cluster;
  set: InvariantSet;
  failure: string | undefined;
}

function runWith(spec: ClusterSpec, faults: FaultAction[], untilMs: number, options: InvariantOptions = {}, healAtMs?: number): Outcome {
  const c = buildCluster(spec);
  installFaults(c.world, faults);
  const set = installInvariants(c, options);
  if (healAtMs !== undefined) c.world.at(healAtMs, 'heal-all', () => c.world.healAll());
  c.world.startAll();
  const result = c.world.run({ untilMs });
  const f = result.failure ?? c.world.checkAtEnd();
  return { c, set, failure: f === undefined ? undefined : `${f.name}: ${f.detail}` };
}

/** test/scenario/cluster-durability.test.ts: one crash/restart or isolation every ~15 s. */
function spacedSchedule(seed: number, phaseMs: number): FaultAction[] {
  const rng = new Rng(seed, 'test-schedule');
  const out: FaultAction[] = [];
  for (let t = 5000 + rng.int(0, 2000); t < phaseMs - 8000; t += 15_000 + rng.int(0, 3000)) {
    const node = `b${rng.int(1, 3)}`;
    if (rng.chance(0.5)) out.push({ atMs: t, fault: 'crash', node }, { atMs: t + rng.int(200, 3000), fault: 'restart', node });
    else out.push({ atMs: t, fault: 'partition', isolate: node }, { atMs: t + rng.int(500, 6000), fault: 'heal' });
  }
  return out;
}

describe('no false positives with every fix in', () => {
  it.each([1, 2, 3])('seed %i: the cluster-durability schedule (crashes, restarts, isolations) breaks no invariant', (seed) => {
    const phaseMs = 60_000;
    const o = runWith(
      {
        seed,
        brokers: 3,
        topics: [{ name: 't', partitions: 6, replicationFactor: 3 }],
        config: { 'min.insync.replicas': 2 },
        producers: [{ id: 'p1', topic: 't', ratePerSec: 100, stopAtMs: phaseMs }],
        consumers: [{ id: 'k1', topic: 't' }],
      },
      spacedSchedule(seed, phaseMs),
      phaseMs + 40_000,
      {},
      phaseMs,
    );
    expect(o.failure).toBeUndefined();
    // The invariants did real work: every partition has a long committed prefix.
    for (let p = 0; p < 6; p++) expect(o.set.committedEnd(`t-${p}`)).toBeGreaterThan(500);
    expect(o.set.stats.batchesCompared).toBeGreaterThan(10_000);
  });

  it.each([1, 2, 3, 4])('seed %i: a random nemesis with power losses, partitions and pauses breaks no invariant', (seed) => {
    const plan = drawNemesis(new Rng(seed, 'nemesis'), {
      kinds: ['crash', 'partition', 'pause'],
      endMs: 40_000,
      startMs: 2000,
      nodes: ['b1', 'b2', 'b3'],
      meanIntervalMs: 2000,
    });
    const o = runWith(
      {
        seed,
        brokers: 3,
        topics: [{ name: 't', partitions: 3, replicationFactor: 3 }],
        config: { 'min.insync.replicas': 2 },
        producers: [{ id: 'p1', topic: 't', ratePerSec: 50, stopAtMs: 40_000 }],
        consumers: [{ id: 'k1', topic: 't' }],
      },
      plan.faults,
      80_000,
      {},
      40_000,
    );
    expect(plan.faults.filter((f) => f.fault === 'crash').length).toBeGreaterThanOrEqual(3);
    expect(o.failure).toBeUndefined();
    expect(o.set.committedEnd('t-0')).toBeGreaterThan(0);
  });
});

// -------------------------------------------------------------------------------------------------
// The bug zoo: the catalogue's scenarios (scenarios/builtin/zoo.ts) run as `ksim run` runs them.

/** No guarantee model: the zoo runs below are judged by the invariants alone. */
const noAnomalies = (): RunChecker => ({ name: 'none', finish: () => [] });

/**
 * A zoo scenario with its fix on or off, judged by `install` (default: every invariant):
 * `failure` is the first invariant to fail, `converged` whether the liveness phase saw the cluster
 * converge (ReplicasConverge is judged only then).
 */
function zoo(name: string, seed: number, fix: boolean, install: Judges['installInvariants'] = (c) => installInvariants(c)) {
  const { report, cluster } = runScenarioDetailed(builtinScenario(name), {
    seed,
    set: { [`fix.${name}`]: fix },
    judges: { installInvariants: install, createGuaranteeChecker: noAnomalies },
  });
  const v = report.violations[0];
  return { c: cluster, failure: v === undefined ? undefined : `${v.invariant}: ${v.detail}`, converged: report.convergedAtMs !== null };
}

describe('the bug zoo breaks the invariants its bug breaks (and only with the fix off)', () => {
  it.each([1, 2])('fix.kip-279 (KAFKA-6361), seed %i: LogMatching between the replicas reconciled after the unclean election', (seed) => {
    const off = zoo('kip-279', seed, false);
    expect(off.failure).toMatch(
      /^LogMatching: t-0: b2 \(HW 24, epoch 3\) and b1 \(HW 24, epoch 3\) differ at offset 10, below both high watermarks \(both reconciled after the unclean election of epoch 3\): b2 holds batch 10\.\.10 \(epoch 1, .*\), b1 holds batch 10\.\.10 \(epoch 0, /,
    );
    expect(zoo('kip-279', seed, true)).toMatchObject({ failure: undefined, converged: true });
  });

  it('fix.kip-279: ReplicasConverge, judged alone at the end, finds the replicas never converge', () => {
    // LogMatching stops the run first; installed after the run, only the end-of-run check speaks.
    const { c, failure } = zoo('kip-279', 1, false, () => ({ names: [] }));
    expect(failure).toBeUndefined();
    installInvariants(c);
    expect(c.world.checkAtEnd()).toMatchObject({ name: 'ReplicasConverge' });
    expect(c.world.firstFailure?.detail).toMatch(
      /^t-0: b1 \(LEO 24\) and b2 \(LEO 24\) hold different logs at the end, first at offset 10: b1 holds batch 10\.\.10 \(epoch 0/,
    );
  });

  it.each([1, 2])('fix.kip-101 (scenario 1), seed %i: LeaderCompleteness names the truncation that destroyed the copy', (seed) => {
    expect(zoo('kip-101', seed, false).failure).toMatch(
      /^LeaderCompleteness: t-0: leader b3 \(epoch 2\) lacks committed offset 39: .* b3 removed its copy \(offsets 39\.\.39\) by truncation at [\d.]+ ms: truncate-to-high-watermark \(fix\.kip-101 off\) \(40 → 39, leader b2 epoch 1\)$/,
    );
    expect(zoo('kip-101', seed, true)).toMatchObject({ failure: undefined, converged: true });
  });

  it.each([1, 2])('fix.kafka-7128, seed %i: LeaderCompleteness once a crashed holder restarts with its copy', (seed) => {
    expect(zoo('kafka-7128', seed, false).failure).toMatch(
      /^LeaderCompleteness: t-0: leader b3 \(epoch 2\) lacks committed offset 5: .* while b[12] still holds it$/,
    );
    expect(zoo('kafka-7128', seed, true)).toMatchObject({ failure: undefined, converged: true });
  });

  it.each([1, 2])('fix.kip-966 (last replica standing), seed %i: LeaderCompleteness', (seed) => {
    expect(zoo('kip-966', seed, false).failure).toMatch(
      /^LeaderCompleteness: t-0: leader b1 \(epoch 2\) lacks committed offset 0: .* while b2 still holds it$/,
    );
    expect(zoo('kip-966', seed, true)).toMatchObject({ failure: undefined, converged: true });
  });

  it.each([1, 2])('fix.maximal-isr, seed %i: LeaderCompleteness', (seed) => {
    expect(zoo('maximal-isr', seed, false).failure).toMatch(/^LeaderCompleteness: t-0: leader b3 \(epoch 1\) lacks committed offset 5: /);
    expect(zoo('maximal-isr', seed, true)).toMatchObject({ failure: undefined, converged: true });
  });
});
