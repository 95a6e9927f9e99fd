import { Scheduler } from '../../src/schedule/scheduler';

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
