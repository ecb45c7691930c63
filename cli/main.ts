// The ksim command line. Thin: it parses flags, calls scenarios/ and reports/, and maps outcomes
// to Jepsen's exit codes: 0 valid, 1 invalid, 2 unknown (liveness), 254 bad input, 255 internal
// error. Bad input is one line on stderr, never a stack trace.

import { writeFileSync } from 'node:fs';
import { type JUnitSuite, junitXml } from '../reports/junit.js';
import { createProgress, duration } from '../reports/progress.js';
import { type CheckRow, formatCheckTable, formatRunReport } from '../reports/run.js';
import { makeChalk, table, verdictColour } from '../reports/text.js';
import { BUILTIN_NAMES, builtinScenario } from '../scenarios/builtin/index.js';
import { DEMO_SAFE_KINDS, type DemoResult, runDemo, type Verdict } from '../scenarios/kernel-demo/run.js';
import { defaultWorkers, RunPool } from '../scenarios/pool.js';
import { checkExpectation, expectedVerdicts, type RunReport, runScenarioDetailed, settingLabel } from '../scenarios/runner.js';
import { scenarioToJson } from '../scenarios/scenario.js';
import { checkDeterminism } from '../sim/determinism.js';
import { describeFault } from '../sim/faults.js';
import { InputError } from '../sim/input.js';
import { type NemesisKind, validateNemesisKinds } from '../sim/nemesis.js';
import { toJsonLines } from '../sim/trace.js';
import { parseArgs } from './args.js';
import { runBench, type SweepRound } from './bench.js';
import { DEFAULT_BENCH_ROUNDS, DEFAULT_BENCH_SWEEP_SEEDS, EXIT, loadScenario, parseSets, positiveInt, verdictExit } from './common.js';
import { replayCommand, shrinkCommand, sweepCommand } from './search.js';
import { zooCommand } from './zoo.js';

const USAGE = `ksim — deterministic simulation and fault injection for Kafka's replication protocols

usage:
  ksim run <scenario|file.json> [--seed N] [--set key=value]… [--json] [--trace out.jsonl] [--max-events N]
                 run a scenario (built-in name or JSON file) and judge it: valid, invalid or unknown
  ksim sweep <scenario|file.json> [--seeds N | --seed-range A..B] [--workers N] [--shard i/n]
             [--set key=value]… [--json] [--junit out.xml] [--out DIR] [--recheck-ratio R]
             [--no-shrink] [--shrink-seconds N] [--max-events N]
                 run many seeds on worker threads; every failure gets a failure file (default
                 ksim-out/failures/), and the first is shrunk
  ksim replay <failure.json> [--json] [--trace out.jsonl]
                 re-run a failure file's run and compare its trace hash with the recorded one
  ksim shrink <failure.json> [--out FILE] [--workers N] [--time-limit SECONDS] [--json]
                 cut a failing run down to a small scenario that still fails the same way
  ksim zoo [--json] [--keys k1,k2] [--max-seeds N] [--clean-seeds N] [--workers N] [--no-shrink]
                 the bug-zoo table: random search for each fix.* key switched off
  ksim list      the built-in scenarios, one line each
  ksim check [--seeds N] [--workers N] [--json] [--junit out.xml] [scenario|file.json…]
                 every built-in scenario (or those named) over N seeds (default 5) per expected setting
  ksim demo [--seed N | --seeds N] [--kinds k1,k2|swarm] [--fault-phase-ms N] [--liveness-ms N]
            [--recheck] [--json] [--trace out.jsonl]
                 run the kernel demo protocol (a 3-node replicated log) under a random nemesis
  ksim bench [--json] [--sweep-seeds N] [--sweep-rounds R]
                 performance figures: bare scheduler events/s, the demo and a cluster under faults,
                 and a sweep's speed-up on all cores (N seeds, default ${DEFAULT_BENCH_SWEEP_SEEDS}; R alternating
                 rounds of 1 worker, the pool, and two 1-worker processes as a control, default
                 ${DEFAULT_BENCH_ROUNDS}; ≈ 20 minutes on 2 cores at the defaults)
  ksim help      this text

Exit codes: 0 valid, 1 invalid, 2 unknown (liveness), 254 bad input, 255 internal error.`;

export { EXIT };

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      case 'demo':
        return demo(rest);
      case 'bench':
        return await bench(rest);
      case 'run':
        return run(rest);
      case 'list':
        return list(rest);
      case 'check':
        return await check(rest);
      case 'sweep':
        return await sweepCommand(rest);
      case 'replay':
        return replayCommand(rest);
      case 'shrink':
        return await shrinkCommand(rest);
      case 'zoo':
        return await zooCommand(rest);
      default:
        throw new InputError(`ksim: unknown command "${command}" (try "ksim help")`);
    }
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT.badInput;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`ksim: internal error: ${err.message}\n`);
    if (process.env.KSIM_DEBUG) process.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}

function demo(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(
    argv,
    {
      seed: { type: 'int' },
      seeds: { type: 'int' },
      kinds: { type: 'list' },
      'fault-phase-ms': { type: 'int' },
      'liveness-ms': { type: 'int' },
      recheck: { type: 'boolean' },
      json: { type: 'boolean' },
      trace: { type: 'string' },
    },
    'demo',
  );
  if (positional.length > 0) throw new InputError(`ksim demo: unexpected argument "${positional[0]}"`);
  if (flags.has('seed') && flags.has('seeds')) throw new InputError('ksim demo: give --seed or --seeds, not both');
  const seeds = (flags.get('seeds') as number | undefined) ?? 1;
  if (seeds < 1 || seeds > 1_000_000) throw new InputError(`ksim demo: --seeds must be between 1 and 1000000, got ${seeds}`);
  const firstSeed = (flags.get('seed') as number | undefined) ?? 1;
  const kindsFlag = flags.get('kinds') as string[] | undefined;
  let kinds: NemesisKind[] | 'swarm' = DEMO_SAFE_KINDS;
  if (kindsFlag !== undefined) kinds = kindsFlag.length === 1 && kindsFlag[0] === 'swarm' ? 'swarm' : validateNemesisKinds(kindsFlag, 'ksim demo: --kinds');
  const faultPhaseMs = positiveFlag(flags.get('fault-phase-ms'), 'fault-phase-ms') ?? 20_000;
  const livenessMs = positiveFlag(flags.get('liveness-ms'), 'liveness-ms') ?? 10_000;
  const tracePath = flags.get('trace') as string | undefined;
  if (tracePath !== undefined && seeds > 1) throw new InputError('ksim demo: --trace needs a single --seed');
  const json = flags.get('json') === true;
  const recheck = flags.get('recheck') === true;
  const c = makeChalk();

  const replayOf = (seed: number) =>
    [
      'ksim demo',
      `--seed ${seed}`,
      kindsFlag ? `--kinds ${kindsFlag.join(',')}` : '',
      flags.has('fault-phase-ms') ? `--fault-phase-ms ${faultPhaseMs}` : '',
      flags.has('liveness-ms') ? `--liveness-ms ${livenessMs}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  const settings = { faultPhaseMs, livenessMs, kinds };
  const runOne = (seed: number, record: boolean) => runDemo({ seed, faultPhaseMs, livenessMs, kinds, record });

  if (!json) {
    process.stdout.write(`${c.bold('ksim demo')} · kernel demo protocol (primary n1, backups n2 n3, client c)\n`);
    process.stdout.write(
      `seed ${seeds === 1 ? firstSeed : `${firstSeed}..${firstSeed + seeds - 1}`} · fault phase ${faultPhaseMs}ms · liveness ${livenessMs}ms · nemesis ${kinds === 'swarm' ? 'swarm (kinds drawn per seed)' : kinds.join(',')}\n`,
    );
  }

  const results: { r: DemoResult; wallMs: number; determinism?: ReturnType<typeof checkDeterminism> }[] = [];
  const progress = createProgress({ total: seeds, unit: 'seeds', quiet: json || seeds === 1 });
  for (let i = 0; i < seeds; i++) {
    const seed = firstSeed + i;
    const t0 = performance.now();
    const r = runOne(seed, tracePath !== undefined);
    const wallMs = performance.now() - t0;
    const entry: (typeof results)[number] = { r, wallMs };
    if (recheck) {
      entry.determinism = checkDeterminism(() => {
        const x = runOne(seed, true);
        return { hash: x.traceHash, records: x.world.trace.recorded };
      });
    }
    results.push(entry);
    progress.tick(r.verdict);
  }
  progress.done();
  if (tracePath !== undefined) writeFileSync(tracePath, toJsonLines((results[0] as (typeof results)[number]).r.world.trace.recorded));

  const nondeterministic = results.filter((x) => x.determinism && !x.determinism.deterministic);
  const worst: Verdict =
    results.some((x) => x.r.verdict === 'invalid') || nondeterministic.length > 0
      ? 'invalid'
      : results.some((x) => x.r.verdict === 'unknown')
        ? 'unknown'
        : 'valid';

  if (json) {
    const docs = results.map(({ r, wallMs, determinism }) => ({
      scenario: 'kernel-demo',
      seed: r.seed,
      settings,
      verdict: r.verdict,
      violations: r.failure ? [{ invariant: r.failure.name, atMs: r.failure.timeMs, node: r.failure.node ?? null, detail: r.failure.detail }] : [],
      notConverged: r.notConverged ?? null,
      traceHash: r.traceHash,
      events: r.events,
      simulatedMs: r.simulatedMs,
      wallMs: Math.round(wallMs),
      stats: r.stats,
      faults: r.faults,
      ...(r.plan ? { nemesis: { kinds: r.plan.kinds, meanIntervalMs: r.plan.meanIntervalMs, swarm: r.plan.swarm } } : {}),
      ...(determinism ? { determinism } : {}),
      replay: replayOf(r.seed),
    }));
    const counts = { valid: 0, invalid: 0, unknown: 0 };
    for (const d of docs) counts[d.verdict]++;
    process.stdout.write(`${JSON.stringify(seeds === 1 ? docs[0] : { seeds, counts, results: docs }, null, 2)}\n`);
    return verdictExit(worst);
  }

  if (seeds === 1) {
    const { r, wallMs, determinism } = results[0] as (typeof results)[number];
    if (r.plan) process.stdout.write(`nemesis: kinds ${r.plan.kinds.join(',')} · mean interval ${r.plan.meanIntervalMs}ms\n`);
    process.stdout.write(`faults (${r.faults.length}):\n`);
    for (const f of r.faults.slice(0, 40)) process.stdout.write(`  ${String(f.atMs ?? 'on').padStart(7)}ms  ${describeFault(f)}\n`);
    if (r.faults.length > 40) process.stdout.write(`  … ${r.faults.length - 40} more (--json lists them all)\n`);
    process.stdout.write(
      `events ${r.events} · simulated ${r.simulatedMs}ms · wall ${Math.round(wallMs)}ms · trace hash ${r.traceHash}\n` +
        `written ${r.stats.written} · acknowledged ${r.stats.acked} · messages ${r.stats.messages} (lost ${r.stats.messagesLost}) · disk ops ${r.stats.diskOps} · crashes ${r.stats.crashes}\n`,
    );
    if (determinism) process.stdout.write(determinismLine(c, determinism));
    if (r.failure)
      process.stdout.write(`${c.red(`✗ ${r.failure.name}`)} at ${r.failure.timeMs}ms${r.failure.node ? ` on ${r.failure.node}` : ''}: ${r.failure.detail}\n`);
    if (r.notConverged) process.stdout.write(`${c.yellow('did not converge:')} ${r.notConverged}\n`);
    if (tracePath) process.stdout.write(`trace: ${tracePath} (${r.traceEvents} events)\n`);
    process.stdout.write(`verdict: ${verdictColour(c, r.verdict)}\n`);
    if (r.verdict !== 'valid') process.stdout.write(`replay: ${replayOf(r.seed)}\n`);
    return verdictExit(worst);
  }

  const rows = [['seed', 'verdict', 'events', 'faults', 'acked', 'trace hash', 'detail']];
  for (const { r, determinism } of results) {
    if (r.verdict === 'valid' && (!determinism || determinism.deterministic) && seeds > 20) continue;
    const detail = r.failure
      ? `${r.failure.name}: ${r.failure.detail}`
      : determinism && !determinism.deterministic
        ? `nondeterministic at trace event ${determinism.divergesAt}`
        : (r.notConverged ?? '');
    rows.push([String(r.seed), verdictColour(c, r.verdict), String(r.events), String(r.faults.length), String(r.stats.acked), r.traceHash, detail]);
  }
  process.stdout.write(`${table(rows)}\n`);
  const count = (v: Verdict) => results.filter((x) => x.r.verdict === v).length;
  const events = results.reduce((n, x) => n + x.r.events, 0);
  const wall = results.reduce((n, x) => n + x.wallMs, 0);
  process.stdout.write(
    `\n${seeds} seeds: ${c.green(`${count('valid')} valid`)}, ${c.red(`${count('invalid')} invalid`)}, ${c.yellow(`${count('unknown')} unknown`)}` +
      `${recheck ? `, ${nondeterministic.length} nondeterministic` : ''} · ${events} events in ${Math.round(wall)}ms (${Math.round(events / (wall / 1000))} events/s)\n`,
  );
  for (const { r } of results.filter((x) => x.r.verdict !== 'valid').slice(0, 10)) process.stdout.write(`replay: ${replayOf(r.seed)}\n`);
  return verdictExit(worst);
}

function determinismLine(c: ReturnType<typeof makeChalk>, d: ReturnType<typeof checkDeterminism>): string {
  if (d.deterministic) return `determinism: ${c.green('two runs, same trace hash')} ${d.hashes[0]}\n`;
  return `determinism: ${c.red('runs differ')} at trace event ${d.divergesAt}\n  first:  ${d.first}\n  second: ${d.second}\n`;
}

function positiveFlag(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v <= 0) throw new InputError(`ksim: --${name} must be a positive integer, got ${v}`);
  return v;
}

async function bench(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, { json: { type: 'boolean' }, 'sweep-seeds': { type: 'int' }, 'sweep-rounds': { type: 'int' } }, 'bench');
  if (positional.length > 0) throw new InputError(`ksim bench: unexpected argument "${positional[0]}"`);
  const seeds = positiveInt(flags.get('sweep-seeds'), 'sweep-seeds', 'bench', 100_000) ?? DEFAULT_BENCH_SWEEP_SEEDS;
  if (seeds < 2) throw new InputError(`ksim bench: --sweep-seeds must be at least 2 (the control runs the seeds in two halves), got ${seeds}`);
  const rounds = positiveInt(flags.get('sweep-rounds'), 'sweep-rounds', 'bench', 100) ?? DEFAULT_BENCH_ROUNDS;
  const json = flags.get('json') === true;
  // Progress on stderr: the sweep rounds take minutes.
  const onRound = (r: SweepRound, i: number) =>
    process.stderr.write(
      `sweep round ${i + 1}/${rounds}: 1 worker ${duration(r.oneWorkerMs)}, pool ${duration(r.poolMs)} (${r.speedup}×), two processes ${duration(r.twoProcessesMs)} (${r.controlSpeedup}×)\n`,
    );
  const report = await runBench(seeds, rounds, onRound);
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const c = makeChalk();
  process.stdout.write(`${c.bold('ksim bench')} · node ${report.node}\n`);
  process.stdout.write(`kernel (bare scheduler, no-op events): ${report.kernelEventsPerSec.toLocaleString('en-US')} events/s\n\n`);
  const rows = [['scenario', 'seeds', 'events', 'simulated ms', 'wall ms', 'events/s', 'speed-up', 'heap MB']];
  for (const s of report.scenarios) {
    rows.push([
      s.name,
      String(s.seeds),
      String(s.events),
      String(s.simulatedMs),
      String(s.wallMs),
      s.eventsPerSec.toLocaleString('en-US'),
      `${s.speedup}×`,
      String(s.heapMb),
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
  const w = report.sweep;
  const rows2 = [['round', '1 worker', `${w.workers} workers`, 'speed-up', 'control: 2 processes', 'speed-up']];
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  w.rounds.forEach((r, i) => {
    rows2.push([String(i + 1), sec(r.oneWorkerMs), sec(r.poolMs), `${r.speedup}×`, sec(r.twoProcessesMs), `${r.controlSpeedup}×`]);
  });
  process.stdout.write(`\nsweep: ${w.scenario} × ${w.seeds} seeds on ${w.cores} cores\n${table(rows2)}\n`);
  process.stdout.write(
    `median speed-up ${w.speedup}× (two independent processes: ${w.controlSpeedup}×) · per-seed results ${w.identical ? 'identical' : c.red('DIFFER')}\n`,
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// ksim run / list / check

function run(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(
    argv,
    { seed: { type: 'int' }, set: { type: 'string', repeat: true }, json: { type: 'boolean' }, trace: { type: 'string' }, 'max-events': { type: 'int' } },
    'run',
  );
  if (positional.length === 0) throw new InputError('ksim run: which scenario? (ksim list shows the built-in ones; or give a .json file)');
  if (positional.length > 1) throw new InputError(`ksim run: unexpected argument "${positional[1]}"`);
  const s = loadScenario(positional[0] as string, 'run');
  const seed = (flags.get('seed') as number | undefined) ?? 1;
  const maxEvents = flags.get('max-events') as number | undefined;
  if (maxEvents !== undefined && maxEvents < 1) throw new InputError(`ksim run: --max-events must be positive, got ${maxEvents}`);
  const set = parseSets(flags.get('set') as string[] | undefined, 'run');
  const tracePath = flags.get('trace') as string | undefined;
  const { report, cluster } = runScenarioDetailed(s, {
    seed,
    set,
    record: tracePath !== undefined,
    ...(maxEvents !== undefined ? { maxEvents } : {}),
  });
  if (tracePath !== undefined) writeFileSync(tracePath, toJsonLines(cluster.world.trace.recorded));
  if (flags.get('json') === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else
    process.stdout.write(formatRunReport(report, makeChalk(), tracePath !== undefined ? { tracePath, traceEvents: cluster.world.trace.recorded.length } : {}));
  return verdictExit(report.verdict);
}

function list(argv: readonly string[]): number {
  const { positional, flags } = parseArgs(argv, { json: { type: 'boolean' } }, 'list');
  if (positional.length > 0) throw new InputError(`ksim list: unexpected argument "${positional[0]}"`);
  const scenarios = BUILTIN_NAMES.map((n) => builtinScenario(n));
  if (flags.get('json') === true) {
    process.stdout.write(
      `${JSON.stringify(
        scenarios.map((s) => ({ name: s.name, description: s.description, expect: s.expect })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const width = Math.max(...scenarios.map((s) => s.name.length));
  for (const s of scenarios) process.stdout.write(`${s.name.padEnd(width)}  ${firstSentence(s.description)}\n`);
  return 0;
}

/** The first sentence, cut to one terminal line. */
function firstSentence(text: string, max = 130): string {
  const m = /^(.*?\.)(\s|$)/.exec(text);
  const sentence = m ? (m[1] as string) : text;
  return sentence.length > max ? `${sentence.slice(0, max - 1).trimEnd()}…` : sentence;
}

async function check(argv: readonly string[]): Promise<number> {
  const { positional, flags } = parseArgs(
    argv,
    { seeds: { type: 'int' }, workers: { type: 'int' }, json: { type: 'boolean' }, junit: { type: 'string' } },
    'check',
  );
  const seeds = positiveInt(flags.get('seeds'), 'seeds', 'check', 100_000) ?? 5;
  const workers = positiveInt(flags.get('workers'), 'workers', 'check', 256) ?? defaultWorkers();
  const scenarios = positional.length > 0 ? positional.map((n) => loadScenario(n, 'check')) : BUILTIN_NAMES.map((n) => builtinScenario(n));
  for (const s of scenarios) if (s.expect.length === 0) throw new InputError(`ksim check: ${s.source} states no expectations ("expect"): nothing to check`);
  const json = flags.get('json') === true;
  const junitPath = flags.get('junit') as string | undefined;
  const c = makeChalk();
  const cases = scenarios.flatMap((s, index) =>
    // An expectation that names its seeds is checked on (at most N of) those; the others on 1..N.
    s.expect.map((e) => ({ s, index, e, seeds: e.seeds !== undefined ? e.seeds.slice(0, seeds) : range(seeds) })),
  );
  const total = cases.reduce((n, x) => n + x.seeds.length, 0);
  if (!json)
    process.stdout.write(
      `${c.bold('ksim check')} · ${scenarios.length} scenarios · ${cases.length} settings · ${seeds} seeds each · ${total} runs · ${workers} worker${workers === 1 ? '' : 's'}\n`,
    );
  const progress = createProgress({ total, unit: 'runs', quiet: json });
  const t0 = performance.now();
  const pool = new RunPool(
    scenarios.map((s) => ({ json: scenarioToJson(s), source: s.source })),
    workers,
  );
  const rows: CheckRow[] = [];
  const failures: { scenario: string; setting: string; seed: number; verdict: Verdict; problem: string; replay: string }[] = [];
  const suites: JUnitSuite[] = [];
  try {
    const done = await Promise.all(
      cases.map(({ index, e, seeds: list }) =>
        Promise.all(
          list.map(async (seed) => {
            const report = await pool.run({ scenario: index, seed, set: e.set });
            progress.tick(report.verdict);
            return report;
          }),
        ),
      ),
    );
    cases.forEach(({ s, e }, i) => {
      const reports = done[i] as RunReport[];
      const row: CheckRow = {
        scenario: s.name,
        setting: settingLabel(e.set),
        seeds: reports.length,
        valid: 0,
        invalid: 0,
        unknown: 0,
        expected: expectedVerdicts(e).join('|'),
        problem: undefined,
        wallMs: 0,
      };
      const suite: JUnitSuite = { name: `${s.name} (${row.setting})`, cases: [] };
      for (const report of reports) {
        row[report.verdict]++;
        row.wallMs += report.wallMs;
        const problem = checkExpectation(report, e);
        if (problem !== undefined) {
          row.problem ??= problem;
          failures.push({ scenario: s.name, setting: row.setting, seed: report.seed, verdict: report.verdict, problem, replay: report.replay });
        }
        suite.cases.push({
          name: `seed ${report.seed}`,
          classname: `ksim.${s.name}`,
          timeMs: report.wallMs,
          ...(problem !== undefined
            ? {
                failure: {
                  type: report.verdict,
                  message: problem,
                  body: `${problem}\nexpected: ${expectedVerdicts(e).join(' or ')} — ${e.why}\nreplay: ${report.replay}`,
                },
              }
            : {}),
        });
      }
      rows.push(row);
      suites.push(suite);
    });
  } finally {
    progress.done();
    await pool.close();
  }
  if (junitPath !== undefined) writeFileSync(junitPath, junitXml(suites));
  const ok = failures.length === 0;
  const wallMs = Math.round(performance.now() - t0);
  if (json) {
    process.stdout.write(`${JSON.stringify({ seeds, workers, ok, rows, failures, wallMs, junit: junitPath ?? null }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatCheckTable(rows, c)}\n\n`);
    for (const f of failures.slice(0, 20)) process.stdout.write(`${c.red('✗')} ${f.scenario} (${f.setting}): ${f.problem}\n  replay: ${f.replay}\n`);
    if (failures.length > 20) process.stdout.write(`… ${failures.length - 20} more failures (--json lists them all)\n`);
    process.stdout.write(
      `${ok ? c.green('every expectation holds') : c.red(`${failures.length} run${failures.length === 1 ? '' : 's'} missed their expectation`)} · ${total} runs · ${duration(wallMs)} wall\n`,
    );
    if (junitPath !== undefined) process.stdout.write(`JUnit report: ${junitPath}\n`);
  }
  // Jepsen's codes: 1 when a run broke its expectation by being invalid (or valid where a failure was
  // expected), 2 when the only misses are runs that did not converge.
  if (ok) return EXIT.valid;
  return failures.every((f) => f.verdict === 'unknown') ? EXIT.unknown : EXIT.invalid;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
