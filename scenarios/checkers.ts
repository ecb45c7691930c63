// The runner's adapter to the two modules that judge a run (scenarios/checks.ts is the contract):
//   scenarios/invariants.ts  installInvariants(c): the named per-event invariants and ReplicasConverge
//   scenarios/guarantees.ts  createGuaranteeChecker(c): the history checks and the guarantee model
// The runner takes them as `Judges` (tests may pass others); by default, these.

import type { RunChecker } from './checks.js';
import type { Cluster } from './cluster.js';
import { createGuaranteeChecker } from './guarantees.js';
import { installInvariants } from './invariants.js';

export interface Judges {
  /** Adds the invariants to `c.world`; returns their names. */
  installInvariants(c: Cluster): { readonly names: readonly string[] };
  /** Subscribes to the run before it starts; `finish()` returns every anomaly, allowed or not. */
  createGuaranteeChecker(c: Cluster): RunChecker;
}

/** The invariants of DESIGN.md §4 and the guarantee model. */
export function judges(): Judges {
  return { installInvariants: (c) => installInvariants(c), createGuaranteeChecker: (c) => createGuaranteeChecker(c) };
}
