import * as os from 'node:os';
import { currentMemoryFacts, defaultMemoryBudget, parseByteSize, planMemory, prefillStepBytes } from '../../src/schedule/memoryBudget';

const QWEN3_06B = {
  kv: { layers: 28, kvHeads: 8, headDim: 128, dtype: 'float32' as const },
  kvCopies: 3,
  vocabSize: 151936,
  hiddenSize: 1024,
  intermediateSize: 3072,
  heads: 16,
};

test('KV bytes per token follow the shape: layers × 2 × kv heads × head dim × dtype bytes', () => {
  const plan = planMemory({ ...QWEN3_06B, budgetBytes: 8 * 1024 ** 3, logits: 'one-per-row' });
  expect(plan.kvBytesPerToken).toBe(28 * 2 * 8 * 128 * 4); // 229,376 bytes: 224 KiB per token
  const fp16 = planMemory({ ...QWEN3_06B, kv: { ...QWEN3_06B.kv, dtype: 'float16' }, budgetBytes: 8 * 1024 ** 3, logits: 'one-per-row' });
  expect(fp16.kvBytesPerToken).toBe(plan.kvBytesPerToken / 2);
});

test('the plan stays within the budget: prefill step + 3 copies of the largest cache', () => {
  for (const budget of [256 * 1024 ** 2, 1024 ** 3, 8 * 1024 ** 3]) {
    for (const logits of ['one-per-row', 'all-positions'] as const) {
      const plan = planMemory({ ...QWEN3_06B, budgetBytes: budget, logits });
      expect(plan.prefillBytes + plan.maxCacheTokens * plan.kvBytesPerToken * 3).toBeLessThanOrEqual(budget);
      expect(plan.prefillBytes).toBe(prefillStepBytes({ ...QWEN3_06B, budgetBytes: budget, logits }, plan.maxBatchTokens));
    }
  }
});

test('logits for every position shrink the prefill step far more than one logits row per sequence', () => {
  const gathered = planMemory({ ...QWEN3_06B, budgetBytes: 2 * 1024 ** 3, logits: 'one-per-row' });
  const full = planMemory({ ...QWEN3_06B, budgetBytes: 2 * 1024 ** 3, logits: 'all-positions' });
  expect(full.maxBatchTokens).toBeLessThan(gathered.maxBatchTokens);
  // 2 GiB × 0.4 over 2 × 151936 × 4 bytes per position leaves well under 1000 positions.
  expect(full.maxBatchTokens).toBeLessThan(1000);
});

test('a requested --max-batch-tokens is only ever lowered', () => {
  expect(planMemory({ ...QWEN3_06B, budgetBytes: 64 * 1024 ** 3, logits: 'one-per-row', requestedMaxBatchTokens: 100 }).maxBatchTokens).toBe(100);
});

test('byte sizes parse with binary units', () => {
  expect(parseByteSize('8GB')).toBe(8 * 1024 ** 3);
  expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
  expect(parseByteSize('1.5g')).toBe(Math.floor(1.5 * 1024 ** 3));
  expect(parseByteSize('1000')).toBe(1000);
  expect(parseByteSize('lots')).toBeNull();
  expect(parseByteSize('0')).toBeNull();
});

describe('the default --max-memory reads the cgroup limit', () => {
  const GiB = 1024 ** 3;
  test('in a 2 GiB pod on a 64 GiB machine: half of (limit − what the process already uses)', () => {
    expect(defaultMemoryBudget({ freeBytes: 60 * GiB, constrainedBytes: 2 * GiB, rssBytes: 0.5 * GiB })).toBe(0.75 * GiB);
  });
  test('no limit (undefined, 0 or ~2^64 as cgroups report it): half of the free memory', () => {
    for (const constrainedBytes of [undefined, 0, 2 ** 64, 9223372036854771712]) {
      expect(defaultMemoryBudget({ freeBytes: 8 * GiB, constrainedBytes, rssBytes: GiB })).toBe(4 * GiB);
    }
  });
  test('a limit above the free memory: the free memory bounds it; a process over its limit gets 0', () => {
    expect(defaultMemoryBudget({ freeBytes: 2 * GiB, constrainedBytes: 16 * GiB, rssBytes: GiB })).toBe(GiB);
    expect(defaultMemoryBudget({ freeBytes: 8 * GiB, constrainedBytes: GiB, rssBytes: 2 * GiB })).toBe(0);
  });
  test('a plan made before the session loads subtracts what loading will take (prepacked weights), within a limit too', () => {
    expect(defaultMemoryBudget({ freeBytes: 8 * GiB, rssBytes: GiB, notYetLoadedBytes: 2 * GiB })).toBe(3 * GiB);
    expect(defaultMemoryBudget({ freeBytes: 60 * GiB, constrainedBytes: 4 * GiB, rssBytes: 0.5 * GiB, notYetLoadedBytes: 1.5 * GiB })).toBe(GiB);
    expect(defaultMemoryBudget({ freeBytes: GiB, rssBytes: GiB, notYetLoadedBytes: 2 * GiB })).toBe(0);
  });
  test('this process: the real facts (process.constrainedMemory, availableMemory) give at most half of the free memory', () => {
    const facts = currentMemoryFacts();
    expect(facts.rssBytes).toBeGreaterThan(0);
    expect(defaultMemoryBudget(facts)).toBeLessThanOrEqual(Math.floor(os.freemem() * 0.5) + 64 * 1024 * 1024);
  });
});
