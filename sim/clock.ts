// A node's local clock: simulated time plus an offset and a drift.
//
// Real machines disagree about the time: NTP steps a clock, a bad oscillator makes it run fast or
// slow. Kafka reads the wall clock for its timeouts (replica.lag.time.max.ms, session timeouts), so
// a clock fault changes protocol decisions, which is why ksim models it. A node sees only its local
// clock; timers are set in local time and the runtime converts their deadlines to simulated time
// (re-converting them whenever the clock is stepped or its drift changes).
//
//   local(t) = anchorLocal + (t - anchorSim) × (1 + driftPpm / 10⁶)

export class NodeClock {
  private anchorSimMs = 0;
  private anchorLocalMs: number;
  private rate: number;

  constructor(
    offsetMs = 0,
    private driftPpmValue = 0,
  ) {
    this.anchorLocalMs = offsetMs;
    this.rate = 1 + driftPpmValue / 1e6;
  }

  get driftPpm(): number {
    return this.driftPpmValue;
  }

  /** The local time at simulated time `simMs`. */
  local(simMs: number): number {
    return this.anchorLocalMs + (simMs - this.anchorSimMs) * this.rate;
  }

  /** The simulated time at which the local clock reads `localMs` (never before `nowSimMs`). */
  toSim(localMs: number, nowSimMs: number): number {
    let t = this.anchorSimMs + (localMs - this.anchorLocalMs) / this.rate;
    // Rounding can leave the local clock a hair before `localMs` at t; a timer must never fire
    // early (a node that re-arms for the remaining sliver would spin at one instant), so step t
    // up by a few units in the last place until the clock has reached `localMs`.
    for (let i = 0; i < 64 && this.local(t) < localMs; i++) t += Math.max(Math.abs(t) * Number.EPSILON * 2, Number.MIN_VALUE);
    return t < nowSimMs ? nowSimMs : t;
  }

  /** Jump the clock by `deltaMs` (negative: backwards) at simulated time `nowSimMs`. */
  step(nowSimMs: number, deltaMs: number): void {
    this.anchorLocalMs = this.local(nowSimMs) + deltaMs;
    this.anchorSimMs = nowSimMs;
  }

  /** From `nowSimMs` on, run fast (ppm > 0) or slow (ppm < 0). */
  setDrift(nowSimMs: number, ppm: number): void {
    if (!(ppm > -1e6)) throw new RangeError(`clock drift must be above -1000000 ppm, got ${ppm}`);
    this.anchorLocalMs = this.local(nowSimMs);
    this.anchorSimMs = nowSimMs;
    this.driftPpmValue = ppm;
    this.rate = 1 + ppm / 1e6;
  }
}
