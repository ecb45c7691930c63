// The discrete-event scheduler: simulated time jumps from one event to the next.
//
// Events are ordered by (time, sequence number). The sequence number is handed out when an event
// is scheduled, so two events at the same time run in the order they were scheduled, never in an
// order that depends on object identity or hashing. A run has a limit on everything: simulated
// time and the number of events. Exceeding the event budget ends the run with that status; it is
// never a hang. (As Kafka's RaftEventSimulationTest: deadline first, then event id.)

export interface ScheduledEvent {
  readonly timeMs: number;
  readonly seq: number;
  /** Set by cancel(); a cancelled event is skipped when it reaches the head of the queue. */
  cancelled: boolean;
  readonly action: () => void;
}

export type RunStatus =
  /** No events left: the world is quiescent. */
  | 'idle'
  /** The next event lies beyond the requested simulated time. */
  | 'time-limit'
  /** The run executed its maximum number of events. */
  | 'event-budget'
  /** Somebody called stop() (an invariant failed, a fault asked for it, …). */
  | 'stopped';

export interface RunLimits {
  /** Run events with time ≤ untilMs (default: no limit); simulated time ends at untilMs. */
  untilMs?: number;
  /** At most this many events in this call (default: 10 million). */
  maxEvents?: number;
}

export const DEFAULT_MAX_EVENTS = 10_000_000;

export class Scheduler {
  private heap: ScheduledEvent[] = [];
  private seqCounter = 0;
  private nowMs = 0;
  private executed = 0;
  private stopReason: string | undefined;
  /** Called after every executed event (the world checks its invariants here). */
  afterEach: (() => void) | undefined;

  /** Simulated time of the event being run (or of the last one run). */
  get now(): number {
    return this.nowMs;
  }

  /** Events executed so far (cancelled ones are not counted). */
  get eventsExecuted(): number {
    return this.executed;
  }

  /** Events waiting in the queue, cancelled ones included. */
  get pending(): number {
    return this.heap.length;
  }

  get stoppedBecause(): string | undefined {
    return this.stopReason;
  }

  /** Run `action` at simulated time `timeMs` (clamped to now: the past cannot be scheduled). */
  at(timeMs: number, action: () => void): ScheduledEvent {
    if (Number.isNaN(timeMs)) throw new RangeError('Scheduler.at: time is NaN');
    const ev: ScheduledEvent = { timeMs: timeMs < this.nowMs ? this.nowMs : timeMs, seq: this.seqCounter++, cancelled: false, action };
    this.push(ev);
    return ev;
  }

  after(delayMs: number, action: () => void): ScheduledEvent {
    return this.at(this.nowMs + delayMs, action);
  }

  cancel(ev: ScheduledEvent): void {
    ev.cancelled = true;
  }

  /** Ask the current run() to return after the event being executed. */
  stop(reason: string): void {
    this.stopReason = reason;
  }

  /** Time of the next live event, or undefined if none. */
  peekTime(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.timeMs;
  }

  run(limits: RunLimits = {}): RunStatus {
    const untilMs = limits.untilMs ?? Number.POSITIVE_INFINITY;
    const maxEvents = limits.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.stopReason = undefined;
    let n = 0;
    for (;;) {
      const head = this.heap[0];
      if (head === undefined) {
        // Nothing left to do: simulated time still reaches the requested limit.
        if (untilMs !== Number.POSITIVE_INFINITY && untilMs > this.nowMs) this.nowMs = untilMs;
        return 'idle';
      }
      if (head.cancelled) {
        this.pop();
        continue;
      }
      if (head.timeMs > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return 'time-limit';
      }
      if (n >= maxEvents) return 'event-budget';
      this.pop();
      this.nowMs = head.timeMs;
      n++;
      this.executed++;
      head.action();
      if (this.afterEach !== undefined) this.afterEach();
      if (this.stopReason !== undefined) return 'stopped';
    }
  }

  /** Advance simulated time to `timeMs` without running anything (only if nothing is due before). */
  advanceTo(timeMs: number): void {
    const next = this.peekTime();
    if (next !== undefined && next < timeMs) throw new Error(`advanceTo(${timeMs}): an event is due at ${next}`);
    if (timeMs > this.nowMs) this.nowMs = timeMs;
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent).cancelled) this.pop();
  }

  // A binary min-heap on (timeMs, seq).
  private push(ev: ScheduledEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as ScheduledEvent;
      if (p.timeMs < ev.timeMs || (p.timeMs === ev.timeMs && p.seq < ev.seq)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as ScheduledEvent;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = h[l] as ScheduledEvent;
      if (r < n) {
        const rc = h[r] as ScheduledEvent;
        if (rc.timeMs < child.timeMs || (rc.timeMs === child.timeMs && rc.seq < child.seq)) {
          c = r;
          child = rc;
        }
      }
      if (last.timeMs < child.timeMs || (last.timeMs === child.timeMs && last.seq < child.seq)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
  }
}
