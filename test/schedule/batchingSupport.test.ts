import { effectiveBatchSize } from '../../src/schedule/batchingSupport';
import { fitToContext } from '../../src/schedule/contextFit';

const batchable = { hasAttentionMask: true, hasPositionIds: true, attention: 'plain' as const, rotary: 'ops' as const, opTypes: {} };

describe('effectiveBatchSize: the batch-size-1 decision the diagnostics report', () => {
  test('a batchable graph runs at the requested batch size', () => {
    expect(effectiveBatchSize(batchable, 8)).toBe(8);
  });

  test.each([
    ['no attention_mask', { hasAttentionMask: false }],
    ['no position_ids on plain attention', { hasPositionIds: false }],
    ['dynamic quantization', { opTypes: { DynamicQuantizeLinear: 4 } }],
  ])('%s: batch size 1', (_, change) => {
    expect(effectiveBatchSize({ ...batchable, ...change }, 8)).toBe(1);
  });

  test("GroupQueryAttention's fused rotary derives positions from the mask: no position_ids needed", () => {
    expect(effectiveBatchSize({ ...batchable, hasPositionIds: false, attention: 'gqa', rotary: 'gqa-fused' }, 8)).toBe(8);
  });
});

describe('fitToContext: max_tokens clamping', () => {
  test('fits, clamped to the room left, refused when the prompt fills the context', () => {
    expect(fitToContext('a', 10, 16, 100)).toMatchObject({ verdict: 'fits', maxTokens: 16 });
    expect(fitToContext('b', 90, 16, 100)).toMatchObject({ verdict: 'clamped', maxTokens: 10 });
    expect(fitToContext('c', 100, 16, 100)).toMatchObject({ verdict: 'refused', maxTokens: 0 });
  });
});
