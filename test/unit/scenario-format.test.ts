// The scenario format (DESIGN.md §5): every built-in scenario parses; every kind of bad input is
// one line naming its exact path, in-process (parseScenario) and at the command line (exit 254).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_NAMES, builtinJson, builtinScenario } from '../../scenarios/builtin/index.js';
import { parseScenario, scenarioToJson } from '../../scenarios/scenario.js';
import { InputError } from '../../sim/input.js';

const KSIM = fileURLToPath(new URL('../../bin/ksim', import.meta.url));

function ksim(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KSIM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small valid scenario; each bad case changes one thing. */
function base(): Record<string, unknown> {
  return {
    name: 'tiny',
    description: 'a producer and a consumer on three brokers',
    brokers: 3,
    controllers: 1,
    topics: [
      {
        name: 't',
        partitions: 2,
        replicationFactor: 3,
        assignment: [
          [1, 2, 3],
          [2, 3, 1],
        ],
      },
    ],
    config: { 'min.insync.replicas': 2, 'fix.kip-101': true },
    producers: [{ id: 'p1', topic: 't', acks: 'all', ratePerSec: 10 }],
    consumers: [{ id: 'k1', topic: 't' }],
    ops: [{ atMs: 1000, op: 'send', producer: 'p1', partition: 1, value: 'm1' }],
    faults: [
      { atMs: 2000, fault: 'partition', sides: [['b1'], ['b2', 'b3', 'c1']] },
      { on: { kind: 'node.crash', node: 'b2' }, delayMs: 500, fault: 'restart', node: 'b2' },
      { atMs: 4000, fault: 'heal' },
    ],
    nemesis: { kinds: ['crash', 'pause'], meanIntervalMs: 3000 },
    durationMs: 8000,
    liveness: { withinMs: 10_000 },
  };
}

function errorOf(json: unknown): string {
  try {
    parseScenario(json, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

/** `base()` changed by `edit`. */
function variant(edit: (s: Record<string, unknown>) => void): Record<string, unknown> {
  const s = base();
  edit(s);
  return s;
}

const topic0 = (s: Record<string, unknown>) => (s.topics as Record<string, unknown>[])[0] as Record<string, unknown>;

describe('scenario format', () => {
  it('parses a valid scenario: top-level ops join their producer; defaults filled in', () => {
    const s = parseScenario(base(), 'x.json');
    expect(s.producers[0]?.ops).toEqual([{ atMs: 1000, partition: 1, value: 'm1' }]);
    expect(s.liveness.withinMs).toBe(10_000);
    expect(s.nemesis).toEqual({ kinds: ['crash', 'pause'], meanIntervalMs: 3000 });
    expect(s.source).toBe('x.json');
    expect(
      parseScenario(
        variant((x) => delete x.liveness),
        'x.json',
      ).liveness.withinMs,
    ).toBe(30_000);
  });

  it.each(BUILTIN_NAMES)('built-in %s parses, has a description and expectations, and round-trips through JSON', (name) => {
    const s = builtinScenario(name);
    expect(s.description.length).toBeGreaterThan(40);
    expect(s.expect.length).toBeGreaterThan(0);
    expect(parseScenario(JSON.parse(JSON.stringify(scenarioToJson(s))), name)).toEqual(s);
    expect(JSON.parse(JSON.stringify(builtinJson(name)))).toEqual(builtinJson(name));
  });

  it.each([
    ['unknown key', variant((s) => (s.colour = 'red')), /^x\.json: scenario: unknown key "colour" \(allowed: name, /],
    ['unknown nested key', variant((s) => (topic0(s).leader = 1)), /^x\.json: topics\[0\]: unknown key "leader"/],
    ['missing key', variant((s) => delete s.durationMs), /^x\.json: durationMs: missing \(required\)$/],
    ['wrong type', variant((s) => (s.brokers = '3')), /^x\.json: brokers: expected a number, got string "3"$/],
    ['wrong type in a list', variant((s) => (s.producers = {})), /^x\.json: producers: expected an array, got an object$/],
    ['two controllers', variant((s) => (s.controllers = 3)), /^x\.json: controllers: only 1 controller is supported for now/],
    ['replication factor above the brokers', variant((s) => (topic0(s).replicationFactor = 4)), /topics\[0\]\.replicationFactor: 4 is more than the 3 brokers/],
    [
      'replica out of range',
      variant(
        (s) =>
          (topic0(s).assignment = [
            [1, 2, 7],
            [2, 3, 1],
          ]),
      ),
      /topics\[0\]\.assignment\[0\]\[2\]: broker 7 does not exist \(brokers: 1\.\.3\)/,
    ],
    [
      'duplicate replica',
      variant(
        (s) =>
          (topic0(s).assignment = [
            [1, 2, 2],
            [2, 3, 1],
          ]),
      ),
      /topics\[0\]\.assignment\[0\]: broker 2 is listed twice/,
    ],
    ['wrong partition count', variant((s) => (topic0(s).assignment = [[1, 2, 3]])), /topics\[0\]\.assignment: 1 replica lists for 2 partitions/],
    [
      'wrong replica count',
      variant(
        (s) =>
          (topic0(s).assignment = [
            [1, 2],
            [2, 3, 1],
          ]),
      ),
      /topics\[0\]\.assignment\[0\]: 2 replicas, but replicationFactor is 3/,
    ],
    ['unknown config key', variant((s) => (s.config = { 'min.isr': 2 })), /^x\.json: config: unknown config key "min\.isr"/],
    ['bad config value', variant((s) => (s.config = { 'min.insync.replicas': 0 })), /^x\.json: config: min\.insync\.replicas: must be at least 1, got 0$/],
    ['bad config type', variant((s) => (s.config = { 'fix.kip-101': 'yes' })), /^x\.json: config: fix\.kip-101: expected true or false, got "yes"$/],
    [
      'unknown node in a fault',
      variant((s) => (s.faults = [{ atMs: 1, fault: 'crash', node: 'b9' }])),
      /faults\[0\]\.node: unknown node "b9" \(nodes: b1, b2, b3, c1, p1, k1\)/,
    ],
    [
      'unknown node in a partition',
      variant((s) => (s.faults = [{ atMs: 1, fault: 'partition', sides: [['b1'], ['x1']] }])),
      /faults\[0\]\.sides\[1\]\[0\]: unknown node "x1"/,
    ],
    [
      'bad fault value',
      variant((s) => (s.faults = [{ atMs: 1, fault: 'pause', node: 'b1', durationMs: 0 }])),
      /faults\[0\]\.durationMs: must be positive, got 0/,
    ],
    ['unknown fault', variant((s) => (s.faults = [{ atMs: 1, fault: 'meteor' }])), /faults\[0\]\.fault: unknown fault "meteor"/],
    ['bad fault trigger', variant((s) => (s.faults = [{ on: { kind: 'x', node: 'b7' }, fault: 'heal' }])), /faults\[0\]\.on\.node: unknown node "b7"/],
    ['fault after the fault phase', variant((s) => (s.faults = [{ atMs: 9000, fault: 'heal' }])), /faults\[0\]\.atMs: 9000 is after durationMs 8000/],
    ['unknown nemesis kind', variant((s) => (s.nemesis = { kinds: ['earthquake'] })), /nemesis\.kinds: unknown nemesis kind "earthquake"/],
    ['unknown nemesis node', variant((s) => (s.nemesis = { nodes: ['b4'] })), /nemesis\.nodes\[0\]: unknown node "b4"/],
    ['nemesis peer among its nodes', variant((s) => (s.nemesis = { peers: ['b1'] })), /nemesis\.peers: "b1" is already one of the nemesis's nodes/],
    ['unknown kind in meanDurationMs', variant((s) => (s.nemesis = { meanDurationMs: { flood: 5 } })), /nemesis\.meanDurationMs: unknown nemesis kind "flood"/],
    ['bad meanDurationMs', variant((s) => (s.nemesis = { meanDurationMs: { clog: 0 } })), /nemesis\.meanDurationMs\.clog: must be positive, got 0/],
    [
      'unknown channel in a fault',
      variant((s) => (s.faults = [{ atMs: 1, fault: 'clog', from: 'b1', to: 'c1', durationMs: 5, channel: 'raft' }])),
      /faults\[0\]\.channel: unknown channel "raft" \(channels: default, heartbeat, alter-partition, metadata\)/,
    ],
    ['unknown network channel', variant((s) => (s.network = { channels: { raft: { baseMs: 5 } } })), /network\.channels\.raft: unknown channel "raft"/],
    [
      'bad network channel key',
      variant((s) => (s.network = { channels: { metadata: { bandwidth: 5 } } })),
      /network\.channels\.metadata: unknown key "bandwidth"/,
    ],
    [
      'unknown producer in ops',
      variant((s) => (s.ops = [{ atMs: 1, op: 'send', producer: 'p9', partition: 0, value: 'v' }])),
      /ops\[0\]\.producer: unknown producer "p9" \(producers: p1\)/,
    ],
    [
      'partition out of range',
      variant((s) => (s.ops = [{ atMs: 1, op: 'send', producer: 'p1', partition: 2, value: 'v' }])),
      /ops\[0\]\.partition: partition 2 does not exist \(topic "t" has partitions 0\.\.1\)/,
    ],
    [
      'duplicate value',
      variant(
        (s) =>
          (s.ops = [
            { atMs: 1, op: 'send', producer: 'p1', partition: 0, value: 'v' },
            { atMs: 2, op: 'send', producer: 'p1', partition: 1, value: 'v' },
          ]),
      ),
      /ops: value "v" is sent twice/,
    ],
    ['unknown topic', variant((s) => (s.consumers = [{ id: 'k1', topic: 'u' }])), /consumers\[0\]\.topic: unknown topic "u" \(topics: t\)/],
    ['client named like a broker', variant((s) => (s.consumers = [{ id: 'b2', topic: 't' }])), /consumers\[0\]\.id: "b2" is reserved/],
    ['client id used twice', variant((s) => (s.consumers = [{ id: 'p1', topic: 't' }])), /consumers\[0\]\.id: client id "p1" is used twice/],
    ['bad acks', variant((s) => (s.producers = [{ id: 'p1', topic: 't', acks: 2 }])), /producers\[0\]\.acks: expected "all", "1" or "0", got number 2/],
    [
      'bad expectation',
      variant((s) => (s.expect = [{ set: {}, verdict: 'fine', why: 'x' }])),
      /expect\[0\]\.verdict: expected valid, invalid or unknown, got "fine"/,
    ],
  ])('%s: one line naming the path', (_what, json, message) => {
    const m = errorOf(json);
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });

  it('a scenario that is not an object', () => {
    expect(errorOf([1, 2])).toBe('x.json: scenario: expected an object, got an array');
  });
});

describe('ksim run / check: bad input is one line on stderr and exit 254', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ksim-format-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const notJson = file('broken.json', '{ "name": "x", ');
  const badKey = file('bad-key.json', JSON.stringify(variant((s) => (s.colour = 'red'))));
  const badAssignment = file(
    'bad-assignment.json',
    JSON.stringify(
      variant(
        (s) =>
          (topic0(s).assignment = [
            [1, 2, 7],
            [2, 3, 1],
          ]),
      ),
    ),
  );

  it.each([
    [['run', notJson], /broken\.json: not valid JSON: /],
    [['run', badKey], /bad-key\.json: scenario: unknown key "colour"/],
    [['run', badAssignment], /bad-assignment\.json: topics\[0\]\.assignment\[0\]\[2\]: broker 7 does not exist/],
    [['run', join(dir, 'missing.json')], /^ksim run: cannot read .*missing\.json: ENOENT$/],
    [['run', 'no-such-scenario'], /^ksim run: unknown scenario "no-such-scenario" \(built-in: isr-shrink, /],
    [['run'], /^ksim run: which scenario\?/],
    [['run', 'kip-101', '--bogus'], /^ksim run: unknown flag --bogus/],
    [['run', 'kip-101', '--seed', 'x'], /^ksim run: --seed expects an integer, got "x"/],
    [['run', 'kip-101', '--set', 'no.such.key=1'], /^ksim run: --set: unknown config key "no\.such\.key"/],
    [['run', 'kip-101', '--set', 'fix.kip-101=maybe'], /^ksim run: --set: fix\.kip-101: expected true or false, got "maybe"$/],
    [['run', 'kip-101', '--set', 'acks'], /^ksim run: --set expects key=value, got "acks"$/],
    [['run', 'kip-101', 'kip-279'], /^ksim run: unexpected argument "kip-279"/],
    [['list', 'x'], /^ksim list: unexpected argument "x"/],
    [['check', 'nope'], /^ksim check: unknown scenario "nope"/],
    [['check', '--seeds', '0'], /^ksim check: --seeds must be an integer from 1 to 100000, got 0/],
  ])('%j', (args, message) => {
    const r = ksim(...args);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.code).toBe(254);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
