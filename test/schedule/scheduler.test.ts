import { Scheduler } from '../../src/schedule/scheduler';

interface Item { id: number; promptLength: number }

function items(lengths: number[]): Item[] {
  return lengths.map((promptLength, id) => ({ id, promptLength }));
}

test('admits longest first, stable for equal lengths', () => {
  const scheduler = new Scheduler(items([5, 9, 9, 1, 7]), { batchSize: 10, maxBatchTokens: 1000, maxPaddingFraction: 1 });
  expect(scheduler.admit(0).map((i) => i.id)).toEqual([1, 2, 4, 0, 3]);
});

test('never admits more rows than are free', () => {
  const scheduler = new Scheduler(items([3, 3, 3, 3, 3]), { batchSize: 4, maxBatchTokens: 1000 });
  expect(scheduler.admit(1)).toHaveLength(3);
  expect(scheduler.admit(4)).toHaveLength(0);
  expect(scheduler.admit(3)).toHaveLength(1);
  expect(scheduler.admit(0)).toHaveLength(1);
  expect(scheduler.pending).toBe(0);
});

test('a group padded to its longest prompt stays within the token budget', () => {
  const scheduler = new Scheduler(items([100, 60, 50, 40, 30]), { batchSize: 8, maxBatchTokens: 250, maxPaddingFraction: 1 });
  // 100 * 2 = 200 fits, 100 * 3 = 300 does not.
  expect(scheduler.admit(0).map((i) => i.promptLength)).toEqual([100, 60]);
  // 50 * 4 = 200 fits... but only 3 remain: 50, 40, 30.
  expect(scheduler.admit(0).map((i) => i.promptLength)).toEqual([50, 40, 30]);
});

test('a prompt longer than the budget is still admitted alone (chunked prefill), so nothing starves', () => {
  const scheduler = new Scheduler(items([5000, 10]), { batchSize: 8, maxBatchTokens: 256 });
  expect(scheduler.admit(0).map((i) => i.promptLength)).toEqual([5000]);
  expect(scheduler.admit(1).map((i) => i.promptLength)).toEqual([10]);
});

test('every request is admitted exactly once, whatever the interleaving of admissions and completions', () => {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 50; trial++) {
    const lengths = Array.from({ length: 1 + Math.floor(random() * 60) }, () => 1 + Math.floor(random() * 600));
    const batchSize = 1 + Math.floor(random() * 8);
    const scheduler = new Scheduler(items(lengths), { batchSize, maxBatchTokens: 64 + Math.floor(random() * 1000) });
    const seen: number[] = [];
    let running = 0;
    while (scheduler.pending > 0) {
      const group = scheduler.admit(running);
      expect(running + group.length).toBeLessThanOrEqual(batchSize);
      seen.push(...group.map((i) => i.id));
      running += group.length;
      running -= Math.floor(random() * (running + 1)); // some rows finish
    }
    expect(seen.sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
  }
});

test('drain returns what was never started', () => {
  const scheduler = new Scheduler(items([1, 2, 3]), { batchSize: 1, maxBatchTokens: 100 });
  scheduler.admit(0);
  expect(scheduler.drain().map((i) => i.id).sort()).toEqual([0, 1]);
  expect(scheduler.pending).toBe(0);
});

test('the cache budget holds running rows and the admitted group, each grown to prompt + max_tokens', () => {
  const waiting = [100, 90, 80, 70].map((promptLength, id) => ({ id, promptLength, maxLength: promptLength + 50 }));
  // The cache room as the KV manager gives it: 400 token slots, `running` of them taken.
  const room = (running: number) => ({ holds: (tokens: number) => running + tokens <= 400 });
  const scheduler = new Scheduler(waiting, { batchSize: 8, maxBatchTokens: 10000, maxPaddingFraction: 1 });
  // 150 + 140 = 290 fits, + 130 = 420 does not.
  expect(scheduler.admit(0, room(0)).map((i) => i.id)).toEqual([0, 1]);
  // With 290 already running, the next (130) does not fit.
  expect(scheduler.admit(2, room(290))).toEqual([]);
  // Once rows finish they are admitted: 140 + 130 + 120 = 390 fits in 400.
  expect(scheduler.admit(1, room(140)).map((i) => i.id)).toEqual([2, 3]);
  // Into an empty batch a request is always admitted, even over the budget, so nothing starves.
  const big = new Scheduler([{ id: 9, promptLength: 1000, maxLength: 2000 }], { batchSize: 8, maxBatchTokens: 10000 });
  expect(big.admit(0, room(0)).map((i) => i.id)).toEqual([9]);
});

test('a prefill group keeps its pad positions under the padding limit', () => {
  const scheduler = new Scheduler(items([297, 60, 58, 55, 20, 19, 18, 5]), { batchSize: 8, maxBatchTokens: 100000 });
  const groups: number[][] = [];
  for (let group = scheduler.admit(0); group.length > 0; group = scheduler.admit(0)) groups.push(group.map((i) => i.promptLength));
  expect(groups[0]).toEqual([297]); // 297 + 60 would be 39 % pads
  expect(groups.flat()).toEqual([297, 60, 58, 55, 20, 19, 18, 5]);
  for (const group of groups) {
    const positions = Math.max(...group) * group.length;
    const real = group.reduce((a, b) => a + b, 0);
    expect(positions - real).toBeLessThanOrEqual(0.2 * positions);
  }
});
