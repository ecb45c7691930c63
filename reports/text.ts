// Terminal output for people: colour (chalk, off when NO_COLOR is set or output is not a
// terminal), aligned tables, and the verdict colours used everywhere.

import { Chalk, type ChalkInstance } from 'chalk';

export function makeChalk(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '';
  const force = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0';
  return new Chalk({ level: noColor ? 0 : force || stream.isTTY ? 1 : 0 });
}

export function verdictColour(c: ChalkInstance, verdict: string): string {
  if (verdict === 'valid') return c.green(verdict);
  if (verdict === 'invalid') return c.red.bold(verdict);
  return c.yellow(verdict);
}

/** Rows of cells as an aligned table; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  }
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell + ' '.repeat((widths[i] as number) - visibleLength(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function visibleLength(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  return s.replace(/\u001b\[[0-9;]*m/g, '').length;
}
