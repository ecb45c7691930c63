// Terminal output of `ksim run` and `ksim check`: the seed and every setting first, then what
// happened, the anomalies in plain words, the verdict and the command that replays the run.

import type { ChalkInstance } from 'chalk';
import type { Anomaly } from '../scenarios/checks.js';
import type { RunReport } from '../scenarios/runner.js';
import { describeFault } from '../sim/faults.js';
import { table, verdictColour } from './text.js';

/** What each of Jepsen's anomalies means, for people. */
export const ANOMALY_WORDS: Record<string, string> = {
  'lost-write': 'an acknowledged write is missing from the final logs',
  duplicate: 'a value appears more than once',
  'inconsistent-offsets': 'two values were seen at one offset, or one value at two offsets',
  'nonmonotonic-send': "a producer's acknowledged writes landed out of order",
  'poll-skip': 'a consumer skipped over records',
  'nonmonotonic-poll': 'a consumer read records out of order',
  unseen: 'committed records no consumer ever read',
};

const MAX_FAULTS_SHOWN = 40;
const EXAMPLES_PER_GROUP = 3;

export function formatRunReport(r: RunReport, c: ChalkInstance, extra: { tracePath?: string; traceEvents?: number } = {}): string {
  const out: string[] = [];
  const s = r.settings;
  out.push(`${c.bold(`ksim run ${r.scenario}`)} · seed ${r.seed}`);
  const keys = Object.entries(s.config).map(([k, v]) => `${k}=${v}${Object.hasOwn(s.set, k) ? ' (--set)' : ''}`);
  for (const [k, v] of Object.entries(s.set)) if (!Object.hasOwn(s.config, k)) keys.push(`${k}=${v} (--set, the default)`);
  out.push(`settings: ${keys.length > 0 ? keys.join(' · ') : 'none changed'} · every other key at ksim's default (README: Configuration)`);
  out.push(`phases: faults until ${s.durationMs}ms, then heal-all and liveness for up to ${s.livenessMs}ms`);
  out.push(
    s.nemesis === null
      ? 'nemesis: none'
      : `nemesis: ${s.nemesis.swarm ? 'swarm · ' : ''}kinds ${s.nemesis.kinds.join(',')} · mean interval ${s.nemesis.meanIntervalMs}ms · from ${s.nemesis.startMs}ms · on ${s.nemesis.nodes.join(',')}`,
  );
  if (r.description) out.push(c.dim(r.description));
  out.push(`faults (${r.faults.length}):`);
  r.faults.slice(0, MAX_FAULTS_SHOWN).forEach((f, i) => {
    const when = f.atMs !== undefined ? `${f.atMs}ms` : `on ${f.on?.kind}${f.on?.node ? `@${f.on.node}` : ''}${f.delayMs ? ` +${f.delayMs}ms` : ''}`;
    const unfired = r.unfiredFaults.includes(i) ? c.dim(' (never triggered)') : '';
    out.push(`  ${when.padStart(9)}  ${describeFault(f)}${unfired}`);
  });
  if (r.faults.length > MAX_FAULTS_SHOWN) out.push(`  … ${r.faults.length - MAX_FAULTS_SHOWN} more (--json lists them all)`);
  const st = r.stats;
  out.push(
    `events ${r.events} · simulated ${r.simulatedMs}ms${r.convergedAtMs !== null ? ` (converged at ${r.convergedAtMs}ms)` : ''} · wall ${r.wallMs}ms · trace hash ${r.traceHash}`,
  );
  out.push(
    `sends ${st.sent}: ${st.acked} acknowledged, ${st.failed} failed, ${st.indeterminate} indeterminate · polled ${st.polled} · lost ${st.lost} · ` +
      `faults ${st.faults} · crashes ${st.crashes} · elections ${st.elections} (${st.uncleanElections} unclean) · truncations ${st.truncations}`,
  );
  out.push(`invariants checked: ${r.invariants.length > 0 ? r.invariants.join(', ') : 'none'}`);
  if (extra.tracePath) out.push(`trace: ${extra.tracePath} (${extra.traceEvents ?? 0} events)`);
  if (r.anomalies.length === 0) out.push('anomalies: none');
  else {
    out.push(`anomalies (${r.anomalies.length}):`);
    for (const g of groupAnomalies(r.anomalies)) {
      const mark = g.allowed ? c.green('✓ allowed  ') : c.red('✗ violation');
      const words = ANOMALY_WORDS[g.anomaly] ?? g.anomaly;
      out.push(`  ${mark} ${g.anomaly} ×${g.items.length}: ${words}`);
      for (const a of g.items.slice(0, EXAMPLES_PER_GROUP)) out.push(`      ${a.partition ? `${a.partition}: ` : ''}${a.detail} — ${a.why}`);
      if (g.items.length > EXAMPLES_PER_GROUP) out.push(c.dim(`      … ${g.items.length - EXAMPLES_PER_GROUP} more`));
    }
  }
  for (const v of r.violations.filter((x) => x.invariant !== undefined))
    out.push(`${c.red(`✗ ${v.invariant}`)} at ${v.atMs}ms${v.node ? ` on ${v.node}` : ''}${v.partition ? ` (${v.partition})` : ''}: ${v.detail}`);
  if (r.notConverged.length > 0) out.push(`${c.yellow('did not converge:')} ${r.notConverged.join('; ')}`);
  out.push(`verdict: ${verdictColour(c, r.verdict)}`);
  out.push(`replay: ${r.replay}`);
  return `${out.join('\n')}\n`;
}

function groupAnomalies(as: readonly Anomaly[]): { anomaly: string; allowed: boolean; items: Anomaly[] }[] {
  const groups = new Map<string, { anomaly: string; allowed: boolean; items: Anomaly[] }>();
  for (const a of as) {
    const key = `${a.allowed ? 0 : 1}\u0000${a.anomaly}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { anomaly: a.anomaly, allowed: a.allowed, items: [] };
      groups.set(key, g);
    }
    g.items.push(a);
  }
  // Violations first.
  return [...groups.values()].sort((x, y) => Number(x.allowed) - Number(y.allowed));
}

export interface CheckRow {
  scenario: string;
  setting: string;
  seeds: number;
  valid: number;
  invalid: number;
  unknown: number;
  expected: string;
  /** undefined: every seed met the expectation. */
  problem: string | undefined;
  wallMs: number;
}

export function formatCheckTable(rows: readonly CheckRow[], c: ChalkInstance): string {
  const cells = [['scenario', 'setting', 'seeds', 'valid', 'invalid', 'unknown', 'expected', 'wall ms', 'result']];
  for (const r of rows) {
    cells.push([
      r.scenario,
      r.setting,
      String(r.seeds),
      String(r.valid),
      String(r.invalid),
      String(r.unknown),
      r.expected,
      String(r.wallMs),
      r.problem === undefined ? c.green('ok') : c.red(`FAIL: ${r.problem}`),
    ]);
  }
  return table(cells);
}
