// The random nemesis: draws a concrete fault schedule from the seed.
//
// Faults arrive as a Poisson process (exponential gaps with the given mean) over the fault phase;
// each arrival picks one of the enabled kinds and a target. Kinds that need an end get one: a
// partition is healed, a crashed or wiped node restarted, a drifting clock set right, all within
// the fault phase. In swarm mode (no kinds given) the seed also decides which kinds are on and how
// often faults come — as in FoundationDB's and TigerBeetle's swarm testing, so that some runs are
// dominated by one kind of fault and rare interleavings get explored.
//
// The output is plain schedule JSON (sim/faults.ts): a failing run can be saved, read, shrunk and
// replayed without the nemesis.

import type { FaultAction, FaultBody } from './faults.js';
import { InputError } from './input.js';
import type { Rng } from './rng.js';

export const NEMESIS_KINDS = ['partition', 'clog', 'reset', 'crash', 'pause', 'wipe', 'clock', 'disk'] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

export interface NemesisOptions {
  /** The kinds of fault to draw; absent: swarm mode draws them from the seed. */
  kinds?: readonly NemesisKind[];
  /** Mean gap between faults; absent: drawn from the seed (swarm) or 4000. */
  meanIntervalMs?: number;
  /** Faults start at this time … */
  startMs?: number;
  /** … and every fault (and its repair) ends by this time. */
  endMs: number;
  /** Nodes the nemesis may act on. */
  nodes: readonly string[];
  /** Further nodes a clog or reset from one of `nodes` may target (their links only). */
  peers?: readonly string[];
  /**
   * Mean duration of each kind's faults (until the repair: heal, restart, clock set right; or the
   * fault's own duration), overriding the defaults: partition 3 s, clog 1 s, crash and wipe 2 s,
   * pause 1.5 s, clock drift 5 s, disk 0.5–2 s by sub-kind.
   */
  meanDurationMs?: Partial<Record<NemesisKind, number>>;
  /** Cap on the number of fault arrivals (a limit on everything). */
  maxFaults?: number;
  /**
   * The channels besides the default one that connect `from` to `to` (a broker's heartbeat,
   * AlterPartition and metadata connections to the controller). A clog or reset between such a pair
   * hits the whole link half the time and one channel the other half.
   */
  channels?: (from: string, to: string) => readonly string[];
}

export interface NemesisPlan {
  kinds: NemesisKind[];
  meanIntervalMs: number;
  swarm: boolean;
  faults: FaultAction[];
}

export function validateNemesisKinds(kinds: readonly string[], path: string): NemesisKind[] {
  for (const k of kinds) {
    if (!(NEMESIS_KINDS as readonly string[]).includes(k)) throw new InputError(`${path}: unknown nemesis kind "${k}" (expected ${NEMESIS_KINDS.join(', ')})`);
  }
  return kinds as NemesisKind[];
}

export function drawNemesis(rng: Rng, o: NemesisOptions): NemesisPlan {
  const swarm = o.kinds === undefined;
  let kinds: NemesisKind[];
  if (o.kinds !== undefined) {
    kinds = [...o.kinds];
  } else {
    kinds = NEMESIS_KINDS.filter(() => rng.chance(0.5));
    if (kinds.length === 0) kinds = [rng.pick(NEMESIS_KINDS)];
  }
  // Swarm: log-uniform mean gap between 0.5 s and 10 s.
  const meanIntervalMs = o.meanIntervalMs ?? (swarm ? Math.round(500 * 20 ** rng.next()) : 4000);
  const start = o.startMs ?? 0;
  const maxFaults = o.maxFaults ?? 1000;
  const faults: FaultAction[] = [];
  if (kinds.length === 0 || o.nodes.length === 0) return { kinds, meanIntervalMs, swarm, faults };
  let t = start;
  for (let n = 0; n < maxFaults; n++) {
    t = Math.round(t + rng.exp(meanIntervalMs));
    if (t >= o.endMs) break;
    faults.push(...drawOne(rng, rng.pick(kinds), t, o));
  }
  faults.sort((a, b) => (a.atMs as number) - (b.atMs as number));
  return { kinds, meanIntervalMs, swarm, faults };
}

/** One fault of `kind` at `t`, and its repair before `end`. */
function drawOne(rng: Rng, kind: NemesisKind, t: number, o: NemesisOptions): FaultAction[] {
  const { nodes, endMs: end } = o;
  const linked = [...nodes, ...(o.peers ?? [])];
  const node = rng.pick(nodes);
  // How long a fault lasts: mostly short, sometimes long; never past the end of the phase.
  const lasting = (meanMs: number) => Math.max(1, Math.min(Math.round(rng.exp(o.meanDurationMs?.[kind] ?? meanMs)), end - t - 1));
  // The whole link, or (half the time, where the pair has channels) one channel of it.
  const channel = (from: string, to: string): { channel?: string } => {
    const channels = o.channels?.(from, to) ?? [];
    if (channels.length === 0 || rng.chance(0.5)) return {};
    return { channel: rng.pick(channels) };
  };
  switch (kind) {
    case 'partition': {
      const heal: FaultAction = { atMs: t + lasting(3000), fault: 'heal' };
      return [{ atMs: t, ...drawPartition(rng, nodes) }, heal];
    }
    case 'clog': {
      const to = rng.pick(linked.filter((x) => x !== node));
      return to === undefined ? [] : [{ atMs: t, fault: 'clog', from: node, to, ...channel(node, to), durationMs: lasting(1000) }];
    }
    case 'reset': {
      const to = rng.pick(linked.filter((x) => x !== node));
      return to === undefined ? [] : [{ atMs: t, fault: 'reset', from: node, to, ...channel(node, to) }];
    }
    case 'crash':
      return [
        { atMs: t, fault: 'crash', node },
        { atMs: t + lasting(2000), fault: 'restart', node },
      ];
    case 'wipe':
      return [
        { atMs: t, fault: 'wipe', node },
        { atMs: t + lasting(2000), fault: 'restart', node },
      ];
    case 'pause':
      return [{ atMs: t, fault: 'pause', node, durationMs: lasting(1500) }];
    case 'clock':
      if (rng.chance(0.5)) return [{ atMs: t, fault: 'clock-step', node, deltaMs: Math.round(rng.uniform(-10_000, 10_000)) }];
      return [
        { atMs: t, fault: 'clock-drift', node, ppm: Math.round(rng.uniform(-50_000, 50_000)) },
        { atMs: t + lasting(5000), fault: 'clock-drift', node, ppm: 0 },
      ];
    case 'disk': {
      const which = rng.pick(['bitflip', 'enospc', 'eio', 'slow', 'stall'] as const);
      switch (which) {
        case 'bitflip':
          return [{ atMs: t, fault: 'disk', node, kind: 'bitflip' }];
        case 'eio':
          return [{ atMs: t, fault: 'disk', node, kind: 'eio', ops: [rng.pick(['write', 'fsync'] as const)], durationMs: lasting(500) }];
        case 'slow':
          return [{ atMs: t, fault: 'disk', node, kind: 'slow', factor: rng.int(5, 100), durationMs: lasting(2000) }];
        default:
          return [{ atMs: t, fault: 'disk', node, kind: which, durationMs: lasting(1000) }];
      }
    }
  }
}

/** A partition of a random shape: isolate one node, two halves, one-way, or a bridge. */
type PartitionFault = Extract<FaultBody, { fault: 'partition' }>;

function drawPartition(rng: Rng, nodes: readonly string[]): PartitionFault {
  const shuffled = rng.shuffle(nodes);
  const shape = nodes.length < 3 ? rng.pick(['isolate', 'one-way'] as const) : rng.pick(['isolate', 'halves', 'one-way', 'bridge'] as const);
  const cut = Math.max(1, Math.floor(shuffled.length / 2));
  switch (shape) {
    case 'isolate':
      return { fault: 'partition', isolate: shuffled[0] as string };
    case 'halves':
      return { fault: 'partition', sides: [shuffled.slice(0, cut), shuffled.slice(cut)] };
    case 'one-way':
      return { fault: 'partition', oneWay: { from: shuffled.slice(0, cut), to: shuffled.slice(cut) } };
    case 'bridge': {
      // The first node is the bridge: named in no side, it keeps its links to both.
      const rest = shuffled.slice(1);
      const half = Math.max(1, Math.floor(rest.length / 2));
      return { fault: 'partition', sides: [rest.slice(0, half), rest.slice(half)] };
    }
  }
}
