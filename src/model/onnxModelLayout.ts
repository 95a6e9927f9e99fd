/**
 * Where each field of an ONNX file sits on disk, with the small fields decoded: enough to rewrite the graph's head
 * by copying byte ranges, without reading (or holding in memory) the weights. Initializer payloads are skipped
 * unread; only their position is recorded.
 */
import { onnx } from 'onnx-proto';
import { openFileSource, ProtobufFormatError, StreamingProtoReader, WireType } from './protobufScanner';
import { MODEL_GRAPH, MODEL_OPSET_IMPORT, MODEL_METADATA_PROPS, GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_VALUE_INFO, TENSOR_RAW_DATA } from './onnxFieldNumbers';

/** [start, end) byte offsets in the file; for a field, `start` is its tag. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** Payloads longer than this are weights (or embedded constants) and are never read while scanning. */
export const LARGE_FIELD_BYTES = 64 * 1024;

export type GraphField =
  /** `synthesized`: a node written by a rewrite (encoded from `node`; `span` is empty). */
  | { kind: 'node'; span: ByteSpan; node: onnx.NodeProto; synthesized?: boolean }
  | {
      kind: 'initializer';
      /** A small constant written by a rewrite (encoded from `tensor`; `span` is empty). */
      synthesized?: boolean;
      span: ByteSpan;
      /** Decoded without its large fields (name, dims, data type, external data entries are all kept). */
      tensor: onnx.TensorProto;
      /** The encoded tensor minus its large fields. */
      slimBytes: Buffer;
      /** Where a large embedded raw_data payload sits in the file. */
      rawData?: ByteSpan;
      /** true when a large field other than raw_data was left out of `slimBytes`. */
      droppedOtherLargeField: boolean;
    }
  | { kind: 'input' | 'output' | 'valueInfo'; span: ByteSpan; info: onnx.ValueInfoProto }
  | { kind: 'other'; span: ByteSpan };

export interface ModelLayout {
  fileSize: number;
  /** ModelProto fields in file order (the graph among them). */
  topLevel: { fieldNumber: number; span: ByteSpan }[];
  /** Index of the graph field in `topLevel`. */
  graphIndex: number;
  /** Version of the default ('' / 'ai.onnx') operator set. */
  defaultOpset: number;
  metadata: Map<string, string>;
  graphFields: GraphField[];
}


const GRAPH_VALUE_KINDS: Record<number, 'input' | 'output' | 'valueInfo'> = {
  [GRAPH_INPUT]: 'input',
  [GRAPH_OUTPUT]: 'output',
  [GRAPH_VALUE_INFO]: 'valueInfo',
};

/** Scans an ONNX file. Throws ProtobufFormatError when it is not a single-graph ModelProto. */
export async function scanModelLayout(onnxPath: string): Promise<ModelLayout> {
  const file = await openFileSource(onnxPath);
  try {
    return await scanModel(new StreamingProtoReader(file));
  } finally {
    await file.close();
  }
}

/** Reads only the ModelProto's metadata_props (the graph is skipped unread). */
export async function readModelMetadata(onnxPath: string): Promise<Map<string, string>> {
  const file = await openFileSource(onnxPath);
  try {
    const reader = new StreamingProtoReader(file);
    const metadata = new Map<string, string>();
    while (reader.position < reader.size) {
      const { fieldNumber, wireType } = await reader.tag();
      if (fieldNumber === MODEL_METADATA_PROPS && wireType === WireType.LengthDelimited) {
        const entry = onnx.StringStringEntryProto.decode(await reader.bytes(await reader.varint()));
        metadata.set(entry.key, entry.value);
      } else await reader.skip(wireType);
    }
    return metadata;
  } finally {
    await file.close();
  }
}

async function scanModel(reader: StreamingProtoReader): Promise<ModelLayout> {
  const layout: ModelLayout = {
    fileSize: reader.size,
    topLevel: [],
    graphIndex: -1,
    defaultOpset: 0,
    metadata: new Map(),
    graphFields: [],
  };
  while (reader.position < reader.size) {
    const start = reader.position;
    const { fieldNumber, wireType } = await reader.tag();
    const lengthDelimited = wireType === WireType.LengthDelimited;
    if (fieldNumber === MODEL_GRAPH && lengthDelimited) {
      if (layout.graphIndex >= 0) throw new ProtobufFormatError('the model has more than one graph field');
      layout.graphIndex = layout.topLevel.length;
      layout.graphFields = await scanGraph(reader, await reader.varint());
    } else if (fieldNumber === MODEL_OPSET_IMPORT && lengthDelimited) {
      const opset = onnx.OperatorSetIdProto.decode(await reader.bytes(await reader.varint()));
      if (opset.domain === '' || opset.domain === 'ai.onnx') layout.defaultOpset = toNumber(opset.version);
    } else if (fieldNumber === MODEL_METADATA_PROPS && lengthDelimited) {
      const entry = onnx.StringStringEntryProto.decode(await reader.bytes(await reader.varint()));
      layout.metadata.set(entry.key, entry.value);
    } else await reader.skip(wireType);
    layout.topLevel.push({ fieldNumber, span: { start, end: reader.position } });
  }
  if (layout.graphIndex < 0) throw new ProtobufFormatError('the model has no graph');
  return layout;
}

async function scanGraph(reader: StreamingProtoReader, length: number): Promise<GraphField[]> {
  const end = reader.position + length;
  const fields: GraphField[] = [];
  while (reader.position < end) {
    const start = reader.position;
    const { fieldNumber, wireType } = await reader.tag();
    const valueKind = GRAPH_VALUE_KINDS[fieldNumber];
    if (wireType !== WireType.LengthDelimited) {
      await reader.skip(wireType);
      fields.push({ kind: 'other', span: { start, end: reader.position } });
    } else if (fieldNumber === GRAPH_NODE) {
      const slim = await readSlimFields(reader, await reader.varint());
      fields.push({ kind: 'node', span: { start, end: reader.position }, node: onnx.NodeProto.decode(slim.bytes) });
    } else if (fieldNumber === GRAPH_INITIALIZER) {
      const slim = await readSlimFields(reader, await reader.varint(), TENSOR_RAW_DATA);
      fields.push({
        kind: 'initializer',
        span: { start, end: reader.position },
        tensor: onnx.TensorProto.decode(slim.bytes),
        slimBytes: slim.bytes,
        rawData: slim.watched,
        droppedOtherLargeField: slim.droppedOther,
      });
    } else if (valueKind) {
      const info = onnx.ValueInfoProto.decode(await reader.bytes(await reader.varint()));
      fields.push({ kind: valueKind, span: { start, end: reader.position }, info });
    } else {
      reader.skipBytes(await reader.varint());
      fields.push({ kind: 'other', span: { start, end: reader.position } });
    }
  }
  if (reader.position !== end) throw new ProtobufFormatError('a graph field runs past the end of the graph');
  return fields;
}

interface SlimFields {
  bytes: Buffer;
  /** Position of the large `watchedField` payload, when it was left out. */
  watched?: ByteSpan;
  droppedOther: boolean;
}

/** A message's bytes minus its length-delimited fields over LARGE_FIELD_BYTES (skipped on disk, never read). */
async function readSlimFields(reader: StreamingProtoReader, length: number, watchedField?: number): Promise<SlimFields> {
  const end = reader.position + length;
  if (length <= LARGE_FIELD_BYTES) return { bytes: await reader.bytes(length), droppedOther: false };
  const kept: Buffer[] = [];
  const result: SlimFields = { bytes: Buffer.alloc(0), droppedOther: false };
  while (reader.position < end) {
    const fieldStart = reader.position;
    const { fieldNumber, wireType } = await reader.tag();
    if (wireType === WireType.LengthDelimited) {
      const payloadLength = await reader.varint();
      if (payloadLength > LARGE_FIELD_BYTES) {
        if (fieldNumber === watchedField && !result.watched) {
          result.watched = { start: reader.position, end: reader.position + payloadLength };
        } else result.droppedOther = true;
        reader.skipBytes(payloadLength);
        continue;
      }
      reader.skipBytes(payloadLength);
    } else await reader.skip(wireType);
    const fieldEnd = reader.position;
    reader.position = fieldStart;
    kept.push(await reader.bytes(fieldEnd - fieldStart));
  }
  if (reader.position !== end) throw new ProtobufFormatError('a field runs past the end of its message');
  result.bytes = Buffer.concat(kept);
  return result;
}

/** The op type as graphInfo keys it: `OpType` in the default domain, `domain:OpType` otherwise. */
export function opTypeKeyOf(node: Pick<onnx.INodeProto, 'domain' | 'opType'>): string {
  const domain = node.domain ?? '';
  return domain === '' || domain === 'ai.onnx' ? String(node.opType) : `${domain}:${node.opType}`;
}

/** Node count per op type of a field list (the same keys as GraphInfo.opTypes). */
export function opTypeCounts(fields: readonly GraphField[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const field of fields) if (field.kind === 'node') counts[opTypeKeyOf(field.node)] = (counts[opTypeKeyOf(field.node)] ?? 0) + 1;
  return counts;
}

/** protobufjs decodes int64 fields as Long objects (the `long` package is installed) or numbers. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}
