import { random } from '@huggingface/transformers';

/** A uniform generator on [0, 1). */
export interface UniformRandom {
  random(): number;
}

export type RequestId = string | number;

/**
 * A per-sample generator: transformers.js `random.Random`, an instance-state Mersenne Twister 19937 that
 * matches Python's `random.Random` (so `createSeededRng(42).random()` is Python's 0.6394267984578837).
 * Each instance has its own state; nothing global is touched. `seed` undefined = OS entropy.
 */
export function createSeededRng(seed: number | undefined): UniformRandom {
  return new random.Random(seed === undefined ? undefined : normaliseSeed(seed));
}

/** Python's `random.seed(int)` uses |n|; non-integers are refused rather than silently truncated. */
function normaliseSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  return Math.abs(seed);
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

/**
 * A stable 53-bit hash of a string: FNV-1a 64 over its UTF-8 bytes, then the splitmix64 finaliser so that
 * neighbouring inputs (ids 1, 2, 3…) land far apart; the top 53 bits are kept (a safe JS integer).
 */
export function stableHash53(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  hash ^= hash >> 30n;
  hash = (hash * 0xbf58476d1ce4e5b9n) & MASK_64;
  hash ^= hash >> 27n;
  hash = (hash * 0x94d049bb133111ebn) & MASK_64;
  hash ^= hash >> 31n;
  return Number(hash >> 11n);
}

/**
 * Seed of sample `sampleIndex` of request `requestId` under the run's `--seed`. Depends only on these three
 * values (canonical form: `JSON.stringify([globalSeed, requestId, sampleIndex])`, so the id "1" and the id 1
 * differ) — never on batch position or input order.
 */
export function deriveSeed(globalSeed: number, requestId: RequestId, sampleIndex: number): number {
  return stableHash53(JSON.stringify([globalSeed, requestId, sampleIndex]));
}

/**
 * Seed of sample `sampleIndex` when the request carries its own `seed`: sample 0 uses it as is (the same
 * seed gives the same output, whatever the id, as with OpenAI), sample i > 0 a value derived from it, so
 * that running a request with `seed: sampleSeedFromRequestSeed(s, i)` reproduces sample i.
 */
export function sampleSeedFromRequestSeed(requestSeed: number, sampleIndex: number): number {
  return sampleIndex === 0 ? requestSeed : stableHash53(JSON.stringify(['sample', requestSeed, sampleIndex]));
}

/**
 * The seed a sample runs with: the request's own `seed` if given, else `--seed` combined with the request id,
 * else undefined (OS entropy: not reproducible).
 */
export function resolveSampleSeed(options: {
  requestSeed: number | undefined;
  globalSeed: number | undefined;
  requestId: RequestId;
  sampleIndex: number;
}): number | undefined {
  const { requestSeed, globalSeed, requestId, sampleIndex } = options;
  if (requestSeed !== undefined) return sampleSeedFromRequestSeed(requestSeed, sampleIndex);
  if (globalSeed !== undefined) return deriveSeed(globalSeed, requestId, sampleIndex);
  return undefined;
}
