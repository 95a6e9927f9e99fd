/**
 * Weight dtypes of ONNX exports and the graph file each one lives in, named the way transformers.js names them
 * (its DEFAULT_DTYPE_SUFFIX_MAPPING): `onnx/model{suffix}.onnx`. A leaf: the model loader and the tiny-model builder both
 * name files with it.
 */
export const DTYPE_NAMES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type DtypeName = (typeof DTYPE_NAMES)[number];

export const DTYPE_SUFFIX: Readonly<Record<DtypeName, string>> = Object.freeze({
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
});

export function isDtypeName(value: unknown): value is DtypeName {
  return typeof value === 'string' && (DTYPE_NAMES as readonly string[]).includes(value);
}

/** The graph file of a dtype, relative to the model folder. */
export function onnxFileForDtype(dtype: DtypeName): string {
  return `onnx/model${DTYPE_SUFFIX[dtype]}.onnx`;
}
