// Properties of the simulated disk (sim/disk.ts) under random operation sequences and crashes.
//
// The test keeps its own reference model of every file, built only from the completions the disk
// reports: durable bytes, visible bytes, and the mutations in between (each with its completion
// time, so write-back after `writebackDelayMs` can be modelled). At a crash it checks the disk's
// outcome against the set of contents the fault model allows: the durable bytes, then each later
// write in order either dropped, kept, or torn to a sector-aligned prefix, a write that would start
// beyond the end being dropped. A truncation is metadata: durable once it completes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DISK, type DiskConfig, type DiskOpKind, SimDisk } from '../../sim/disk.js';
import { Rng } from '../../sim/rng.js';
import { Scheduler } from '../../sim/scheduler.js';

// ---------------------------------------------------------------------------------------------
// Operations, as generated (offsets are fractions of the file's length when the op is issued)

type Op =
  | { k: 'append'; f: string; data: Uint8Array }
  | { k: 'writeAt'; f: string; at: number; data: Uint8Array }
  | { k: 'truncate'; f: string; at: number }
  | { k: 'fsync'; f: string }
  | { k: 'rename'; f: string; to: string }
  | { k: 'delete'; f: string }
  | { k: 'read'; f: string }
  | { k: 'advance'; ms: number };

interface Round {
  ops: Op[];
  /** After the last op is issued, run this long, then cut the power. */
  crashAfterMs: number;
}

type Mut = { kind: 'write'; offset: number; data: number[]; atMs: number } | { kind: 'truncate'; length: number; atMs: number };

function applyMut(b: number[], m: Mut): void {
  if (m.kind === 'write') {
    if (m.offset > b.length) throw new Error('model: write beyond the end');
    for (let j = 0; j < m.data.length; j++) b[m.offset + j] = m.data[j] as number;
  } else if (m.length < b.length) b.length = m.length;
}

/** The reference model of one file (it moves with a rename, as the disk's file does). */
class MFile {
  durable: number[];
  visible: number[];
  pending: Mut[] = [];
  /** Every byte value ever at each offset of this file: its initial bytes and every write. */
  history: Set<number>[] = [];
  constructor(init: readonly number[] = []) {
    this.durable = [...init];
    this.visible = [...init];
    init.forEach((b, i) => {
      this.record(i, b);
    });
  }
  record(i: number, b: number): void {
    let s = this.history[i];
    if (s === undefined) this.history[i] = s = new Set();
    s.add(b);
  }
  mutate(m: Mut): void {
    applyMut(this.visible, m);
    this.pending.push(m);
    if (m.kind === 'write') for (const [j, b] of m.data.entries()) this.record(m.offset + j, b);
  }
  makeDurable(n: number): void {
    for (const m of this.pending.slice(0, n)) applyMut(this.durable, m);
    this.pending.splice(0, n);
  }
  /** A truncation is metadata: durable at once, and unsynced writes lose what lies beyond it. */
  truncateDurably(length: number): void {
    if (length < this.visible.length) this.visible.length = length;
    if (length < this.durable.length) this.durable.length = length;
    this.pending = this.pending.flatMap((m): Mut[] => {
      if (m.kind !== 'write' || m.offset >= length) return m.kind === 'write' ? [] : [m];
      return [m.offset + m.data.length <= length ? m : { ...m, data: m.data.slice(0, length - m.offset) }];
    });
  }
}

/** What the model knows about a file at the moment of a crash (after write-back up to then). */
interface Snapshot {
  durable: number[];
  pending: Mut[];
  history: Set<number>[];
}

interface RoundResult {
  crashAtMs: number;
  before: Map<string, Snapshot>;
  after: Map<string, Uint8Array>;
  /** Per op of the round: undefined if it never completed, else whether it succeeded. */
  completed: (boolean | undefined)[];
  lost: { dropped: number; torn: number; kept: number };
}

interface Outcome {
  rounds: RoundResult[];
  /** Every completion, in order: op, time and result (for the determinism property). */
  transcript: string[];
  /** Disagreements with the model seen while running (reads, visible contents, durable before a crash, …). */
  violations: string[];
}

const hex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Run the rounds on a fresh disk, checking visible state as it goes; crash at the end of each round. */
function drive(seed: number, config: DiskConfig, rounds: Round[]): Outcome {
  const scheduler = new Scheduler();
  const disk = new SimDisk('n1', { scheduler, trace: () => {} }, new Rng(seed, 'disk/n1'), config);
  const model = new Map<string, MFile>();
  const transcript: string[] = [];
  const violations: string[] = [];
  const results: RoundResult[] = [];
  let epoch = 0;

  const checkVisible = (when: string): void => {
    const names = [...model.keys()].sort();
    if (names.join() !== disk.fileNames().join()) violations.push(`${when}: files ${disk.fileNames()} but model has ${names}`);
    for (const n of names) {
      const got = hex(disk.visibleContents(n) ?? []);
      const want = hex((model.get(n) as MFile).visible);
      if (got !== want) violations.push(`${when}: visible ${n} is ${got}, model ${want}`);
    }
  };

  for (const [r, round] of rounds.entries()) {
    const completed: (boolean | undefined)[] = round.ops.map(() => undefined);
    // The length of each file once every op issued so far has completed (ops run in issue order).
    const shadow = new Map<string, number>([...model].map(([n, f]) => [n, f.visible.length]));
    const submit = (i: number, kind: DiskOpKind, args: Parameters<SimDisk['submit']>[1], onDone: (ok: boolean, value: unknown) => void): void => {
      const myEpoch = epoch;
      disk.submit(kind, args, (res) => {
        const tag = `r${r} op${i} ${kind} ${args.file}${args.to === undefined ? '' : `->${args.to}`}`;
        if (myEpoch !== epoch) {
          violations.push(`${tag} completed after a crash`);
          return;
        }
        completed[i] = res.ok;
        transcript.push(`${tag} @${scheduler.now} ${res.ok ? `ok ${res.value instanceof Uint8Array ? hex(res.value) : String(res.value)}` : res.error.code}`);
        onDone(res.ok, res.ok ? res.value : res.error.code);
        checkVisible(tag);
      });
    };
    const expectError = (tag: string, ok: boolean, code: unknown, want: string): void => {
      if (ok || code !== want) violations.push(`${tag}: expected ${want}, got ${ok ? 'ok' : String(code)}`);
    };

    for (const [i, op] of round.ops.entries()) {
      const tag = `r${r} op${i} ${op.k}`;
      switch (op.k) {
        case 'append': {
          shadow.set(op.f, (shadow.get(op.f) ?? 0) + op.data.length);
          submit(i, 'append', { file: op.f, data: op.data }, (ok, v) => {
            let f = model.get(op.f);
            if (f === undefined) model.set(op.f, (f = new MFile()));
            if (!ok || v !== f.visible.length) violations.push(`${tag}: append yielded ${String(v)}, expected offset ${f.visible.length}`);
            f.mutate({ kind: 'write', offset: f.visible.length, data: [...op.data], atMs: scheduler.now });
          });
          break;
        }
        case 'writeAt': {
          const len = shadow.get(op.f) ?? 0;
          const offset = Math.floor((op.at / 1000) * len);
          shadow.set(op.f, Math.max(len, offset + op.data.length));
          submit(i, 'writeAt', { file: op.f, offset, data: op.data }, (ok) => {
            let f = model.get(op.f);
            if (f === undefined) model.set(op.f, (f = new MFile()));
            if (!ok) violations.push(`${tag}: failed`);
            f.mutate({ kind: 'write', offset, data: [...op.data], atMs: scheduler.now });
          });
          break;
        }
        case 'truncate': {
          const len = shadow.get(op.f);
          const length = Math.floor((op.at / 1000) * (len ?? 0));
          if (len !== undefined) shadow.set(op.f, Math.min(len, length));
          submit(i, 'truncate', { file: op.f, length }, (ok, v) => {
            const f = model.get(op.f);
            if (f === undefined) return expectError(tag, ok, v, 'ENOENT');
            if (!ok) violations.push(`${tag}: failed`);
            if (length < f.visible.length) f.truncateDurably(length);
          });
          break;
        }
        case 'fsync':
          submit(i, 'fsync', { file: op.f }, (ok, v) => {
            const f = model.get(op.f);
            if (f === undefined) return expectError(tag, ok, v, 'ENOENT');
            if (!ok) violations.push(`${tag}: failed`);
            f.makeDurable(f.pending.length);
          });
          break;
        case 'rename': {
          const len = shadow.get(op.f);
          if (len !== undefined) {
            shadow.delete(op.f);
            shadow.set(op.to, len);
          }
          submit(i, 'rename', { file: op.f, to: op.to }, (ok, v) => {
            const f = model.get(op.f);
            if (f === undefined) return expectError(tag, ok, v, 'ENOENT');
            if (!ok) violations.push(`${tag}: failed`);
            model.delete(op.f);
            model.set(op.to, f);
          });
          break;
        }
        case 'delete':
          shadow.delete(op.f);
          submit(i, 'delete', { file: op.f }, (ok, v) => {
            if (!model.has(op.f)) return expectError(tag, ok, v, 'ENOENT');
            if (!ok) violations.push(`${tag}: failed`);
            model.delete(op.f);
          });
          break;
        case 'read':
          submit(i, 'readAll', { file: op.f }, (ok, v) => {
            const f = model.get(op.f);
            if (f === undefined) return expectError(tag, ok, v, 'ENOENT');
            if (!ok || hex(v as Uint8Array) !== hex(f.visible))
              violations.push(`${tag}: read ${ok ? hex(v as Uint8Array) : String(v)}, model ${hex(f.visible)}`);
          });
          break;
        case 'advance': {
          const until = scheduler.now + op.ms;
          scheduler.run({ untilMs: until });
          scheduler.advanceTo(until);
          break;
        }
      }
    }

    // Cut the power some time after the last op was issued (queued ops may still be waiting).
    const crashAtMs = scheduler.now + round.crashAfterMs;
    scheduler.run({ untilMs: crashAtMs });
    scheduler.advanceTo(crashAtMs);
    const before = new Map<string, Snapshot>();
    for (const [n, f] of [...model].sort()) {
      // Write-back: each mutation is durable once writebackDelayMs has passed since it was made.
      let due = 0;
      while (due < f.pending.length && (f.pending[due] as Mut).atMs + config.writebackDelayMs <= crashAtMs) due++;
      f.makeDurable(due);
      const durable = hex(disk.durableContents(n) ?? []);
      if (durable !== hex(f.durable)) violations.push(`r${r} before crash: durable ${n} is ${durable}, model ${hex(f.durable)}`);
      if (disk.pendingWrites(n) !== f.pending.length)
        violations.push(`r${r} before crash: ${n} has ${disk.pendingWrites(n)} pending, model ${f.pending.length}`);
      before.set(n, { durable: [...f.durable], pending: [...f.pending], history: f.history.map((s) => new Set(s)) });
    }
    const lost = disk.crash();
    epoch++;
    const after = new Map(disk.fileNames().map((n) => [n, disk.visibleContents(n) as Uint8Array]));
    transcript.push(`r${r} crash @${crashAtMs} ${JSON.stringify(lost)} ${[...after].map(([n, b]) => `${n}=${hex(b)}`).join(' ')}`);
    for (const [n, b] of after) {
      if (hex(disk.durableContents(n) ?? []) !== hex(b)) violations.push(`r${r} after crash: ${n} is not all durable`);
    }
    // Nothing that was queued or scheduled before the crash may change the disk afterwards.
    scheduler.run();
    for (const [n, b] of after) {
      if (hex(disk.visibleContents(n) ?? []) !== hex(b)) violations.push(`r${r} after crash: ${n} changed by a stale event`);
    }
    // The next round starts from what survived (the old file objects are gone).
    model.clear();
    for (const [n, b] of after) {
      const prev = before.get(n);
      const f = new MFile([...b]);
      if (prev !== undefined) f.history = prev.history.map((s) => new Set(s)); // keep what was ever written here
      for (const [j, x] of b.entries()) f.record(j, x);
      model.set(n, f);
    }
    results.push({ crashAtMs, before, after, completed, lost });
  }
  return { rounds: results, transcript, violations };
}

// ---------------------------------------------------------------------------------------------
// The crash model: may `actual` be what a file with these durable bytes and pending mutations
// holds after a crash? Breadth-first over the fates of the pending mutations, deduplicating
// states, and pruning a state when a byte it holds can no longer change and differs from `actual`.

/** The lengths a write may keep: 0 (dropped), all of it (kept), or a prefix ending on an interior sector boundary (torn). */
function keptLengths(offset: number, length: number, sector: number): number[] {
  const out = [0, length];
  for (let b = (Math.floor(offset / sector) + 1) * sector; b < offset + length; b += sector) out.push(b - offset);
  return out;
}

function crashOutcomeAllowed(durable: readonly number[], pending: readonly Mut[], sector: number, actual: Uint8Array): { ok: boolean; states: number } {
  const n = pending.length;
  let maxEnd = durable.length;
  for (const m of pending) if (m.kind === 'write') maxEnd = Math.max(maxEnd, m.offset + m.data.length);
  if (actual.length > maxEnd) return { ok: false, states: 0 };
  // Suffix facts: which offsets a later write may still change, and the shortest later truncate.
  const covered: Uint8Array[] = [];
  const minTrunc: number[] = [];
  let cov = new Uint8Array(maxEnd);
  let mt = Number.POSITIVE_INFINITY;
  covered[n] = cov.slice();
  minTrunc[n] = mt;
  for (let i = n - 1; i >= 0; i--) {
    const m = pending[i] as Mut;
    cov = cov.slice();
    if (m.kind === 'write') cov.fill(1, m.offset, m.offset + m.data.length);
    else mt = Math.min(mt, m.length);
    covered[i] = cov;
    minTrunc[i] = mt;
  }
  const viable = (s: readonly number[], i: number): boolean => {
    const c = covered[i] as Uint8Array;
    const t = minTrunc[i] as number;
    if (t === Number.POSITIVE_INFINITY && s.length > actual.length) return false; // it can only grow
    const fixed = Math.min(s.length, t);
    for (let j = 0; j < fixed; j++) if (c[j] === 0 && (j >= actual.length || s[j] !== actual[j])) return false;
    return true;
  };
  let states = new Map<string, number[]>();
  if (viable(durable, 0)) states.set(durable.join(','), [...durable]);
  let explored = states.size;
  for (let i = 0; i < n && states.size > 0; i++) {
    const m = pending[i] as Mut;
    const next = new Map<string, number[]>();
    const add = (s: number[]): void => {
      const key = s.join(',');
      if (!next.has(key) && viable(s, i + 1)) next.set(key, s);
    };
    for (const s of states.values()) {
      add(s); // dropped (or, for a truncate, not applied)
      if (m.kind === 'truncate') {
        if (m.length < s.length) add(s.slice(0, m.length));
      } else if (m.offset <= s.length) {
        for (const keep of keptLengths(m.offset, m.data.length, sector)) {
          if (keep === 0) continue;
          const t = [...s];
          for (let j = 0; j < keep; j++) t[m.offset + j] = m.data[j] as number;
          add(t);
        }
      }
    }
    states = next;
    explored += states.size;
  }
  return { ok: states.has(Array.from(actual).join(',')), states: explored };
}

// ---------------------------------------------------------------------------------------------
// Generators

const FILES = ['a', 'b', 'c'] as const;
const fileArb = fc.constantFrom(...FILES);
const dataArb = (min = 1, max = 255) => fc.uint8Array({ min, max, minLength: 1, maxLength: 10 });
const fracArb = fc.integer({ min: 0, max: 1000 });
const msArb = fc.oneof(
  fc.integer({ min: 0, max: 3000 }).map((x) => x / 1000),
  fc.integer({ min: 0, max: 40 }),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('append' as const), f: fileArb, data: dataArb() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('writeAt' as const), f: fileArb, at: fracArb, data: dataArb() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), f: fileArb, at: fracArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fsync' as const), f: fileArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rename' as const), f: fileArb, to: fileArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), f: fileArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('read' as const), f: fileArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: msArb }) },
);

const roundArb: fc.Arbitrary<Round> = fc.record({ ops: fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }), crashAfterMs: msArb });

const configArb: fc.Arbitrary<DiskConfig> = fc
  .record({
    sectorBytes: fc.constantFrom(1, 2, 4, 8),
    writebackDelayMs: fc.constantFrom(5, 20, 1000),
    crashFate: fc.record({ drop: fc.nat(3), keep: fc.nat(3), tear: fc.nat(3) }).filter((f) => f.drop + f.keep + f.tear > 0),
  })
  .map((c) => ({
    ...DEFAULT_DISK,
    ...c,
    latencyMs: { write: [0.01, 1], read: [0.01, 0.5], fsync: [0.2, 3], meta: [0.05, 1] } as DiskConfig['latencyMs'],
  }));

const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const RUNS = { numRuns: 200 };

/** Check every crash of an outcome against the model; returns every problem found (and those seen while running). */
function crashProblems(config: DiskConfig, out: Outcome): string[] {
  const problems = [...out.violations];
  for (const [r, round] of out.rounds.entries()) {
    const names = [...round.before.keys()].sort().join();
    if ([...round.after.keys()].sort().join() !== names) problems.push(`r${r}: files after crash ${[...round.after.keys()]} but model has ${names}`);
    for (const [n, actual] of round.after) {
      const snap = round.before.get(n);
      if (snap === undefined) continue;
      const { ok } = crashOutcomeAllowed(snap.durable, snap.pending, config.sectorBytes, actual);
      if (!ok) {
        const muts = snap.pending.map((m) => (m.kind === 'write' ? `w@${m.offset}:${hex(m.data)}` : `t${m.length}`)).join(' ');
        problems.push(`r${r}: ${n} after crash is ${hex(actual)}, not reachable from durable ${hex(snap.durable)} + [${muts}]`);
      }
    }
  }
  return problems;
}

describe('disk properties', () => {
  it('crash: each file holds its durable bytes, then an in-order subset of later writes, each kept, dropped or torn at a sector boundary', () => {
    let maxStates = 0;
    fc.assert(
      fc.property(seedArb, configArb, fc.array(roundArb, { minLength: 1, maxLength: 2 }), (seed, config, rounds) => {
        const out = drive(seed, config, rounds);
        expect(crashProblems(config, out)).toEqual([]);
        for (const round of out.rounds)
          for (const [n, actual] of round.after) {
            const snap = round.before.get(n);
            if (snap !== undefined) maxStates = Math.max(maxStates, crashOutcomeAllowed(snap.durable, snap.pending, config.sectorBytes, actual).states);
          }
      }),
      RUNS,
    );
    expect(maxStates).toBeGreaterThan(1); // the crashes did leave choices to check
  });

  it('crash: a file never holds a byte that no write put at that offset', () => {
    fc.assert(
      fc.property(seedArb, configArb, fc.array(roundArb, { minLength: 1, maxLength: 2 }), (seed, config, rounds) => {
        const out = drive(seed, config, rounds);
        for (const [r, round] of out.rounds.entries())
          for (const [n, actual] of round.after) {
            const history = round.before.get(n)?.history ?? [];
            actual.forEach((b, j) => {
              if (!history[j]?.has(b)) expect.fail(`r${r}: ${n}[${j}] = ${b}, never written there (${hex(actual)})`);
            });
            expect(actual.includes(0), `r${r}: ${n} holds a zero byte: ${hex(actual)}`).toBe(false); // all written bytes are nonzero
          }
      }),
      RUNS,
    );
  });

  it('rename is atomic: after a crash the target holds its old durable contents or only the renamed file’s, never a mix', () => {
    const tmpOpArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ k: fc.constant('append' as const), f: fc.constant('tmp'), data: dataArb(128, 255) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('writeAt' as const), f: fc.constant('tmp'), at: fracArb, data: dataArb(128, 255) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('fsync' as const), f: fc.constant('tmp') }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: msArb }) },
    );
    const afterOpArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ k: fc.constant('append' as const), f: fc.constant('dst'), data: dataArb(128, 255) }),
      fc.record({ k: fc.constant('fsync' as const), f: fc.constant('dst') }),
    );
    let completedRenames = 0;
    let pendingRenames = 0;
    fc.assert(
      fc.property(
        seedArb,
        configArb,
        dataArb(1, 127),
        dataArb(128, 255),
        fc.array(tmpOpArb, { maxLength: 8 }),
        fc.array(afterOpArb, { maxLength: 3 }),
        msArb,
        (seed, config, old, first, tmpOps, afterOps, crashAfterMs) => {
          const setup: Op[] = [
            { k: 'append', f: 'dst', data: old },
            { k: 'fsync', f: 'dst' },
            { k: 'advance', ms: 20 },
          ];
          const ops: Op[] = [...setup, { k: 'append', f: 'tmp', data: first }, ...tmpOps, { k: 'rename', f: 'tmp', to: 'dst' }, ...afterOps];
          const renameIndex = setup.length + 1 + tmpOps.length;
          const out = drive(seed, config, [{ ops, crashAfterMs }]);
          expect(crashProblems(config, out)).toEqual([]);
          const round = out.rounds[0] as RoundResult;
          expect(round.completed.slice(0, setup.length - 1)).toEqual([true, true]);
          const dst = round.after.get('dst') as Uint8Array;
          if (round.completed[renameIndex] === true) {
            completedRenames++;
            expect(round.after.has('tmp')).toBe(false);
            expect(
              dst.every((b) => b >= 128),
              `dst mixes old and new bytes: ${hex(dst)}`,
            ).toBe(true);
          } else {
            pendingRenames++;
            expect(round.completed[renameIndex]).toBeUndefined(); // never failed: tmp always exists
            expect(hex(dst)).toBe(hex(old));
          }
        },
      ),
      RUNS,
    );
    expect(completedRenames).toBeGreaterThan(0);
    expect(pendingRenames).toBeGreaterThan(0);
  });

  it('determinism: the same seed and operations give byte-identical completions and crash outcomes', () => {
    fc.assert(
      fc.property(seedArb, configArb, fc.array(roundArb, { minLength: 1, maxLength: 2 }), (seed, config, rounds) => {
        const a = drive(seed, config, rounds);
        const b = drive(seed, config, rounds);
        expect(b.transcript).toEqual(a.transcript);
        expect(b.rounds.map((r) => [...r.after].map(([n, x]) => `${n}=${hex(x)}`))).toEqual(
          a.rounds.map((r) => [...r.after].map(([n, x]) => `${n}=${hex(x)}`)),
        );
      }),
      RUNS,
    );
  });
});
