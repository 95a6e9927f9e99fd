import { PaddingProtocol } from '../padding/paddingProtocol';
import { StepRunner } from '../runtime/stepRunner';

/**
 * Whether, on this graph, a prompt prefilled in two parts (a prefix, then the rest over its cache) gives logits
 * bit-identical to one prefill of the whole — the condition for prefix caching to leave outputs unchanged. Measured
 * because it depends on the graph, not on qwen-gen: it holds on every float32-KV graph and on GroupQueryAttention graphs
 * with float16 KV, but not on a plain graph with float16 KV, whose one-step prefill attends over keys and values before
 * their rounding to float16 while any later step reads the rounded cache. Two blocks of `prompt`, three small steps.
 */
export async function prefixReuseIsExact(runner: StepRunner, protocol: PaddingProtocol, prompt: readonly number[], blockSize: number): Promise<boolean> {
  const tokens = prompt.slice(0, Math.min(prompt.length, 2 * blockSize));
  const split = Math.min(blockSize, tokens.length - 1);
  const whole = await runner.step(protocol.prefill([tokens]));
  const expected = whole.logits.row(0, tokens.length - 1).slice(); // the next step may reuse the logits buffer
  const head = protocol.prefill([tokens.slice(0, split)]);
  const rows = protocol.afterPrefill(head, (await runner.step(head)).present, [tokens.slice(0, split)]);
  const feeds = protocol.extend(rows, [tokens.slice(split)]);
  const actual = (await runner.step(feeds)).logits.row(0, feeds.logitColumns[0]);
  return actual.length === expected.length && actual.every((value, i) => Object.is(value, expected[i]));
}
