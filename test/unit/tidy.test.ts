// The tidy pass (after TigerBeetle's tidy.zig): determinism and layering rules that a reviewer
// would otherwise have to remember, checked mechanically on every test run.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Calls that bring in wall-clock time, unseeded randomness or GC-dependent behaviour (DESIGN.md §1). */
const BANNED: { name: string; pattern: RegExp }[] = [
  { name: 'Math.random', pattern: /\bMath\.random\b/ },
  { name: 'Date.now', pattern: /\bDate\.now\b/ },
  { name: 'new Date() without an argument', pattern: /\bnew\s+Date\s*\(\s*\)/ },
  { name: 'performance.now', pattern: /\bperformance\.now\b/ },
  { name: 'process.hrtime', pattern: /\bprocess\.hrtime\b/ },
  { name: 'setTimeout', pattern: /\bsetTimeout\b/ },
  { name: 'setInterval', pattern: /\bsetInterval\b/ },
  { name: 'setImmediate', pattern: /\bsetImmediate\b/ },
  { name: 'crypto.random*', pattern: /\bcrypto\.random\w*|\brandomUUID\b|\brandomBytes\b|\bgetRandomValues\b/ },
  { name: 'WeakRef', pattern: /\bWeakRef\b/ },
  { name: 'FinalizationRegistry', pattern: /\bFinalizationRegistry\b/ },
];

/** Source text with comments blanked out (line structure kept), so prose may name banned calls. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
}

function findBanned(src: string): { line: number; name: string }[] {
  const hits: { line: number; name: string }[] = [];
  stripComments(src)
    .split('\n')
    .forEach((text, i) => {
      for (const b of BANNED) if (b.pattern.test(text)) hits.push({ line: i + 1, name: b.name });
    });
  return hits;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (/\.tsx?$/.test(e)) out.push(p);
  }
  return out;
}

describe('tidy', () => {
  it('the banned-call scanner finds every banned call and ignores comments', () => {
    const src = [
      'const a = Math.random();',
      'const b = Date.now();',
      'const c = new Date();',
      'const ok = new Date(0);',
      'performance.now(); process.hrtime.bigint();',
      'setTimeout(f, 1); setInterval(f, 1); setImmediate(f);',
      'crypto.randomInt(3); crypto.randomUUID();',
      'new WeakRef(x); new FinalizationRegistry(f);',
      '// Math.random() in a comment is fine',
      '/* Date.now() too */',
    ].join('\n');
    const names = findBanned(src).map((h) => h.name);
    for (const b of BANNED) expect(names, b.name).toContain(b.name);
    expect(findBanned(src).every((h) => h.line <= 8)).toBe(true);
    expect(findBanned('const t = new Date(0); // Date.now()')).toEqual([]);
  });

  it('core/ and sim/ use no banned call (wall clock, unseeded randomness, GC-dependent behaviour)', () => {
    const offenders: string[] = [];
    const files = [...tsFiles(join(ROOT, 'core')), ...tsFiles(join(ROOT, 'sim'))];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      for (const h of findBanned(readFileSync(f, 'utf8'))) offenders.push(`${f.slice(ROOT.length)}:${h.line} ${h.name}`);
    }
    expect(offenders).toEqual([]);
  });

  it('core/ never imports sim/ (or anything but core/ and the standard library)', () => {
    const offenders: string[] = [];
    for (const f of tsFiles(join(ROOT, 'core'))) {
      const src = stripComments(readFileSync(f, 'utf8'));
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = m[1] as string;
        if (/(^|\/)(sim|scenarios|reports|cli)\//.test(spec) || spec.startsWith('node:')) offenders.push(`${f.slice(ROOT.length)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('protocol code has no async/await: one event is one step', () => {
    const offenders: string[] = [];
    for (const f of [...tsFiles(join(ROOT, 'core')), ...tsFiles(join(ROOT, 'sim'))]) {
      stripComments(readFileSync(f, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          if (/\basync\b|\bawait\b|\bPromise\b/.test(line)) offenders.push(`${f.slice(ROOT.length)}:${i + 1}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});
