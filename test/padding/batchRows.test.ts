import { appendMaskColumns, compactMask } from '../../src/padding/batchRows';

const rowsOf = (mask: BigInt64Array, width: number) =>
  Array.from({ length: mask.length / width }, (_, b) => Array.from(mask.subarray(b * width, (b + 1) * width), Number).join(''));

test('compactMask: each row\'s ones at its side, with room to grow', () => {
  const right = compactMask([3, 1, 2], 3, 'right');
  expect(rowsOf(right, 3)).toEqual(['111', '100', '110']);
  expect(compactMask([3, 1, 2], 3, 'left').join('')).toBe([1, 1, 1, 0, 0, 1, 0, 1, 1].join(''));
  expect(right.buffer.byteLength / 8).toBeGreaterThan(right.length);
});

test('appendMaskColumns grows the mask in its own memory while there is room, keeping every row (holes included)', () => {
  let mask = compactMask([3, 1, 2], 3, 'right');
  const buffer = mask.buffer;
  let width = 3;
  for (let step = 0; step < 5; step++) {
    mask = appendMaskColumns(mask, 3, width, 1);
    width++;
    expect(mask.buffer).toBe(buffer);
  }
  expect(rowsOf(mask, width)).toEqual(['11111111', '10011111', '11011111']);
  // Two columns at once (an extend by two tokens), then past the room: copied into new memory, same content.
  mask = appendMaskColumns(mask, 3, width, 2);
  width += 2;
  expect(rowsOf(mask, width)).toEqual(['1111111111', '1001111111', '1101111111']);
  let copies = 0;
  for (let step = 0; step < 40; step++) {
    const before = mask.buffer;
    mask = appendMaskColumns(mask, 3, width, 1);
    width++;
    if (mask.buffer !== before) copies++;
  }
  expect(copies).toBeGreaterThanOrEqual(1);
  expect(copies).toBeLessThanOrEqual(2);
  expect(rowsOf(mask, width)).toEqual(['1'.repeat(width), `1001${'1'.repeat(width - 4)}`, `1101${'1'.repeat(width - 4)}`]);
});
