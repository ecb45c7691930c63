// Checkpoint files (core/log/checkpoint.ts): the atomic tmp + fsync + rename write survives a
// crash at any moment with the old or the new text, never a mix; writes to one file are
// serialized; the offset-checkpoint format.
import { describe, expect, it } from 'vitest';
import { formatOffsetCheckpoint, parseOffsetCheckpoint, parseTpKey, readCheckpoint, writeCheckpoint } from '../../../core/log/checkpoint.js';
import type { Node, NodeContext } from '../../../core/ports.js';
import { World } from '../../../sim/world.js';
import { FIXED_LATENCY } from './rig.js';

const OLD = `0\n3\n${'old-entry 1 2\n'.repeat(3)}`;
const NEW = `0\n5\n${'a-much-longer-new-entry 11 22\n'.repeat(5)}`;

/** Boot: write OLD, then NEW. Restart: read the file. Crash at `crashAtMs`. */
function crashDuringRewrite(seed: number, crashAtMs: number, atomic: boolean): { oldDone: boolean; after: string | undefined } {
  const w = new World({ seed, disk: { latencyMs: FIXED_LATENCY, sectorBytes: 4, crashFate: { drop: 1, keep: 1, tear: 1 } } });
  let oldDone = false;
  let after: string | undefined = 'never read';
  const plainWrite = (ctx: NodeContext, text: string, cb?: () => void): void => {
    const data = new TextEncoder().encode(text);
    ctx.disk.writeAt('cp', 0, data);
    ctx.disk.truncate('cp', data.length, () => cb?.());
  };
  const node: Node = {
    start: (ctx, reason) => {
      if (reason === 'restart') {
        readCheckpoint(ctx.disk, 'cp', (text) => (after = text));
        return;
      }
      const write = atomic
        ? (text: string, cb?: () => void) => writeCheckpoint(ctx.disk, 'cp', text, cb)
        : (text: string, cb?: () => void) => plainWrite(ctx, text, cb);
      write(OLD, () => {
        if (!atomic) ctx.disk.fsync('cp', () => (oldDone = true));
        else oldDone = true;
        write(NEW);
      });
    },
    onMessage: () => {},
    onTimer: () => {},
  };
  w.addNode('n', () => node);
  w.startAll();
  w.run({ untilMs: crashAtMs });
  const wasDone = oldDone;
  w.crash('n');
  w.restart('n');
  w.run({ untilMs: crashAtMs + 50 });
  return { oldDone: wasDone, after };
}

describe('checkpoint: atomic replacement', () => {
  it('a crash at any moment leaves the old text or the new one, never a partial file', () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) {
      for (let t = 0; t <= 12; t += 0.5) {
        const { oldDone, after } = crashDuringRewrite(seed, t, true);
        const outcome = after === undefined ? 'absent' : after === OLD ? 'old' : after === NEW ? 'new' : `partial: ${JSON.stringify(after)}`;
        seen.add(outcome);
        if (oldDone) expect(['old', 'new'], `seed ${seed} crash at ${t}`).toContain(outcome);
        else expect(['absent', 'old'], `seed ${seed} crash at ${t}`).toContain(outcome);
      }
    }
    expect([...seen].sort()).toEqual(['absent', 'new', 'old']);
  });

  it('(the same rewrite in place, without tmp + rename, can be torn — the test can see a tear)', () => {
    let partial = 0;
    for (let seed = 1; seed <= 6; seed++)
      for (let t = 0; t <= 12; t += 0.5) {
        const { after } = crashDuringRewrite(seed, t, false);
        if (after !== undefined && after !== OLD && after !== NEW) partial++;
      }
    expect(partial).toBeGreaterThan(0);
  });

  it('writes to one file are serialized: the latest text wins and every callback hears the outcome', () => {
    const w = new World({ seed: 3, disk: { latencyMs: FIXED_LATENCY } });
    const results: string[] = [];
    let final: string | undefined;
    w.addNode('n', () => ({
      start: (ctx) => {
        writeCheckpoint(ctx.disk, 'cp', 'first\n', (ok) => results.push(`first ${ok}`));
        writeCheckpoint(ctx.disk, 'cp', 'second, longer\n', (ok) => results.push(`second ${ok}`));
        writeCheckpoint(ctx.disk, 'cp', 'third\n', (ok) => {
          results.push(`third ${ok}`);
          readCheckpoint(ctx.disk, 'cp', (t) => (final = t));
        });
      },
      onMessage: () => {},
      onTimer: () => {},
    }));
    w.startAll();
    w.run({ untilMs: 100 });
    // The second request was superseded by the third while the first was in flight.
    expect(results).toEqual(['first true', 'second true', 'third true']);
    expect(final).toBe('third\n');
    expect(w.disk('n').fileNames()).toEqual(['cp']);
    expect(new TextDecoder().decode(w.disk('n').durableContents('cp'))).toBe('third\n');
  });

  it('a failed fsync leaves the old file in place and reports the error', () => {
    const w = new World({ seed: 4, disk: { latencyMs: FIXED_LATENCY } });
    const results: string[] = [];
    w.addNode('n', () => ({
      start: (ctx) => {
        writeCheckpoint(ctx.disk, 'cp', 'old\n', () => {
          w.diskFault('n', { kind: 'eio', ops: ['fsync'], durationMs: 100 });
          writeCheckpoint(ctx.disk, 'cp', 'new\n', (ok, error) => results.push(`${ok} ${error?.code}`));
        });
      },
      onMessage: () => {},
      onTimer: () => {},
    }));
    w.startAll();
    w.run({ untilMs: 200 });
    expect(results).toEqual(['false EIO']);
    expect(new TextDecoder().decode(w.disk('n').visibleContents('cp'))).toBe('old\n');
  });

  it('reading a missing checkpoint gives undefined', () => {
    const w = new World({ seed: 5, disk: { latencyMs: FIXED_LATENCY } });
    let got: string | undefined = 'x';
    w.addNode('n', () => ({ start: (ctx) => readCheckpoint(ctx.disk, 'none', (t) => (got = t)), onMessage: () => {}, onTimer: () => {} }));
    w.startAll();
    w.run({ untilMs: 10 });
    expect(got).toBeUndefined();
  });
});

describe('checkpoint: offset checkpoint format', () => {
  it('formats version 0, the count and "topic partition offset" lines, and parses them back', () => {
    const offsets = new Map([
      ['my-topic-1', 17],
      ['a-0', 3],
    ]);
    const text = formatOffsetCheckpoint(offsets);
    expect(text).toBe('0\n2\na 0 3\nmy-topic 1 17\n');
    expect(parseOffsetCheckpoint(text)).toEqual(offsets);
    expect(parseOffsetCheckpoint(formatOffsetCheckpoint(new Map()))).toEqual(new Map());
  });

  it('rejects malformed text and bad keys', () => {
    for (const bad of ['', '0\n', '1\n0\n', '0\n2\na 0 3\n', '0\n1\na 0\n', '0\n1\na x 3\n'])
      expect(parseOffsetCheckpoint(bad), JSON.stringify(bad)).toBeUndefined();
    expect(parseTpKey('my-topic-12')).toEqual({ topic: 'my-topic', partition: 12 });
    expect(() => parseTpKey('nopartition')).toThrow();
  });
});
