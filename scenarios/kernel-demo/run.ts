// Runs the kernel demo protocol (replicated-log.ts) under a random nemesis, TigerBeetle-style:
// a fault phase (safety is checked after every event), then the world heals and a liveness phase
// must bring every node back into agreement.
//
// Invariants:
// - `AckedIsDurableOnTwo` (after every event): when the primary commits a value, it is in the
//   durable contents of at least two nodes' log files — fsync-before-ack on the simulated disk.
// - `AckedValuesSurvive` (at the end): every value acknowledged to the client is in the primary's log.
// - Liveness (at the end): the backups hold the primary's log and the client has no unacknowledged
//   value left; otherwise the verdict is `unknown`.

import type { DiskConfig } from '../../sim/disk.js';
import { type FaultAction, installFaults } from '../../sim/faults.js';
import { drawNemesis, type NemesisKind, type NemesisPlan } from '../../sim/nemesis.js';
import type { NetworkConfig } from '../../sim/network.js';
import type { RunStatus } from '../../sim/scheduler.js';
import { type Failure, World } from '../../sim/world.js';
import { BACKUPS, Backup, CLIENT, Client, encodeEntry, LOG_FILE, PRIMARY, Primary } from './replicated-log.js';

const textDecoder = new TextDecoder();

export const DEMO_NODES = [PRIMARY, ...BACKUPS, CLIENT];
/** The kinds the demo protocol is built to survive (it keeps no checksummed recovery from wipes). */
export const DEMO_SAFE_KINDS: NemesisKind[] = ['partition', 'clog', 'reset', 'crash', 'pause', 'clock'];

export interface DemoOptions {
  seed: number;
  /** Length of the fault phase. */
  faultPhaseMs?: number;
  /** Length of the liveness phase after the world heals. */
  livenessMs?: number;
  /** Nemesis kinds; `swarm` lets the seed decide; default: DEMO_SAFE_KINDS. */
  kinds?: NemesisKind[] | 'swarm';
  meanIntervalMs?: number;
  /** A concrete schedule instead of the nemesis (for replay). */
  faults?: FaultAction[];
  writeIntervalMs?: number;
  record?: boolean;
  maxEvents?: number;
  network?: Partial<NetworkConfig>;
  disk?: Partial<DiskConfig>;
}

export type Verdict = 'valid' | 'invalid' | 'unknown';

export interface DemoResult {
  seed: number;
  verdict: Verdict;
  failure: Failure | undefined;
  /** Why the verdict is `unknown`, if it is. */
  notConverged: string | undefined;
  status: RunStatus | 'failed';
  traceHash: string;
  events: number;
  traceEvents: number;
  simulatedMs: number;
  faults: FaultAction[];
  plan: NemesisPlan | undefined;
  stats: { written: number; acked: number; committed: number; messages: number; messagesLost: number; diskOps: number; crashes: number };
  world: World;
}

export function runDemo(o: DemoOptions): DemoResult {
  const faultPhaseMs = o.faultPhaseMs ?? 20_000;
  const livenessMs = o.livenessMs ?? 10_000;
  const world = new World({
    seed: o.seed,
    record: o.record ?? false,
    ...(o.network ? { network: o.network } : {}),
    ...(o.disk ? { disk: o.disk } : {}),
  });
  let client: Client | undefined;
  world.addNode(PRIMARY, () => new Primary());
  for (const b of BACKUPS) world.addNode(b, () => new Backup());
  world.addNode(CLIENT, () => {
    client = new Client(o.writeIntervalMs ?? 20, faultPhaseMs);
    return client;
  });

  // AckedIsDurableOnTwo: judged on every commit the primary traces. Logs are identical prefixes of
  // one another, so entry i starts at the same byte offset on every node; the offsets are learnt
  // from the commits themselves (index order), which keeps the check O(entry) per commit.
  let durabilityViolation: string | undefined;
  const offsets = [0];
  // Acknowledgements over every incarnation of the client (a restart starts a new Client object).
  const acked = new Set<string>();
  world.trace.subscribe((rec) => {
    if (rec.kind === 'client.ok') acked.add(rec.fields?.value as string);
    if (rec.kind !== 'log.commit' || durabilityViolation !== undefined) return;
    const index = rec.fields?.index as number;
    const value = rec.fields?.value as string;
    const line = encodeEntry(value);
    if (index === offsets.length - 1) offsets.push((offsets[index] as number) + line.length);
    const start = offsets[index] as number;
    const holders = [PRIMARY, ...BACKUPS].filter((n) => {
      const bytes = world.disk(n).durableSlice(LOG_FILE, start, start + line.length);
      return bytes !== undefined && textDecoder.decode(bytes) === line;
    });
    if (holders.length < 2) durabilityViolation = `value ${value} (index ${index}) committed but durable only on [${holders.join(', ')}]`;
  });
  world.addInvariant({ name: 'AckedIsDurableOnTwo', afterEvent: () => durabilityViolation });

  let plan: NemesisPlan | undefined;
  let faults = o.faults;
  if (faults === undefined) {
    const kinds = o.kinds === 'swarm' ? undefined : (o.kinds ?? DEMO_SAFE_KINDS);
    plan = drawNemesis(world.streams.stream('nemesis'), {
      ...(kinds ? { kinds } : {}),
      ...(o.meanIntervalMs ? { meanIntervalMs: o.meanIntervalMs } : {}),
      startMs: 500,
      endMs: faultPhaseMs,
      nodes: DEMO_NODES,
    });
    faults = plan.faults;
  }
  installFaults(world, faults);
  world.at(faultPhaseMs, 'heal-all', () => world.healAll());
  world.startAll();

  const limit = o.maxEvents === undefined ? {} : { maxEvents: o.maxEvents };
  let status = world.run({ untilMs: faultPhaseMs + livenessMs, ...limit }).status;
  let notConverged: string | undefined;
  if (status !== 'failed' && status !== 'event-budget') {
    world.addInvariant({
      name: 'AckedValuesSurvive',
      atEnd: (w) => {
        const p = w.nodeState<Primary>(PRIMARY);
        if (p === undefined) return 'primary is down at the end';
        const held = new Set(p.log);
        const missing = [...acked].filter((v) => !held.has(v));
        if (missing.length > 0) return `acknowledged values missing from the primary's log: ${missing.slice(0, 5).join(', ')}`;
        return undefined;
      },
    });
    if (world.checkAtEnd() !== undefined) status = 'failed';
    else notConverged = liveness(world, client);
  }
  const failure = world.firstFailure;
  const verdict: Verdict = failure !== undefined ? 'invalid' : status === 'event-budget' || notConverged !== undefined ? 'unknown' : 'valid';
  if (status === 'event-budget') notConverged = `event budget of ${o.maxEvents} exhausted at ${world.now}ms`;
  const p = world.nodeState<Primary>(PRIMARY);
  return {
    seed: o.seed,
    verdict,
    failure,
    notConverged,
    status,
    traceHash: world.trace.hash,
    events: world.scheduler.eventsExecuted,
    traceEvents: world.trace.length,
    simulatedMs: world.now,
    faults,
    plan,
    stats: {
      written: p?.log.length ?? 0,
      acked: acked.size,
      committed: p?.committed ?? 0,
      messages: world.network.stats.sent,
      messagesLost: world.network.stats.lost,
      diskOps: DEMO_NODES.reduce((n, x) => n + world.disk(x).stats.ops, 0),
      crashes: DEMO_NODES.reduce((n, x) => n + world.disk(x).stats.crashes, 0),
    },
    world,
  };
}

/** After the liveness phase: every backup caught up with the primary, the client has nothing outstanding. */
function liveness(world: World, client: Client | undefined): string | undefined {
  const p = world.nodeState<Primary>(PRIMARY);
  if (p === undefined) return 'primary down';
  for (const b of BACKUPS) {
    const s = world.nodeState<Backup>(b);
    if (s === undefined) return `${b} down`;
    if (s.log.length !== p.log.length || s.log.some((v, i) => v !== p.log[i])) return `${b} holds ${s.log.length} entries, the primary ${p.log.length}`;
  }
  if (client !== undefined && client.outstanding > 0) return `client still waits for ${client.outstanding} acknowledgements`;
  return undefined;
}
