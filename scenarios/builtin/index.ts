// The built-in scenario catalogue (`ksim list`): TypeScript that produces scenario JSON, checked by
// parseScenario exactly as a file would be. Each carries a description of what it teaches and its
// expectations per setting (`ksim check`, test/scenario/builtin.test.ts).

import { InputError } from '../../sim/input.js';
import { parseScenario, type Scenario } from '../scenario.js';
import { CLASSIC } from './classic.js';
import { SEARCH_1 } from './search-1.js';
import { SEARCH_2 } from './search-2.js';
import { ZOO } from './zoo.js';

const CATALOGUE: Record<string, () => Record<string, unknown>> = { ...CLASSIC, ...ZOO, ...SEARCH_1, ...SEARCH_2 };

/** The built-in scenarios' names, in catalogue order (classic ones, the bug zoo, then the zoo's random searches). */
export const BUILTIN_NAMES: readonly string[] = Object.keys(CATALOGUE);

/** The JSON of a built-in scenario. */
export function builtinJson(name: string): Record<string, unknown> {
  const make = CATALOGUE[name];
  if (make === undefined) throw new InputError(`unknown scenario "${name}" (built-in: ${BUILTIN_NAMES.join(', ')}; or give a .json file)`);
  return make();
}

/** A built-in scenario, parsed and checked. */
export function builtinScenario(name: string): Scenario {
  return parseScenario(builtinJson(name), name);
}

export function isBuiltin(name: string): boolean {
  return Object.hasOwn(CATALOGUE, name);
}
