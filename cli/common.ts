// Pieces shared by the commands: loading a scenario (a built-in name or a JSON file), `--set`
// flags, and the exit codes.

import { readFileSync } from 'node:fs';
import type { ConfigValue } from '../core/config.js';
import { BUILTIN_NAMES, builtinScenario, isBuiltin } from '../scenarios/builtin/index.js';
import type { Verdict } from '../scenarios/checks.js';
import { configValue, parseScenario, type Scenario } from '../scenarios/scenario.js';
import { InputError } from '../sim/input.js';

export const EXIT = { valid: 0, invalid: 1, unknown: 2, badInput: 254, internal: 255 } as const;

export function verdictExit(v: Verdict): number {
  return EXIT[v];
}

/** A built-in name, or a path to a scenario JSON file. */
export function loadScenario(arg: string, command: string): Scenario {
  if (isBuiltin(arg)) return builtinScenario(arg);
  if (!arg.endsWith('.json') && !arg.includes('/'))
    throw new InputError(`ksim ${command}: unknown scenario "${arg}" (built-in: ${BUILTIN_NAMES.join(', ')}; or give a .json file)`);
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    throw new InputError(`ksim ${command}: cannot read ${arg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${arg}: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseScenario(json, arg);
}

/** `--set key=value` flags, each checked against the configuration (unknown keys, bad values: InputError). */
export function parseSets(values: readonly string[] | undefined, command: string): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const kv of values ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new InputError(`ksim ${command}: --set expects key=value, got "${kv}"`);
    const key = kv.slice(0, eq);
    if (Object.hasOwn(out, key)) throw new InputError(`ksim ${command}: --set ${key} given twice`);
    out[key] = configValue(key, kv.slice(eq + 1), `ksim ${command}: --set`);
  }
  return out;
}

/** The median of a non-empty list (the mean of the middle two for an even length). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A positive integer flag, or undefined when absent. */
export function positiveInt(v: unknown, flag: string, command: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < 1 || v > max) throw new InputError(`ksim ${command}: --${flag} must be an integer from 1 to ${max}, got ${v}`);
  return v;
}

/** The seeds `ksim sweep` runs when given neither --seeds nor --seed-range. */
export const DEFAULT_SWEEP_SEEDS = 100;

/**
 * The seeds of the sweep `ksim bench` times with 1 worker and with all cores: 400, a sweep of about
 * two minutes on one core, as a fault search runs for. Every worker warms up its own JIT (≈ 2 s of
 * CPU, README "Performance"), a fixed cost that a short sweep cannot spread: on this 2-core host
 * the same pool measured 1.24–1.38× on 40 seeds and a median of 1.68× on 100.
 */
export const DEFAULT_BENCH_SWEEP_SEEDS = 400;

/**
 * The alternating rounds `ksim bench` times the sweep in. Four: an even number, so that each order
 * (1 worker first, or the pool first) runs as often as the other, and more than three because on
 * this kind of shared 2-core host single rounds of the same sweep ranged from 1.6× to 2.2× (the
 * 1-worker sweep of 400 seeds took 110 s in one round and 146 s in another).
 */
export const DEFAULT_BENCH_ROUNDS = 4;
