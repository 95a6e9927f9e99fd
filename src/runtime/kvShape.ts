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

/** Bytes of key + value over all layers for one cached token of one row. */
export function kvBytesPerToken(shape: KvShape): number {
  return shape.layers * 2 * shape.kvHeads * shape.headDim * bytesPerElement(shape.dtype);
}
