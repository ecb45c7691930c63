// A small, strict flag parser: every flag must be known, every value well-formed. Problems are
// InputErrors (one line on stderr, exit code 254), never a silent default.

import { InputError } from '../sim/input.js';

export interface FlagSpec {
  /** `boolean` flags take no value; the others take exactly one. */
  type: 'boolean' | 'string' | 'int' | 'list';
  /** Allowed repeatedly (values collected into an array); only for string flags. */
  repeat?: boolean;
}

export interface Parsed {
  positional: string[];
  flags: Map<string, string | boolean | number | string[]>;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | boolean | number | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = specs[name];
    if (spec === undefined) {
      const known = Object.keys(specs).map((k) => `--${k}`);
      throw new InputError(`ksim ${command}: unknown flag --${name}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    if (spec.type === 'boolean') {
      if (value !== undefined) throw new InputError(`ksim ${command}: --${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new InputError(`ksim ${command}: --${name} needs a value`);
    }
    if (!spec.repeat && flags.has(name)) throw new InputError(`ksim ${command}: --${name} given twice`);
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InputError(`ksim ${command}: --${name} expects an integer, got "${value}"`);
      flags.set(name, Number(value));
    } else if (spec.type === 'list') {
      flags.set(
        name,
        value.split(',').filter((s) => s !== ''),
      );
    } else if (spec.repeat) {
      flags.set(name, [...((flags.get(name) as string[] | undefined) ?? []), value]);
    } else {
      flags.set(name, value);
    }
  }
  return { positional, flags };
}
