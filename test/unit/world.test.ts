import { describe, expect, it } from 'vitest';
import type { Node, NodeContext } from '../../core/ports.js';
import { World } from '../../sim/world.js';

/** A node that records what happens to it, and keeps a counter in memory and on disk. */
class Probe implements Node {
  static log: string[] = [];
  memory = 0;
  start(ctx: NodeContext, reason: string): void {
    Probe.log.push(`${ctx.name} start ${reason} @${ctx.now()}`);
    ctx.disk.readAll('state', (r) => {
      Probe.log.push(`${ctx.name} recovered ${r.ok ? new TextDecoder().decode(r.value) : r.error.code}`);
    });
  }
  onMessage(ctx: NodeContext, from: string, msg: unknown): void {
    this.memory++;
    Probe.log.push(`${ctx.name} got ${String(msg)} from ${from} @${ctx.now()}`);
  }
  onTimer(ctx: NodeContext, tag: string): void {
    Probe.log.push(`${ctx.name} timer ${tag} @${ctx.now()}`);
  }
}

function world(seed = 1): World {
  Probe.log = [];
  const w = new World({ seed, network: { link: { baseMs: 1, jitterMs: 0, tailProbability: 0, tailMeanMs: 0 } } });
  w.addNode('a', () => new Probe());
  w.addNode('b', () => new Probe());
  return w;
}

describe('world: processes', () => {
  it('boots every node, then a crash loses memory and a restart recovers from disk', () => {
    const w = world();
    w.startAll();
    w.run({ untilMs: 10 });
    expect(Probe.log).toContain('a start boot @0');
    expect(Probe.log).toContain('a recovered ENOENT');
    const first = w.nodeState<Probe>('a');
    w.at(20, undefined, () => {
      // State held only in memory: a crash must lose it.
      (first as Probe).memory = 42;
    });
    w.run({ untilMs: 30 });
    w.crash('a');
    expect(w.isUp('a')).toBe(false);
    expect(w.nodeState('a')).toBeUndefined();
    w.restart('a');
    w.run({ untilMs: 40 });
    expect(w.nodeState<Probe>('a')?.memory).toBe(0);
    expect(Probe.log.filter((l) => l.startsWith('a start restart'))).toHaveLength(1);
  });

  it("a crash drops the node's timers, queued disk callbacks and messages addressed to it", () => {
    Probe.log = [];
    const w = new World({ seed: 2 });
    let ctxA: NodeContext | undefined;
    w.addNode('a', () => ({
      start: (ctx) => {
        ctxA = ctx;
        ctx.setTimer(100, 'late');
        ctx.disk.append('f', new Uint8Array([1, 2, 3]), () => Probe.log.push('append done'));
      },
      onMessage: () => Probe.log.push('a got message'),
      onTimer: (_c, tag) => Probe.log.push(`timer ${tag}`),
    }));
    w.addNode('b', () => ({ start: (ctx) => ctx.send('a', 'hello'), onMessage: () => {}, onTimer: () => {} }));
    w.startAll();
    w.crash('a'); // before anything completes
    w.run({ untilMs: 1000 });
    expect(Probe.log).toEqual([]);
    expect(ctxA).toBeDefined();
    // The old context is inert: nothing it asks for happens.
    ctxA?.setTimer(1, 'zombie');
    ctxA?.send('b', 'from the dead');
    w.run({ untilMs: 2000 });
    expect(Probe.log).toEqual([]);
  });

  it('a pause queues events while the clock runs on, then delivers them in order', () => {
    const w = world();
    w.startAll();
    w.run({ untilMs: 5 });
    w.pause('b', 100);
    for (let i = 0; i < 3; i++) w.at(10 + i, undefined, () => w.network.send('a', 'b', `m${i}`, undefined, undefined));
    w.run({ untilMs: 200 });
    const got = Probe.log.filter((l) => l.startsWith('b got'));
    expect(got).toEqual(['b got m0 from a @105', 'b got m1 from a @105', 'b got m2 from a @105']);
    expect(w.localTime('b')).toBe(200);
  });

  it('wipe crashes the node and leaves it an empty disk; it stays down until restarted', () => {
    const w = world();
    w.addNode('c', () => ({
      start: (ctx) => {
        ctx.disk.append('state', new TextEncoder().encode('kept'), () => ctx.disk.fsync('state'));
      },
      onMessage: () => {},
      onTimer: () => {},
    }));
    w.startAll();
    w.run({ untilMs: 100 });
    expect(w.disk('c').durableContents('state')).toBeDefined();
    w.wipe('c');
    expect(w.isUp('c')).toBe(false);
    expect(w.disk('c').fileNames()).toEqual([]);
    w.run({ untilMs: 200 });
    expect(w.isUp('c')).toBe(false);
    w.restart('c');
    expect(w.isUp('c')).toBe(true);
  });

  it('a halt stops the process but keeps what it wrote to the page cache; a crash may not', () => {
    const unsynced = (w: World) => {
      w.addNode('h', () => ({
        start: (ctx) => ctx.disk.append('f', new TextEncoder().encode('unsynced'), () => ctx.halt('log directory failed')),
        onMessage: () => {},
        onTimer: () => {},
      }));
      w.startAll();
      w.run({ untilMs: 10 });
    };
    const halted = world();
    unsynced(halted);
    expect(halted.isUp('h')).toBe(false);
    expect(new TextDecoder().decode(halted.disk('h').visibleContents('f'))).toBe('unsynced');
    expect(halted.disk('h').durableContents('f')).toEqual(new Uint8Array(0));
    expect(halted.restart('h')).toBe(true);
    // With drop-all crash semantics, the same unsynced write does not survive a crash.
    const crashed = new World({ seed: 1, disk: { crashFate: { drop: 1, keep: 0, tear: 0 } } });
    crashed.addNode('h', () => ({ start: (ctx) => ctx.disk.append('f', new TextEncoder().encode('unsynced')), onMessage: () => {}, onTimer: () => {} }));
    crashed.startAll();
    crashed.run({ untilMs: 10 });
    crashed.crash('h');
    expect(crashed.disk('h').visibleContents('f')).toEqual(new Uint8Array(0));
  });

  it("shutdown runs the node's onShutdown and waits for it to halt; a node without one halts at once; a slow one is killed after the grace period", () => {
    const w = world();
    const log: string[] = [];
    w.addNode('polite', () => ({
      start: () => {},
      onMessage: () => {},
      onTimer: (ctx) => ctx.halt('done flushing'),
      onShutdown: (ctx) => {
        log.push(`polite asked at ${w.now}`);
        ctx.setTimer(100, 'flush');
      },
    }));
    w.addNode('stubborn', () => ({ start: () => {}, onMessage: () => {}, onTimer: () => {}, onShutdown: () => log.push('stubborn ignores it') }));
    const halts: string[] = [];
    w.trace.subscribe((e) => {
      if (e.kind === 'node.halt') halts.push(`${e.node}: ${e.fields?.reason}`);
    });
    w.startAll();
    w.run({ untilMs: 10 });
    w.shutdown('a');
    expect(w.isUp('a')).toBe(false);
    w.shutdown('polite');
    w.shutdown('stubborn', 1000);
    w.run({ untilMs: 50 });
    expect(w.isUp('polite')).toBe(true);
    w.run({ untilMs: 2000 });
    expect(w.isUp('polite')).toBe(false);
    expect(w.isUp('stubborn')).toBe(false);
    expect(halts).toEqual(['a: shutdown', 'polite: done flushing', 'stubborn: shutdown grace period expired: killed']);
    expect(log).toEqual(['polite asked at 10', 'stubborn ignores it']);
  });

  it('healAll lets a clean shutdown in progress finish, then restarts that node at once', () => {
    const w = world();
    w.addNode('polite', () => ({
      start: () => {},
      onMessage: () => {},
      onTimer: (ctx) => ctx.halt('done flushing'),
      onShutdown: (ctx) => ctx.setTimer(100, 'flush'),
    }));
    const events: string[] = [];
    w.trace.subscribe((e) => {
      if (e.node === 'polite' && (e.kind === 'node.halt' || e.kind === 'node.restart')) events.push(`${e.kind} at ${e.timeMs}`);
    });
    w.startAll();
    w.run({ untilMs: 10 });
    w.shutdown('polite');
    w.run({ untilMs: 50 });
    w.healAll(); // the shutdown is still flushing: not restarted yet, not stopped either
    expect(w.isUp('polite')).toBe(true);
    w.run({ untilMs: 500 });
    expect(events).toEqual(['node.halt at 110', 'node.restart at 110']);
    expect(w.isUp('polite')).toBe(true);
    // A later shutdown, with no healAll in between, is not followed by a restart.
    w.shutdown('polite');
    w.run({ untilMs: 1000 });
    expect(w.isUp('polite')).toBe(false);
  });

  it('healAll restarts crashed nodes, resumes paused ones and ends drift and partitions', () => {
    const w = world();
    w.startAll();
    w.run({ untilMs: 1 });
    w.crash('a');
    w.pause('b', 1_000_000);
    w.clockDrift('b', 5000);
    w.network.setBlocked(['a->b']);
    w.healAll();
    expect(w.isUp('a')).toBe(true);
    expect(w.isPaused('b')).toBe(false);
    expect(w.network.blockedLinks).toEqual([]);
    const t0 = w.localTime('b');
    const s0 = w.now;
    w.run({ untilMs: 1001 });
    expect(w.localTime('b') - t0).toBeCloseTo(1001 - s0, 6);
  });

  it('restart of a running node and crash of a stopped node do nothing', () => {
    const w = world();
    w.startAll();
    expect(w.restart('a')).toBe(false);
    w.crash('a');
    expect(w.crash('a')).toBe(false);
  });
});

describe('world: invariants and assertions', () => {
  it('an invariant is checked after every event and stops the run at the first failure', () => {
    const w = world();
    let checks = 0;
    w.addInvariant({
      name: 'AtMostTwoMessages',
      afterEvent: () => {
        checks++;
        return Probe.log.filter((l) => l.includes(' got ')).length > 2 ? 'a third message arrived' : undefined;
      },
    });
    w.startAll();
    for (let i = 0; i < 5; i++) w.at(10 * (i + 1), undefined, () => w.network.send('a', 'b', `m${i}`, undefined, undefined));
    const r = w.run({ untilMs: 1000 });
    expect(r.status).toBe('failed');
    expect(r.failure?.name).toBe('AtMostTwoMessages');
    expect(r.failure?.timeMs).toBe(31);
    expect(checks).toBe(r.events);
    // The run does not go on after a failure.
    expect(w.run({ untilMs: 2000 }).status).toBe('failed');
    expect(w.now).toBe(31);
  });

  it('an assertion thrown by a node stops the run with the node, time and message', () => {
    const w = new World({ seed: 3 });
    w.addNode('x', () => ({
      start: (ctx) => ctx.setTimer(7, 'boom'),
      onMessage: () => {},
      onTimer: () => {
        throw new Error('leader epoch went backwards');
      },
    }));
    w.startAll();
    const r = w.run({ untilMs: 100 });
    expect(r.status).toBe('failed');
    expect(r.failure).toMatchObject({ kind: 'node-error', node: 'x', timeMs: 7 });
    expect(r.failure?.detail).toContain('leader epoch went backwards');
  });

  it('end-of-run checks run once, on request', () => {
    const w = world();
    w.addInvariant({ name: 'Never', atEnd: () => 'not converged' });
    w.startAll();
    expect(w.run({ untilMs: 10 }).failure).toBeUndefined();
    expect(w.checkAtEnd()?.name).toBe('Never');
    expect(w.firstFailure?.detail).toBe('not converged');
  });

  it('sending to a node that does not exist is a node error, not a silent drop', () => {
    const w = new World({ seed: 4 });
    w.addNode('x', () => ({ start: (ctx) => ctx.send('nobody', 'hi'), onMessage: () => {}, onTimer: () => {} }));
    w.startAll();
    expect(w.run().failure?.detail).toContain('unknown node nobody');
  });

  it('a runaway node is bounded by the event budget', () => {
    const w = new World({ seed: 5 });
    w.addNode('x', () => ({ start: (ctx) => ctx.setTimer(0, 'spin'), onMessage: () => {}, onTimer: (ctx) => ctx.setTimer(0, 'spin') }));
    w.startAll();
    expect(w.run({ maxEvents: 5000 }).status).toBe('event-budget');
  });

  it('node names are unique and "world" is reserved', () => {
    const w = world();
    expect(() => w.addNode('a', () => new Probe())).toThrow(/already exists/);
    expect(() => w.addNode('world', () => new Probe())).toThrow(/reserved/);
  });
});
