// The README stays true to the code: every configuration key and every bug-zoo key is documented.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG, FIX_KEYS } from '../../core/config.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration key', () => {
    expect(CONFIG.filter((e) => !README.includes(`\`${e.key}\``)).map((e) => e.key)).toEqual([]);
  });

  it('lists every bug-zoo key in the bug-zoo table', () => {
    const zoo = README.slice(README.indexOf('### The bug zoo'), README.indexOf('### Guarantee model'));
    expect(FIX_KEYS.length).toBe(8);
    expect(FIX_KEYS.filter((k) => !zoo.includes(`| \`${k}\``))).toEqual([]);
  });

  it('keeps the two set-up lines', () => {
    expect(README).toContain('npm ci && npm start');
    expect(README).toContain('npm ci && npm test');
  });
});
