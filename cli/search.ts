// The fault-search commands: `ksim sweep`, `ksim replay`, `ksim shrink` and `ksim zoo`
// (DESIGN.md §6). Runs go to worker threads (scenarios/pool.ts); results are reported in seed
// order; progress goes to stderr.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ChalkInstance } from 'chalk';
import { junitXml } from '../reports/junit.js';
import { createProgress, duration } from '../reports/progress.js';
import { formatRunReport } from '../reports/run.js';
import { makeChalk, table, verdictColour } from '../reports/text.js';
import { type FailureFile, formatJson, readFailureFile, violationName } from '../scenarios/failure.js';
import { defaultWorkers, RunPool } from '../scenarios/pool.js';
import { runScenarioDetailed } from '../scenarios/runner.js';
import { scenarioToJson } from '../scenarios/scenario.js';
import { formatSizes, type ShrinkResult, shrinkFailure } from '../scenarios/shrink.js';
import { isFailing, type SeedResult, type SweepResult, shardSeeds, sweep } from '../scenarios/sweep.js';
import { InputError } from '../sim/input.js';
import { toJsonLines } from '../sim/trace.js';
import { parseArgs } from './args.js';
import { DEFAULT_SWEEP_SEEDS, EXIT, loadScenario, parseSets, positiveInt, verdictExit } from './common.js';

const DEFAULT_RECHECK_RATIO = 0.05;
const DEFAULT_OUT = join('ksim-out', 'failures');
const DEFAULT_SHRINK_SECONDS = 600;

// ---------------------------------------------------------------------------------------------
// ksim sweep

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(
    argv,
    {
      seeds: { type: 'int' },
      'seed-range': { type: 'string' },
      workers: { type: 'int' },
      shard: { type: 'string' },
      set: { type: 'string', repeat: true },
      json: { type: 'boolean' },
      junit: { type: 'string' },
      out: { type: 'string' },
      'recheck-ratio': { type: 'string' },
      'no-shrink': { type: 'boolean' },
      'shrink-seconds': { type: 'int' },
      'max-events': { type: 'int' },
    },
    'sweep',
  );
  if (positional.length === 0) throw new InputError('ksim sweep: which scenario? (ksim list shows the built-in ones; or give a .json file)');
  if (positional.length > 1) throw new InputError(`ksim sweep: unexpected argument "${positional[1]}"`);
  const s = loadScenario(positional[0] as string, 'sweep');
  const all = seedList(flags.get('seeds'), flags.get('seed-range'), 'sweep');
  const shard = parseShard(flags.get('shard'));
  const seeds = shardSeeds(all, shard);
  const workers = positiveInt(flags.get('workers'), 'workers', 'sweep', 256) ?? defaultWorkers();
  const set = parseSets(flags.get('set') as string[] | undefined, 'sweep');
  const recheckRatio = ratio(flags.get('recheck-ratio'));
  const maxEvents = positiveInt(flags.get('max-events'), 'max-events', 'sweep');
  const shrinkSeconds = positiveInt(flags.get('shrink-seconds'), 'shrink-seconds', 'sweep') ?? DEFAULT_SHRINK_SECONDS;
  const outDir = (flags.get('out') as string | undefined) ?? DEFAULT_OUT;
  const junitPath = flags.get('junit') as string | undefined;
  const json = flags.get('json') === true;
  const c = makeChalk();

  const setText = Object.entries(set).map(([k, v]) => `${k}=${v}`);
  if (!json) {
    process.stdout.write(
      `${c.bold(`ksim sweep ${s.name}`)} · ${describeSeeds(all)}${shard ? ` · shard ${shard.index}/${shard.count}: ${seeds.length} seeds` : ''} · ` +
        `${workers} worker${workers === 1 ? '' : 's'}${setText.length ? ` · set ${setText.join(' ')}` : ''}\n`,
    );
  }
  const progress = createProgress({ total: seeds.length, unit: 'seeds', quiet: json });
  const pool = new RunPool([{ json: scenarioToJson(s), source: s.source }], workers);
  let result: SweepResult;
  let shrunk: { result: ShrinkResult; path: string } | undefined;
  try {
    result = await sweep(pool, {
      scenario: s,
      poolScenario: 0,
      seeds,
      set,
      ...(maxEvents !== undefined ? { maxEvents } : {}),
      recheckRatio,
      outDir,
      onResult: (r) => progress.tick(r.verdict),
      onRecheck: (n) => progress.label(n > 0 ? `re-running ${n} seeds to compare trace hashes` : ''),
    });
    progress.done();
    if (!json) process.stdout.write(formatSweep(result, c));
    const first = result.failureFiles.find((x) => x.failure.verdict === 'invalid') ?? result.failureFiles[0];
    if (first !== undefined && flags.get('no-shrink') !== true && first.path !== null) {
      if (!json)
        process.stdout.write(`${c.bold('shrinking')} the first failure, seed ${first.seed} (at most ${duration(shrinkSeconds * 1000)}; --no-shrink skips)\n`);
      const r = await shrinkWithProgress(first.failure, pool, shrinkSeconds, json);
      shrunk = { result: r, path: writeShrunk(first.path, r) };
    }
  } finally {
    await pool.close();
  }

  if (junitPath !== undefined)
    writeFileSync(
      junitPath,
      junitXml([{ name: `${s.name}${setText.length ? ` (${setText.join(' ')})` : ''}`, cases: result.results.map((r) => junitCase(s.name, r)) }]),
    );
  const exit = sweepExit(result);
  if (json) {
    process.stdout.write(`${JSON.stringify(sweepJson(result, { set, workers, shard, junitPath, shrunk }), null, 2)}\n`);
    return exit;
  }
  if (shrunk !== undefined) process.stdout.write(formatShrink(shrunk.result, shrunk.path, c));
  if (junitPath !== undefined) process.stdout.write(`JUnit report: ${junitPath}\n`);
  return exit;
}

function sweepExit(r: SweepResult): number {
  if (r.counts.invalid > 0 || r.counts.nondeterministic > 0) return EXIT.invalid;
  if (r.counts.unknown > 0) return EXIT.unknown;
  return EXIT.valid;
}

function sweepJson(
  r: SweepResult,
  o: {
    set: Record<string, unknown>;
    workers: number;
    shard: Shard | undefined;
    junitPath: string | undefined;
    shrunk: { result: ShrinkResult; path: string } | undefined;
  },
): Record<string, unknown> {
  return {
    scenario: r.scenario,
    seeds: r.seeds,
    set: o.set,
    workers: o.workers,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
    counts: r.counts,
    rechecked: r.rechecked,
    failures: r.failures.map((f) => ({
      seed: f.seed,
      verdict: f.verdict,
      firstViolation: f.firstViolation,
      notConverged: f.notConverged,
      nondeterministic: f.recheck !== undefined && !f.recheck.same ? f.recheck : null,
      replay: f.file !== undefined ? `ksim replay ${f.file}` : f.replay,
      run: f.replay,
      file: f.file ?? null,
    })),
    results: r.results.map((x) => ({
      seed: x.seed,
      verdict: x.verdict,
      traceHash: x.traceHash,
      events: x.events,
      simulatedMs: x.simulatedMs,
      wallMs: x.wallMs,
      faults: x.faults,
      ...(x.recheck !== undefined ? { recheckSame: x.recheck.same } : {}),
    })),
    shrunk: o.shrunk ? shrinkJson(o.shrunk.result, o.shrunk.path) : null,
    junit: o.junitPath ?? null,
    wallMs: r.wallMs,
  };
}

function formatSweep(r: SweepResult, c: ChalkInstance): string {
  const out: string[] = [];
  if (r.failures.length > 0) {
    const rows = [['seed', 'verdict', 'faults', 'first violation / why unknown', 'failure file']];
    for (const f of r.failures.slice(0, 20)) {
      const nd = f.recheck !== undefined && !f.recheck.same;
      const why = nd
        ? `nondeterministic: ${f.recheck?.detail ?? ''}`
        : f.firstViolation
          ? `${violationName(f.firstViolation)} at ${f.firstViolation.atMs}ms${f.firstViolation.node ? ` on ${f.firstViolation.node}` : ''}: ${f.firstViolation.detail}`
          : (f.notConverged[0] ?? '');
      rows.push([String(f.seed), nd ? c.red.bold('nondeterministic') : verdictColour(c, f.verdict), String(f.faults), clip(why, 110), f.file ?? '']);
    }
    out.push(table(rows));
    if (r.failures.length > 20) out.push(`… ${r.failures.length - 20} more failures (--json lists them all)`);
    out.push('');
  }
  const events = r.results.reduce((n, x) => n + x.events, 0);
  const nd = r.counts.nondeterministic;
  out.push(
    `${r.seeds} seeds: ${c.green(`${r.counts.valid} valid`)}, ${c.red(`${r.counts.invalid} invalid`)}, ${c.yellow(`${r.counts.unknown} unknown`)} · ` +
      `re-ran ${r.rechecked}: ${nd === 0 ? 'same trace hashes' : c.red(`${nd} nondeterministic`)} · ${events.toLocaleString('en-US')} events · ${duration(r.wallMs)} wall`,
  );
  const files = r.failures.filter((f) => f.file !== undefined);
  if (files.length > 0) out.push(`failure files: ${dirname(files[0]?.file as string)}/ · replay one: ksim replay ${files[0]?.file}`);
  return `${out.join('\n')}\n`;
}

function junitCase(scenario: string, r: SeedResult) {
  const base = { name: `seed ${r.seed}`, classname: `ksim.${scenario}`, timeMs: r.wallMs };
  if (!isFailing(r)) return base;
  const nd = r.recheck !== undefined && !r.recheck.same;
  const v = r.firstViolation;
  const message = nd
    ? `nondeterministic: ${r.recheck?.detail ?? ''}`
    : v
      ? `${violationName(v)} at ${v.atMs}ms${v.node ? ` on ${v.node}` : ''}: ${v.detail}`
      : `${r.verdict}: ${r.notConverged[0] ?? ''}`;
  const body = [message, `replay: ${r.file !== undefined ? `ksim replay ${r.file}` : r.replay}`, `run: ${r.replay}`, `trace hash ${r.traceHash}`].join('\n');
  return { ...base, failure: { type: nd ? 'nondeterministic' : r.verdict, message: clip(message, 300), body } };
}

// ---------------------------------------------------------------------------------------------
// ksim replay

export function replayCommand(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(argv, { json: { type: 'boolean' }, trace: { type: 'string' } }, 'replay');
  if (positional.length !== 1) throw new InputError('ksim replay: give one failure file (written by ksim sweep into ksim-out/failures/)');
  const path = positional[0] as string;
  const { failure, scenario } = readFailureFile(path);
  const tracePath = flags.get('trace') as string | undefined;
  const { report, cluster } = runScenarioDetailed(scenario, {
    seed: failure.seed,
    set: failure.set,
    record: tracePath !== undefined,
    ...(failure.maxEvents !== undefined ? { maxEvents: failure.maxEvents } : {}),
  });
  report.replay = `ksim replay ${path}`;
  if (tracePath !== undefined) writeFileSync(tracePath, toJsonLines(cluster.world.trace.recorded));
  const same = report.traceHash === failure.traceHash;
  if (flags.get('json') === true) {
    process.stdout.write(
      `${JSON.stringify({ ...report, recordedTraceHash: failure.traceHash, sameTraceHash: same, recordedVerdict: failure.verdict }, null, 2)}\n`,
    );
    return verdictExit(report.verdict);
  }
  const c = makeChalk();
  process.stdout.write(formatRunReport(report, c, tracePath !== undefined ? { tracePath, traceEvents: cluster.world.trace.recorded.length } : {}));
  if (same) process.stdout.write(`${c.green('replayed exactly')}: trace hash ${report.traceHash} as recorded (${failure.events} events)\n`);
  else
    process.stdout.write(
      `${c.red('not the recorded run')}: trace hash ${report.traceHash}, recorded ${failure.traceHash} (verdict ${report.verdict}, recorded ${failure.verdict}) — ` +
        'ksim changed since the file was written, or a run is not deterministic\n',
    );
  return verdictExit(report.verdict);
}

// ---------------------------------------------------------------------------------------------
// ksim shrink

export async function shrinkCommand(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(
    argv,
    { json: { type: 'boolean' }, out: { type: 'string' }, workers: { type: 'int' }, 'time-limit': { type: 'int' } },
    'shrink',
  );
  if (positional.length !== 1) throw new InputError('ksim shrink: give one failure file (written by ksim sweep into ksim-out/failures/)');
  const path = positional[0] as string;
  const { failure } = readFailureFile(path);
  if (failure.verdict === 'valid') throw new InputError(`ksim shrink: ${path} records a valid run: nothing to shrink`);
  const workers = positiveInt(flags.get('workers'), 'workers', 'shrink', 256) ?? defaultWorkers();
  const seconds = positiveInt(flags.get('time-limit'), 'time-limit', 'shrink') ?? DEFAULT_SHRINK_SECONDS;
  const json = flags.get('json') === true;
  const c = makeChalk();
  if (!json)
    process.stdout.write(
      `${c.bold(`ksim shrink ${path}`)} · seed ${failure.seed} · keeping ${violationName(failure.firstViolation)} failing · ${workers} workers · at most ${duration(seconds * 1000)}\n`,
    );
  const pool = new RunPool([], workers);
  let r: ShrinkResult;
  try {
    r = await shrinkWithProgress(failure, pool, seconds, json);
  } finally {
    await pool.close();
  }
  if (!r.reproduced) {
    const msg = `the failure does not reproduce: seed ${failure.seed} of its scenario no longer fails with ${violationName(failure.firstViolation)}`;
    if (json) process.stdout.write(`${JSON.stringify({ reproduced: false, message: msg }, null, 2)}\n`);
    else process.stdout.write(`${c.yellow(msg)}\n`);
    return EXIT.valid;
  }
  const out = (flags.get('out') as string | undefined) ?? shrunkPath(path);
  writeShrunk(path, r, out);
  if (json) process.stdout.write(`${JSON.stringify(shrinkJson(r, out), null, 2)}\n`);
  else process.stdout.write(formatShrink(r, out, c));
  return EXIT.invalid;
}

async function shrinkWithProgress(failure: FailureFile, pool: RunPool, seconds: number, quiet: boolean): Promise<ShrinkResult> {
  const tty = process.stderr.isTTY === true;
  let lastLine = performance.now();
  return shrinkFailure({
    failure,
    pool,
    timeLimitMs: seconds * 1000,
    onRun: ({ runs, size, failed }) => {
      if (quiet) return;
      const line = `shrinking: ${runs} runs · now ${size.faults} faults, ${size.ops} sends, ${size.brokers} brokers, ${size.durationMs}ms${failed ? ' (still fails)' : ''}`;
      if (tty) process.stderr.write(`\r\u001b[2K${line}`);
      else if (performance.now() - lastLine > 10_000) {
        lastLine = performance.now();
        process.stderr.write(`${line}\n`);
      }
    },
  }).finally(() => {
    if (tty && !quiet) process.stderr.write('\r\u001b[2K');
  });
}

/** `<dir>/shrunk/<name>`: shrunk scenarios sit beside the failure files, in a folder of their own. */
function shrunkPath(failurePath: string): string {
  return join(dirname(failurePath), 'shrunk', basename(failurePath));
}

function writeShrunk(failurePath: string, r: ShrinkResult, out = shrunkPath(failurePath)): string {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, formatJson(r.scenario));
  return out;
}

function shrinkJson(r: ShrinkResult, path: string): Record<string, unknown> {
  return {
    target: r.target,
    reproduced: r.reproduced,
    before: r.before,
    after: r.after,
    runs: r.runs,
    steps: r.steps,
    wallMs: r.wallMs,
    timedOut: r.timedOut,
    file: path,
    seed: r.shrunkFailure?.seed ?? null,
    traceHash: r.report?.traceHash ?? null,
    firstViolation: r.report?.violations[0] ?? null,
    run: r.report ? runCommand(path, r.shrunkFailure as FailureFile) : null,
  };
}

function runCommand(path: string, f: FailureFile): string {
  return ['ksim run', path, `--seed ${f.seed}`, ...Object.entries(f.set).map(([k, v]) => `--set ${k}=${v}`)].join(' ');
}

function formatShrink(r: ShrinkResult, path: string, c: ChalkInstance): string {
  const v = r.report?.violations[0];
  return (
    `${c.bold('shrunk')}: ${formatSizes(r.before, r.after)} · ${r.runs} runs, ${r.steps} steps, ${duration(r.wallMs)}${r.timedOut ? c.yellow(' (time limit reached)') : ''}\n` +
    (v ? `still fails: ${violationName(v)} at ${v.atMs}ms${v.node ? ` on ${v.node}` : ''}: ${clip(v.detail, 160)}\n` : '') +
    `shrunk scenario: ${path}\n` +
    `run it: ${r.shrunkFailure ? runCommand(path, r.shrunkFailure) : ''}\n`
  );
}

// ---------------------------------------------------------------------------------------------
// helpers

interface Shard {
  index: number;
  count: number;
}

function parseShard(v: unknown): Shard | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(v));
  if (!m) throw new InputError(`ksim sweep: --shard expects i/n (e.g. 2/4), got "${v}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new InputError(`ksim sweep: --shard ${v}: need 1 ≤ i ≤ n`);
  return { index, count };
}

export function seedList(seeds: unknown, range: unknown, command: string): number[] {
  if (seeds !== undefined && range !== undefined) throw new InputError(`ksim ${command}: give --seeds or --seed-range, not both`);
  if (range !== undefined) {
    const m = /^(\d+)\.\.(\d+)$/.exec(String(range));
    if (!m) throw new InputError(`ksim ${command}: --seed-range expects A..B (e.g. 1..500), got "${range}"`);
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (b < a) throw new InputError(`ksim ${command}: --seed-range ${range}: the end is before the start`);
    if (b - a + 1 > 10_000_000) throw new InputError(`ksim ${command}: --seed-range ${range}: at most 10000000 seeds`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const n = positiveInt(seeds, 'seeds', command, 10_000_000) ?? DEFAULT_SWEEP_SEEDS;
  return Array.from({ length: n }, (_, i) => i + 1);
}

function describeSeeds(seeds: readonly number[]): string {
  if (seeds.length === 1) return `seed ${seeds[0]}`;
  return `seeds ${seeds[0]}..${seeds[seeds.length - 1]}`;
}

function ratio(v: unknown): number {
  if (v === undefined) return DEFAULT_RECHECK_RATIO;
  const x = Number(v);
  if (!/^\d*\.?\d+$/.test(String(v)) || !(x >= 0 && x <= 1)) throw new InputError(`ksim sweep: --recheck-ratio expects a number from 0 to 1, got "${v}"`);
  return x;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
