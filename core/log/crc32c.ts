// CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches (CL/common/utils/Crc32C.java)
// and of its producer-state snapshots.
//
// Table-driven, one byte at a time, with the reflected polynomial 0x82F63B78, initial value
// 0xFFFFFFFF and a final inversion — the standard parameters (crc32c("123456789") = 0xE3069283).
// Kafka uses a slicing-by-8 or hardware implementation of the same function.

const POLY_REFLECTED = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes[start, end)`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  if (start < 0 || end > bytes.length || start > end) throw new Error(`crc32c: bad range [${start}, ${end}) of ${bytes.length} bytes`);
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
