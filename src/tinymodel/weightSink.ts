import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { DataType, float32Tensor, littleEndianBytes } from './onnxTensors';

/** Where weight tensors go: inside the protobuf, or streamed to an external data file. */
export interface WeightSink {
  /** Stores `data` and returns the initializer to put in the graph. The sink may not keep `data`. */
  add(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto;
  /** Stores a tensor of any element type given as its little-endian bytes. */
  addBytes(name: string, dims: readonly number[], dataType: number, bytes: Uint8Array): onnx.ITensorProto;
  close(): void;
}

/** Weights stored as raw_data inside model.onnx (the protobuf must stay under 2 GB). */
export class EmbeddedWeightSink implements WeightSink {
  add(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto {
    return float32Tensor(name, data, dims);
  }

  addBytes(name: string, dims: readonly number[], dataType: number, bytes: Uint8Array): onnx.ITensorProto {
    return { name, dims: [...dims], dataType, rawData: bytes };
  }

  close(): void {}
}

/** Alignment of each tensor in the data file, so onnxruntime can map tensors straight from disk. */
const EXTERNAL_DATA_ALIGNMENT = 4096;

/**
 * Weights written one by one to a single external data file (ONNX external data: location,
 * offset and length as strings, relative to the model file), so no more than one tensor is in memory.
 */
export class ExternalDataSink implements WeightSink {
  private readonly fd: number;
  private offset = 0;
  private readonly location: string;

  constructor(readonly dataPath: string) {
    this.location = path.basename(dataPath);
    this.fd = fs.openSync(dataPath, 'w');
  }

  add(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto {
    return this.addBytes(name, dims, DataType.FLOAT, littleEndianBytes(data));
  }

  addBytes(name: string, dims: readonly number[], dataType: number, bytes: Uint8Array): onnx.ITensorProto {
    const start = Math.ceil(this.offset / EXTERNAL_DATA_ALIGNMENT) * EXTERNAL_DATA_ALIGNMENT;
    writeFully(this.fd, bytes, start);
    this.offset = start + bytes.length;
    return {
      name,
      dims: [...dims],
      dataType,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.location },
        { key: 'offset', value: String(start) },
        { key: 'length', value: String(bytes.length) },
      ],
    };
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  const chunk = 1 << 30; // writeSync moves at most ~2 GB per call; stay well below
  for (let done = 0; done < bytes.length; ) {
    const length = Math.min(chunk, bytes.length - done);
    done += fs.writeSync(fd, bytes, done, length, position + done);
  }
}
