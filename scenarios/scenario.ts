// The scenario format (DESIGN.md §5): a Kafka cluster, its workload, a fault schedule and/or a
// random nemesis, and how long to run — as JSON, written by hand or produced by the built-in
// catalogue (scenarios/builtin/). `parseScenario` checks untrusted JSON completely before anything
// runs: every problem is one InputError line naming the exact path (`topics[0].assignment[1][2]:
// broker 4 does not exist (brokers: 1..3)`), turned into exit code 254 by the command line.
//
//   {
//     "name": "split-brain", "description": "…",
//     "brokers": 3, "controllers": 1,
//     "topics": [{ "name": "t", "partitions": 1, "replicationFactor": 3, "assignment": [[1, 2, 3]] }],
//     "config": { "min.insync.replicas": 2 },
//     "producers": [{ "id": "p1", "topic": "t", "acks": "all", "ratePerSec": 50 }],
//     "consumers": [{ "id": "k1", "topic": "t" }],
//     "ops": [{ "atMs": 1000, "op": "send", "producer": "p1", "partition": 0, "value": "m1" }],
//     "faults": [{ "atMs": 5000, "fault": "partition", "sides": [["b1", "p1"], ["b2", "b3", "c1"]] }],
//     "nemesis": { "kinds": ["partition", "crash"], "meanIntervalMs": 4000 },
//     "durationMs": 30000, "liveness": { "withinMs": 30000 }
//   }
//
// Node names: brokers `b1…bN`, the controller `c1`, clients by their `id`. `ops` are explicit sends
// at the producer's local time; a producer with `ratePerSec` also sends generated unique values
// until `stopAtMs` (default: `durationMs`, so that the liveness phase can drain it). Faults use the
// schedule format of sim/faults.ts; a fault with `atMs` must lie within the fault phase
// (≤ durationMs), and `on` faults whose trigger comes after durationMs do not fire. `nemesis` draws
// more faults from the seed between `startMs` (default 3000) and durationMs over `nodes` (default:
// the brokers); without `kinds` it is in swarm mode. `expect` (built-in scenarios) states the
// verdict per setting that `ksim check` and the tests assert.

import { ConfigError, type ConfigOverrides, type ConfigValue, checkValue } from '../core/config.js';
import { CHANNELS } from '../core/protocol.js';
import type { DiskConfig } from '../sim/disk.js';
import { type FaultAction, parseFaults } from '../sim/faults.js';
import { describeType, expectArray, expectInteger, expectKeys, expectNumber, expectObject, expectString, InputError } from '../sim/input.js';
import { type NemesisKind, validateNemesisKinds } from '../sim/nemesis.js';
import type { NetworkConfig } from '../sim/network.js';
import type { Verdict } from './checks.js';
import type { TopicSpec } from './cluster.js';

export interface ScenarioProducer {
  id: string;
  topic: string;
  /** Shorthand for `config.acks`. */
  acks?: '0' | '1' | 'all';
  /** Mean generated values per second (Poisson arrivals); absent: only explicit sends. */
  ratePerSec?: number;
  /** Partitions the generated values go to, round-robin (default: all). */
  partitions?: number[];
  /** Explicit sends at the producer's local time (the top-level `ops` land here too). */
  ops: { atMs: number; partition: number; value: string }[];
  /** Generate no value at or after this (local) time; default: durationMs. */
  stopAtMs?: number;
  /** Per-client configuration overrides (Kafka's keys). */
  config?: ConfigOverrides;
}

export interface ScenarioConsumer {
  id: string;
  topic: string;
  partitions?: number[];
  config?: ConfigOverrides;
}

export interface ScenarioNemesis {
  /** Fault kinds to draw; absent: swarm mode (the seed picks kinds and rate). */
  kinds?: NemesisKind[];
  meanIntervalMs?: number;
  /** First fault no earlier than this (default 3000 ms, or a tenth of durationMs if shorter). */
  startMs?: number;
  /** Nodes the nemesis acts on (default: the brokers). */
  nodes?: string[];
  /** Nodes whose links from `nodes` a clog or reset may also hit; they are never crashed, paused or partitioned themselves. */
  peers?: string[];
  /** Mean duration per fault kind (sim/nemesis.ts NemesisOptions.meanDurationMs), e.g. `{ "clog": 3000 }`. */
  meanDurationMs?: Partial<Record<NemesisKind, number>>;
}

/** What a built-in scenario promises under one setting (checked by `ksim check` and test/scenario). */
export interface Expectation {
  /** Config overrides of this case; `{}` is the scenario as written. */
  set: ConfigOverrides;
  /** The verdict every seed must have (a list: any of them). */
  verdict: Verdict | Verdict[];
  /** Anomalies every seed must report as allowed (e.g. `lost-write` under acks=1). */
  allowed?: string[];
  /** Anomalies no seed may report, allowed or not. */
  absent?: string[];
  /** Per partition, the longest time between two acknowledged sends may not exceed this. */
  maxAckGapMs?: number;
  /** Seeds the test suite names for this case (bug-zoo scenarios; default: 1..N). */
  seeds?: number[];
  /** Why this is the expected outcome, in a sentence. */
  why: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** What `ksim run` was given for it: a built-in name or a file path (for the replay command). */
  source: string;
  brokers: number;
  controllers: 1;
  topics: TopicSpec[];
  config: ConfigOverrides;
  producers: ScenarioProducer[];
  consumers: ScenarioConsumer[];
  faults: FaultAction[];
  nemesis?: ScenarioNemesis;
  durationMs: number;
  liveness: { withinMs: number };
  /** Simulated disk settings (e.g. `crashFate`), for scenarios that need them. */
  disk?: Partial<DiskConfig>;
  network?: Partial<NetworkConfig>;
  expect: Expectation[];
}

export const DEFAULT_LIVENESS_MS = 30_000;
export const DEFAULT_NEMESIS_START_MS = 3000;
const MAX_BROKERS = 64;
const MAX_PARTITIONS = 1000;
const MAX_DURATION_MS = 24 * 3_600_000;

const TOP_KEYS = [
  'name',
  'description',
  'brokers',
  'controllers',
  'topics',
  'config',
  'producers',
  'consumers',
  'ops',
  'faults',
  'nemesis',
  'durationMs',
  'liveness',
  'disk',
  'network',
  'expect',
];

/** Check a JSON value is a scenario; `source` (a file path or built-in name) prefixes every error. */
export function parseScenario(json: unknown, source: string): Scenario {
  try {
    return parse(json, source);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${source}: ${e.message}`);
    throw e;
  }
}

function parse(json: unknown, source: string): Scenario {
  const o = expectObject(json, 'scenario');
  expectKeys(o, TOP_KEYS, 'scenario');
  const name = expectString(o.name, 'name');
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name)) throw new InputError(`name: "${name}" must be letters, digits, '.', '_' or '-'`);
  const description = o.description === undefined ? '' : expectStringAllowEmpty(o.description, 'description');
  const brokers = required(o, 'brokers', (v, p) => expectInteger(v, p, 1, MAX_BROKERS));
  if (o.controllers !== undefined) {
    const k = expectInteger(o.controllers, 'controllers', 1, 9);
    if (k !== 1) throw new InputError(`controllers: only 1 controller is supported for now (no Raft quorum yet), got ${k}`);
  }
  const durationMs = required(o, 'durationMs', (v, p) => positive(v, p, MAX_DURATION_MS));
  const brokerNames = Array.from({ length: brokers }, (_, i) => `b${i + 1}`);

  // Topics
  const topics = required(o, 'topics', (v, p) => expectArray(v, p)).map((t, i) => parseTopic(t, `topics[${i}]`, brokers));
  if (topics.length === 0) throw new InputError('topics: at least one topic is needed');
  const topicNames = new Set<string>();
  topics.forEach((t, i) => {
    if (topicNames.has(t.name)) throw new InputError(`topics[${i}].name: topic "${t.name}" is defined twice`);
    topicNames.add(t.name);
  });
  const partitionsOf = (topic: string) => (topics.find((t) => t.name === topic) as TopicSpec).partitions;

  // Config
  const config = o.config === undefined ? {} : parseConfig(o.config, 'config');

  // Clients
  const clientIds = new Set<string>();
  const checkId = (v: unknown, path: string): string => {
    const id = expectString(v, path);
    if (!/^[a-z][a-z0-9_-]*$/i.test(id)) throw new InputError(`${path}: "${id}" must start with a letter and hold only letters, digits, '_' or '-'`);
    if (/^[bc]\d+$/.test(id) || id === 'world') throw new InputError(`${path}: "${id}" is reserved for a broker, controller or the simulator`);
    if (clientIds.has(id)) throw new InputError(`${path}: client id "${id}" is used twice`);
    clientIds.add(id);
    return id;
  };
  const checkTopic = (v: unknown, path: string): string => {
    const t = expectString(v, path);
    if (!topicNames.has(t)) throw new InputError(`${path}: unknown topic "${t}" (topics: ${[...topicNames].join(', ')})`);
    return t;
  };
  const checkPartition = (v: unknown, path: string, topic: string): number => {
    const n = partitionsOf(topic);
    const p = expectInteger(v, path, 0);
    if (p >= n) throw new InputError(`${path}: partition ${p} does not exist (topic "${topic}" has partitions 0..${n - 1})`);
    return p;
  };
  const checkPartitions = (v: unknown, path: string, topic: string): number[] => {
    const ps = expectArray(v, path).map((x, i) => checkPartition(x, `${path}[${i}]`, topic));
    if (ps.length === 0) throw new InputError(`${path}: give at least one partition (or leave the key out for all)`);
    if (new Set(ps).size !== ps.length) throw new InputError(`${path}: a partition is listed twice`);
    return ps;
  };

  const producers = (o.producers === undefined ? [] : expectArray(o.producers, 'producers')).map((v, i) => {
    const path = `producers[${i}]`;
    const p = expectObject(v, path);
    expectKeys(p, ['id', 'topic', 'acks', 'ratePerSec', 'partitions', 'ops', 'stopAtMs', 'config'], path);
    const out: ScenarioProducer = { id: checkId(p.id, `${path}.id`), topic: checkTopic(p.topic, `${path}.topic`), ops: [] };
    if (p.acks !== undefined) {
      const acks = typeof p.acks === 'number' ? String(p.acks) : p.acks;
      if (acks !== '0' && acks !== '1' && acks !== 'all' && acks !== '-1')
        throw new InputError(`${path}.acks: expected "all", "1" or "0", got ${describeType(p.acks)}`);
      out.acks = acks === '-1' ? 'all' : acks;
    }
    if (p.ratePerSec !== undefined) out.ratePerSec = positive(p.ratePerSec, `${path}.ratePerSec`, 100_000);
    if (p.partitions !== undefined) out.partitions = checkPartitions(p.partitions, `${path}.partitions`, out.topic);
    if (p.stopAtMs !== undefined) out.stopAtMs = positive(p.stopAtMs, `${path}.stopAtMs`, MAX_DURATION_MS);
    if (p.config !== undefined) out.config = parseConfig(p.config, `${path}.config`);
    if (p.ops !== undefined) {
      out.ops = expectArray(p.ops, `${path}.ops`).map((x, j) => {
        const op = expectObject(x, `${path}.ops[${j}]`);
        expectKeys(op, ['atMs', 'partition', 'value'], `${path}.ops[${j}]`);
        return parseSend(op, `${path}.ops[${j}]`, out.topic, checkPartition, durationMs);
      });
    }
    return out;
  });
  const consumers = (o.consumers === undefined ? [] : expectArray(o.consumers, 'consumers')).map((v, i) => {
    const path = `consumers[${i}]`;
    const k = expectObject(v, path);
    expectKeys(k, ['id', 'topic', 'partitions', 'config'], path);
    const out: ScenarioConsumer = { id: checkId(k.id, `${path}.id`), topic: checkTopic(k.topic, `${path}.topic`) };
    if (k.partitions !== undefined) out.partitions = checkPartitions(k.partitions, `${path}.partitions`, out.topic);
    if (k.config !== undefined) out.config = parseConfig(k.config, `${path}.config`);
    return out;
  });

  // Top-level ops: explicit sends, attached to their producer.
  if (o.ops !== undefined) {
    expectArray(o.ops, 'ops').forEach((v, i) => {
      const path = `ops[${i}]`;
      const op = expectObject(v, path);
      expectKeys(op, ['atMs', 'op', 'producer', 'partition', 'value'], path);
      const kind = expectString(op.op, `${path}.op`);
      if (kind !== 'send') throw new InputError(`${path}.op: unknown operation "${kind}" (expected send)`);
      const id = expectString(op.producer, `${path}.producer`);
      const producer = producers.find((p) => p.id === id);
      if (producer === undefined)
        throw new InputError(`${path}.producer: unknown producer "${id}" (producers: ${producers.map((p) => p.id).join(', ') || 'none'})`);
      producer.ops.push(parseSend(op, path, producer.topic, checkPartition, durationMs));
    });
  }
  const values = new Set<string>();
  for (const p of producers) {
    p.ops.sort((a, b) => a.atMs - b.atMs);
    for (const op of p.ops) {
      if (values.has(op.value)) throw new InputError(`ops: value "${op.value}" is sent twice (every value must be unique)`);
      values.add(op.value);
    }
  }

  const nodes = [...brokerNames, 'c1', ...clientIds];

  // Faults and the nemesis
  const faults = o.faults === undefined ? [] : parseFaults(o.faults, nodes, 'faults', CHANNELS);
  faults.forEach((f, i) => {
    if (f.atMs !== undefined && f.atMs > durationMs)
      throw new InputError(`faults[${i}].atMs: ${f.atMs} is after durationMs ${durationMs} (faults belong to the fault phase)`);
  });
  let nemesis: ScenarioNemesis | undefined;
  if (o.nemesis !== undefined) {
    const n = expectObject(o.nemesis, 'nemesis');
    expectKeys(n, ['kinds', 'meanIntervalMs', 'startMs', 'nodes', 'peers', 'meanDurationMs'], 'nemesis');
    nemesis = {};
    if (n.kinds !== undefined) {
      const kinds = expectArray(n.kinds, 'nemesis.kinds').map((k, i) => expectString(k, `nemesis.kinds[${i}]`));
      if (kinds.length === 0) throw new InputError('nemesis.kinds: give at least one kind (or leave the key out for swarm mode)');
      nemesis.kinds = validateNemesisKinds(kinds, 'nemesis.kinds');
    }
    if (n.meanIntervalMs !== undefined) nemesis.meanIntervalMs = positive(n.meanIntervalMs, 'nemesis.meanIntervalMs', MAX_DURATION_MS);
    if (n.startMs !== undefined) {
      const s = expectNumber(n.startMs, 'nemesis.startMs');
      if (!(s >= 0 && s < durationMs)) throw new InputError(`nemesis.startMs: must be in [0, durationMs ${durationMs}), got ${s}`);
      nemesis.startMs = s;
    }
    const nodeList = (key: 'nodes' | 'peers') =>
      expectArray(n[key], `nemesis.${key}`).map((x, i) => {
        const node = expectString(x, `nemesis.${key}[${i}]`);
        if (!nodes.includes(node)) throw new InputError(`nemesis.${key}[${i}]: unknown node "${node}" (nodes: ${nodes.join(', ')})`);
        return node;
      });
    if (n.nodes !== undefined) {
      nemesis.nodes = nodeList('nodes');
      if (nemesis.nodes.length === 0) throw new InputError('nemesis.nodes: give at least one node');
    }
    if (n.meanDurationMs !== undefined) {
      const d = expectObject(n.meanDurationMs, 'nemesis.meanDurationMs');
      validateNemesisKinds(Object.keys(d), 'nemesis.meanDurationMs');
      nemesis.meanDurationMs = Object.fromEntries(
        Object.entries(d).map(([k, v]) => [k, positive(v, `nemesis.meanDurationMs.${k}`, MAX_DURATION_MS)]),
      ) as Partial<Record<NemesisKind, number>>;
    }
    if (n.peers !== undefined) {
      nemesis.peers = nodeList('peers');
      const both = nemesis.peers.find((x) => (nemesis?.nodes ?? brokerNames).includes(x));
      if (both !== undefined) throw new InputError(`nemesis.peers: "${both}" is already one of the nemesis's nodes`);
    }
  }

  let withinMs = DEFAULT_LIVENESS_MS;
  if (o.liveness !== undefined) {
    const l = expectObject(o.liveness, 'liveness');
    expectKeys(l, ['withinMs'], 'liveness');
    if (l.withinMs !== undefined) withinMs = positive(l.withinMs, 'liveness.withinMs', MAX_DURATION_MS);
  }

  const scenario: Scenario = {
    name,
    description,
    source,
    brokers,
    controllers: 1,
    topics,
    config,
    producers,
    consumers,
    faults,
    durationMs,
    liveness: { withinMs },
    expect: o.expect === undefined ? [] : expectArray(o.expect, 'expect').map((e, i) => parseExpectation(e, `expect[${i}]`)),
  };
  if (nemesis !== undefined) scenario.nemesis = nemesis;
  if (o.disk !== undefined) scenario.disk = parseDisk(o.disk, 'disk');
  if (o.network !== undefined) scenario.network = parseNetwork(o.network, 'network');
  return scenario;
}

function parseTopic(v: unknown, path: string, brokers: number): TopicSpec {
  const t = expectObject(v, path);
  expectKeys(t, ['name', 'partitions', 'replicationFactor', 'assignment'], path);
  const name = expectString(t.name, `${path}.name`);
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) throw new InputError(`${path}.name: "${name}" may hold only letters, digits, '.', '_' and '-' (as Kafka's topic names)`);
  const partitions = required(t, 'partitions', (x, p) => expectInteger(x, p, 1, MAX_PARTITIONS), path);
  const rf = required(t, 'replicationFactor', (x, p) => expectInteger(x, p, 1, MAX_BROKERS), path);
  if (rf > brokers) throw new InputError(`${path}.replicationFactor: ${rf} is more than the ${brokers} broker${brokers === 1 ? '' : 's'}`);
  const topic: TopicSpec = { name, partitions, replicationFactor: rf };
  if (t.assignment !== undefined) {
    const a = expectArray(t.assignment, `${path}.assignment`);
    if (a.length !== partitions)
      throw new InputError(`${path}.assignment: ${a.length} replica lists for ${partitions} partition${partitions === 1 ? '' : 's'}`);
    topic.assignment = a.map((r, i) => {
      const rp = `${path}.assignment[${i}]`;
      const replicas = expectArray(r, rp).map((b, j) => {
        const id = expectInteger(b, `${rp}[${j}]`);
        if (id < 1 || id > brokers) throw new InputError(`${rp}[${j}]: broker ${id} does not exist (brokers: 1..${brokers})`);
        return id;
      });
      if (replicas.length !== rf) throw new InputError(`${rp}: ${replicas.length} replicas, but replicationFactor is ${rf}`);
      const dup = replicas.find((x, j) => replicas.indexOf(x) !== j);
      if (dup !== undefined) throw new InputError(`${rp}: broker ${dup} is listed twice`);
      return replicas;
    });
  }
  return topic;
}

function parseConfig(v: unknown, path: string): Record<string, ConfigValue> {
  const c = expectObject(v, path);
  const out: Record<string, ConfigValue> = {};
  for (const [key, raw] of Object.entries(c)) {
    if (typeof raw !== 'number' && typeof raw !== 'boolean' && typeof raw !== 'string')
      throw new InputError(`${path}.${key}: expected a number, boolean or string, got ${describeType(raw)}`);
    out[key] = configValue(key, raw, path);
  }
  return out;
}

/** checkValue, with its ConfigError as an InputError under `path`. */
export function configValue(key: string, raw: ConfigValue, path: string): ConfigValue {
  try {
    return checkValue(key, raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new InputError(`${path}: ${e.message}`);
    throw e;
  }
}

function parseSend(
  op: Record<string, unknown>,
  path: string,
  topic: string,
  checkPartition: (v: unknown, path: string, topic: string) => number,
  durationMs: number,
): { atMs: number; partition: number; value: string } {
  const atMs = expectNumber(op.atMs, `${path}.atMs`);
  if (!(atMs >= 0 && atMs <= durationMs)) throw new InputError(`${path}.atMs: must be in [0, durationMs ${durationMs}], got ${atMs}`);
  return { atMs, partition: checkPartition(op.partition, `${path}.partition`, topic), value: expectString(op.value, `${path}.value`) };
}

function parseExpectation(v: unknown, path: string): Expectation {
  const e = expectObject(v, path);
  expectKeys(e, ['set', 'verdict', 'allowed', 'absent', 'maxAckGapMs', 'seeds', 'why'], path);
  const verdicts = ['valid', 'invalid', 'unknown'];
  const verdict = (x: unknown, p: string): Verdict => {
    const s = expectString(x, p);
    if (!verdicts.includes(s)) throw new InputError(`${p}: expected valid, invalid or unknown, got "${s}"`);
    return s as Verdict;
  };
  const out: Expectation = {
    set: e.set === undefined ? {} : parseConfig(e.set, `${path}.set`),
    verdict: Array.isArray(e.verdict) ? e.verdict.map((x, i) => verdict(x, `${path}.verdict[${i}]`)) : verdict(e.verdict, `${path}.verdict`),
    why: expectString(e.why, `${path}.why`),
  };
  const names = (x: unknown, p: string) => expectArray(x, p).map((s, i) => expectString(s, `${p}[${i}]`));
  if (e.allowed !== undefined) out.allowed = names(e.allowed, `${path}.allowed`);
  if (e.absent !== undefined) out.absent = names(e.absent, `${path}.absent`);
  if (e.maxAckGapMs !== undefined) out.maxAckGapMs = positive(e.maxAckGapMs, `${path}.maxAckGapMs`, MAX_DURATION_MS);
  if (e.seeds !== undefined) out.seeds = expectArray(e.seeds, `${path}.seeds`).map((s, i) => expectInteger(s, `${path}.seeds[${i}]`, 0));
  return out;
}

function parseDisk(v: unknown, path: string): Partial<DiskConfig> {
  const d = expectObject(v, path);
  expectKeys(d, ['writebackDelayMs', 'sectorBytes', 'capacityBytes', 'crashFate'], path);
  const out: Partial<DiskConfig> = {};
  if (d.writebackDelayMs !== undefined) out.writebackDelayMs = positive(d.writebackDelayMs, `${path}.writebackDelayMs`, MAX_DURATION_MS);
  if (d.sectorBytes !== undefined) out.sectorBytes = expectInteger(d.sectorBytes, `${path}.sectorBytes`, 1, 1 << 20);
  if (d.capacityBytes !== undefined) out.capacityBytes = expectInteger(d.capacityBytes, `${path}.capacityBytes`, 1);
  if (d.crashFate !== undefined) {
    const f = expectObject(d.crashFate, `${path}.crashFate`);
    expectKeys(f, ['drop', 'keep', 'tear'], `${path}.crashFate`);
    const w = (k: string) => {
      const x = f[k] === undefined ? 0 : expectNumber(f[k], `${path}.crashFate.${k}`);
      if (x < 0) throw new InputError(`${path}.crashFate.${k}: must be ≥ 0, got ${x}`);
      return x;
    };
    const fate = { drop: w('drop'), keep: w('keep'), tear: w('tear') };
    if (fate.drop + fate.keep + fate.tear <= 0) throw new InputError(`${path}.crashFate: the weights must not all be 0`);
    out.crashFate = fate;
  }
  return out;
}

function parseNetwork(v: unknown, path: string): Partial<NetworkConfig> {
  const n = expectObject(v, path);
  expectKeys(n, ['link', 'channels'], path);
  const out: Partial<NetworkConfig> = {};
  const LIMITS = { baseMs: 60_000, jitterMs: 60_000, tailProbability: 1, tailMeanMs: 600_000 };
  const num = (l: Record<string, unknown>, p: string, k: keyof typeof LIMITS) => {
    const x = expectNumber(l[k], `${p}.${k}`);
    if (!(x >= 0 && x <= LIMITS[k])) throw new InputError(`${p}.${k}: must be in [0, ${LIMITS[k]}], got ${x}`);
    return x;
  };
  if (n.link !== undefined) {
    const p = `${path}.link`;
    const l = expectObject(n.link, p);
    expectKeys(l, Object.keys(LIMITS), p);
    out.link = {
      baseMs: num(l, p, 'baseMs'),
      jitterMs: num(l, p, 'jitterMs'),
      tailProbability: num(l, p, 'tailProbability'),
      tailMeanMs: num(l, p, 'tailMeanMs'),
    };
  }
  if (n.channels !== undefined) {
    // Per channel, any of the link's latency keys; the rest are the link's.
    const channels = expectObject(n.channels, `${path}.channels`);
    out.channels = {};
    for (const [name, v] of Object.entries(channels)) {
      const p = `${path}.channels.${name}`;
      if (!(CHANNELS as readonly string[]).includes(name)) throw new InputError(`${p}: unknown channel "${name}" (channels: ${CHANNELS.join(', ')})`);
      const l = expectObject(v, p);
      expectKeys(l, Object.keys(LIMITS), p);
      out.channels[name] = Object.fromEntries(Object.keys(l).map((k) => [k, num(l, p, k as keyof typeof LIMITS)]));
    }
  }
  return out;
}

function required<T>(o: Record<string, unknown>, key: string, check: (v: unknown, path: string) => T, prefix?: string): T {
  const path = prefix === undefined ? key : `${prefix}.${key}`;
  if (o[key] === undefined) throw new InputError(`${path}: missing (required)`);
  return check(o[key], path);
}

function positive(v: unknown, path: string, max: number): number {
  const n = expectNumber(v, path);
  if (!(n > 0)) throw new InputError(`${path}: must be positive, got ${n}`);
  if (n > max) throw new InputError(`${path}: must be at most ${max}, got ${n}`);
  return n;
}

function expectStringAllowEmpty(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new InputError(`${path}: expected a string, got ${describeType(v)}`);
  return v;
}

/** The JSON form of a parsed scenario (what `parseScenario` accepts back). */
export function scenarioToJson(s: Scenario): Record<string, unknown> {
  const { source: _source, ...rest } = s;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}
