import { DIRECT_KV_COPIES } from './direct/kvMemoryPool';
import { RuntimeDescription } from './stepRunner';

/** onnxruntime-node holds the past it was given, the present onnxruntime computes and the JS copy `run` returns of it. */
const NODE_KV_COPIES = 3;

/** Copies of the KV cache a runtime holds at once, for the memory budget (the direct runtime's follow from its pool). */
export function kvCopiesOf(runtime: RuntimeDescription['name']): number {
  return runtime === 'onnxruntime-node' ? NODE_KV_COPIES : DIRECT_KV_COPIES;
}

/** What a decode step does with the KV cache on this runtime and graph (the report's `model.runtime.kv_handling`). */
export function kvHandlingOf(runtime: RuntimeDescription['name'], sharePastPresent: boolean): string {
  if (runtime === 'onnxruntime-node') return 'every step copies the whole KV cache into new memory (onnxruntime-node returns copies of all outputs)';
  return sharePastPresent
    ? "in place: GroupQueryAttention writes each step's keys and values into the past buffer (grown in chunks)"
    : "two reused buffers alternate: the graph's own concat is the only copy of the cache per step";
}
