// Shared pieces of the built-in scenarios: explicit sends and the shape every built-in returns
// (the JSON of scenarios/scenario.ts, checked by parseScenario like any file).

/** `count` explicit sends by `producer` on `partition`, valued `${prefix}${first}…`, one every `stepMs` from `fromMs`. */
export function sends(
  producer: string,
  prefix: string,
  fromMs: number,
  count: number,
  stepMs: number,
  first = 0,
  partition = 0,
): { atMs: number; op: 'send'; producer: string; partition: number; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: fromMs + i * stepMs, op: 'send' as const, producer, partition, value: `${prefix}${first + i}` }));
}

/** One topic `t` with one partition on brokers 1..rf, preferred leader b1. */
export function onePartition(rf: number): { name: string; partitions: number; replicationFactor: number; assignment: number[][] }[] {
  return [{ name: 't', partitions: 1, replicationFactor: rf, assignment: [Array.from({ length: rf }, (_, i) => i + 1)] }];
}

export const ZOO_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Topic `t` on two brokers with replication factor 2: `partitions` partitions, led alternately by b1 and b2. */
export function pairTopic(partitions: number): { name: string; partitions: number; replicationFactor: number; assignment: number[][] }[] {
  return [{ name: 't', partitions, replicationFactor: 2, assignment: Array.from({ length: partitions }, (_, i) => (i % 2 === 0 ? [1, 2] : [2, 1])) }];
}
