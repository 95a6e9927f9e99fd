import { createHash } from 'node:crypto';
import { shardOf, shardOwns } from '../../src/shard/assignShard';
import { idKey } from '../../src/input/request';
import { canonicalRequestId } from '../../src/shard/requestId';
import { stableHash64 } from '../../src/shard/stableHash';

/** Reference path independent of the implementation's byte reading: hex digest → BigInt. */
function referenceShard(canonical: string, count: number): number {
  const hex = createHash('sha256').update(Buffer.from(canonical, 'utf8')).digest('hex');
  return Number(BigInt(`0x${hex.slice(0, 16)}`) % BigInt(count));
}

describe('stable shard assignment', () => {
  it('canonical ids equal the input parser\'s id keys', () => {
    for (const id of [0, 1, -3, 2 ** 53 - 1, '', 'a', '1', 'héllo 世界']) expect(canonicalRequestId(id)).toBe(idKey(id));
  });

  it('canonical ids keep numbers and strings apart', () => {
    expect(canonicalRequestId(42)).toBe('n:42');
    expect(canonicalRequestId('42')).toBe('s:42');
    expect(shardOf(42, 1000) === shardOf('42', 1000)).toBe(false);
  });

  it('matches values computed with Python hashlib (first 64 bits of SHA-256, big-endian)', () => {
    // python3: int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], 'big')
    expect(stableHash64('s:req-1')).toBe(0xa3b577cb4a54ba92n);
    expect(stableHash64('n:1')).toBe(0xc96504c8e4c90470n);
    expect(stableHash64('s:héllo 世界')).toBe(0xf13104412d487d99n);
    expect([2, 3, 7, 1000].map((n) => shardOf('req-1', n))).toEqual([0, 1, 5, 506]);
    expect([2, 3, 7, 1000].map((n) => shardOf(1, n))).toEqual([0, 1, 0, 816]);
    expect([2, 3, 7, 1000].map((n) => shardOf(42, n))).toEqual([1, 1, 5, 435]);
    expect([2, 3, 7, 1000].map((n) => shardOf('héllo 世界', n))).toEqual([1, 1, 2, 529]);
    expect([2, 3, 7, 1000].map((n) => shardOf('', n))).toEqual([0, 2, 2, 920]);
  });

  it('agrees with an independent node:crypto computation on many ids', () => {
    for (let i = 0; i < 200; i += 1) {
      for (const count of [2, 3, 7, 13]) {
        expect(shardOf(i, count)).toBe(referenceShard(`n:${i}`, count));
        expect(shardOf(`id-${i}`, count)).toBe(referenceShard(`s:id-${i}`, count));
      }
    }
  });

  const ids: Array<string | number> = [
    ...Array.from({ length: 500 }, (_, i) => i + 1),
    ...Array.from({ length: 500 }, (_, i) => `request-${i}`),
  ];

  it.each([1, 2, 3, 7])('with N=%i the shards cover 1000 ids exactly once and roughly evenly', (count) => {
    const owners = ids.map((id) => Array.from({ length: count }, (_, k) => k).filter((k) => shardOwns({ index: k, count }, id)));
    expect(owners.every((owning) => owning.length === 1)).toBe(true);
    const sizes = Array.from({ length: count }, (_, k) => owners.filter((owning) => owning[0] === k).length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(ids.length);
    const mean = ids.length / count;
    const chiSquare = sizes.reduce((sum, size) => sum + (size - mean) ** 2 / mean, 0);
    // 99.9th percentile of chi-square with 6 degrees of freedom is 22.5; fewer shards have smaller quantiles.
    expect(chiSquare).toBeLessThan(22.5);
    for (const size of sizes) expect(Math.abs(size - mean)).toBeLessThan(mean * 0.25);
  });

  it('does not move existing ids when lines are added', () => {
    const before = ids.map((id) => shardOf(id, 7));
    const grown = [...Array.from({ length: 300 }, (_, i) => `new-${i}`), ...ids];
    expect(grown.slice(300).map((id) => shardOf(id, 7))).toEqual(before);
  });

  it('rejects a shard count below 1', () => {
    expect(() => shardOf('a', 0)).toThrow(RangeError);
    expect(() => shardOf('a', 1.5)).toThrow(RangeError);
  });
});
