import { BatchRunner } from '../padding/batchRunner';

/**
 * Whether, on this graph, a prompt prefilled in two parts (a prefix, then the rest over its cache) gives logits
 * bit-identical to one prefill of the whole — the condition for prefix caching to leave outputs unchanged. Measured
 * because it depends on the graph, not on qwen-gen: it holds on every float32-KV graph and on GroupQueryAttention graphs
 * with float16 KV, but not on a plain graph with float16 KV, whose one-step prefill attends over keys and values before
 * their rounding to float16 while any later step reads the rounded cache. Two blocks of `prompt`, three small steps.
 */
export async function prefixReuseIsExact(batch: BatchRunner, prompt: readonly number[], blockSize: number): Promise<boolean> {
  const tokens = prompt.slice(0, Math.min(prompt.length, 2 * blockSize));
  const split = Math.min(blockSize, tokens.length - 1);
  const whole = await batch.prefill([tokens]);
  const expected = whole.logits(0).slice(); // the next step may reuse the logits buffer
  const head = await batch.prefill([tokens.slice(0, split)]);
  const actual = (await batch.extend(head.rows, [tokens.slice(split)])).logits(0);
  return actual.length === expected.length && actual.every((value, i) => Object.is(value, expected[i]));
}
