// Checking untrusted input (scenario files, fault schedules, flags). Every problem becomes an
// InputError whose message names the exact place (`faults[2].durationMs: must be positive`);
// the command line turns it into one line on stderr and exit code 254.

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

export function expectObject(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(`${path}: expected an object, got ${describeType(v)}`);
  return v as Record<string, unknown>;
}

export function expectArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new InputError(`${path}: expected an array, got ${describeType(v)}`);
  return v;
}

export function expectString(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw new InputError(`${path}: expected a non-empty string, got ${describeType(v)}`);
  return v;
}

export function expectNumber(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${path}: expected a number, got ${describeType(v)}`);
  return v;
}

export function expectInteger(v: unknown, path: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const n = expectNumber(v, path);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(`${path}: expected an integer in [${min}, ${max}], got ${n}`);
  return n;
}

/** Reject keys that are not in `allowed`, naming the first one and what is allowed. */
export function expectKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new InputError(`${path}: unknown key "${k}" (allowed: ${allowed.join(', ')})`);
  }
}
