import { KvDtype } from '../kvDtype';

export type { KvDtype } from '../kvDtype';
/** float16 caches are Uint16Array words (Node 20 has no Float16Array): rows are moved as raw bits, never upcast. */
export type KvArray = Float32Array | Uint16Array;

/** Shape of one layer's key or value tensor: [batch, kvHeads, length, headDim]. */
export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  dtype: KvDtype;
}

export function bytesPerElement(dtype: KvDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

export function allocateKv(dtype: KvDtype, elements: number): KvArray {
  return dtype === 'float16' ? new Uint16Array(elements) : new Float32Array(elements);
}

/**
 * The KV shape a session declares: layers from its `past_key_values.N.key` inputs, dtype and dims from the first one;
 * `fallback` (the model's config) where a dim is symbolic. Both runtimes read it here.
 */
export function declaredKvShape(
  inputNames: readonly string[],
  firstKey: { type: string; dims: readonly unknown[] } | undefined,
  fallback: { kvHeads: number; headDim: number },
): KvShape {
  const numeric = (value: unknown, otherwise: number) => (typeof value === 'number' && value > 0 ? value : otherwise);
  return {
    layers: inputNames.filter((name) => /^past_key_values\.\d+\.key$/.test(name)).length,
    dtype: firstKey?.type === 'float16' ? 'float16' : 'float32',
    kvHeads: numeric(firstKey?.dims[1], fallback.kvHeads),
    headDim: numeric(firstKey?.dims[3], fallback.headDim),
  };
}

/** Bytes of key + value over all layers for one cached token of one row. */
export function kvBytesPerToken(shape: KvShape): number {
  return shape.layers * 2 * shape.kvHeads * shape.headDim * bytesPerElement(shape.dtype);
}
