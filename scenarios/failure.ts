// Failure files (DESIGN.md §6): everything needed to reproduce one failing run, in one JSON file
// that `ksim replay` and `ksim shrink` take.
//
//   {
//     "format": "ksim-failure/1",
//     "source": "nemesis", "seed": 17, "set": { "fix.kip-101": false },
//     "verdict": "invalid",
//     "firstViolation": { "invariant": "LogMatching", "atMs": 8123.4, "node": "b2", "detail": "…" },
//     "traceHash": "9f3c…", "events": 412345, "simulatedMs": 61000,
//     "scenario": { …the scenario, concrete… },
//     "replay": "ksim replay ksim-out/failures/nemesis-seed17.json",
//     "run": "ksim run nemesis --seed 17 --set fix.kip-101=false"
//   }
//
// `scenario` is concrete: the nemesis is gone and its draws are explicit faults (the run's whole
// schedule, `report.faults`), so the file replays without the catalogue that produced it and is
// what the shrinker edits. Random streams are named (sim/rng.ts), so dropping the nemesis's stream
// changes no other draw: the concrete scenario with the same seed replays event for event, and
// gives the recorded trace hash (test/scenario/failure-replay.test.ts checks this over many
// failures).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigValue } from '../core/config.js';
import { expectArray, expectInteger, expectKeys, expectObject, expectString, InputError } from '../sim/input.js';
import type { Verdict, Violation } from './checks.js';
import type { RunReport } from './runner.js';
import { configValue, parseScenario, type Scenario, scenarioToJson } from './scenario.js';

export const FAILURE_FORMAT = 'ksim-failure/1';

export interface FailureFile {
  format: typeof FAILURE_FORMAT;
  /** What the failing run was given: a built-in name or a scenario file path. */
  source: string;
  seed: number;
  set: Record<string, ConfigValue>;
  maxEvents?: number;
  verdict: Verdict;
  /** The first violation (invalid), or why the run did not converge (unknown). */
  firstViolation: Violation | null;
  notConverged: string[];
  traceHash: string;
  events: number;
  simulatedMs: number;
  /** The scenario with its nemesis replaced by the concrete schedule it drew. */
  scenario: Record<string, unknown>;
  /** `ksim replay <this file>` */
  replay: string;
  /** The original command: `ksim run <source> --seed N …` */
  run: string;
  /** Set when a sweep's re-run of this seed gave another trace hash. */
  nondeterministic?: { hashes: string[]; detail: string };
}

/** The scenario as JSON with its nemesis made explicit: `faults` = the schedule the run applied. */
export function concreteScenario(s: Scenario, report: Pick<RunReport, 'faults'>): Record<string, unknown> {
  const json = scenarioToJson(s);
  delete json.nemesis;
  delete json.expect;
  json.faults = JSON.parse(JSON.stringify(report.faults));
  return json;
}

export function failureFromReport(s: Scenario, report: RunReport, opts: { maxEvents?: number; file?: string } = {}): FailureFile {
  return {
    format: FAILURE_FORMAT,
    source: s.source,
    seed: report.seed,
    set: { ...report.settings.set },
    ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
    verdict: report.verdict,
    firstViolation: report.violations[0] ?? null,
    notConverged: report.notConverged,
    traceHash: report.traceHash,
    events: report.events,
    simulatedMs: report.simulatedMs,
    scenario: concreteScenario(s, report),
    replay: `ksim replay ${opts.file ?? '<this file>'}`,
    run: report.replay,
  };
}

/** `<scenario>-seed<N>[-<hash of the settings>].json`: distinct settings never overwrite each other. */
export function failureFileName(scenario: string, seed: number, set: Readonly<Record<string, ConfigValue>>): string {
  const keys = Object.keys(set).sort();
  if (keys.length === 0) return `${scenario}-seed${seed}.json`;
  const text = keys.map((k) => `${k}=${set[k]}`).join(',');
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return `${scenario}-seed${seed}-${h.toString(16).padStart(8, '0')}.json`;
}

/** Write the failure file into `dir` (created if needed); returns its path. */
export function writeFailureFile(dir: string, f: FailureFile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, failureFileName(String(f.scenario.name ?? 'scenario'), f.seed, f.set));
  const out: FailureFile = { ...f, replay: `ksim replay ${path}` };
  writeFileSync(path, formatJson(out));
  return path;
}

/** Read and check a failure file; every problem is one InputError line. */
export function readFailureFile(path: string): { failure: FailureFile; scenario: Scenario } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return parseFailure(json, path);
  } catch (e) {
    if (e instanceof InputError && !e.message.startsWith(path)) throw new InputError(`${path}: ${e.message}`);
    throw e;
  }
}

export function parseFailure(json: unknown, path: string): { failure: FailureFile; scenario: Scenario } {
  const o = expectObject(json, 'failure file');
  if (o.format !== FAILURE_FORMAT)
    throw new InputError(`format: expected "${FAILURE_FORMAT}", got ${JSON.stringify(o.format)} (is this a failure file written by ksim sweep?)`);
  expectKeys(
    o,
    [
      'format',
      'source',
      'seed',
      'set',
      'maxEvents',
      'verdict',
      'firstViolation',
      'notConverged',
      'traceHash',
      'events',
      'simulatedMs',
      'scenario',
      'replay',
      'run',
      'nondeterministic',
    ],
    'failure file',
  );
  const seed = expectInteger(o.seed, 'seed', 0);
  const set: Record<string, ConfigValue> = {};
  for (const [k, v] of Object.entries(o.set === undefined ? {} : expectObject(o.set, 'set'))) {
    if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') throw new InputError(`set.${k}: expected a number, boolean or string`);
    set[k] = configValue(k, v, 'set');
  }
  const traceHash = expectString(o.traceHash, 'traceHash');
  const scenario = parseScenario(o.scenario, `${path}: scenario`);
  const verdict = expectString(o.verdict, 'verdict');
  if (verdict !== 'valid' && verdict !== 'invalid' && verdict !== 'unknown')
    throw new InputError(`verdict: expected valid, invalid or unknown, got "${verdict}"`);
  const failure: FailureFile = {
    format: FAILURE_FORMAT,
    source: o.source === undefined ? path : expectString(o.source, 'source'),
    seed,
    set,
    verdict,
    firstViolation: (o.firstViolation ?? null) as Violation | null,
    notConverged: Array.isArray(o.notConverged) ? (o.notConverged as string[]) : [],
    traceHash,
    events: typeof o.events === 'number' ? o.events : 0,
    simulatedMs: typeof o.simulatedMs === 'number' ? o.simulatedMs : 0,
    scenario: o.scenario as Record<string, unknown>,
    replay: typeof o.replay === 'string' ? o.replay : `ksim replay ${path}`,
    run: typeof o.run === 'string' ? o.run : '',
  };
  if (o.maxEvents !== undefined) failure.maxEvents = expectInteger(o.maxEvents, 'maxEvents', 1);
  if (o.nondeterministic !== undefined) {
    const nd = expectObject(o.nondeterministic, 'nondeterministic');
    failure.nondeterministic = {
      hashes: expectArray(nd.hashes, 'nondeterministic.hashes').map((h, i) => expectString(h, `nondeterministic.hashes[${i}]`)),
      detail: expectString(nd.detail, 'nondeterministic.detail'),
    };
  }
  // The replayed scenario's `source` is the failure file, so that its replay command names it.
  scenario.source = path;
  return { failure, scenario };
}

/** The name of what a failure broke: the invariant or anomaly, `node-error`, or `liveness`. */
export function violationName(v: Violation | null | undefined): string {
  if (v === null || v === undefined) return 'liveness';
  return v.invariant ?? v.anomaly ?? 'violation';
}

/** JSON for people: two-space indent, but any object or array that fits in `width` characters on one line stays on one line. */
export function formatJson(value: unknown, width = 110): string {
  const go = (v: unknown, indent: string): string => {
    const flat = JSON.stringify(v);
    if (flat === undefined) return 'null';
    if (v === null || typeof v !== 'object' || flat.length + indent.length <= width) return flat;
    const inner = `${indent}  `;
    if (Array.isArray(v)) return `[\n${v.map((x) => `${inner}${go(x, inner)}`).join(',\n')}\n${indent}]`;
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${go(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return `${go(value, '')}\n`;
}
