// Properties of the network and of local-clock timers over random schedules.
//
// Network: random sends between a few nodes, with partitions, heals, clogs and resets at random
// times. Whatever happens, each receiver gets from each sender a subsequence of what was sent, in
// send order, without duplicates; a gap is always explained by a broken connection the sender was
// told about; nothing is delivered across a blocked link; nothing in flight at a reset arrives.
// Clock: random timers on nodes with random drifts and clock changes fire in local-deadline order.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Node, NodeContext, TimerId } from '../../core/ports.js';
import { World } from '../../sim/world.js';

const NODES = ['n0', 'n1', 'n2'] as const;
const HORIZON_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Network schedules

type NetAction =
  /** `burst` messages, 0.5 ms apart: close enough for jitter to reorder them if FIFO were not kept. */
  | { kind: 'send'; atMs: number; from: number; to: number; sizeBytes: number; burst: number }
  | { kind: 'partition'; atMs: number; links: [number, number][] }
  | { kind: 'heal'; atMs: number }
  | { kind: 'clog'; atMs: number; from: number; to: number; durationMs: number }
  | { kind: 'reset'; atMs: number; a: number; b: number };

const nodeIx = fc.integer({ min: 0, max: NODES.length - 1 });
const atMs = fc.integer({ min: 0, max: HORIZON_MS });
const pair = fc.tuple(nodeIx, nodeIx).filter(([x, y]) => x !== y);

const netAction: fc.Arbitrary<NetAction> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({
        kind: fc.constant('send' as const),
        atMs,
        from: nodeIx,
        to: nodeIx,
        sizeBytes: fc.integer({ min: 1, max: 2000 }),
        burst: fc.integer({ min: 1, max: 5 }),
      })
      .filter((a) => a.from !== a.to),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), atMs, links: fc.array(pair, { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const), atMs }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ kind: fc.constant('clog' as const), atMs, from: nodeIx, to: nodeIx, durationMs: fc.integer({ min: 1, max: 500 }) })
      .filter((a) => a.from !== a.to),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), atMs, a: nodeIx, b: nodeIx }).filter((a) => a.a !== a.b) },
);

const netScenario = fc.record({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  bandwidth: fc.constantFrom(0, 50, 1000),
  actions: fc.array(netAction, { minLength: 1, maxLength: 150 }),
});

interface SendRec {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly seq: number;
  readonly atMs: number;
}

interface Outcome {
  /** Every send, in the order it happened (also the send order of each pair). */
  sends: SendRec[];
  /** Deliveries in the order they happened. */
  deliveries: { id: string; from: string; to: string; seq: number; atMs: number }[];
  /** Disconnect notifications in the order they happened. */
  notices: { node: string; peer: string; seq: number; atMs: number }[];
  /** Deliveries at a moment when the test's own record says the link was blocked. */
  acrossPartition: string[];
  /** Deliveries of messages that were in flight when a reset broke their connection. */
  afterReset: string[];
}

class NetProbe implements Node<string> {
  ctx: NodeContext<string> | undefined;
  constructor(
    private readonly onMsg: (to: string, from: string, msg: string) => void,
    private readonly onDisc: (node: string, peer: string) => void,
  ) {}
  start(ctx: NodeContext<string>): void {
    this.ctx = ctx;
  }
  onMessage(ctx: NodeContext<string>, from: string, msg: string): void {
    this.onMsg(ctx.name, from, msg);
  }
  onTimer(): void {}
  onDisconnect(ctx: NodeContext<string>, peer: string): void {
    this.onDisc(ctx.name, peer);
  }
}

function runNetwork(s: { seed: number; bandwidth: number; actions: NetAction[] }): Outcome {
  const world = new World({
    seed: s.seed,
    network: {
      link: { baseMs: 1, jitterMs: 8, tailProbability: 0.05, tailMeanMs: 30, bandwidthBytesPerMs: s.bandwidth },
      resetDetectMs: [1, 20],
      partitionDetectMs: [50, 400],
    },
  });
  const out: Outcome = { sends: [], deliveries: [], notices: [], acrossPartition: [], afterReset: [] };
  let seq = 0;
  let blocked = new Set<string>();
  const doomed = new Set<string>();
  const delivered = new Set<string>();
  const onMsg = (to: string, from: string, id: string) => {
    out.deliveries.push({ id, from, to, seq: seq++, atMs: world.now });
    delivered.add(id);
    if (blocked.has(`${from}->${to}`)) out.acrossPartition.push(`${id} ${from}->${to} at ${world.now}`);
    if (doomed.has(id)) out.afterReset.push(`${id} at ${world.now}`);
  };
  const onDisc = (node: string, peer: string) => out.notices.push({ node, peer, seq: seq++, atMs: world.now });
  for (const n of NODES) world.addNode(n, () => new NetProbe(onMsg, onDisc));
  world.startAll();
  let counter = 0;
  for (const a of s.actions) {
    switch (a.kind) {
      case 'send': {
        const from = NODES[a.from] as string;
        const to = NODES[a.to] as string;
        for (let k = 0; k < a.burst; k++) {
          const id = `${from}>${to}#${counter++}`;
          world.at(a.atMs + k * 0.5, id, () => {
            out.sends.push({ id, from, to, seq: seq++, atMs: world.now });
            (world.nodeState<NetProbe>(from)?.ctx as NodeContext<string>).send(to, id, a.sizeBytes);
          });
        }
        break;
      }
      case 'partition': {
        const links = a.links.map(([x, y]) => `${NODES[x]}->${NODES[y]}`);
        world.at(a.atMs, 'partition', () => {
          world.network.setBlocked(links);
          blocked = new Set(links);
        });
        break;
      }
      case 'heal':
        world.at(a.atMs, 'heal', () => {
          world.network.heal();
          blocked = new Set();
        });
        break;
      case 'clog':
        world.at(a.atMs, 'clog', () => world.network.clog(NODES[a.from] as string, NODES[a.to] as string, a.durationMs));
        break;
      case 'reset': {
        const x = NODES[a.a] as string;
        const y = NODES[a.b] as string;
        world.at(a.atMs, 'reset', () => {
          for (const m of out.sends) if (((m.from === x && m.to === y) || (m.from === y && m.to === x)) && !delivered.has(m.id)) doomed.add(m.id);
          world.network.reset(x, y, undefined);
        });
        break;
      }
    }
  }
  // End the fault phase so that every clog ends and every pending notification is given.
  world.at(HORIZON_MS + 1, 'final-heal', () => {
    world.network.heal();
    blocked = new Set();
  });
  const r = world.run();
  expect(r.status).toBe('idle');
  expect(world.network.inFlight).toBe(0);
  return out;
}

/** Check FIFO: per pair, deliveries are the sends restricted to the delivered ones, once each. */
function fifoViolations(o: Outcome): string[] {
  const bad: string[] = [];
  const sentIds = new Set(o.sends.map((m) => m.id));
  const seen = new Set<string>();
  for (const d of o.deliveries) {
    if (!sentIds.has(d.id)) bad.push(`${d.id} delivered but never sent`);
    if (seen.has(d.id)) bad.push(`${d.id} delivered twice`);
    seen.add(d.id);
    if (!d.id.startsWith(`${d.from}>${d.to}#`)) bad.push(`${d.id} delivered as ${d.from}->${d.to}`);
  }
  for (const from of NODES)
    for (const to of NODES) {
      if (from === to) continue;
      const sent = o.sends.filter((m) => m.from === from && m.to === to).map((m) => m.id);
      const got = o.deliveries.filter((d) => d.from === from && d.to === to).map((d) => d.id);
      const expected = sent.filter((id) => seen.has(id));
      if (JSON.stringify(got) !== JSON.stringify(expected)) bad.push(`${from}->${to}: got ${got.join(',')}, sent ${sent.join(',')}`);
    }
  return bad;
}

/**
 * A lost message is always explained to its sender: after each lost message the sender is told its
 * connection to the receiver broke, and a later message of the same pair can only get through if
 * it was sent after such a notification (a new connection).
 */
function lossViolations(o: Outcome): string[] {
  const bad: string[] = [];
  const deliveredIds = new Set(o.deliveries.map((d) => d.id));
  const toldBetween = (from: string, to: string, afterSeq: number, beforeSeq: number) =>
    o.notices.some((n) => n.node === from && n.peer === to && n.seq > afterSeq && n.seq < beforeSeq);
  for (const from of NODES)
    for (const to of NODES) {
      if (from === to) continue;
      const sent = o.sends.filter((m) => m.from === from && m.to === to);
      let lastLost: SendRec | undefined;
      for (const m of sent) {
        if (!deliveredIds.has(m.id)) {
          lastLost = m;
          if (!toldBetween(from, to, m.seq, Number.POSITIVE_INFINITY)) bad.push(`${m.id} (sent at ${m.atMs}) was lost and ${from} was never told`);
        } else if (lastLost !== undefined && !toldBetween(from, to, lastLost.seq, m.seq)) {
          bad.push(`${m.id} got through after ${lastLost.id} was lost, on the same connection (no disconnect in between)`);
        }
      }
    }
  return bad;
}

const NET_RUNS = 300;

describe('network properties over random schedules of sends, partitions, clogs and resets', () => {
  it('FIFO: each receiver gets from each sender a subsequence of what it sent, in send order, with no duplicates or inventions', () => {
    fc.assert(
      fc.property(netScenario, (s) => {
        expect(fifoViolations(runNetwork(s))).toEqual([]);
      }),
      { numRuns: NET_RUNS },
    );
  });

  it('losses are explained: every lost message is followed by a disconnect at its sender, and no message gets past a lost one without one', () => {
    fc.assert(
      fc.property(netScenario, (s) => {
        expect(lossViolations(runNetwork(s))).toEqual([]);
      }),
      { numRuns: NET_RUNS },
    );
  });

  it('nothing crosses a partition: no message is delivered while its directed link is blocked', () => {
    fc.assert(
      fc.property(netScenario, (s) => {
        expect(runNetwork(s).acrossPartition).toEqual([]);
      }),
      { numRuns: NET_RUNS },
    );
  });

  it('a reset loses everything in flight on the connection: such a message is never delivered', () => {
    // Resets are common in these schedules so that many of them catch messages in flight.
    const withResets = netScenario.map((s) => ({
      ...s,
      actions: s.actions.flatMap((a): NetAction[] => (a.kind === 'send' ? [a, { kind: 'reset', atMs: a.atMs + 2, a: a.from, b: a.to }] : [a])),
    }));
    let caught = 0;
    fc.assert(
      fc.property(withResets, (s) => {
        const o = runNetwork(s);
        expect(o.afterReset).toEqual([]);
        caught += o.sends.length - o.deliveries.length;
      }),
      { numRuns: NET_RUNS },
    );
    expect(caught).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Timers on local clocks

type ClockAction =
  | { kind: 'timer'; atMs: number; node: number; delayMs: number }
  | { kind: 'step'; atMs: number; node: number; deltaMs: number }
  | { kind: 'drift'; atMs: number; node: number; ppm: number };

interface TimerRec {
  readonly node: string;
  readonly tag: string;
  /** The local deadline as the node computes it: ctx.now() at setting + delay. */
  readonly deadline: number;
  /** Position of the setting among all settings and firings. */
  readonly setOrder: number;
}

interface FireRec {
  readonly tag: string;
  readonly simMs: number;
  readonly localMs: number;
  /** Position of the firing among all settings and firings. */
  readonly order: number;
}

class ClockProbe implements Node {
  ctx: NodeContext | undefined;
  constructor(private readonly onFire: (node: string, tag: string, localMs: number) => void) {}
  start(ctx: NodeContext): void {
    this.ctx = ctx;
  }
  onMessage(): void {}
  onTimer(ctx: NodeContext, tag: string, _id: TimerId): void {
    this.onFire(ctx.name, tag, ctx.now());
  }
}

const CLOCK_NODES = ['c0', 'c1', 'c2'] as const;
const EPS = 1e-6;

function clockScenario(forwardSteps: boolean) {
  const cNode = fc.integer({ min: 0, max: CLOCK_NODES.length - 1 });
  const t = fc.integer({ min: 0, max: 2000 });
  const action: fc.Arbitrary<ClockAction> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('timer' as const),
        atMs: t,
        node: cNode,
        delayMs: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constantFrom(0, 100, 500)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('step' as const), atMs: t, node: cNode, deltaMs: fc.integer({ min: -2000, max: forwardSteps ? 2000 : -1 }) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drift' as const), atMs: t, node: cNode, ppm: fc.integer({ min: -900_000, max: 900_000 }) }) },
  );
  return fc.record({
    initial: fc.array(fc.record({ offsetMs: fc.integer({ min: -10_000, max: 10_000 }), driftPpm: fc.integer({ min: -500_000, max: 500_000 }) }), {
      minLength: CLOCK_NODES.length,
      maxLength: CLOCK_NODES.length,
    }),
    actions: fc.array(action, { minLength: 1, maxLength: 80 }),
  });
}

interface ClockOutcome {
  timers: TimerRec[];
  fired: Map<string, FireRec[]>;
  /** Simulated times at which each node's clock was stepped forward. */
  forwardStepsAt: Map<string, number[]>;
}

function runClocks(s: { initial: { offsetMs: number; driftPpm: number }[]; actions: ClockAction[] }): ClockOutcome {
  const world = new World({ seed: 1 });
  const out: ClockOutcome = { timers: [], fired: new Map(), forwardStepsAt: new Map() };
  let order = 0;
  const onFire = (node: string, tag: string, localMs: number) => out.fired.get(node)?.push({ tag, simMs: world.now, localMs, order: order++ });
  CLOCK_NODES.forEach((n, i) => {
    const init = s.initial[i] as { offsetMs: number; driftPpm: number };
    world.addNode(n, () => new ClockProbe(onFire), { clockOffsetMs: init.offsetMs, clockDriftPpm: init.driftPpm });
    out.fired.set(n, []);
    out.forwardStepsAt.set(n, []);
  });
  world.startAll();
  s.actions.forEach((a, i) => {
    const node = CLOCK_NODES[a.node] as string;
    world.at(a.atMs, `a${i}`, () => {
      const ctx = world.nodeState<ClockProbe>(node)?.ctx as NodeContext;
      switch (a.kind) {
        case 'timer': {
          const tag = `t${i}`;
          out.timers.push({ node, tag, deadline: ctx.now() + a.delayMs, setOrder: order++ });
          ctx.setTimer(a.delayMs, tag);
          break;
        }
        case 'step':
          if (a.deltaMs > 0) out.forwardStepsAt.get(node)?.push(world.now);
          world.clockStep(node, a.deltaMs);
          break;
        case 'drift':
          world.clockDrift(node, a.ppm);
          break;
      }
    });
  });
  expect(world.run().status).toBe('idle');
  return out;
}

function clockViolations(o: ClockOutcome): string[] {
  const bad: string[] = [];
  const byTag = new Map(o.timers.map((t) => [t.tag, t]));
  for (const node of CLOCK_NODES) {
    const fired = o.fired.get(node) ?? [];
    const set = o.timers.filter((t) => t.node === node);
    if (fired.length !== set.length) bad.push(`${node}: ${set.length} timers set, ${fired.length} fired`);
    for (const f of fired) {
      const t = byTag.get(f.tag) as TimerRec;
      if (f.localMs < t.deadline - EPS) bad.push(`${node}: ${f.tag} fired early: local ${f.localMs} < deadline ${t.deadline}`);
      // Late only when a forward step at that very instant jumped past the deadline.
      if (f.localMs > t.deadline + EPS && !(o.forwardStepsAt.get(node) ?? []).includes(f.simMs))
        bad.push(`${node}: ${f.tag} fired late: local ${f.localMs} > deadline ${t.deadline} at ${f.simMs}`);
    }
    // Order among timers pending together: if b was already set when a fired, b's deadline is not
    // earlier. (A timer set after a backward step may have an earlier deadline than one that has
    // already fired; local time went back, and that is no disorder.)
    for (let k = 0; k < fired.length; k++)
      for (let l = k + 1; l < fired.length; l++) {
        const fa = fired[k] as FireRec;
        const a = byTag.get(fa.tag) as TimerRec;
        const b = byTag.get((fired[l] as FireRec).tag) as TimerRec;
        if (b.setOrder > fa.order) continue;
        // Deadlines that differ by less than EPS may map to one simulated instant: either order.
        if (b.deadline < a.deadline - EPS) bad.push(`${node}: ${b.tag} (deadline ${b.deadline}) fired after ${a.tag} (deadline ${a.deadline})`);
        if (b.deadline === a.deadline && b.setOrder < a.setOrder) bad.push(`${node}: ${b.tag} and ${a.tag} tie but fired out of setting order`);
      }
  }
  return bad;
}

describe('timer properties over random local clocks', () => {
  it('timers fire at their local deadline, and pending timers fire in local-deadline order (ties: setting order), under drift changes and backward steps', () => {
    fc.assert(
      fc.property(clockScenario(false), (s) => {
        expect(clockViolations(runClocks(s))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  // Regression (see test/unit/clock.test.ts): timers that a forward step makes overdue all land on
  // the current instant and must still fire in deadline order.
  it('pending timers fire in local-deadline order (ties: setting order) also when forward steps make several due at once', () => {
    fc.assert(
      fc.property(clockScenario(true), (s) => {
        expect(clockViolations(runClocks(s))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
