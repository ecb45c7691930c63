// End-of-run assertions on a cluster's final state, used by the bug-zoo and durability tests until
// the full history checkers and guarantee model exist (they will subsume these). Each returns the
// problems found, as sentences naming the partition, offset, value and replica.

import type { Broker } from '../core/broker/broker.js';
import type { Controller } from '../core/controller/controller.js';
import { NO_LEADER, tpKey } from '../core/protocol.js';
import { type Cluster, CONTROLLER_NODE, replicaRecords } from './cluster.js';

/** Acknowledged sends whose value is not at their acknowledged offset on every replica (or, with `onLeader`, on the leader). */
export function ackedWritesMissing(c: Cluster, topic: string, options: { onLeader?: boolean } = {}): string[] {
  const problems: string[] = [];
  const oks = c.history.filter((o) => o.f === 'send' && o.type === 'ok' && o.topic === topic && o.offset !== undefined && o.offset >= 0);
  const partitions = [...new Set(oks.map((o) => o.partition))].sort((a, b) => a - b);
  for (const p of partitions) {
    const holders = options.onLeader ? [leaderOf(c, topic, p)].filter((b): b is string => b !== undefined) : c.brokers;
    const logs = holders.map((b) => ({ b, log: new Map((replicaRecords(c.world, b, topic, p) ?? []).map((r) => [r.offset, r.value])) }));
    for (const op of oks.filter((o) => o.partition === p)) {
      for (const { b, log } of logs) {
        const v = log.get(op.offset as number);
        if (v !== op.value) problems.push(`${op.value} acknowledged at ${topic}-${p}@${op.offset}, but ${b} holds ${v === undefined ? 'nothing' : v} there`);
      }
    }
  }
  return problems;
}

/** Replicas of a partition whose logs differ (offset and values where they first differ). */
export function replicasDiverge(c: Cluster, topic: string, partitions: number): string[] {
  const problems: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const logs = c.brokers.map((b) => ({ b, log: replicaRecords(c.world, b, topic, p) ?? [] }));
    const [first, ...rest] = logs;
    if (first === undefined) continue;
    for (const other of rest) {
      const n = Math.max(first.log.length, other.log.length);
      for (let i = 0; i < n; i++) {
        const x = first.log[i];
        const y = other.log[i];
        if (x?.value !== y?.value || x?.offset !== y?.offset) {
          problems.push(
            `${topic}-${p}: ${first.b} and ${other.b} differ at offset ${x?.offset ?? y?.offset}: ${x?.value ?? 'nothing'} (epoch ${x?.epoch ?? '-'}) vs ${y?.value ?? 'nothing'} (epoch ${y?.epoch ?? '-'})`,
          );
          break;
        }
      }
    }
  }
  return problems;
}

/** Records in the leader's final log (below its high watermark) that consumer `consumer` never polled. */
export function unseenByConsumer(c: Cluster, consumer: string, topic: string, partitions: number): string[] {
  const seen = new Set<string>();
  for (const op of c.history) if (op.process === consumer && op.f === 'poll' && op.type === 'ok') for (const v of op.values ?? []) seen.add(v);
  const problems: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const leader = leaderOf(c, topic, p);
    if (leader === undefined) continue;
    // Consumers read only committed records: below the leader's high watermark.
    const hw = c.world.nodeState<Broker>(leader)?.logs.get(tpKey({ topic, partition: p }))?.highWatermark ?? 0;
    for (const r of replicaRecords(c.world, leader, topic, p) ?? []) {
      if (r.offset < hw && r.value !== null && !seen.has(r.value))
        problems.push(`${topic}-${p}@${r.offset} = ${r.value} (in ${leader}'s final log) was never polled by ${consumer}`);
    }
  }
  return problems;
}

/** The broker the controller names leader of a partition, if any. */
export function leaderOf(c: Cluster, topic: string, partition: number): string | undefined {
  const reg = c.world.nodeState<Controller>(CONTROLLER_NODE)?.image.partition({ topic, partition });
  return reg === undefined || reg.leader === NO_LEADER ? undefined : `b${reg.leader}`;
}
