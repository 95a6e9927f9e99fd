import * as ort from 'onnxruntime-node';

/** Stepping a graph directly through onnxruntime-node (the builder's tests: no qwen-gen code between them and the graph). */

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = ort.InferenceSession.OnnxValueMapType;

/** An int64 [rows, columns] tensor. */
export function int64(rows: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);
}

/** The empty `past_key_values.*` of a prefill. */
export function emptyPast(shape: { layers: number; kvHeads: number; headDim: number; kvDtype?: 'float32' | 'float16' }, batch: number): Feeds {
  const dims = [batch, shape.kvHeads, 0, shape.headDim];
  const feeds: Feeds = {};
  for (let l = 0; l < shape.layers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] =
        shape.kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    }
  }
  return feeds;
}

/** A step's `present.*` fed back as the next step's `past_key_values.*`. */
export function presentAsPast(outputs: Outputs, layers: number): Feeds {
  const feeds: Feeds = {};
  for (let l = 0; l < layers; l++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${l}.${kind}`] = outputs[`present.${l}.${kind}`] as ort.Tensor;
  }
  return feeds;
}

/** Logits of row b at step column s, as a view (onnxruntime-node returns new buffers every run). */
export function logitsAt(outputs: Outputs, b: number, s: number): Float32Array {
  const logits = outputs.logits as ort.Tensor;
  const [, columns, vocab] = logits.dims;
  return (logits.data as Float32Array).subarray((b * columns + s) * vocab, (b * columns + s + 1) * vocab);
}

/** Index of the first largest value. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
