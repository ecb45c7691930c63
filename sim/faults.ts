// Faults are data: a schedule is a JSON list of actions, each at a simulated time or on the first
// trace event matching a predicate (plus an optional delay). The same JSON is written by people in
// scenarios, drawn by the nemesis from the seed, and (later) generated and shrunk by fast-check,
// so any failing schedule can be saved, read, edited and replayed.
//
//   { "atMs": 5000, "fault": "partition", "sides": [["b1"], ["b2", "b3", "c1"]] }
//   { "on": { "kind": "leader.elected", "node": "b2" }, "delayMs": 10, "fault": "crash", "node": "b2" }
//
// A `partition` replaces whatever partition was in force; nodes named in no side keep all their
// links (so `sides: [["b1"], ["b3"]]` with b2 unnamed is a bridge through b2). `heal` removes all
// partitions and clogs. `crash` is a power loss; `shutdown` asks the process to stop cleanly
// (it flushes and exits; killed after `graceMs`).

import type { DiskFault } from './disk.js';
import { expectArray, expectInteger, expectKeys, expectNumber, expectObject, expectString, InputError } from './input.js';
import { DEFAULT_CHANNEL } from './network.js';
import type { TraceRecord } from './trace.js';
import type { World } from './world.js';

/** A predicate on trace events: kind must match; node and each listed field must be equal. */
export interface TraceMatch {
  kind: string;
  node?: string;
  fields?: Record<string, string | number | boolean>;
}

export type FaultTiming = { atMs: number; on?: undefined; delayMs?: undefined } | { on: TraceMatch; delayMs?: number; atMs?: undefined };

export type FaultBody =
  | { fault: 'partition'; sides?: string[][]; oneWay?: { from: string[]; to: string[] }; isolate?: string }
  | { fault: 'heal' }
  | { fault: 'crash'; node: string }
  | { fault: 'shutdown'; node: string; graceMs?: number }
  | { fault: 'restart'; node: string }
  | { fault: 'pause'; node: string; durationMs: number }
  | { fault: 'wipe'; node: string }
  | { fault: 'clog'; from: string; to: string; durationMs: number; channel?: string }
  | { fault: 'reset'; from: string; to: string; channel?: string }
  | { fault: 'clock-step'; node: string; deltaMs: number }
  | { fault: 'clock-drift'; node: string; ppm: number }
  | ({ fault: 'disk'; node: string } & DiskFault);

export type FaultAction = FaultTiming & FaultBody;

export const FAULT_KINDS = [
  'partition',
  'heal',
  'crash',
  'shutdown',
  'restart',
  'pause',
  'wipe',
  'clog',
  'reset',
  'clock-step',
  'clock-drift',
  'disk',
] as const;

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * Check a JSON value is a fault schedule over these nodes; throws InputError naming the path.
 * `channels`: the channel names a clog or reset may name (the world's `channelOf` values).
 */
export function parseFaults(value: unknown, nodes: readonly string[], path = 'faults', channels: readonly string[] = [DEFAULT_CHANNEL]): FaultAction[] {
  return expectArray(value, path).map((v, i) => parseFault(v, nodes, `${path}[${i}]`, channels));
}

export function parseFault(value: unknown, nodes: readonly string[], path: string, channels: readonly string[] = [DEFAULT_CHANNEL]): FaultAction {
  const o = expectObject(value, path);
  const kind = expectString(o.fault, `${path}.fault`);
  const node = (key: string) => {
    const n = expectString(o[key], `${path}.${key}`);
    if (!nodes.includes(n)) throw new InputError(`${path}.${key}: unknown node "${n}" (nodes: ${nodes.join(', ')})`);
    return n;
  };
  const nodeList = (v: unknown, p: string) =>
    expectArray(v, p).map((x, i) => {
      const n = expectString(x, `${p}[${i}]`);
      if (!nodes.includes(n)) throw new InputError(`${p}[${i}]: unknown node "${n}" (nodes: ${nodes.join(', ')})`);
      return n;
    });
  const duration = () => {
    const d = expectNumber(o.durationMs, `${path}.durationMs`);
    if (!(d > 0)) throw new InputError(`${path}.durationMs: must be positive, got ${d}`);
    return d;
  };
  const channel = (): { channel?: string } => {
    if (o.channel === undefined) return {};
    const c = expectString(o.channel, `${path}.channel`);
    if (!channels.includes(c)) throw new InputError(`${path}.channel: unknown channel "${c}" (channels: ${channels.join(', ')})`);
    return { channel: c };
  };
  const timingKeys = ['atMs', 'on', 'delayMs', 'fault'];
  let body: FaultBody;
  switch (kind) {
    case 'partition': {
      expectKeys(o, [...timingKeys, 'sides', 'oneWay', 'isolate'], path);
      const given = ['sides', 'oneWay', 'isolate'].filter((k) => o[k] !== undefined);
      if (given.length !== 1) throw new InputError(`${path}: a partition needs exactly one of "sides", "oneWay", "isolate"`);
      if (o.sides !== undefined) {
        const sides = expectArray(o.sides, `${path}.sides`).map((s, i) => nodeList(s, `${path}.sides[${i}]`));
        if (sides.length < 2) throw new InputError(`${path}.sides: a partition needs at least two sides`);
        const seen = new Set<string>();
        for (const n of sides.flat()) {
          if (seen.has(n)) throw new InputError(`${path}.sides: node "${n}" is on more than one side`);
          seen.add(n);
        }
        body = { fault: 'partition', sides };
      } else if (o.oneWay !== undefined) {
        const ow = expectObject(o.oneWay, `${path}.oneWay`);
        expectKeys(ow, ['from', 'to'], `${path}.oneWay`);
        body = { fault: 'partition', oneWay: { from: nodeList(ow.from, `${path}.oneWay.from`), to: nodeList(ow.to, `${path}.oneWay.to`) } };
      } else {
        body = { fault: 'partition', isolate: node('isolate') };
      }
      break;
    }
    case 'heal':
      expectKeys(o, timingKeys, path);
      body = { fault: 'heal' };
      break;
    case 'crash':
    case 'restart':
    case 'wipe':
      expectKeys(o, [...timingKeys, 'node'], path);
      body = { fault: kind, node: node('node') };
      break;
    case 'shutdown': {
      expectKeys(o, [...timingKeys, 'node', 'graceMs'], path);
      const f: FaultBody = { fault: 'shutdown', node: node('node') };
      if (o.graceMs !== undefined) {
        const g = expectNumber(o.graceMs, `${path}.graceMs`);
        if (!(g > 0)) throw new InputError(`${path}.graceMs: must be positive, got ${g}`);
        f.graceMs = g;
      }
      body = f;
      break;
    }
    case 'pause':
      expectKeys(o, [...timingKeys, 'node', 'durationMs'], path);
      body = { fault: 'pause', node: node('node'), durationMs: duration() };
      break;
    case 'clog':
      expectKeys(o, [...timingKeys, 'from', 'to', 'durationMs', 'channel'], path);
      body = { fault: 'clog', from: node('from'), to: node('to'), durationMs: duration(), ...channel() };
      break;
    case 'reset':
      expectKeys(o, [...timingKeys, 'from', 'to', 'channel'], path);
      body = { fault: 'reset', from: node('from'), to: node('to'), ...channel() };
      break;
    case 'clock-step':
      expectKeys(o, [...timingKeys, 'node', 'deltaMs'], path);
      body = { fault: 'clock-step', node: node('node'), deltaMs: expectNumber(o.deltaMs, `${path}.deltaMs`) };
      break;
    case 'clock-drift': {
      expectKeys(o, [...timingKeys, 'node', 'ppm'], path);
      const ppm = expectNumber(o.ppm, `${path}.ppm`);
      if (!(ppm > -1e6 && ppm < 1e6)) throw new InputError(`${path}.ppm: must be within (-1000000, 1000000), got ${ppm}`);
      body = { fault: 'clock-drift', node: node('node'), ppm };
      break;
    }
    case 'disk':
      body = { fault: 'disk', node: node('node'), ...parseDiskFault(o, path, timingKeys, duration) };
      break;
    default:
      throw new InputError(`${path}.fault: unknown fault "${kind}" (expected one of: ${FAULT_KINDS.join(', ')})`);
  }
  return { ...parseTiming(o, path, nodes), ...body } as FaultAction;
}

function parseDiskFault(o: Record<string, unknown>, path: string, timingKeys: string[], duration: () => number): DiskFault {
  const kind = expectString(o.kind, `${path}.kind`);
  const base = [...timingKeys, 'node', 'kind'];
  switch (kind) {
    case 'bitflip': {
      expectKeys(o, [...base, 'file', 'offset', 'bit'], path);
      const f: DiskFault = { kind: 'bitflip' };
      if (o.file !== undefined) f.file = expectString(o.file, `${path}.file`);
      if (o.offset !== undefined) f.offset = expectInteger(o.offset, `${path}.offset`, 0);
      if (o.bit !== undefined) f.bit = expectInteger(o.bit, `${path}.bit`, 0, 7);
      return f;
    }
    case 'enospc':
    case 'stall':
      expectKeys(o, [...base, 'durationMs'], path);
      return { kind, durationMs: duration() };
    case 'eio': {
      expectKeys(o, [...base, 'ops', 'durationMs'], path);
      const ops = o.ops === undefined ? ['write', 'fsync'] : expectArray(o.ops, `${path}.ops`).map((x, i) => expectString(x, `${path}.ops[${i}]`));
      for (const op of ops)
        if (!['write', 'fsync', 'read'].includes(op)) throw new InputError(`${path}.ops: unknown operation "${op}" (expected write, fsync, read)`);
      return { kind: 'eio', ops: ops as ('write' | 'fsync' | 'read')[], durationMs: duration() };
    }
    case 'slow': {
      expectKeys(o, [...base, 'factor', 'durationMs'], path);
      const factor = expectNumber(o.factor, `${path}.factor`);
      if (!(factor >= 1)) throw new InputError(`${path}.factor: must be at least 1, got ${factor}`);
      return { kind: 'slow', factor, durationMs: duration() };
    }
    default:
      throw new InputError(`${path}.kind: unknown disk fault "${kind}" (expected bitflip, enospc, eio, slow, stall)`);
  }
}

function parseTiming(o: Record<string, unknown>, path: string, nodes: readonly string[]): FaultTiming {
  if (o.atMs !== undefined && o.on !== undefined) throw new InputError(`${path}: give either "atMs" or "on", not both`);
  if (o.atMs !== undefined) {
    if (o.delayMs !== undefined) throw new InputError(`${path}.delayMs: only allowed with "on"`);
    const atMs = expectNumber(o.atMs, `${path}.atMs`);
    if (!(atMs >= 0)) throw new InputError(`${path}.atMs: must be ≥ 0, got ${atMs}`);
    return { atMs };
  }
  if (o.on === undefined) throw new InputError(`${path}: needs "atMs" (a time) or "on" (a trace-event predicate)`);
  const on = expectObject(o.on, `${path}.on`);
  expectKeys(on, ['kind', 'node', 'fields'], `${path}.on`);
  const match: TraceMatch = { kind: expectString(on.kind, `${path}.on.kind`) };
  if (on.node !== undefined) {
    const n = expectString(on.node, `${path}.on.node`);
    if (n !== 'world' && !nodes.includes(n)) throw new InputError(`${path}.on.node: unknown node "${n}"`);
    match.node = n;
  }
  if (on.fields !== undefined) {
    const f = expectObject(on.fields, `${path}.on.fields`);
    for (const [k, v] of Object.entries(f)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        throw new InputError(`${path}.on.fields.${k}: must be a string, number or boolean`);
    }
    match.fields = f as Record<string, string | number | boolean>;
  }
  const timing: FaultTiming = { on: match };
  if (o.delayMs !== undefined) {
    const d = expectNumber(o.delayMs, `${path}.delayMs`);
    if (!(d >= 0)) throw new InputError(`${path}.delayMs: must be ≥ 0, got ${d}`);
    timing.delayMs = d;
  }
  return timing;
}

// ---------------------------------------------------------------------------------------------
// Execution

export function matches(m: TraceMatch, r: TraceRecord): boolean {
  if (r.kind !== m.kind) return false;
  if (m.node !== undefined && r.node !== m.node) return false;
  if (m.fields !== undefined) {
    for (const k in m.fields) if (r.fields?.[k] !== m.fields[k]) return false;
  }
  return true;
}

/** The directed links (`from->to`) a partition blocks. */
export function blockedLinks(f: Extract<FaultBody, { fault: 'partition' }>, nodes: readonly string[]): string[] {
  const out: string[] = [];
  if (f.sides !== undefined) {
    for (let i = 0; i < f.sides.length; i++)
      for (let j = 0; j < f.sides.length; j++) {
        if (i === j) continue;
        for (const a of f.sides[i] as string[]) for (const b of f.sides[j] as string[]) out.push(`${a}->${b}`);
      }
  } else if (f.oneWay !== undefined) {
    for (const a of f.oneWay.from) for (const b of f.oneWay.to) if (a !== b) out.push(`${a}->${b}`);
  } else if (f.isolate !== undefined) {
    for (const n of nodes)
      if (n !== f.isolate) {
        out.push(`${f.isolate}->${n}`);
        out.push(`${n}->${f.isolate}`);
      }
  }
  return out.sort();
}

/** A one-line description of a fault, for the trace and for people. */
export function describeFault(f: FaultBody): string {
  switch (f.fault) {
    case 'partition':
      if (f.sides) return `partition ${f.sides.map((s) => `[${s.join(' ')}]`).join(' | ')}`;
      if (f.oneWay) return `one-way partition [${f.oneWay.from.join(' ')}] -/-> [${f.oneWay.to.join(' ')}]`;
      return `isolate ${f.isolate}`;
    case 'heal':
      return 'heal';
    case 'crash':
    case 'restart':
    case 'wipe':
      return `${f.fault} ${f.node}`;
    case 'shutdown':
      return `shutdown ${f.node} (clean)`;
    case 'pause':
      return `pause ${f.node} for ${f.durationMs}ms`;
    case 'clog':
      return `clog ${f.from}->${f.to}${f.channel === undefined ? '' : ` (${f.channel})`} for ${f.durationMs}ms`;
    case 'reset':
      return `reset ${f.from}<->${f.to}${f.channel === undefined ? '' : ` (${f.channel})`}`;
    case 'clock-step':
      return `clock-step ${f.node} by ${f.deltaMs}ms`;
    case 'clock-drift':
      return `clock-drift ${f.node} ${f.ppm}ppm`;
    case 'disk':
      return `disk ${f.kind} on ${f.node}`;
  }
}

/** Carry out one fault now. */
export function applyFault(world: World, f: FaultBody): void {
  switch (f.fault) {
    case 'partition':
      world.network.setBlocked(blockedLinks(f, world.nodeNames));
      break;
    case 'heal':
      world.network.heal();
      break;
    case 'crash':
      world.crash(f.node);
      break;
    case 'restart':
      world.restart(f.node);
      break;
    case 'wipe':
      world.wipe(f.node);
      break;
    case 'shutdown':
      world.shutdown(f.node, f.graceMs);
      break;
    case 'pause':
      world.pause(f.node, f.durationMs);
      break;
    case 'clog':
      world.network.clog(f.from, f.to, f.durationMs, f.channel);
      break;
    case 'reset':
      world.network.reset(f.from, f.to, undefined, f.channel);
      break;
    case 'clock-step':
      world.clockStep(f.node, f.deltaMs);
      break;
    case 'clock-drift':
      world.clockDrift(f.node, f.ppm);
      break;
    case 'disk': {
      const { fault: _f, node, ...disk } = f;
      world.diskFault(node, disk as DiskFault);
      break;
    }
  }
}

/**
 * Install a schedule: each action runs at its time, or on the first trace event that matches its
 * predicate (plus its delay). With `untilMs` (the end of a fault phase), an `on` action fires only
 * if both its trigger and its time fall within it. Returns a function that reports which `on`
 * actions never fired.
 */
export function installFaults(world: World, faults: readonly FaultAction[], options: { untilMs?: number } = {}): { unfired: () => number[] } {
  const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
  const pendingOn = new Set<number>();
  faults.forEach((f, i) => {
    const id = `f${i}`;
    const run = () => {
      world.emit('fault', { id, what: describeFault(f) });
      applyFault(world, f);
    };
    if (f.atMs !== undefined) {
      world.at(f.atMs, id, run);
      return;
    }
    const on = f.on as TraceMatch;
    pendingOn.add(i);
    const unsubscribe = world.trace.subscribe((rec) => {
      if (!pendingOn.has(i)) return;
      if (world.now > untilMs) {
        unsubscribe();
        return;
      }
      if (!matches(on, rec)) return;
      const at = world.now + (f.delayMs ?? 0);
      unsubscribe();
      if (at > untilMs) return;
      pendingOn.delete(i);
      world.at(at, id, run);
    });
  });
  return { unfired: () => [...pendingOn].sort((a, b) => a - b) };
}
