import * as fs from 'fs';
import * as path from 'path';
import { resolveTinyOptions } from '../resolveTinyOptions';
import { TinyModelOptions } from '../tinyModelOptions';
import { GGUF_TENSOR_TYPES, GgufTensorType, isGgufTensorType } from './ggmlTypes';
import { GGUF_DIR, ggufFileName, writeQwen3Gguf } from './qwen3Gguf';

export { GGUF_TENSOR_TYPES, isGgufTensorType } from './ggmlTypes';
export type { GgufTensorType } from './ggmlTypes';
export { GGUF_DIR, ggufFileName } from './qwen3Gguf';

export interface GgufFileInfo {
  type: GgufTensorType;
  path: string;
  bytes: number;
}

/**
 * Writes `<dir>/gguf/model-<TYPE>.gguf` for each type: the builder model of `options` (same seed ⇒ the same float32
 * weights as its ONNX graphs) in llama.cpp's format. Independent of the graph kind (attention, rotary form, dtype
 * variants): those describe ONNX graphs, not weights.
 */
export async function writeTinyModelGguf(dir: string, options: Partial<TinyModelOptions>, types: readonly GgufTensorType[]): Promise<GgufFileInfo[]> {
  const resolved = resolveTinyOptions(options);
  const outDir = path.join(dir, GGUF_DIR);
  fs.mkdirSync(outDir, { recursive: true });
  const written: GgufFileInfo[] = [];
  for (const type of types) {
    const file = path.join(outDir, ggufFileName(type));
    const partial = `${file}.partial`;
    const bytes = await writeQwen3Gguf(partial, resolved, type);
    fs.renameSync(partial, file); // a killed build leaves no file that looks complete
    written.push({ type, path: file, bytes });
  }
  return written;
}

/** `f32,q8_0` → ['F32', 'Q8_0']; throws naming the accepted types. */
export function parseGgufTypes(list: string): GgufTensorType[] {
  const types = list.split(',').map((name) => name.trim().toUpperCase()).filter(Boolean);
  const unknown = types.filter((type) => !isGgufTensorType(type));
  if (types.length === 0 || unknown.length > 0) {
    throw new Error(`expected a comma-separated list of ${GGUF_TENSOR_TYPES.map((t) => t.toLowerCase()).join(', ')} (got "${list}")`);
  }
  return [...new Set(types)] as GgufTensorType[];
}

/** Why `options`' weights cannot be written as `types` (block formats need rows of a multiple of 32 values), or null. */
export function ggufShapeProblem(options: Partial<TinyModelOptions>, types: readonly GgufTensorType[]): string | null {
  const o = resolveTinyOptions(options);
  const blockTypes = types.filter((type) => type === 'Q8_0' || type === 'Q4_0');
  if (blockTypes.length === 0) return null;
  const rows = { '--hidden-size': o.hiddenSize, '--heads × --head-dim': o.heads * o.headDim, '--intermediate-size': o.intermediateSize };
  const bad = Object.entries(rows).filter(([, n]) => n % 32 !== 0);
  if (bad.length === 0) return null;
  return `${blockTypes.join(', ')} store weights in blocks of 32 along each row; ${bad.map(([flag, n]) => `${flag} is ${n}`).join(', ')} (must be multiples of 32)`;
}
