/**
 * Where an initializer's bytes are, and the external-data tensors a derived graph writes: the pieces the rewrites that
 * read weights and write their own copies (quantizedLmHead.ts, signedWeights.ts) share.
 */
import * as path from 'path';
import { promises as fsp } from 'fs';
import { onnx } from 'onnx-proto';
import { GraphField } from './onnxModelLayout';

/** A byte range of a file: an initializer's payload. */
export interface ByteSource {
  file: string;
  offset: number;
  length: number;
}

type InitializerField = Extract<GraphField, { kind: 'initializer' }>;

/**
 * The file range holding an initializer's payload: its external data (`onnxPath` resolves a relative location), or a
 * large raw_data payload embedded in the graph file. A small embedded payload is not in the range form (it was decoded
 * with the tensor: `tensor.rawData`). `expectedLength` fills an external entry without a length. The reason is a phrase
 * to follow the caller's name for the tensor ("has no external-data location").
 */
export function initializerSource(field: InitializerField, onnxPath: string, expectedLength: number): ByteSource | { reason: string } {
  const tensor = field.tensor;
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const entry = (key: string) => tensor.externalData.find((e) => e.key === key)?.value;
    const location = entry('location');
    if (!location) return { reason: 'has no external-data location' };
    return { file: path.join(path.dirname(onnxPath), location), offset: Number(entry('offset') ?? 0), length: Number(entry('length') ?? expectedLength) };
  }
  if (field.rawData && !field.droppedOtherLargeField) return { file: onnxPath, offset: field.rawData.start, length: field.rawData.end - field.rawData.start };
  return { reason: 'is not stored as raw bytes' };
}

/** A tensor whose data is `length` bytes at `offset` of `location` (a file beside the graph). */
export function externalTensor(name: string, dataType: number, dims: onnx.ITensorProto['dims'], location: string, offset: number, length: number): onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType,
    dims,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ],
  });
}

export async function readFully(file: fsp.FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buffer.length; ) {
    const { bytesRead } = await file.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead <= 0) throw new Error(`the weight file ended at byte ${position + done}`);
    done += bytesRead;
  }
}

export async function writeFully(file: fsp.FileHandle, bytes: Uint8Array, position: number, length = bytes.length): Promise<void> {
  for (let done = 0; done < length; ) done += (await file.write(bytes, done, length - done, position + done)).bytesWritten;
}
