import { onnx } from 'onnx-proto';
import * as os from 'os';
import { float32ToFloat16 } from '../runtime/float16';

export const DataType = onnx.TensorProto.DataType;

/** ONNX raw_data is little-endian; every platform Node ships on is too, which lets us reuse the bytes. */
function assertLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new Error('tiny-model builder requires a little-endian platform');
}

/** Little-endian view over a typed array's bytes (no copy). */
export function littleEndianBytes(data: Float32Array | Uint16Array): Uint8Array {
  assertLittleEndian();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function int64Tensor(name: string, values: readonly number[], dims: readonly number[]): onnx.ITensorProto {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setBigInt64(i * 8, BigInt(value), true));
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: bytes };
}

export function float32Tensor(name: string, data: Float32Array, dims: readonly number[]): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: littleEndianBytes(data) };
}

/** A FLOAT16 tensor from float32 values (rounded to nearest even). */
export function float16Tensor(name: string, data: Float32Array, dims: readonly number[]): onnx.ITensorProto {
  const toHalf = float32ToFloat16; // local alias: hot loop
  const bits = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) bits[i] = toHalf(data[i]);
  return { name, dims: [...dims], dataType: DataType.FLOAT16, rawData: littleEndianBytes(bits) };
}

/** Reads a FLOAT tensor's embedded raw data back into a Float32Array (copying, so alignment never matters). */
export function readFloat32Tensor(tensor: onnx.ITensorProto): Float32Array {
  if (tensor.dataType !== DataType.FLOAT) throw new Error(`${tensor.name}: not a float32 tensor`);
  if (tensor.rawData && tensor.rawData.length > 0) {
    assertLittleEndian();
    const copy = new Uint8Array(tensor.rawData);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  return Float32Array.from(tensor.floatData ?? []);
}
