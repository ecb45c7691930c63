// The simulated network, seen from nodes: latency, FIFO, bandwidth, partitions, clogs, resets,
// closes, crashed and paused receivers. Every test drives a World with tiny probe nodes that record
// what they receive (and when, in simulated time) and when they are told a connection broke.

import { describe, expect, it } from 'vitest';
import type { Node, NodeContext } from '../../core/ports.js';
import { applyFault } from '../../sim/faults.js';
import type { NetworkConfig } from '../../sim/network.js';
import { World } from '../../sim/world.js';

interface Received {
  readonly to: string;
  readonly from: string;
  readonly msg: string;
  readonly atMs: number;
}

interface Disconnected {
  readonly node: string;
  readonly peer: string;
  readonly atMs: number;
  readonly channel?: string;
}

/** A node that only records: what it receives, and which connections it is told broke. */
class Probe implements Node<string> {
  ctx: NodeContext<string> | undefined;
  constructor(
    private readonly world: World,
    private readonly log: Log,
  ) {}
  start(ctx: NodeContext<string>): void {
    this.ctx = ctx;
  }
  onMessage(ctx: NodeContext<string>, from: string, msg: string): void {
    this.log.received.push({ to: ctx.name, from, msg, atMs: this.world.now });
  }
  onTimer(): void {}
  onDisconnect(ctx: NodeContext<string>, peer: string, channel: string): void {
    this.log.disconnects.push({ node: ctx.name, peer, atMs: this.world.now, ...(channel === 'default' ? {} : { channel }) });
    this.log.onDisconnect?.(ctx, peer);
  }
}

interface Log {
  received: Received[];
  disconnects: Disconnected[];
  onDisconnect?: (ctx: NodeContext<string>, peer: string) => void;
}

const QUIET_LINK = { baseMs: 5, jitterMs: 10, tailProbability: 0, tailMeanMs: 0 };

/** Messages `ch:text` travel on channel `ch`; others on the default channel. */
const channelOfMsg = (m: unknown) => (typeof m === 'string' && m.includes(':') ? (m.split(':')[0] as string) : 'default');

function makeWorld(nodes: string[], network: Partial<NetworkConfig> = {}, seed = 7): { world: World; log: Log } {
  const world = new World({
    seed,
    record: true,
    channelOf: channelOfMsg,
    network: { link: QUIET_LINK, resetDetectMs: [1, 20], partitionDetectMs: [2000, 8000], ...network },
  });
  const log: Log = { received: [], disconnects: [] };
  for (const n of nodes) world.addNode(n, () => new Probe(world, log));
  world.startAll();
  return { world, log };
}

function ctxOf(world: World, node: string): NodeContext<string> {
  const ctx = world.nodeState<Probe>(node)?.ctx;
  if (ctx === undefined) throw new Error(`${node} is not running`);
  return ctx;
}

/** Schedule `from` to send `msg` to `to` at simulated time `atMs`. */
function sendAt(world: World, atMs: number, from: string, to: string, msg: string, sizeBytes?: number): void {
  world.at(atMs, `test-send-${msg}`, () => ctxOf(world, from).send(to, msg, sizeBytes));
}

function msgsTo(log: Log, to: string, from?: string): string[] {
  return log.received.filter((r) => r.to === to && (from === undefined || r.from === from)).map((r) => r.msg);
}

function receivedAt(log: Log, msg: string): number | undefined {
  return log.received.find((r) => r.msg === msg)?.atMs;
}

/** Time of the first `net.lost` trace record with this reason. */
function lostAt(world: World, reason: string): number {
  const rec = world.trace.recorded.find((r) => r.kind === 'net.lost' && r.fields?.reason === reason);
  if (rec === undefined) throw new Error(`no message was lost with reason ${reason}`);
  return rec.timeMs;
}

function disconnectsOf(log: Log, node: string): Disconnected[] {
  return log.disconnects.filter((d) => d.node === node);
}

describe('network: latency and ordering', () => {
  it('each message takes between base and base + jitter when there is no long tail', () => {
    const { world, log } = makeWorld(['a', 'b']);
    // Spaced far apart so that the FIFO rule never has to hold a message back.
    for (let i = 0; i < 300; i++) sendAt(world, i * 100, 'a', 'b', `m${i}`);
    world.run();
    expect(log.received).toHaveLength(300);
    const latencies = log.received.map((r) => r.atMs - Number(r.msg.slice(1)) * 100);
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(5);
      expect(l).toBeLessThanOrEqual(15);
    }
    // The jitter is used: latencies spread over the whole range.
    expect(Math.min(...latencies)).toBeLessThan(6);
    expect(Math.max(...latencies)).toBeGreaterThan(14);
  });

  it('messages on one connection arrive in send order even when jitter exceeds the gap between sends', () => {
    const { world, log } = makeWorld(['a', 'b'], { link: { ...QUIET_LINK, jitterMs: 50 } });
    const sent: string[] = [];
    for (let i = 0; i < 500; i++) {
      sent.push(`m${i}`);
      sendAt(world, i * 0.1, 'a', 'b', `m${i}`);
    }
    world.run();
    expect(msgsTo(log, 'b')).toEqual(sent);
    // Arrival times never go backwards.
    const times = log.received.map((r) => r.atMs);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('a connection does not hold back other pairs: latencies of a->b are the same with or without traffic on c->b', () => {
    const arrivals = (withCrossTraffic: boolean) => {
      const { world, log } = makeWorld(['a', 'b', 'c'], { link: { ...QUIET_LINK, bandwidthBytesPerMs: 10 } });
      for (let i = 0; i < 50; i++) {
        sendAt(world, i * 200, 'a', 'b', `a${i}`, 100);
        if (withCrossTraffic) for (let j = 0; j < 5; j++) sendAt(world, i * 200 + j, 'c', 'b', `c${i}.${j}`, 1000);
      }
      world.run();
      if (withCrossTraffic) expect(msgsTo(log, 'b', 'c')).toHaveLength(250);
      return log.received.filter((r) => r.from === 'a').map((r) => r.atMs);
    };
    const alone = arrivals(false);
    expect(alone).toHaveLength(50);
    expect(arrivals(true)).toEqual(alone);
  });

  it('a clog or partition of one pair leaves the other pairs flowing', () => {
    const { world, log } = makeWorld(['a', 'b', 'c']);
    world.at(0, 'clog', () => world.network.clog('a', 'b', 10_000));
    world.at(0, 'partition', () => world.network.setBlocked(['a->c', 'c->a']));
    sendAt(world, 1, 'c', 'b', 'c-to-b');
    sendAt(world, 1, 'b', 'a', 'b-to-a');
    sendAt(world, 1, 'b', 'c', 'b-to-c');
    world.run({ untilMs: 100 });
    expect(receivedAt(log, 'c-to-b')).toBeLessThanOrEqual(16);
    expect(receivedAt(log, 'b-to-a')).toBeLessThanOrEqual(16);
    expect(receivedAt(log, 'b-to-c')).toBeLessThanOrEqual(16);
  });
});

describe('network: bandwidth', () => {
  it('a message waits for its own transmission (size / bandwidth) and for the messages ahead of it on a busy link', () => {
    const { world, log } = makeWorld(['a', 'b'], { link: { baseMs: 5, jitterMs: 0, tailProbability: 0, tailMeanMs: 0, bandwidthBytesPerMs: 100 } });
    sendAt(world, 0, 'a', 'b', 'first', 1000); // 10 ms on the wire + 5 ms latency
    sendAt(world, 0, 'a', 'b', 'second', 1000); // waits for first: departs at 20
    sendAt(world, 0, 'a', 'b', 'third', 500); // departs at 25
    sendAt(world, 100, 'a', 'b', 'later', 1000); // the link is idle again
    sendAt(world, 100, 'b', 'a', 'reverse', 1000); // the other direction is its own link
    world.run();
    expect(receivedAt(log, 'first')).toBe(15);
    expect(receivedAt(log, 'second')).toBe(25);
    expect(receivedAt(log, 'third')).toBe(30);
    expect(receivedAt(log, 'later')).toBe(115);
    expect(receivedAt(log, 'reverse')).toBe(115);
  });

  it('a message sent without a size counts as defaultMessageBytes', () => {
    const { world, log } = makeWorld(['a', 'b'], {
      link: { baseMs: 1, jitterMs: 0, tailProbability: 0, tailMeanMs: 0, bandwidthBytesPerMs: 10 },
      defaultMessageBytes: 200,
    });
    sendAt(world, 0, 'a', 'b', 'x');
    world.run();
    expect(receivedAt(log, 'x')).toBe(21);
  });
});

describe('network: partitions', () => {
  it('a partition by sides blocks both ways across sides; a node named in no side keeps its links (bridge)', () => {
    const { world, log } = makeWorld(['a', 'b', 'c', 'd']);
    world.at(0, 'f', () => applyFault(world, { fault: 'partition', sides: [['a', 'b'], ['c']] }));
    // Separate connections, so a break on one does not explain a loss on another.
    sendAt(world, 1, 'a', 'c', 'a-c');
    sendAt(world, 1, 'c', 'b', 'c-b');
    sendAt(world, 1, 'a', 'b', 'a-b'); // same side
    sendAt(world, 1, 'd', 'a', 'd-a'); // d is named in no side
    sendAt(world, 1, 'c', 'd', 'c-d');
    sendAt(world, 1, 'd', 'c', 'd-c');
    world.run({ untilMs: 1000 });
    expect(world.network.isBlocked('a', 'c') && world.network.isBlocked('c', 'a')).toBe(true);
    expect(world.network.isBlocked('a', 'd') || world.network.isBlocked('d', 'c')).toBe(false);
    expect(log.received.map((r) => r.msg).sort()).toEqual(['a-b', 'c-d', 'd-a', 'd-c']);
    // Held, not yet lost: TCP is still retransmitting. Once it gives up, the two are lost.
    expect(world.network.stats.lost).toBe(0);
    world.run({ untilMs: 30_000 });
    const partitionLosses = world.trace.recorded.filter((r) => r.kind === 'net.lost' && r.fields?.reason === 'partition');
    expect(partitionLosses.map((r) => `${r.fields?.from}->${r.fields?.to}`).sort()).toEqual(['a->c', 'c->b']);
    expect(log.received.map((r) => r.msg).sort()).toEqual(['a-b', 'c-d', 'd-a', 'd-c']);
  });

  it('a one-way partition blocks one direction only', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'f', () => applyFault(world, { fault: 'partition', oneWay: { from: ['a'], to: ['b'] } }));
    // b->a first: once a->b is lost, the connection is broken and b's sends would be lost too.
    sendAt(world, 1, 'b', 'a', 'b-a');
    sendAt(world, 100, 'a', 'b', 'a-b');
    world.run({ untilMs: 30_000 });
    expect(world.network.blockedLinks).toEqual(['a->b']);
    expect(msgsTo(log, 'a')).toEqual(['b-a']);
    expect(msgsTo(log, 'b')).toEqual([]);
    // Lost only when the sender's TCP gave up retransmitting (10–20 s after it first stalled).
    expect(lostAt(world, 'partition')).toBeGreaterThanOrEqual(105 + 10_000);
    expect(lostAt(world, 'partition')).toBeLessThanOrEqual(115 + 20_000);
  });

  it('isolate cuts one node off from every other node, which still talk among themselves', () => {
    const { world, log } = makeWorld(['a', 'b', 'c']);
    world.at(0, 'f', () => applyFault(world, { fault: 'partition', isolate: 'a' }));
    sendAt(world, 1, 'a', 'b', 'a-b');
    sendAt(world, 1, 'c', 'a', 'c-a');
    sendAt(world, 1, 'b', 'c', 'b-c');
    sendAt(world, 1, 'c', 'b', 'c-b');
    world.run({ untilMs: 1000 });
    expect(world.network.blockedLinks).toEqual(['a->b', 'a->c', 'b->a', 'c->a']);
    expect(log.received.map((r) => r.msg).sort()).toEqual(['b-c', 'c-b']);
  });

  it('a short partition only delays: held messages arrive in order after the heal; nothing is lost, nobody told', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'in-flight'); // arrives at 5..15, while partitioned
    world.at(1, 'f', () => applyFault(world, { fault: 'partition', sides: [['a'], ['b']] }));
    sendAt(world, 1000, 'a', 'b', 'sent-while-partitioned');
    sendAt(world, 1000, 'b', 'a', 'reply-while-partitioned');
    world.at(3000, 'heal', () => world.network.heal());
    world.run();
    expect(msgsTo(log, 'b')).toEqual(['in-flight', 'sent-while-partitioned']);
    expect(msgsTo(log, 'a')).toEqual(['reply-while-partitioned']);
    for (const r of log.received) expect(r.atMs).toBeGreaterThanOrEqual(3000);
    expect(log.disconnects).toEqual([]);
    expect(world.network.stats.lost).toBe(0);
  });

  it('a partition that outlasts TCP retransmission breaks the connection: the sender is told at once, the peer after the detection delay; sends before being told are lost', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'in-flight'); // stalls at 5..15
    world.at(1, 'f', () => applyFault(world, { fault: 'partition', sides: [['a'], ['b']] }));
    sendAt(world, 1000, 'a', 'b', 'queued-behind');
    world.at(40_000, 'heal', () => world.network.heal());
    sendAt(world, 40_001, 'b', 'a', 'b-maybe-before-told');
    // Once told, each end sends again — after the heal, so the new connection can carry it.
    log.onDisconnect = (ctx, peer) => world.at(Math.max(world.now, 40_100), 'resend', () => ctx.send(peer, `${ctx.name}-after-told`));
    world.run();
    const brokeAt = lostAt(world, 'partition');
    expect(brokeAt).toBeGreaterThanOrEqual(5 + 10_000);
    expect(brokeAt).toBeLessThanOrEqual(15 + 20_000);
    // The sender's TCP gave up, so it knows at once; the peer learns after partitionDetectMs.
    expect(disconnectsOf(log, 'a').map((d) => d.atMs)).toEqual([brokeAt]);
    const bTold = disconnectsOf(log, 'b')[0]?.atMs ?? Number.NaN;
    expect(bTold).toBeGreaterThanOrEqual(brokeAt + 2000);
    expect(bTold).toBeLessThanOrEqual(brokeAt + 8000);
    // Both stalled messages went down with the connection; after being told and the heal, new
    // connections carry traffic again.
    expect(msgsTo(log, 'b')).toEqual(['a-after-told']);
    expect(msgsTo(log, 'a')).toContain('b-after-told');
    expect(world.trace.recorded.filter((r) => r.kind === 'net.lost').length).toBeGreaterThanOrEqual(2);
  });

  it('an idle connection survives a partition: nothing sent, nothing broken, nobody told', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'before');
    world.at(100, 'f', () => applyFault(world, { fault: 'partition', sides: [['a'], ['b']] }));
    world.at(30_000, 'heal', () => world.network.heal());
    sendAt(world, 30_001, 'a', 'b', 'after');
    sendAt(world, 30_001, 'b', 'a', 'reply');
    world.run();
    expect(log.disconnects).toEqual([]);
    expect(world.network.stats.breaks).toBe(0);
    expect(msgsTo(log, 'b')).toEqual(['before', 'after']);
    expect(msgsTo(log, 'a')).toEqual(['reply']);
  });

  it('a partition that is healed before a message arrives does not lose it (only the link state at delivery counts)', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'clog', () => world.network.clog('a', 'b', 50));
    sendAt(world, 1, 'a', 'b', 'held');
    world.at(10, 'partition', () => world.network.setBlocked(['a->b']));
    world.at(40, 'unblock', () => world.network.setBlocked([]));
    world.run();
    expect(msgsTo(log, 'b')).toEqual(['held']);
    expect(receivedAt(log, 'held')).toBe(50);
    expect(log.disconnects).toEqual([]);
  });
});

describe('network: clogs', () => {
  it('a clog holds messages on one directed link, then delivers all of them in order when it ends', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'clog', () => applyFault(world, { fault: 'clog', from: 'a', to: 'b', durationMs: 500 }));
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push(`m${i}`);
      sendAt(world, 10 + i, 'a', 'b', `m${i}`);
    }
    sendAt(world, 10, 'b', 'a', 'reverse');
    world.run();
    expect(msgsTo(log, 'b')).toEqual(sent);
    for (const r of log.received.filter((x) => x.to === 'b')) expect(r.atMs).toBe(500);
    expect(receivedAt(log, 'reverse')).toBeLessThanOrEqual(25);
    expect(log.disconnects).toEqual([]);
  });

  it('a message sent after the clog ends is not held, and a message due after the end arrives at its own time', () => {
    const { world, log } = makeWorld(['a', 'b'], { link: { baseMs: 5, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } });
    world.at(0, 'clog', () => world.network.clog('a', 'b', 100));
    sendAt(world, 90, 'a', 'b', 'due-during'); // due at 95: held to 100
    sendAt(world, 98, 'a', 'b', 'due-after'); // due at 103
    sendAt(world, 200, 'a', 'b', 'later');
    world.run();
    expect(receivedAt(log, 'due-during')).toBe(100);
    expect(receivedAt(log, 'due-after')).toBe(103);
    expect(receivedAt(log, 'later')).toBe(205);
  });

  it('heal ends a clog early and the held messages flow at once, in order', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'clog', () => world.network.clog('a', 'b', 10_000));
    for (let i = 0; i < 5; i++) sendAt(world, 1 + i, 'a', 'b', `m${i}`);
    world.at(200, 'heal', () => applyFault(world, { fault: 'heal' }));
    world.run();
    expect(msgsTo(log, 'b')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const r of log.received) expect(r.atMs).toBe(200);
  });
});

describe('network: channels (one connection per pair and channel)', () => {
  it('channels of one pair keep their own FIFO order: a slow channel does not hold back the default one', () => {
    const { world, log } = makeWorld(['a', 'b'], { channels: { slow: { baseMs: 1000, jitterMs: 0 } } });
    sendAt(world, 0, 'a', 'b', 'slow:1');
    sendAt(world, 1, 'a', 'b', 'fast-1');
    sendAt(world, 2, 'a', 'b', 'slow:2');
    world.run();
    expect(msgsTo(log, 'b')).toEqual(['fast-1', 'slow:1', 'slow:2']);
    expect(receivedAt(log, 'slow:1')).toBe(1000);
    expect(receivedAt(log, 'fast-1')).toBeLessThan(20);
  });

  it('a clog naming a channel holds only that channel; a clog without one holds every channel of the link', () => {
    const one = makeWorld(['a', 'b']);
    one.world.at(0, 'clog', () => applyFault(one.world, { fault: 'clog', from: 'a', to: 'b', durationMs: 500, channel: 'ap' }));
    sendAt(one.world, 10, 'a', 'b', 'ap:held');
    sendAt(one.world, 10, 'a', 'b', 'hb:free');
    sendAt(one.world, 10, 'a', 'b', 'free');
    one.world.run();
    expect(receivedAt(one.log, 'ap:held')).toBe(500);
    expect(receivedAt(one.log, 'hb:free')).toBeLessThan(30);
    expect(receivedAt(one.log, 'free')).toBeLessThan(30);

    const all = makeWorld(['a', 'b']);
    all.world.at(0, 'clog', () => applyFault(all.world, { fault: 'clog', from: 'a', to: 'b', durationMs: 500 }));
    // A channel opened during the clog is held too, and released at its end.
    sendAt(all.world, 10, 'a', 'b', 'ap:1');
    sendAt(all.world, 20, 'a', 'b', 'hb:2');
    sendAt(all.world, 30, 'a', 'b', 'plain-3');
    sendAt(all.world, 30, 'b', 'a', 'reverse');
    all.world.run();
    for (const m of ['ap:1', 'hb:2', 'plain-3']) expect(receivedAt(all.log, m), m).toBe(500);
    expect(receivedAt(all.log, 'reverse')).toBeLessThan(50);
  });

  it('a reset naming a channel breaks that connection only, and its ends are told which channel broke; without one, every channel breaks', () => {
    const one = makeWorld(['a', 'b'], { link: { baseMs: 10, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } });
    sendAt(one.world, 0, 'a', 'b', 'ap:lost');
    sendAt(one.world, 0, 'a', 'b', 'hb:kept');
    one.world.at(5, 'reset', () => applyFault(one.world, { fault: 'reset', from: 'a', to: 'b', channel: 'ap' }));
    one.world.run();
    expect(msgsTo(one.log, 'b')).toEqual(['hb:kept']);
    expect(one.log.disconnects.map((d) => [d.node, d.peer, d.channel]).sort()).toEqual([
      ['a', 'b', 'ap'],
      ['b', 'a', 'ap'],
    ]);

    const all = makeWorld(['a', 'b'], { link: { baseMs: 10, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } });
    sendAt(all.world, 0, 'a', 'b', 'ap:lost');
    sendAt(all.world, 0, 'a', 'b', 'hb:lost');
    all.world.at(5, 'reset', () => applyFault(all.world, { fault: 'reset', from: 'a', to: 'b' }));
    all.world.run();
    expect(msgsTo(all.log, 'b')).toEqual([]);
    // The default connection (never used) breaks too: every connection between the two.
    expect(
      all.log.disconnects
        .filter((d) => d.node === 'a')
        .map((d) => d.channel ?? 'default')
        .sort(),
    ).toEqual(['ap', 'default', 'hb']);
  });

  it('ctx.disconnect(peer, channel) closes that channel only; a partition blocks every channel', () => {
    const { world, log } = makeWorld(['a', 'b'], { link: { baseMs: 10, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } });
    sendAt(world, 0, 'a', 'b', 'ap:lost');
    sendAt(world, 0, 'a', 'b', 'kept');
    world.at(5, 'close', () => ctxOf(world, 'a').disconnect('b', 'ap'));
    world.at(100, 'partition', () => applyFault(world, { fault: 'partition', isolate: 'b' }));
    sendAt(world, 110, 'a', 'b', 'hb:held');
    sendAt(world, 110, 'a', 'b', 'held');
    world.at(300, 'heal', () => applyFault(world, { fault: 'heal' }));
    world.run();
    expect(msgsTo(log, 'b')).toEqual(['kept', 'hb:held', 'held']);
    expect(receivedAt(log, 'hb:held')).toBe(300);
    expect(disconnectsOf(log, 'a')).toEqual([{ node: 'a', peer: 'b', atMs: 5, channel: 'ap' }]);
  });
});

describe('network: broken connections', () => {
  it('a reset loses the messages in flight both ways, and both ends are told within resetDetectMs', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'a-b');
    sendAt(world, 0, 'b', 'a', 'b-a');
    world.at(2, 'reset', () => applyFault(world, { fault: 'reset', from: 'a', to: 'b' }));
    log.onDisconnect = (ctx, peer) => ctx.send(peer, `${ctx.name}-after-told`);
    world.run();
    for (const node of ['a', 'b']) {
      const told = disconnectsOf(log, node);
      expect(told).toHaveLength(1);
      expect(told[0]?.atMs).toBeGreaterThanOrEqual(2 + 1);
      expect(told[0]?.atMs).toBeLessThanOrEqual(2 + 20);
    }
    expect(log.received.map((r) => r.msg).sort()).toEqual(['a-after-told', 'b-after-told']);
    expect(world.trace.recorded.filter((r) => r.kind === 'net.lost' && r.fields?.reason === 'connection-broken')).toHaveLength(2);
  });

  it('ctx.disconnect tells the closer at once and the peer after a reset delay; messages in flight are lost', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'delivered');
    sendAt(world, 99, 'a', 'b', 'in-flight');
    sendAt(world, 99, 'b', 'a', 'in-flight-back');
    world.at(100, 'close', () => ctxOf(world, 'a').disconnect('b'));
    world.run();
    expect(log.received.map((r) => r.msg)).toEqual(['delivered']);
    expect(disconnectsOf(log, 'a').map((d) => d.atMs)).toEqual([100]);
    const peer = disconnectsOf(log, 'b');
    expect(peer).toHaveLength(1);
    expect(peer[0]?.atMs).toBeGreaterThanOrEqual(101);
    expect(peer[0]?.atMs).toBeLessThanOrEqual(120);
  });

  it('a message to a crashed node is lost and the sender is told the connection broke (refused)', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'crash', () => applyFault(world, { fault: 'crash', node: 'b' }));
    sendAt(world, 10, 'a', 'b', 'to-dead');
    world.at(30_000, 'restart', () => world.restart('b'));
    sendAt(world, 30_001, 'a', 'b', 'to-restarted');
    world.run();
    const lost = lostAt(world, 'receiver-down');
    expect(lost).toBeGreaterThanOrEqual(15);
    expect(lost).toBeLessThanOrEqual(25);
    const told = disconnectsOf(log, 'a');
    expect(told).toHaveLength(1);
    expect(told[0]?.atMs).toBeGreaterThanOrEqual(lost + 1);
    expect(told[0]?.atMs).toBeLessThanOrEqual(lost + 20);
    expect(log.received.map((r) => r.msg)).toEqual(['to-restarted']);
  });

  it('a crash loses what is in flight to and from the crashed node, and the peer is told within resetDetectMs', () => {
    const { world, log } = makeWorld(['a', 'b']);
    sendAt(world, 0, 'a', 'b', 'a-b');
    sendAt(world, 0, 'b', 'a', 'b-a');
    world.at(2, 'crash', () => world.crash('b'));
    world.run();
    expect(log.received).toEqual([]);
    expect(log.disconnects.map((d) => d.node)).toEqual(['a']);
    expect(log.disconnects[0]?.atMs).toBeGreaterThanOrEqual(3);
    expect(log.disconnects[0]?.atMs).toBeLessThanOrEqual(22);
  });

  it("a restarted node's sends are not lost to a connection its previous incarnation was never told had broken", () => {
    // b is partitioned away; a's message finds the partition and breaks the connection, so b is
    // waiting (2..8 s) to be told. b crashes meanwhile and comes back as a new process, which has
    // no connection at all: its first message (after the heal) must open a new one and get through.
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'f', () => applyFault(world, { fault: 'partition', sides: [['a'], ['b']] }));
    sendAt(world, 1, 'a', 'b', 'lost-to-partition');
    world.at(100, 'crash', () => world.crash('b'));
    world.at(200, 'heal', () => world.network.heal());
    world.at(300, 'restart', () => world.restart('b'));
    sendAt(world, 400, 'b', 'a', 'from-new-incarnation');
    world.run();
    expect(msgsTo(log, 'a')).toEqual(['from-new-incarnation']);
    // Nor is the new process told about a connection it never had.
    expect(disconnectsOf(log, 'b')).toEqual([]);
    expect(disconnectsOf(log, 'a')).toHaveLength(1);
  });
});

describe('network: half-open connections', () => {
  it("an end not yet told of a break learns of it when the reconnected peer's first message arrives, and its reply gets through", () => {
    const { world, log } = makeWorld(['a', 'b'], { resetDetectMs: [500, 500] });
    log.onDisconnect = () => {};
    const replies: string[] = [];
    sendAt(world, 0, 'a', 'b', 'opens-the-connection');
    world.at(30, 'close-and-resend', () => {
      const a = ctxOf(world, 'a');
      a.disconnect('b'); // a knows at once; b would only be told 500 ms later
    });
    sendAt(world, 40, 'a', 'b', 'hello-on-new-connection');
    world.at(70, 'reply', () => {
      if (msgsTo(log, 'b').includes('hello-on-new-connection')) {
        ctxOf(world, 'b').send('a', 'reply');
        replies.push('sent');
      }
    });
    world.run({ untilMs: 1000 });
    const bTold = disconnectsOf(log, 'b');
    expect(bTold).toHaveLength(1);
    expect(bTold[0]?.atMs).toBeLessThanOrEqual(receivedAt(log, 'hello-on-new-connection') ?? Number.NaN);
    expect(bTold[0]?.atMs).toBeLessThan(500);
    expect(replies).toEqual(['sent']);
    expect(msgsTo(log, 'a')).toEqual(['reply']);
  });
});

describe('network: paused receivers', () => {
  it('messages to a paused node are held and handled in order after the pause ends', () => {
    const { world, log } = makeWorld(['a', 'b']);
    world.at(0, 'pause', () => applyFault(world, { fault: 'pause', node: 'b', durationMs: 1000 }));
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(`m${i}`);
      sendAt(world, 10 + i * 0.5, 'a', 'b', `m${i}`);
    }
    sendAt(world, 1500, 'a', 'b', 'after-pause');
    world.run();
    expect(msgsTo(log, 'b')).toEqual([...sent, 'after-pause']);
    for (const r of log.received.slice(0, 10)) expect(r.atMs).toBe(1000);
    expect(receivedAt(log, 'after-pause')).toBeLessThanOrEqual(1515);
    // A pause is not a broken connection.
    expect(log.disconnects).toEqual([]);
    expect(world.network.stats.lost).toBe(0);
  });
});
