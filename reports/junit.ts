// JUnit XML (the dialect CI systems read: Jenkins, GitHub Actions reporters, GitLab): one
// <testsuite> per scenario and setting, one <testcase> per seed; a failing seed carries a
// <failure> with its first violation and the command that replays it.

export interface JUnitCase {
  /** e.g. `seed 17` */
  name: string;
  /** e.g. `ksim.nemesis` */
  classname: string;
  timeMs: number;
  failure?: { type: string; message: string; body: string };
}

export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
}

export function junitXml(suites: readonly JUnitSuite[]): string {
  const tests = suites.reduce((n, s) => n + s.cases.length, 0);
  const failures = suites.reduce((n, s) => n + s.cases.filter((c) => c.failure).length, 0);
  const time = (ms: number) => (ms / 1000).toFixed(3);
  const total = suites.reduce((n, s) => n + s.cases.reduce((m, c) => m + c.timeMs, 0), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="ksim" tests="${tests}" failures="${failures}" errors="0" time="${time(total)}">`);
  for (const s of suites) {
    const f = s.cases.filter((c) => c.failure).length;
    const t = s.cases.reduce((m, c) => m + c.timeMs, 0);
    out.push(`  <testsuite name="${esc(s.name)}" tests="${s.cases.length}" failures="${f}" errors="0" skipped="0" time="${time(t)}">`);
    for (const c of s.cases) {
      const open = `    <testcase name="${esc(c.name)}" classname="${esc(c.classname)}" time="${time(c.timeMs)}"`;
      if (c.failure === undefined) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      out.push(`      <failure type="${esc(c.failure.type)}" message="${esc(c.failure.message)}">${esc(c.failure.body)}</failure>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/** XML-escape text and attribute values; drop characters XML 1.0 cannot carry. */
function esc(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these characters
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}
