import { RuntimeDescription } from './stepRunner';

/**
 * Copies of the KV cache a runtime holds at once, for the memory budget: onnxruntime-node holds the past, the present
 * onnxruntime computes and the JS copy of it; the direct runtime the live cache plus its pool's spares (at most 1.5 ×
 * its largest memory: the copy made while the cache grows, or the alternating buffer of a plain graph, and prefill or
 * prefix copies), all with a quarter of headroom.
 */
export function kvCopiesOf(runtime: RuntimeDescription['name']): number {
  return runtime === 'onnxruntime-node' ? 3 : 2.5;
}

/** What a decode step does with the KV cache on this runtime and graph (the report's `model.runtime.kv_handling`). */
export function kvHandlingOf(runtime: RuntimeDescription['name'], sharePastPresent: boolean): string {
  if (runtime === 'onnxruntime-node') return 'every step copies the whole KV cache into new memory (onnxruntime-node returns copies of all outputs)';
  return sharePastPresent
    ? "in place: GroupQueryAttention writes each step's keys and values into the past buffer (grown in chunks)"
    : "two reused buffers alternate: the graph's own concat is the only copy of the cache per step";
}
