/**
 * A minimal protobuf wire-format reader for scanning large files without loading them.
 *
 * Two halves:
 * - `StreamingProtoReader` walks a file through a small reusable buffer, so a message's fields can be
 *   visited one by one and a multi-hundred-MB field (an ONNX initializer's raw_data) is skipped by
 *   moving the read position, never read.
 * - `ProtoCursor` parses a small message that is already in memory, synchronously.
 * `readSlimMessage` bridges them: it returns a message's bytes with its oversized fields left out.
 */
import { promises as fsp } from 'fs';

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** Random-access bytes, e.g. a file. Injectable so tests can count what a scan reads. */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `target[targetOffset..]`; returns the count read. */
  read(target: Buffer, targetOffset: number, length: number, position: number): Promise<number>;
}

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await fsp.open(path, 'r');
  try {
    const { size } = await handle.stat();
    return {
      size,
      read: async (target, targetOffset, length, position) =>
        (await handle.read(target, targetOffset, length, position)).bytesRead,
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

const MAX_VARINT_BYTES = 10;

export interface DecodedVarint {
  value: number;
  byteLength: number;
}

/**
 * Decodes a varint at `offset`. With `signed`, the value is read as a two's-complement int64
 * (protobuf writes negative int32/int64 values as 10-byte varints, e.g. GQA's local_window_size = -1).
 * Values beyond 2^53 lose precision; nothing this scanner reads gets near that.
 */
export function decodeVarint(buffer: Uint8Array, offset: number, limit: number, signed = false): DecodedVarint {
  let value = 0;
  let multiplier = 1;
  let index = offset;
  for (;;) {
    if (index >= limit) throw new ProtobufFormatError(`truncated varint at byte ${offset}`);
    const byte = buffer[index++];
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) break;
    multiplier *= 128;
    if (index - offset >= MAX_VARINT_BYTES) throw new ProtobufFormatError(`varint longer than 10 bytes at byte ${offset}`);
  }
  const byteLength = index - offset;
  if (signed && byteLength > 8) value = Number(BigInt.asIntN(64, decodeVarintBig(buffer, offset, byteLength)));
  return { value, byteLength };
}

function decodeVarintBig(buffer: Uint8Array, offset: number, byteLength: number): bigint {
  let value = 0n;
  for (let i = byteLength - 1; i >= 0; i--) value = (value << 7n) | BigInt(buffer[offset + i] & 0x7f);
  return value;
}

export function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

export class ProtobufFormatError extends Error {
  override name = 'ProtobufFormatError';
}

export interface FieldTag {
  fieldNumber: number;
  wireType: WireType;
}

function splitTag(tag: number): FieldTag {
  return { fieldNumber: Math.floor(tag / 8), wireType: tag % 8 };
}

/** Synchronous reader over one in-memory message. */
export class ProtoCursor {
  private offset: number;

  constructor(private readonly buffer: Uint8Array, start = 0, private readonly end = buffer.length) {
    this.offset = start;
  }

  get done(): boolean {
    return this.offset >= this.end;
  }

  tag(): FieldTag {
    return splitTag(this.varint());
  }

  varint(): number {
    const { value, byteLength } = decodeVarint(this.buffer, this.offset, this.end);
    this.offset += byteLength;
    return value;
  }

  int64(): number {
    const { value, byteLength } = decodeVarint(this.buffer, this.offset, this.end, true);
    this.offset += byteLength;
    return value;
  }

  /** The payload of a length-delimited field, as a view (no copy). */
  bytes(): Uint8Array {
    const length = this.varint();
    const start = this.offset;
    this.advance(length);
    return this.buffer.subarray(start, start + length);
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  /** A length-delimited field parsed as a nested message. */
  message(): ProtoCursor {
    const payload = this.bytes();
    return new ProtoCursor(payload);
  }

  skip(wireType: WireType): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.advance(this.varint());
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        throw new ProtobufFormatError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(length: number): void {
    if (this.offset + length > this.end) throw new ProtobufFormatError('field runs past the end of its message');
    this.offset += length;
  }
}

export const DEFAULT_CHUNK_BYTES = 64 * 1024;

/** Forward reader over a ByteSource through one reusable buffer; skipping costs no I/O. */
export class StreamingProtoReader {
  private buffer: Buffer;
  private bufferStart = 0;
  private bufferEnd = 0;
  position = 0;

  constructor(private readonly source: ByteSource, private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
  }

  get size(): number {
    return this.source.size;
  }

  async tag(): Promise<FieldTag> {
    return splitTag(await this.varint());
  }

  async varint(): Promise<number> {
    await this.ensure(Math.min(MAX_VARINT_BYTES, this.size - this.position));
    const { value, byteLength } = decodeVarint(this.buffer, this.position - this.bufferStart, this.bufferEnd - this.bufferStart);
    this.position += byteLength;
    return value;
  }

  async int64(): Promise<number> {
    await this.ensure(Math.min(MAX_VARINT_BYTES, this.size - this.position));
    const { value, byteLength } = decodeVarint(this.buffer, this.position - this.bufferStart, this.bufferEnd - this.bufferStart, true);
    this.position += byteLength;
    return value;
  }

  /** A copy of the next `length` bytes (the internal buffer is reused). */
  async bytes(length: number): Promise<Buffer> {
    await this.ensure(length);
    const start = this.position - this.bufferStart;
    this.position += length;
    return Buffer.from(this.buffer.subarray(start, start + length));
  }

  /** Moves past `length` bytes without reading them. */
  skipBytes(length: number): void {
    if (this.position + length > this.size) throw new ProtobufFormatError('field runs past the end of the file');
    this.position += length;
  }

  async skip(wireType: WireType): Promise<void> {
    switch (wireType) {
      case WireType.Varint:
        await this.varint();
        return;
      case WireType.Fixed64:
        this.skipBytes(8);
        return;
      case WireType.LengthDelimited:
        this.skipBytes(await this.varint());
        return;
      case WireType.Fixed32:
        this.skipBytes(4);
        return;
      default:
        throw new ProtobufFormatError(`unsupported wire type ${wireType}`);
    }
  }

  /** Makes bytes [position, position + length) available in the buffer. */
  private async ensure(length: number): Promise<void> {
    const start = this.position;
    const end = start + length;
    if (start >= this.bufferStart && end <= this.bufferEnd) return;
    if (end > this.size) throw new ProtobufFormatError(`unexpected end of file at byte ${this.size}`);
    let kept = 0;
    if (start >= this.bufferStart && start < this.bufferEnd) {
      kept = this.bufferEnd - start;
      this.buffer.copyWithin(0, start - this.bufferStart, this.bufferEnd - this.bufferStart);
    }
    if (this.buffer.length < length) {
      const grown = Buffer.allocUnsafe(length);
      this.buffer.copy(grown, 0, 0, kept);
      this.buffer = grown;
    }
    const fillTo = Math.min(this.buffer.length, this.size - start);
    let filled = kept;
    while (filled < fillTo) {
      const got = await this.source.read(this.buffer, filled, fillTo - filled, start + filled);
      if (got <= 0) break;
      filled += got;
    }
    if (filled < length) throw new ProtobufFormatError(`could not read ${length} bytes at byte ${start}`);
    this.bufferStart = start;
    this.bufferEnd = start + filled;
    if (this.buffer.length > this.chunkBytes && length <= this.chunkBytes) this.shrinkBuffer(filled);
  }

  /** Returns to the normal chunk size once an oversized read is consumed, keeping what is buffered. */
  private shrinkBuffer(filled: number): void {
    const keep = Math.min(filled, this.chunkBytes);
    const normal = Buffer.allocUnsafe(this.chunkBytes);
    this.buffer.copy(normal, 0, 0, keep);
    this.buffer = normal;
    this.bufferEnd = this.bufferStart + keep;
  }
}

/**
 * Reads the message of `length` bytes at the reader's position and returns its bytes, leaving out every
 * length-delimited field longer than `maxFieldBytes` (skipped on disk, never read). The result parses
 * as the same message minus those fields: ideal for the names and small metadata around huge payloads.
 */
export async function readSlimMessage(reader: StreamingProtoReader, length: number, maxFieldBytes: number): Promise<Buffer> {
  if (length <= maxFieldBytes) return reader.bytes(length);
  const end = reader.position + length;
  const kept: Buffer[] = [];
  while (reader.position < end) {
    const rawTag = await reader.varint();
    const { wireType } = splitTag(rawTag);
    switch (wireType) {
      case WireType.Varint:
        kept.push(encodeVarint(rawTag), await rawVarint(reader));
        break;
      case WireType.Fixed64:
        kept.push(encodeVarint(rawTag), await reader.bytes(8));
        break;
      case WireType.Fixed32:
        kept.push(encodeVarint(rawTag), await reader.bytes(4));
        break;
      case WireType.LengthDelimited: {
        const fieldLength = await reader.varint();
        if (fieldLength > maxFieldBytes) reader.skipBytes(fieldLength);
        else kept.push(encodeVarint(rawTag), encodeVarint(fieldLength), await reader.bytes(fieldLength));
        break;
      }
      default:
        throw new ProtobufFormatError(`unsupported wire type ${wireType}`);
    }
  }
  if (reader.position !== end) throw new ProtobufFormatError('field runs past the end of its message');
  return Buffer.concat(kept);
}

/** The raw bytes of the next varint (so a varint field can be copied unchanged, negative values included). */
async function rawVarint(reader: StreamingProtoReader): Promise<Buffer> {
  const start = reader.position;
  await reader.varint();
  const byteLength = reader.position - start;
  reader.position = start;
  return reader.bytes(byteLength);
}
