// CRC-32C (core/log/crc32c.ts) against published vectors (RFC 3720 B.4 and the check value).
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../core/log/crc32c.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the standard check value and RFC 3720 vectors', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x22620404);
  });

  it('checksums a sub-range, and rejects a range outside the buffer', () => {
    const b = ascii('xx123456789yy');
    expect(crc32c(b, 2, 11)).toBe(0xe3069283);
    expect(() => crc32c(b, 5, 20)).toThrow(/bad range/);
  });
});
