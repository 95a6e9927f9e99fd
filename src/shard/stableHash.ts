import { createHash } from 'node:crypto';

/**
 * The first 64 bits (big-endian) of SHA-256 over the UTF-8 bytes of `text`.
 * SHA-256 is specified byte for byte, so the value is the same on every Node version, platform and
 * language; e.g. Python: `int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], 'big')`.
 */
export function stableHash64(text: string): bigint {
  return createHash('sha256').update(text, 'utf8').digest().readBigUInt64BE(0);
}
