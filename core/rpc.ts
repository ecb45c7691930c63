// Request/response plumbing shared by every ksim Kafka node, after Kafka's NetworkClient:
// correlation ids; the requests in flight to each node; a request timeout that fails the request
// and closes its connection (NetworkClient.handleTimedOutRequests); and a broken connection that
// fails every request in flight on it. A request travels on its type's channel (protocol.ts
// `channelOf`): a timeout closes that connection only, and a break fails only the requests on it.
// A node has one onTimer entry point, so `Timers` routes each timer to the callback that set it.

import type { NodeContext, TimerId } from './ports.js';
import { type Channel, channelOf, type KafkaMessage, messageSize } from './protocol.js';

/** Timer callbacks by id. */
export class Timers {
  private readonly callbacks = new Map<TimerId, () => void>();

  constructor(private readonly ctx: NodeContext<KafkaMessage>) {}

  set(delayMs: number, tag: string, fn: () => void): TimerId {
    const id = this.ctx.setTimer(Math.max(0, delayMs), tag);
    this.callbacks.set(id, fn);
    return id;
  }

  cancel(id: TimerId | undefined): void {
    if (id === undefined) return;
    this.ctx.cancelTimer(id);
    this.callbacks.delete(id);
  }

  /** Run the callback of timer `id`; false if it is not one of ours (or was cancelled). */
  fire(id: TimerId): boolean {
    const fn = this.callbacks.get(id);
    if (fn === undefined) return false;
    this.callbacks.delete(id);
    fn();
    return true;
  }
}

type RequestMessage = Extract<KafkaMessage, { correlationId: number }>;
type RequestType = Exclude<RequestMessage['type'], `${string}Response`>;
export type Req<K extends RequestType> = Extract<KafkaMessage, { type: K }>;
export type Resp<K extends RequestType> = Extract<KafkaMessage, { type: `${K}Response` }>;
/** A request as the caller hands it over: the correlation id is filled in. */
export type ReqBody<K extends RequestType> = Omit<Req<K>, 'correlationId'>;
export type RpcOutcome<K extends RequestType> = { ok: true; response: Resp<K> } | { ok: false; error: 'REQUEST_TIMED_OUT' | 'DISCONNECTED' };

interface Pending {
  readonly node: string;
  readonly channel: Channel;
  readonly responseType: string;
  readonly timer: TimerId;
  readonly callback: (o: RpcOutcome<RequestType>) => void;
}

export class Rpc {
  private nextCorrelationId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly ctx: NodeContext<KafkaMessage>,
    private readonly timers: Timers,
    private readonly defaultTimeoutMs: number,
  ) {}

  /** Send a request; `callback` runs exactly once, with the response or why there is none. */
  send<K extends RequestType>(node: string, body: { type: K } & ReqBody<K>, callback: (o: RpcOutcome<K>) => void, timeoutMs = this.defaultTimeoutMs): number {
    const correlationId = this.nextCorrelationId++;
    const msg = { ...body, correlationId } as unknown as KafkaMessage;
    const channel = channelOf(body.type);
    this.ctx.send(node, msg, messageSize(msg));
    const timer = this.timers.set(timeoutMs, `timeout:${node}:${body.type}`, () => {
      const p = this.pending.get(correlationId);
      if (p === undefined) return;
      this.pending.delete(correlationId);
      // As Kafka: a timed-out request closes its connection, failing what else is in flight on it.
      this.ctx.disconnect(node, channel);
      p.callback({ ok: false, error: 'REQUEST_TIMED_OUT' });
    });
    this.pending.set(correlationId, { node, channel, responseType: `${body.type}Response`, timer, callback: callback as (o: RpcOutcome<RequestType>) => void });
    return correlationId;
  }

  /** Send without tracking (acks=0 produce, one-way notifications). */
  sendOneWay<K extends RequestType>(node: string, body: { type: K } & ReqBody<K>): void {
    const msg = { ...body, correlationId: this.nextCorrelationId++ } as unknown as KafkaMessage;
    this.ctx.send(node, msg, messageSize(msg));
  }

  /** Route a response to its request; false if it answers none in flight (late or unknown). */
  handleResponse(from: string, msg: KafkaMessage): boolean {
    if (!('correlationId' in msg)) return false;
    const p = this.pending.get(msg.correlationId);
    if (p === undefined || p.node !== from || p.responseType !== msg.type) return false;
    this.pending.delete(msg.correlationId);
    this.timers.cancel(p.timer);
    p.callback({ ok: true, response: msg as Resp<RequestType> });
    return true;
  }

  /** The connection to `peer` on `channel` broke: every request in flight on it fails with DISCONNECTED. */
  onDisconnect(peer: string, channel: string): void {
    const failed = [...this.pending.entries()].filter(([, p]) => p.node === peer && p.channel === channel).sort((a, b) => a[0] - b[0]);
    for (const [id, p] of failed) {
      this.pending.delete(id);
      this.timers.cancel(p.timer);
    }
    for (const [, p] of failed) p.callback({ ok: false, error: 'DISCONNECTED' });
  }

  inFlightTo(node: string): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.node === node) n++;
    return n;
  }
}
