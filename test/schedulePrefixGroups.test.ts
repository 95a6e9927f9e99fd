import { PrefixIndex } from '../src/schedule/prefixIndex';
import { Scheduler } from '../src/schedule/scheduler';

const block = (seed: number) => Array.from({ length: 16 }, (_, i) => seed * 100 + i);

test('requests sharing a prefix are queued together, groups ordered by their longest prompt', () => {
  const items = [
    { name: 'a1', promptLength: 40, group: 'A' },
    { name: 'solo', promptLength: 60 },
    { name: 'b1', promptLength: 30, group: 'B' },
    { name: 'a2', promptLength: 70, group: 'A' },
    { name: 'b2', promptLength: 20, group: 'B' },
  ];
  const scheduler = new Scheduler(items, { batchSize: 1, maxBatchTokens: 1000 });
  const order: string[] = [];
  while (scheduler.pending > 0) order.push(...scheduler.admit(0).map((item) => item.name));
  expect(order).toEqual(['a2', 'a1', 'solo', 'b1', 'b2']);
  // Without groups: longest first, as before.
  const plain = new Scheduler(items.map(({ name, promptLength }) => ({ name, promptLength })), { batchSize: 1, maxBatchTokens: 1000 });
  const plainOrder: string[] = [];
  while (plain.pending > 0) plainOrder.push(...plain.admit(0).map((item) => item.name));
  expect(plainOrder).toEqual(['a2', 'solo', 'a1', 'b1', 'b2']);
});

test('prefill budget and padding use the part after a cached prefix', () => {
  const items = [1000, 1010, 990].map((promptLength, i) => ({ promptLength, prefillLength: 20 + i * 5 }));
  expect(new Scheduler(items, { batchSize: 8, maxBatchTokens: 512, maxPaddingFraction: 0.5 }).admit(0)).toHaveLength(3);
  expect(new Scheduler(items.map(({ promptLength }) => ({ promptLength })), { batchSize: 8, maxBatchTokens: 512 }).admit(0)).toHaveLength(1);
});

test('prefix index: whole blocks, a partial last block, other prompts needed, samples of one prompt count once', () => {
  const base = [...block(1), ...block(2)];
  const p = [...base, 7, 8, 9];
  const q = [...base, ...block(3)];
  const lone = [...block(9), 1];
  const index = new PrefixIndex([p, q, p, lone]); // p twice: n = 2 samples share one array
  expect(index.sharedPrefix(p)?.length).toBe(32);
  expect(index.sharedPrefix(q)?.length).toBe(32);
  expect(index.sharedPrefix(lone)).toBeNull();
  expect(index.sharedPrefix(p)?.group).toBe(index.sharedPrefix(q)?.group);
  // The same content in another array (another request) shares everything but its last token.
  const copy = [...p];
  const again = new PrefixIndex([p, copy]);
  expect(again.sharedPrefix(copy)?.length).toBe(p.length - 1);
  // A prompt that is another's prefix.
  const short = base.slice(0, 20);
  expect(new PrefixIndex([short, q]).sharedPrefix(short)?.length).toBe(16);
  expect(new PrefixIndex([base, q]).sharedPrefix(base)?.length).toBe(31);
});
