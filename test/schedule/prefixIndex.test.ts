import { PrefixIndex } from '../../src/schedule/prefixIndex';

const block = (seed: number) => Array.from({ length: 16 }, (_, i) => seed * 100 + i);

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
