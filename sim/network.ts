// The simulated network: TCP-like connections between named nodes.
//
// Fault model (what a Kafka process sees of a real network):
// - A connection per pair of nodes and channel, FIFO in each direction. Inside a connection nothing
//   is duplicated or reordered; Kafka-level duplicates come from client retries, not the network.
//   A channel is one of a node's clients: Kafka's broker talks to the controller over separate
//   connections for heartbeats, AlterPartition and metadata fetches (the world maps each message to
//   its channel); everything else uses the `default` channel. Channels of one pair share the link:
//   its latency stream, its bandwidth, its partitions — but not their FIFO order or their breaks.
// - Latency per message = base + uniform jitter + (rarely) an exponential long tail, per directed
//   link. With a bandwidth set, a message also waits for the link and for its own transmission.
// - A message is lost only when its connection breaks: a reset, a partition that outlasts TCP's
//   retransmissions, a crashed receiver, or a node closing the connection. Everything in flight on
//   a broken connection is lost. Each end is told (`onDisconnect`) after its own detection delay —
//   fast for a reset or refused connection, slow for a partition, where no packet says anything
//   and only a timeout notices. Until an end has been told, what it sends goes into the dead
//   connection and is lost; once told, its next send opens a new connection. If the peer
//   reconnects first, the end is told when the peer's first message arrives, and answers on the
//   new connection. A process that is down (crashed) is told nothing: when it restarts it is a
//   new process with no connections. (Simplification: a new connection needs no handshake.)
// - A partition is a set of blocked directed links (symmetric groups, one-way, bridge, isolate).
//   Nothing crosses a blocked link. As with TCP, a blocked stream stalls rather than loses data: its
//   messages are held while the sender retransmits, and flow again, in order, if the partition
//   heals in time. If the head message has been held for `retransmitGiveUpMs`, the sender's TCP
//   gives up: the connection breaks, the sender is told at once and the peer after
//   `partitionDetectMs`. An idle connection across a partition survives it.
// - A clog holds a directed link (every channel), or one channel of it: it delivers nothing for a
//   while, then everything, in order.

import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';

export interface LinkConfig {
  /** Fixed one-way latency. */
  baseMs: number;
  /** Uniform extra latency in [0, jitterMs). */
  jitterMs: number;
  /** Probability that a message gets a long-tail delay on top. */
  tailProbability: number;
  /** Mean of the exponential long-tail delay. */
  tailMeanMs: number;
  /** Link capacity in bytes per ms (1 MB/s = 1000); 0 or absent: unlimited. */
  bandwidthBytesPerMs?: number;
}

export interface NetworkConfig {
  link: LinkConfig;
  /** Overrides per directed link, keyed `from->to`. */
  links?: Record<string, Partial<LinkConfig>>;
  /**
   * Latency overrides per channel, on every link (e.g. a controller slow to take AlterPartition
   * requests off its queue, modelled as a slow `alter-partition` channel). The link's own random
   * stream draws them.
   */
  channels?: Record<string, Partial<Omit<LinkConfig, 'bandwidthBytesPerMs'>>>;
  /** How long an end takes to notice a reset or refused connection: [min, max] ms. */
  resetDetectMs: [number, number];
  /**
   * How long TCP retransmits into a blocked link before the connection breaks: [min, max] ms.
   * (Linux gives up after ~15 minutes with tcp_retries2=15; ksim defaults to 10–20 s to keep runs
   * short. Kafka's own request timeouts usually close the connection before either.)
   */
  retransmitGiveUpMs: [number, number];
  /** How long the far end takes to notice that a partition killed its connection: [min, max] ms. */
  partitionDetectMs: [number, number];
  /** Size assumed for a message sent without one. */
  defaultMessageBytes: number;
}

export const DEFAULT_NETWORK: NetworkConfig = {
  link: { baseMs: 0.5, jitterMs: 1, tailProbability: 0.001, tailMeanMs: 50 },
  resetDetectMs: [1, 20],
  retransmitGiveUpMs: [10_000, 20_000],
  partitionDetectMs: [2000, 8000],
  defaultMessageBytes: 128,
};

/** What the network needs from the world around it. */
export interface NetworkHost {
  readonly scheduler: Scheduler;
  stream(name: string): Rng;
  isUp(node: string): boolean;
  deliver(msg: InFlight): void;
  notifyDisconnect(node: string, peer: string, channel: string, cause: string): void;
  trace(node: string, kind: string, cause: string | undefined, fields: Record<string, string | number | boolean | undefined>): void;
  describe(msg: unknown): string;
}

export interface InFlight {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly channel: string;
  readonly msg: unknown;
  readonly sizeBytes: number;
  readonly sentMs: number;
  readonly arriveMs: number;
}

/** The default channel: every message the world does not assign to another. */
export const DEFAULT_CHANNEL = 'default';

/** A directed link between two nodes, shared by the connections of every channel between them. */
interface Link {
  readonly config: LinkConfig;
  /** Latency draws (the stream of the link, whichever channel a message takes). */
  readonly rng: Rng;
  busyUntilMs: number;
  /** A clog of the whole link (every channel). */
  clogUntilMs: number;
  /** The directions of the link's connections, one per channel, in creation order. */
  readonly dirs: Direction[];
}

interface Direction {
  readonly from: string;
  readonly to: string;
  readonly channel: string;
  /** The link's latency with the channel's overrides (`NetworkConfig.channels`), merged once. */
  readonly latency: LinkConfig;
  queue: InFlight[];
  head: number;
  lastArriveMs: number;
  /** A clog of this channel only. */
  clogUntilMs: number;
  /** While the head message is held by a partition: when the sender's TCP gives up. */
  giveUpAtMs: number | undefined;
  readonly link: Link;
}

interface Connection {
  readonly a: string;
  readonly b: string;
  readonly channel: string;
  readonly ab: Direction;
  readonly ba: Direction;
  /**
   * Ends that must still be told that the connection broke (with the break that will tell them);
   * their sends are lost meanwhile.
   */
  readonly deadFor: Map<string, number>;
  breaks: number;
  /** Draws detection delays; separate from the links' latency streams so a break shifts no latency. */
  readonly rng: Rng;
}

export type LostReason = 'connection-broken' | 'partition' | 'receiver-down' | 'closed';

export class Network {
  private readonly conns = new Map<string, Connection>();
  private readonly links = new Map<string, Link>();
  private blocked = new Set<string>();
  private readonly clogged = new Set<Direction>();
  private readonly cloggedLinks = new Set<Link>();
  /** Directions whose head message is held by a partition. */
  private readonly held = new Set<Direction>();
  private msgCounter = 0;
  readonly stats = { sent: 0, delivered: 0, lost: 0, breaks: 0 };

  constructor(
    private readonly host: NetworkHost,
    private readonly config: NetworkConfig = DEFAULT_NETWORK,
  ) {}

  /** The directed links currently blocked by a partition, as `from->to`. */
  get blockedLinks(): readonly string[] {
    return [...this.blocked].sort();
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(`${from}->${to}`);
  }

  send(from: string, to: string, msg: unknown, sizeBytes: number | undefined, cause: string | undefined, channel = DEFAULT_CHANNEL): void {
    if (from === to) throw new Error(`${from} cannot send a message to itself`);
    const conn = this.connection(from, to, channel);
    const dir = conn.a === from ? conn.ab : conn.ba;
    const id = `m${this.msgCounter++}`;
    const size = sizeBytes ?? this.config.defaultMessageBytes;
    this.stats.sent++;
    const type = this.host.describe(msg);
    const ch = channel === DEFAULT_CHANNEL ? undefined : channel;
    if (conn.deadFor.has(from)) {
      this.stats.lost++;
      this.host.trace(from, 'net.lost', cause, { msg: id, to, type, channel: ch, reason: 'connection-broken' });
      return;
    }
    const now = this.host.scheduler.now;
    const link = dir.link;
    let departMs = now;
    const bw = link.config.bandwidthBytesPerMs;
    if (bw !== undefined && bw > 0) {
      departMs = Math.max(now, link.busyUntilMs) + size / bw;
      link.busyUntilMs = departMs;
    }
    const lat = dir.latency;
    let latency = lat.baseMs + link.rng.next() * lat.jitterMs;
    if (lat.tailProbability > 0 && link.rng.chance(lat.tailProbability)) latency += link.rng.exp(lat.tailMeanMs);
    // Round to microseconds so traces stay readable; keep FIFO within the connection.
    const arriveMs = Math.max(roundUs(departMs + latency), dir.lastArriveMs);
    dir.lastArriveMs = arriveMs;
    const inflight: InFlight = { id, from, to, channel, msg, sizeBytes: size, sentMs: now, arriveMs };
    dir.queue.push(inflight);
    this.host.trace(from, 'net.send', cause, { msg: id, to, type, channel: ch, arriveMs });
    this.host.scheduler.at(arriveMs, () => this.pump(dir));
  }

  /**
   * Break the connection between `a` and `b` on `channel`, as a TCP reset: in-flight messages are
   * lost. Without a channel, every connection between the two breaks.
   */
  reset(a: string, b: string, cause: string | undefined, channel?: string): void {
    const conns = channel === undefined ? this.connectionsBetween(a, b) : [this.connection(a, b, channel)];
    for (const conn of conns) this.breakConnection(conn, this.config.resetDetectMs, cause, 'reset');
  }

  /** `node` closes its connection to `peer` on `channel` (e.g. on a request timeout). */
  close(node: string, peer: string, cause: string | undefined, channel = DEFAULT_CHANNEL): void {
    const conn = this.conns.get(key(node, peer, channel));
    if (conn === undefined) return;
    this.breakConnection(conn, this.config.resetDetectMs, cause, 'closed', node);
  }

  /** Break every connection of `node` (it crashed). Peers are told after a reset delay. */
  breakAllOf(node: string, cause: string | undefined): void {
    for (const conn of this.sortedConnections()) {
      if (conn.a === node || conn.b === node) this.breakConnection(conn, this.config.resetDetectMs, cause, 'node-down', node);
    }
  }

  /** Replace the partition in force by this set of blocked directed links (`from->to`). */
  setBlocked(links: Iterable<string>): void {
    this.blocked = new Set(links);
    this.releaseHeld();
  }

  /** Remove every partition and clog; held messages start flowing again. */
  heal(): void {
    this.blocked.clear();
    const dirs = [...this.clogged];
    this.clogged.clear();
    for (const link of this.cloggedLinks) {
      link.clogUntilMs = 0;
      dirs.push(...link.dirs);
    }
    this.cloggedLinks.clear();
    for (const dir of dirs) {
      dir.clogUntilMs = 0;
      this.host.scheduler.at(this.host.scheduler.now, () => this.pump(dir));
    }
    this.releaseHeld();
  }

  /** Re-examine every stream a partition holds (the partition changed). */
  private releaseHeld(): void {
    for (const dir of [...this.held]) this.host.scheduler.at(this.host.scheduler.now, () => this.pump(dir));
  }

  /**
   * Hold messages from `from` to `to` for `durationMs`, then deliver them in order: on every
   * channel, or on `channel` only.
   */
  clog(from: string, to: string, durationMs: number, channel?: string): void {
    const until = this.host.scheduler.now + durationMs;
    if (channel === undefined) {
      const link = this.link(from, to);
      if (until > link.clogUntilMs) link.clogUntilMs = until;
      this.cloggedLinks.add(link);
      // Pump every channel of the link at the clog's end, including channels opened meanwhile.
      this.host.scheduler.at(link.clogUntilMs, () => {
        for (const dir of [...link.dirs]) this.pump(dir);
      });
      return;
    }
    const conn = this.connection(from, to, channel);
    const dir = conn.a === from ? conn.ab : conn.ba;
    if (until > dir.clogUntilMs) dir.clogUntilMs = until;
    this.clogged.add(dir);
    this.host.scheduler.at(dir.clogUntilMs, () => this.pump(dir));
  }

  /** Messages in flight (sent, not yet delivered or lost). */
  get inFlight(): number {
    let n = 0;
    for (const c of this.conns.values()) n += c.ab.queue.length - c.ab.head + (c.ba.queue.length - c.ba.head);
    return n;
  }

  // Deliver the head of a direction's queue if it is due and nothing holds it back. Every message
  // schedules one pump at its arrival time, so extra pumps are harmless: a pump only ever takes
  // the head, and only when the head is due.
  private pump(dir: Direction): void {
    const now = this.host.scheduler.now;
    if (dir.head >= dir.queue.length) return;
    const m = dir.queue[dir.head] as InFlight;
    if (m.arriveMs > now) return;
    // A pump is scheduled for the clog's end.
    if (dir.clogUntilMs > now || dir.link.clogUntilMs > now) return;
    if (dir.clogUntilMs !== 0) {
      dir.clogUntilMs = 0;
      this.clogged.delete(dir);
    }
    if (dir.link.clogUntilMs !== 0) {
      dir.link.clogUntilMs = 0;
      this.cloggedLinks.delete(dir.link);
    }
    const conn = this.connection(m.from, m.to, m.channel);
    if (this.blocked.has(`${m.from}->${m.to}`)) {
      // The stream stalls while the sender retransmits; the connection breaks if it lasts too long.
      if (dir.giveUpAtMs === undefined) {
        dir.giveUpAtMs = roundUs(now + conn.rng.uniform(this.config.retransmitGiveUpMs[0], this.config.retransmitGiveUpMs[1]));
        this.held.add(dir);
        this.host.scheduler.at(dir.giveUpAtMs, () => this.pump(dir));
      }
      if (now < dir.giveUpAtMs) return;
      dir.head++;
      this.lose(m, 'partition');
      this.breakConnection(conn, this.config.partitionDetectMs, m.id, 'partition', m.from);
      return;
    }
    if (dir.giveUpAtMs !== undefined) {
      dir.giveUpAtMs = undefined;
      this.held.delete(dir);
    }
    dir.head++;
    if (!this.host.isUp(m.to)) {
      this.lose(m, 'receiver-down');
      this.breakConnection(conn, this.config.resetDetectMs, m.id, 'receiver-down');
      return;
    }
    // Data arriving for an end that has not yet noticed the old connection died means the peer
    // reconnected: the end learns of the break now, and its replies travel on the new connection.
    if (conn.deadFor.has(m.to)) {
      conn.deadFor.delete(m.to);
      this.host.notifyDisconnect(m.to, m.from, conn.channel, breakCause(conn, conn.breaks));
    }
    this.compact(dir);
    this.stats.delivered++;
    this.host.deliver(m);
    const next = dir.queue[dir.head];
    if (next !== undefined && next.arriveMs <= now) this.host.scheduler.at(now, () => this.pump(dir));
  }

  private breakConnection(conn: Connection, detectMs: [number, number], cause: string | undefined, why: string, initiator?: string): void {
    conn.breaks++;
    this.stats.breaks++;
    for (const dir of [conn.ab, conn.ba]) {
      for (let i = dir.head; i < dir.queue.length; i++) this.lose(dir.queue[i] as InFlight, 'connection-broken');
      dir.queue = [];
      dir.head = 0;
      dir.giveUpAtMs = undefined;
      this.held.delete(dir);
    }
    this.host.trace('world', 'net.break', cause, { a: conn.a, b: conn.b, channel: conn.channel === DEFAULT_CHANNEL ? undefined : conn.channel, why });
    const breakNo = conn.breaks;
    for (const [end, peer] of [
      [conn.a, conn.b],
      [conn.b, conn.a],
    ] as const) {
      // A process that is down has no connection to be told about: when it restarts, it is a new
      // process that opens new connections (and hears nothing of its predecessor's).
      if (!this.host.isUp(end)) {
        conn.deadFor.delete(end);
        continue;
      }
      if (conn.deadFor.has(end)) continue; // already waiting to be told
      conn.deadFor.set(end, breakNo);
      // The end that closed the connection knows at once; the other learns after a delay.
      const delay = end === initiator ? 0 : roundUs(conn.rng.uniform(detectMs[0], detectMs[1]));
      this.host.scheduler.after(delay, () => {
        if (conn.deadFor.get(end) !== breakNo) return; // the end crashed meanwhile
        conn.deadFor.delete(end);
        if (this.host.isUp(end)) this.host.notifyDisconnect(end, peer, conn.channel, breakCause(conn, breakNo));
      });
    }
  }

  private lose(m: InFlight, reason: LostReason): void {
    this.stats.lost++;
    this.host.trace('world', 'net.lost', m.id, { from: m.from, to: m.to, reason });
  }

  private compact(dir: Direction): void {
    if (dir.head > 64 && dir.head * 2 > dir.queue.length) {
      dir.queue = dir.queue.slice(dir.head);
      dir.head = 0;
    }
  }

  private sortedConnections(): Connection[] {
    return [...this.conns.keys()].sort().map((k) => this.conns.get(k) as Connection);
  }

  /** The connections between `x` and `y`: the default channel's and every other opened so far, in a fixed order. */
  private connectionsBetween(x: string, y: string): Connection[] {
    const base = key(x, y, DEFAULT_CHANNEL);
    this.connection(x, y, DEFAULT_CHANNEL);
    return [...this.conns.keys()]
      .filter((k) => k === base || k.startsWith(`${base}#`))
      .sort()
      .map((k) => this.conns.get(k) as Connection);
  }

  private connection(x: string, y: string, channel: string): Connection {
    const k = key(x, y, channel);
    let c = this.conns.get(k);
    if (c === undefined) {
      const [a, b] = x < y ? [x, y] : [y, x];
      c = {
        a,
        b,
        channel,
        ab: this.direction(a, b, channel),
        ba: this.direction(b, a, channel),
        deadFor: new Map(),
        breaks: 0,
        rng: this.host.stream(`net/conn/${k}`),
      };
      this.conns.set(k, c);
    }
    return c;
  }

  private link(from: string, to: string): Link {
    const k = `${from}->${to}`;
    let link = this.links.get(k);
    if (link === undefined) {
      const override = this.config.links?.[k];
      const config = override === undefined ? this.config.link : { ...this.config.link, ...override };
      link = { config, rng: this.host.stream(`net/${k}`), busyUntilMs: 0, clogUntilMs: 0, dirs: [] };
      this.links.set(k, link);
    }
    return link;
  }

  private direction(from: string, to: string, channel: string): Direction {
    const link = this.link(from, to);
    const override = this.config.channels?.[channel];
    const latency = override === undefined ? link.config : { ...link.config, ...override };
    const dir: Direction = { from, to, channel, latency, queue: [], head: 0, lastArriveMs: 0, clogUntilMs: 0, giveUpAtMs: undefined, link };
    link.dirs.push(dir);
    return dir;
  }
}

/** A connection's map key (and the name of its random stream): the default channel keeps the bare pair. */
function key(x: string, y: string, channel: string): string {
  const pair = x < y ? `${x}|${y}` : `${y}|${x}`;
  return channel === DEFAULT_CHANNEL ? pair : `${pair}#${channel}`;
}

function breakCause(conn: Connection, breakNo: number): string {
  const ch = conn.channel === DEFAULT_CHANNEL ? '' : `#${conn.channel}`;
  return `break${breakNo}:${conn.a}-${conn.b}${ch}`;
}

function roundUs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
