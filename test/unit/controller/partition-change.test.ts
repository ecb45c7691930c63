import { describe, expect, it } from 'vitest';
import {
  buildPartitionChange,
  computeTargetElr,
  type ElectionConfig,
  electLeader,
  type PartitionChangeRecord,
} from '../../../core/controller/partition-change.js';
import { MetadataImage, type PartitionRegistration } from '../../../core/metadata.js';
import { NO_LEADER, NO_LEADER_CHANGE } from '../../../core/protocol.js';

const ELR_OFF: ElectionConfig = { minIsr: 1, uncleanLeaderElectionEnabled: false, elrEnabled: false };
const ELR_ON: ElectionConfig = { minIsr: 2, uncleanLeaderElectionEnabled: false, elrEnabled: true };

function part(over: Partial<PartitionRegistration> = {}): PartitionRegistration {
  return {
    topic: 't',
    partition: 0,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    elr: [],
    lastKnownElr: [],
    leader: 1,
    leaderEpoch: 0,
    partitionEpoch: 0,
    leaderRecoveryState: 'RECOVERED',
    ...over,
  };
}

const live = (...ids: number[]): Set<number> => new Set(ids);

/** A partition in a MetadataImage, to chain changes as the controller applies them. */
class Chain {
  readonly image = new MetadataImage();
  constructor(replicas: number[], leader = replicas[0] as number) {
    this.image.apply({ type: 'Partition', topic: 't', partition: 0, replicas, isr: [...replicas], leader });
  }
  get p(): PartitionRegistration {
    return this.image.partition({ topic: 't', partition: 0 }) as PartitionRegistration;
  }
  change(
    targetIsr: number[],
    acceptable: Set<number>,
    config: ElectionConfig,
    cause: string,
    uncleanShutdown?: Set<number>,
  ): PartitionChangeRecord | undefined {
    const r = buildPartitionChange({ partition: this.p, targetIsr, acceptable, config, cause, ...(uncleanShutdown ? { uncleanShutdown } : {}) });
    if (r !== undefined) this.image.apply(r);
    return r;
  }
}

describe('partition change: leader election order', () => {
  it('keeps the current leader if it is still valid; an ISR shrink bumps only the partition epoch', () => {
    const r = buildPartitionChange({
      partition: part(),
      targetIsr: [1, 3],
      acceptable: live(1, 2, 3),
      config: ELR_OFF,
      cause: 'ISR shrink requested by leader',
    });
    expect(r).toMatchObject({ leader: NO_LEADER_CHANGE, isr: [1, 3] });
    expect(r?.reason).toContain('ISR shrink requested by leader');
    const c = new Chain([1, 2, 3]);
    c.change([1, 3], live(1, 2, 3), ELR_OFF, 'shrink');
    expect(c.p).toMatchObject({ leaderEpoch: 0, partitionEpoch: 1, leader: 1 });
  });

  it('a change that changes nothing is a no-op (undefined)', () => {
    expect(buildPartitionChange({ partition: part(), targetIsr: [1, 2, 3], acceptable: live(1, 2, 3), config: ELR_OFF, cause: 'x' })).toBeUndefined();
    expect(
      buildPartitionChange({ partition: part({ leader: NO_LEADER, isr: [1] }), targetIsr: [1], acceptable: live(2), config: ELR_OFF, cause: 'x' }),
    ).toBeUndefined();
  });

  it('a fenced leader is replaced by the first live ISR member in assignment order', () => {
    const p = part({ replicas: [1, 3, 2], isr: [1, 2, 3] });
    const r = buildPartitionChange({ partition: p, targetIsr: [2, 3], acceptable: live(2, 3), config: ELR_OFF, cause: 'leader b1 fenced' });
    expect(r).toMatchObject({ leader: 3, isr: [2, 3] });
    expect(r?.reason).toBe('leader b1 fenced; elected b3 (first live ISR member in assignment order); ISR [1,2,3] → [2,3]');
    // An ISR member that is not acceptable (fenced, unregistered) is skipped.
    expect(buildPartitionChange({ partition: p, targetIsr: [2, 3], acceptable: live(2), config: ELR_OFF, cause: 'c' })?.leader).toBe(2);
  });

  it('electLeader reports how the leader was chosen', () => {
    const p = part({ leader: NO_LEADER, isr: [], elr: [2, 3] });
    expect(electLeader(p, [], [2, 3], live(3), ELR_ON)).toEqual({ leader: 3, kind: 'elr' });
    expect(electLeader(part(), [1, 2], [], live(1, 2), ELR_ON)).toEqual({ leader: 1, kind: 'current' });
    expect(electLeader(part(), [2, 3], [], live(2, 3), ELR_ON)).toEqual({ leader: 2, kind: 'isr' });
    expect(electLeader(part(), [2, 3], [], live(), ELR_ON)).toEqual({ leader: NO_LEADER, kind: 'none' });
  });

  it('without ELR the ISR never becomes empty: the last replica standing keeps isr=[last], leader -1', () => {
    const c = new Chain([1, 2, 3]);
    c.change([1, 3], live(1, 2, 3), ELR_OFF, 'shrink');
    c.change([1], live(1, 2, 3), ELR_OFF, 'shrink');
    const r = c.change([], live(2, 3), ELR_OFF, 'leader b1 fenced');
    expect(r).toMatchObject({ leader: NO_LEADER });
    expect(r?.isr).toBeUndefined();
    expect(r?.reason).toContain('last replica standing: ISR kept [1]');
    expect(c.p).toMatchObject({ isr: [1], leader: NO_LEADER, leaderEpoch: 1 });
    // Other brokers coming back do not help without unclean election ...
    expect(c.change(c.p.isr, live(2, 3), ELR_OFF, 'b2 unfenced')).toBeUndefined();
    // ... the partition waits for that exact broker.
    const back = c.change(c.p.isr, live(1, 2, 3), ELR_OFF, 'b1 unfenced');
    expect(back).toMatchObject({ leader: 1 });
    expect(c.p).toMatchObject({ isr: [1], leader: 1, leaderEpoch: 2, leaderRecoveryState: 'RECOVERED' });
  });

  it('unclean election only when enabled: first acceptable replica, ISR=[leader], RECOVERING', () => {
    const p = part({ leader: NO_LEADER, isr: [1], leaderEpoch: 1, partitionEpoch: 3 });
    expect(buildPartitionChange({ partition: p, targetIsr: [1], acceptable: live(2, 3), config: ELR_OFF, cause: 'periodic' })).toBeUndefined();
    const r = buildPartitionChange({
      partition: p,
      targetIsr: [1],
      acceptable: live(3, 2),
      config: { ...ELR_OFF, uncleanLeaderElectionEnabled: true },
      cause: 'periodic',
    });
    expect(r).toMatchObject({ leader: 2, isr: [2], leaderRecoveryState: 'RECOVERING' });
    expect(r?.reason).toContain('unclean election of b2');
  });

  it('an unclean election is the last resort: a live ISR or ELR member wins', () => {
    const unclean = { ...ELR_ON, uncleanLeaderElectionEnabled: true };
    const p = part({ leader: NO_LEADER, isr: [], elr: [3], lastKnownElr: [1] });
    const r = buildPartitionChange({ partition: p, targetIsr: [], acceptable: live(2, 3), config: unclean, cause: 'b3 unfenced' });
    expect(r).toMatchObject({ leader: 3, isr: [3], elr: [] });
    expect(r?.leaderRecoveryState).toBeUndefined();
  });

  it('an unclean election clears the ELR and lastKnownElr', () => {
    const p = part({ leader: NO_LEADER, isr: [], elr: [1], lastKnownElr: [1] });
    const r = buildPartitionChange({ partition: p, targetIsr: [], acceptable: live(2), config: { ...ELR_ON, uncleanLeaderElectionEnabled: true }, cause: 'c' });
    expect(r).toMatchObject({ leader: 2, isr: [2], elr: [], lastKnownElr: [], leaderRecoveryState: 'RECOVERING' });
  });

  it('an ISR naming a non-replica or a duplicate is a programming error', () => {
    expect(() => buildPartitionChange({ partition: part(), targetIsr: [1, 4], acceptable: live(1), config: ELR_OFF, cause: 'c' })).toThrow(/non-replica 4/);
    expect(() => buildPartitionChange({ partition: part(), targetIsr: [1, 1], acceptable: live(1), config: ELR_OFF, cause: 'c' })).toThrow(/duplicates/);
  });

  it('the leader reporting RECOVERED ends KIP-704 recovery without an epoch bump of the leader', () => {
    const p = part({ isr: [2], leader: 2, leaderRecoveryState: 'RECOVERING' });
    const r = buildPartitionChange({
      partition: p,
      targetIsr: [2],
      acceptable: live(2),
      config: ELR_OFF,
      cause: 'leader recovered',
      targetLeaderRecoveryState: 'RECOVERED',
    });
    expect(r).toEqual({
      type: 'PartitionChange',
      topic: 't',
      partition: 0,
      leader: NO_LEADER_CHANGE,
      leaderRecoveryState: 'RECOVERED',
      reason: 'leader recovered',
    });
  });
});

describe('partition change: KIP-966 ELR maintenance', () => {
  it("the notes' example: ISR [1,2,3] → [1,3] → [1] + ELR [3] → 1 fenced → leader 3", () => {
    const c = new Chain([1, 2, 3]);
    expect(c.change([1, 3], live(1, 2, 3), ELR_ON, 'shrink')?.elr).toBeUndefined();
    expect(c.p).toMatchObject({ isr: [1, 3], elr: [] });
    c.change([1], live(1, 2, 3), ELR_ON, 'shrink');
    expect(c.p).toMatchObject({ isr: [1], elr: [3], leader: 1 });
    const r = c.change([], live(2, 3), ELR_ON, 'leader b1 fenced');
    expect(r?.reason).toContain('elected b3 from the ELR');
    expect(c.p).toMatchObject({ isr: [3], elr: [1], leader: 3, leaderEpoch: 1, leaderRecoveryState: 'RECOVERED' });
  });

  it('the ISR may become empty; its members move to the ELR and the last leader is remembered', () => {
    const c = new Chain([1, 2, 3]);
    c.change([1, 3], live(1, 2, 3), ELR_ON, 'shrink');
    c.change([1], live(1, 2, 3), ELR_ON, 'shrink');
    const r = c.change([], live(2), ELR_ON, 'leader b1 fenced');
    expect(r).toMatchObject({ leader: NO_LEADER, isr: [], elr: [1, 3], lastKnownElr: [1] });
    // Fencing does not remove anyone from the ELR: when b1 returns (cleanly) it leads again.
    const back = c.change([], live(1, 2), ELR_ON, 'b1 unfenced');
    expect(back).toMatchObject({ leader: 1, isr: [1], elr: [3], lastKnownElr: [] });
  });

  it('target ISR ≥ min ISR clears ELR and lastKnownElr', () => {
    const p = part({ isr: [1], elr: [3], lastKnownElr: [2] });
    const r = buildPartitionChange({ partition: p, targetIsr: [1, 2], acceptable: live(1, 2, 3), config: ELR_ON, cause: 'ISR expansion requested by leader' });
    expect(r).toMatchObject({ isr: [1, 2], elr: [], lastKnownElr: [] });
    expect(r?.reason).toContain('ELR [3] → []');
  });

  it('ELR = (old ELR ∪ old ISR) − target ISR − unclean-shutdown replicas', () => {
    const p = part({ isr: [1, 2], elr: [3] });
    expect(computeTargetElr(p, [1], ELR_ON)).toEqual([2, 3]);
    expect(computeTargetElr(p, [1], ELR_ON, new Set([3]))).toEqual([2]);
    expect(computeTargetElr(p, [1, 2], ELR_ON)).toEqual([]);
    expect(computeTargetElr(p, [1], ELR_OFF)).toEqual([]);
  });

  it('a replica back from an unclean shutdown leaves the ELR', () => {
    const p = part({ isr: [3], leader: 3, elr: [1] });
    const r = buildPartitionChange({
      partition: p,
      targetIsr: [3],
      acceptable: live(2, 3),
      config: ELR_ON,
      cause: 'b1 registered after an unclean shutdown',
      uncleanShutdown: new Set([1]),
    });
    expect(r).toMatchObject({ leader: NO_LEADER_CHANGE, elr: [] });
    expect(r?.isr).toBeUndefined();
  });

  it('the last known leader is elected (uncleanly) only when ISR and ELR are empty and it is alive', () => {
    const p = part({ isr: [], elr: [], lastKnownElr: [1], leader: NO_LEADER });
    expect(buildPartitionChange({ partition: p, targetIsr: [], acceptable: live(2, 3), config: ELR_ON, cause: 'c' })).toBeUndefined();
    const r = buildPartitionChange({ partition: p, targetIsr: [], acceptable: live(1, 2), config: ELR_ON, cause: 'b1 unfenced' });
    expect(r).toMatchObject({ leader: 1, isr: [1], lastKnownElr: [], leaderRecoveryState: 'RECOVERING' });
    expect(r?.reason).toContain('unclean election of last known leader b1');
    // With ELR off there is no such rule.
    expect(buildPartitionChange({ partition: p, targetIsr: [], acceptable: live(1, 2), config: ELR_OFF, cause: 'c' })?.leader ?? NO_LEADER_CHANGE).not.toBe(1);
  });

  it('with ELR off the ELR stays empty below min ISR', () => {
    const r = buildPartitionChange({ partition: part(), targetIsr: [1], acceptable: live(1, 2, 3), config: { ...ELR_OFF, minIsr: 2 }, cause: 'shrink' });
    expect(r).toMatchObject({ isr: [1] });
    expect(r?.elr).toBeUndefined();
  });
});
