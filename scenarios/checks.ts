// The contract between the parts that judge a run (DESIGN.md §4):
// - invariants (scenarios/invariants.ts): named checks run after every event; the first one to
//   fail stops the run (World.addInvariant), end-of-run ones (ReplicasConverge) run when judged;
// - history checkers and the guarantee model (scenarios/history.ts, scenarios/guarantees.ts):
//   listen to the run from its start and, at the end, report every anomaly, each either allowed
//   by the configuration (with why) or a violation (naming the replica, event and rule);
// - the runner (scenarios/runner.ts) builds the cluster, installs both, runs the phases and turns
//   the results into a verdict.

/** Something that makes a run invalid. */
export interface Violation {
  /** Set for an invariant (`LogMatching`, …)… */
  invariant?: string;
  /** …or for a history anomaly (`lost-write`, …). */
  anomaly?: string;
  atMs: number;
  node?: string;
  /** `topic-partition`, when it concerns one. */
  partition?: string;
  detail: string;
}

/** A history anomaly and the guarantee model's judgement of it. */
export interface Anomaly {
  /** Jepsen's name: lost-write, duplicate, inconsistent-offsets, nonmonotonic-send, poll-skip, nonmonotonic-poll, unseen. */
  anomaly: string;
  /** Permitted by the configuration (acks=1, unclean election, every holder lost its copy to a fault)? */
  allowed: boolean;
  /** Why it is allowed, or which rule it breaks and what caused it (replica, time, rule, message). */
  why: string;
  atMs?: number;
  node?: string;
  partition?: string;
  detail: string;
}

/** A checker that observes a run from its start and judges it at the end. */
export interface RunChecker {
  readonly name: string;
  /** Called once, after the liveness phase. */
  finish(): Anomaly[];
}

export type Verdict = 'valid' | 'invalid' | 'unknown';
