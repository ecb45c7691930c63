// Seeded randomness: one root seed, one named stream per node and subsystem.
//
// Every random choice in a run comes from a stream derived from the run's root seed and a name
// (`net/b1->b2`, `disk/b1`, `node/b1`, `nemesis`, …). Streams are independent: adding a draw in
// one place never shifts the draws of another, so a change to the network model does not change
// which faults the nemesis picks. The generator is seedrandom's Alea (fast, 32-bit state mixing).

import seedrandom from 'seedrandom';
import type { RandomPort } from '../core/ports.js';

export class Rng implements RandomPort {
  private readonly gen: () => number;

  constructor(
    readonly rootSeed: number,
    readonly streamName: string,
  ) {
    this.gen = seedrandom.alea(`${rootSeed}/${streamName}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.gen();
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    if (!(hi >= lo)) throw new RangeError(`Rng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.gen() * (hi - lo + 1));
  }

  /** Uniform real in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + this.gen() * (hi - lo);
  }

  chance(p: number): boolean {
    return this.gen() < p;
  }

  /** Exponentially distributed with the given mean (for Poisson arrivals and long tails). */
  exp(mean: number): number {
    return -mean * Math.log(1 - this.gen());
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick: no items');
    return items[Math.floor(this.gen() * items.length)] as T;
  }

  /** A new array with the items in random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.gen() * (i + 1));
      const t = out[i] as T;
      out[i] = out[j] as T;
      out[j] = t;
    }
    return out;
  }
}

/** Hands out named streams derived from one root seed; each name yields the same stream object. */
export class RandomStreams {
  private readonly streams = new Map<string, Rng>();

  constructor(readonly rootSeed: number) {
    if (!Number.isSafeInteger(rootSeed)) throw new RangeError(`seed must be an integer, got ${rootSeed}`);
  }

  stream(name: string): Rng {
    let s = this.streams.get(name);
    if (s === undefined) {
      s = new Rng(this.rootSeed, name);
      this.streams.set(name, s);
    }
    return s;
  }
}
