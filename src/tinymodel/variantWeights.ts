import { onnx } from 'onnx-proto';
import { float32ToFloat16 } from '../runtime/float16';
import { GraphVariant } from './graphVariants';
import { DataType, littleEndianBytes } from './onnxTensors';
import { WeightSpec } from './qwen3Weights';
import { quantizeBnb4Nf4, quantizeMatMulNBits4, quantizePerTensor8Bit } from './weightQuantization';
import { WeightSink } from './weightSink';

/** Initializer names of a quantized projection, as onnxruntime's quantizers name them after the float weight. */
export function quantizedWeightNames(name: string) {
  return {
    /** MatMul4BitsQuantizer */
    q4: `${name}_Q4`,
    q4Scales: `${name}_scales`,
    /** ONNXQuantizer (dynamic, IntegerOps) */
    int8: `${name}_quantized`,
    int8Scale: `${name}_scale`,
    int8ZeroPoint: `${name}_zero_point`,
    /** MatMulBnb4Quantizer */
    bnb4: `${name}_Bnb4`,
    bnb4Absmax: `${name}_absmax`,
  };
}

/**
 * Stores one weight in the form `variant` needs and returns its initializers. The default variant (float32, no
 * quantization) takes the sink's float32 path, so its bytes are those of the builder before variants existed.
 */
export function storeWeight(sink: WeightSink, spec: WeightSpec, data: Float32Array, variant: GraphVariant): onnx.ITensorProto[] {
  const half = variant.weightDtype === 'float16';
  const floatTensor = (name: string, dims: readonly number[], values: Float32Array): onnx.ITensorProto =>
    half ? sink.addBytes(name, dims, DataType.FLOAT16, float16Bytes(values)) : sink.add(name, dims, values);
  const format = variant.linear;
  if (spec.kind !== 'projection' || format.kind === 'float') return [floatTensor(spec.name, spec.dims, data)];

  const [k, n] = spec.dims;
  const names = quantizedWeightNames(spec.name);
  switch (format.kind) {
    case 'matMulNBits': {
      const { packed, scales, kBlocks } = quantizeMatMulNBits4(data, k, n, format.blockSize);
      return [
        sink.addBytes(names.q4, [n, kBlocks, format.blockSize / 2], DataType.UINT8, packed),
        floatTensor(names.q4Scales, [n, kBlocks], scales),
      ];
    }
    case 'dynamic8': {
      const { data: values, scale, zeroPoint } = quantizePerTensor8Bit(data, format.signed);
      const type = format.signed ? DataType.INT8 : DataType.UINT8;
      const zeroPointBytes = format.signed ? new Uint8Array(Int8Array.of(zeroPoint).buffer) : Uint8Array.of(zeroPoint);
      return [
        sink.addBytes(names.int8, [k, n], type, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
        sink.add(names.int8Scale, [], Float32Array.of(scale)),
        sink.addBytes(names.int8ZeroPoint, [], type, zeroPointBytes),
      ];
    }
    case 'bnb4': {
      const { packed, absmax } = quantizeBnb4Nf4(data, k, n, format.blockSize);
      return [sink.addBytes(names.bnb4, [packed.length], DataType.UINT8, packed), floatTensor(names.bnb4Absmax, [absmax.length], absmax)];
    }
  }
}

function float16Bytes(values: Float32Array): Uint8Array {
  const toHalf = float32ToFloat16; // local alias: hot loop
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toHalf(values[i]);
  return littleEndianBytes(bits);
}
