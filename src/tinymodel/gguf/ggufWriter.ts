import * as fs from 'fs';
import * as os from 'os';
import { GGML_TYPE_ID, GgufTensorType, tensorBytes } from './ggmlTypes';

/**
 * A GGUF version 3 file (ggml's gguf.h / docs/gguf.md), little-endian:
 *   "GGUF", uint32 version, uint64 tensor count, uint64 metadata count,
 *   metadata: key (uint64 length + UTF-8), uint32 value type, value (arrays: uint32 element type, uint64 count, elements),
 *   tensor infos: name, uint32 n_dims, uint64 ne[n_dims] (ne[0] = the innermost, contiguous dimension), uint32 ggml type,
 *   uint64 offset from the start of the data section,
 *   padding to `general.alignment` (32 when absent), then every tensor's data, each starting at a multiple of it.
 * Tensor data is produced one tensor at a time while writing, so no more than one tensor is in memory.
 */
export const GGUF_ALIGNMENT = 32;
const GGUF_VERSION = 3;

/** gguf_type: the metadata value types. */
export const GgufValueType = Object.freeze({
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
});

interface TensorEntry {
  name: string;
  ne: number[];
  type: GgufTensorType;
  bytes: number;
  produce: () => Uint8Array | Promise<Uint8Array>;
}

/** Grows a byte buffer as values are appended (metadata and tensor infos; tokenizer arrays make it a few MB). */
class ByteSink {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }

  i32(value: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }

  u64(value: number): void {
    this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(value), this.length);
    this.length += 8;
  }

  f32(value: number): void {
    this.reserve(4);
    this.buffer.writeFloatLE(value, this.length);
    this.length += 4;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buffer, this.length);
    this.length += bytes.length;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class GgufWriter {
  private readonly metadata = new ByteSink();
  private metadataCount = 0;
  private readonly keys = new Set<string>();
  private readonly tensors: TensorEntry[] = [];

  private key(key: string, type: number): void {
    if (this.keys.has(key)) throw new Error(`GGUF metadata key ${key} written twice`);
    this.keys.add(key);
    this.metadata.string(key);
    this.metadata.u32(type);
    this.metadataCount++;
  }

  string(key: string, value: string): this {
    this.key(key, GgufValueType.STRING);
    this.metadata.string(value);
    return this;
  }

  uint32(key: string, value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`GGUF ${key}: ${value} is not a uint32`);
    this.key(key, GgufValueType.UINT32);
    this.metadata.u32(value);
    return this;
  }

  float32(key: string, value: number): this {
    this.key(key, GgufValueType.FLOAT32);
    this.metadata.f32(value);
    return this;
  }

  bool(key: string, value: boolean): this {
    this.key(key, GgufValueType.BOOL);
    this.metadata.u8(value ? 1 : 0);
    return this;
  }

  stringArray(key: string, values: readonly string[]): this {
    this.key(key, GgufValueType.ARRAY);
    this.metadata.u32(GgufValueType.STRING);
    this.metadata.u64(values.length);
    for (const value of values) this.metadata.string(value);
    return this;
  }

  int32Array(key: string, values: readonly number[]): this {
    this.key(key, GgufValueType.ARRAY);
    this.metadata.u32(GgufValueType.INT32);
    this.metadata.u64(values.length);
    for (const value of values) this.metadata.i32(value);
    return this;
  }

  /** `ne` in ggml order (ne[0] = row length); `produce` returns exactly the tensor's encoded bytes when it is written. */
  tensor(name: string, ne: readonly number[], type: GgufTensorType, produce: () => Uint8Array | Promise<Uint8Array>): this {
    if (this.tensors.some((t) => t.name === name)) throw new Error(`GGUF tensor ${name} added twice`);
    const elements = ne.reduce((a, b) => a * b, 1);
    this.tensors.push({ name, ne: [...ne], type, bytes: tensorBytes(type, ne[0], elements), produce });
    return this;
  }

  /** Writes the file; returns its size in bytes. */
  async write(file: string): Promise<number> {
    if (os.endianness() !== 'LE') throw new Error('the GGUF writer writes tensor data in the machine\'s byte order, which must be little-endian');
    const infos = new ByteSink();
    let offset = 0;
    for (const tensor of this.tensors) {
      infos.string(tensor.name);
      infos.u32(tensor.ne.length);
      for (const n of tensor.ne) infos.u64(n);
      infos.u32(GGML_TYPE_ID[tensor.type]);
      infos.u64(offset);
      offset = alignUp(offset + tensor.bytes);
    }
    const header = new ByteSink();
    header.u8(0x47); // "GGUF"
    header.u8(0x47);
    header.u8(0x55);
    header.u8(0x46);
    header.u32(GGUF_VERSION);
    header.u64(this.tensors.length);
    header.u64(this.metadataCount);

    const fd = fs.openSync(file, 'w');
    try {
      let position = 0;
      const put = (bytes: Uint8Array) => {
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
        position += bytes.length;
      };
      put(header.bytes());
      put(this.metadata.bytes());
      put(infos.bytes());
      put(Buffer.alloc(alignUp(position) - position));
      for (const tensor of this.tensors) {
        const bytes = await tensor.produce();
        if (bytes.length !== tensor.bytes) throw new Error(`GGUF tensor ${tensor.name}: ${bytes.length} bytes produced, ${tensor.bytes} expected`);
        put(bytes);
        put(Buffer.alloc(alignUp(position) - position));
      }
      return position;
    } finally {
      fs.closeSync(fd);
    }
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
}
