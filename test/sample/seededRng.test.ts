import {
  createSeededRng,
  deriveSeed,
  resolveSampleSeed,
  sampleSeedFromRequestSeed,
  stableHash53,
} from '../../src/sample/seededRng';

describe('createSeededRng (transformers.js random.Random, a Python-compatible MT19937)', () => {
  it('reproduces Python random.Random(seed).random()', () => {
    // Values from CPython: random.Random(42).random(), random.Random(7).random()
    expect(createSeededRng(42).random()).toBe(0.6394267984578837);
    expect(createSeededRng(7).random()).toBe(0.32383276483316237);
  });
  it('same seed ⇒ same stream; instances do not share state', () => {
    const a = createSeededRng(123);
    const b = createSeededRng(123);
    const streamA = Array.from({ length: 50 }, () => a.random());
    createSeededRng(123).random(); // a third instance drawing must not disturb b
    const streamB = Array.from({ length: 50 }, () => b.random());
    expect(streamB).toEqual(streamA);
    expect(new Set(streamA).size).toBe(50);
  });
  it('accepts 53-bit seeds and refuses non-integers', () => {
    const big = 2 ** 53 - 1;
    expect(createSeededRng(big).random()).toBe(createSeededRng(big).random());
    expect(createSeededRng(big).random()).not.toBe(createSeededRng(big - 1).random());
    expect(() => createSeededRng(1.5)).toThrow(RangeError);
    expect(() => createSeededRng(Number.NaN)).toThrow(RangeError);
  });
});

describe('deriveSeed', () => {
  it('is a fixed function of (global seed, request id, sample index)', () => {
    // Expected values from an independent Python implementation of FNV-1a 64 + splitmix64 finaliser, top 53 bits,
    // over json.dumps([g, id, i], separators=(",", ":"), ensure_ascii=False).
    expect(deriveSeed(7, 'a', 0)).toBe(7841025726772832);
    expect(deriveSeed(7, 1, 0)).toBe(1416796913450248);
    expect(deriveSeed(7, '1', 0)).toBe(4998665910713874);
    expect(deriveSeed(7, '请求-1', 2)).toBe(1104610551617327);
    expect(deriveSeed(0, 'x', 1)).toBe(6576346370524835);
    expect(stableHash53('["sample",123,2]')).toBe(5438183218707405);
  });
  it('different request ids, sample indices or global seeds give different seeds', () => {
    const seeds = new Set<number>();
    for (let id = 1; id <= 200; id++) for (let sample = 0; sample < 3; sample++) seeds.add(deriveSeed(7, id, sample));
    expect(seeds.size).toBe(600);
    expect(deriveSeed(7, 'a', 0)).not.toBe(deriveSeed(8, 'a', 0));
    for (const seed of seeds) expect(Number.isSafeInteger(seed) && seed >= 0).toBe(true);
  });
});

describe('resolveSampleSeed', () => {
  it('prefers the request seed (sample 0 as is), then --seed with the id, else undefined', () => {
    expect(resolveSampleSeed({ requestSeed: 123, globalSeed: 7, requestId: 'a', sampleIndex: 0 })).toBe(123);
    expect(resolveSampleSeed({ requestSeed: 123, globalSeed: 7, requestId: 'a', sampleIndex: 2 })).toBe(5438183218707405);
    expect(resolveSampleSeed({ requestSeed: undefined, globalSeed: 7, requestId: 'a', sampleIndex: 0 })).toBe(
      7841025726772832,
    );
    expect(resolveSampleSeed({ requestSeed: undefined, globalSeed: undefined, requestId: 'a', sampleIndex: 0 })).toBe(
      undefined,
    );
  });
  it('a request seed does not depend on the id, and sample i is reproducible as a request seed', () => {
    const seedOf = (requestId: string, sampleIndex: number): number | undefined =>
      resolveSampleSeed({ requestSeed: 9, globalSeed: 1, requestId, sampleIndex });
    expect(seedOf('x', 1)).toBe(seedOf('y', 1));
    const derived = sampleSeedFromRequestSeed(9, 1);
    expect(resolveSampleSeed({ requestSeed: derived, globalSeed: 1, requestId: 'z', sampleIndex: 0 })).toBe(derived);
    expect(new Set([0, 1, 2].map((i) => seedOf('x', i))).size).toBe(3);
  });
});
