import { bindTensor, DirectTensor, DirectValue } from './ortSession';

/**
 * The OrtValues a runner keeps from step to step, one per slot (an input or output it feeds). A slot's value is reused
 * while its tensor has the same memory, type and shape as at the last step — the KV buffers of a GroupQueryAttention
 * cache written in place, the logits buffer, the decode inputs — and replaced (the old one released) when they change:
 * a decode step then creates OrtValues only for what really changed (the attention mask, one column wider each step).
 */
export class StepBindings {
  private readonly values = new Map<string, DirectValue>();
  /** OrtValues created so far (a test and the probe read it). */
  created = 0;

  /** The value for `tensor` in `slot`: the kept one while it wraps the same memory and shape, else a new one. */
  bind(slot: string, tensor: DirectTensor): DirectValue {
    const kept = this.values.get(slot);
    if (kept && kept.matches(tensor)) return kept;
    kept?.release();
    const value = bindTensor(slot, tensor);
    this.created++;
    this.values.set(slot, value);
    return value;
  }

  /**
   * A small int64 input copied into memory this slot keeps (input ids, positions, logits columns), so its value is reused
   * while the shape holds: the copy costs a few elements, a new OrtValue a native call and a shape array.
   */
  stage(slot: string, data: BigInt64Array, dims: readonly number[]): DirectValue {
    const kept = this.values.get(slot);
    const target = kept?.tensor;
    if (kept && target && target.type === 'int64' && sameDims(target.dims, dims) && target.data.length === data.length) {
      (target.data as BigInt64Array).set(data);
      return kept;
    }
    return this.bind(slot, { type: 'int64', data: BigInt64Array.from(data), dims: [...dims] });
  }

  /** Releases every kept value (the runner is released, or its memory is about to be dropped). */
  releaseAll(): void {
    for (const value of this.values.values()) value.release();
    this.values.clear();
  }
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
