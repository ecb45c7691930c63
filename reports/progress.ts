// Progress of a long run of many seeds, on stderr: on a terminal a bar redrawn in place; otherwise
// (CI logs) a plain line at every tenth of the way and at least every 30 s, so a log shows the run
// is alive without flooding it.

export interface ProgressCounts {
  valid: number;
  invalid: number;
  unknown: number;
}

export interface Progress {
  /** One more run finished with this verdict. */
  tick(verdict: keyof ProgressCounts): void;
  /** Replace the label (e.g. "shrinking seed 17"). */
  label(text: string): void;
  /** Clear the bar (terminal) and stop. */
  done(): void;
}

export interface ProgressOptions {
  total: number;
  /** What is counted ("seeds", "runs"). */
  unit: string;
  stream?: NodeJS.WriteStream;
  /** No output at all (--json, or a single run). */
  quiet?: boolean;
  /** Wall clock in ms (injectable for tests). */
  now?: () => number;
}

const BAR_WIDTH = 24;
const PLAIN_EVERY_MS = 30_000;

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? (() => performance.now());
  if (o.quiet === true) return { tick: () => {}, label: () => {}, done: () => {} };
  const tty = stream.isTTY === true;
  const start = now();
  const counts: ProgressCounts = { valid: 0, invalid: 0, unknown: 0 };
  let finished = 0;
  let lastTenth = 0;
  let lastPrint = start;
  let text = '';

  const line = (): string => {
    const elapsed = now() - start;
    const eta = finished > 0 && finished < o.total ? ` · ETA ${duration((elapsed / finished) * (o.total - finished))}` : '';
    const tally = `${counts.valid} valid · ${counts.invalid} invalid · ${counts.unknown} unknown`;
    return `${finished}/${o.total} ${o.unit} · ${tally} · ${duration(elapsed)}${eta}${text ? ` · ${text}` : ''}`;
  };
  const draw = () => {
    const filled = o.total === 0 ? BAR_WIDTH : Math.round((finished / o.total) * BAR_WIDTH);
    stream.write(`\r\u001b[2K[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${line()}`);
  };
  return {
    tick(verdict) {
      counts[verdict]++;
      finished++;
      if (tty) {
        draw();
        return;
      }
      const tenth = o.total === 0 ? 10 : Math.floor((finished * 10) / o.total);
      const t = now();
      if (tenth > lastTenth || t - lastPrint >= PLAIN_EVERY_MS || finished === o.total) {
        lastTenth = tenth;
        lastPrint = t;
        stream.write(`${line()}\n`);
      }
    },
    label(t) {
      text = t;
      if (tty) draw();
      else if (t !== '') stream.write(`${t}\n`);
    },
    done() {
      if (tty) stream.write('\r\u001b[2K');
    },
  };
}

/** `850ms`, `42s`, `3m05s`, `1h02m`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
