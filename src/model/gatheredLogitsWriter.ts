/**
 * Writes a derived model — the layout's graph fields (some synthesized by a rewrite, see quantizedKernelRewrites.ts), with
 * a GatheredLogitsPlan applied when there is one — as a list of byte ranges: every field kept as it is in the source is
 * copied from the source file; only the changed graph fields are encoded anew.
 *
 * Weights are never copied: an initializer embedded in the source (raw_data) becomes an ONNX external-data
 * reference into the source .onnx file itself (location = its file name, offset/length = where its raw_data bytes
 * sit). So the derived file stays a few kilobytes even for a 2 GB model, and it needs no second copy of the
 * weights on disk. Initializers that already use external data keep their entries, location string included.
 */
import * as path from 'path';
import { promises as fsp } from 'fs';
import { onnx } from 'onnx-proto';
import { encodeVarint, WireType } from './protobufScanner';
import { ByteSpan, GraphField, ModelLayout } from './onnxModelLayout';
import { GatheredLogitsPlan } from './gatheredLogitsPlan';
import { MODEL_GRAPH, MODEL_METADATA_PROPS, GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION } from './onnxFieldNumbers';

type Part = { copy: ByteSpan } | { bytes: Buffer };

/** A derived graph whose head is not rewritten (no logits gathering): every field as the layout has it. */
const UNCHANGED_HEAD: Omit<GatheredLogitsPlan, 'addedInput' | 'replacedOutput'> & Partial<Pick<GatheredLogitsPlan, 'addedInput' | 'replacedOutput'>> = {
  removedNodeFields: new Set(),
  insertAtField: -1,
  newNodes: [],
  newInitializers: [],
  removedInitializers: new Set(),
  removedInputs: new Set(),
  removedValueInfos: new Set(),
};

const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

/** Writes the derived model to `targetPath` (which must not exist), then flushes it to disk. */
export async function writeGatheredLogitsModel(
  sourcePath: string,
  layout: ModelLayout,
  plan: GatheredLogitsPlan | null,
  targetPath: string,
  metadata: Record<string, string>,
): Promise<void> {
  const parts = modelParts(layout, plan, path.basename(sourcePath), metadata);
  const source = await fsp.open(sourcePath, 'r');
  try {
    const target = await fsp.open(targetPath, 'wx');
    try {
      await writeParts(source, target, parts);
      await target.sync();
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

function modelParts(layout: ModelLayout, plan: GatheredLogitsPlan | null, sourceFileName: string, metadata: Record<string, string>): Part[] {
  const parts: Part[] = [];
  layout.topLevel.forEach((field, index) => {
    if (index !== layout.graphIndex) {
      parts.push({ copy: field.span });
      return;
    }
    const graphParts = graphPartsOf(layout.graphFields, plan, sourceFileName);
    const graphLength = graphParts.reduce((sum, part) => sum + partLength(part), 0);
    parts.push({ bytes: Buffer.concat([tag(MODEL_GRAPH, WireType.LengthDelimited), encodeVarint(graphLength)]) }, ...graphParts);
  });
  for (const [key, value] of Object.entries(metadata)) {
    parts.push({ bytes: messageField(MODEL_METADATA_PROPS, onnx.StringStringEntryProto.encode({ key, value }).finish()) });
  }
  return parts;
}

function graphPartsOf(fields: readonly GraphField[], headPlan: GatheredLogitsPlan | null, sourceFileName: string): Part[] {
  const plan = headPlan ?? UNCHANGED_HEAD;
  const parts: Part[] = [];
  fields.forEach((field, index) => {
    if (index === plan.insertAtField) {
      for (const node of plan.newNodes) parts.push({ bytes: messageField(GRAPH_NODE, onnx.NodeProto.encode(node).finish()) });
    }
    switch (field.kind) {
      case 'node':
        if (plan.removedNodeFields.has(index)) return;
        parts.push(field.synthesized ? { bytes: messageField(GRAPH_NODE, onnx.NodeProto.encode(field.node).finish()) } : { copy: field.span });
        return;
      case 'initializer':
        if (plan.removedInitializers.has(field.tensor.name)) return;
        if (field.synthesized) {
          parts.push({ bytes: messageField(GRAPH_INITIALIZER, onnx.TensorProto.encode(field.tensor).finish()) });
          return;
        }
        // A tensor with other large fields (e.g. float_data) is rare; it stays embedded, copied as it is.
        parts.push(
          field.rawData && !field.droppedOtherLargeField
            ? { bytes: messageField(GRAPH_INITIALIZER, externalReference(field.slimBytes, field.rawData, sourceFileName)) }
            : { copy: field.span },
        );
        return;
      case 'input':
        if (!plan.removedInputs.has(field.info.name)) parts.push({ copy: field.span });
        return;
      case 'output':
        if (field.info.name === plan.replacedOutput?.name) {
          parts.push({ bytes: messageField(GRAPH_OUTPUT, onnx.ValueInfoProto.encode(plan.replacedOutput).finish()) });
        } else parts.push({ copy: field.span });
        return;
      case 'valueInfo':
        if (!plan.removedValueInfos.has(field.info.name)) parts.push({ copy: field.span });
        return;
      default:
        parts.push({ copy: field.span });
    }
  });
  if (plan.addedInput) parts.push({ bytes: messageField(GRAPH_INPUT, onnx.ValueInfoProto.encode(plan.addedInput).finish()) });
  for (const initializer of plan.newInitializers) {
    parts.push({ bytes: messageField(GRAPH_INITIALIZER, onnx.TensorProto.encode(initializer).finish()) });
  }
  return parts;
}

/** The tensor without its raw_data, plus external-data entries pointing at those bytes in the source file. */
function externalReference(slimTensor: Buffer, rawData: ByteSpan, sourceFileName: string): Buffer {
  const entries = [
    { key: 'location', value: sourceFileName },
    { key: 'offset', value: String(rawData.start) },
    { key: 'length', value: String(rawData.end - rawData.start) },
  ].map((entry) => messageField(TENSOR_EXTERNAL_DATA, onnx.StringStringEntryProto.encode(entry).finish()));
  const external = Buffer.concat([tag(TENSOR_DATA_LOCATION, WireType.Varint), encodeVarint(onnx.TensorProto.DataLocation.EXTERNAL)]);
  // A repeated protobuf scalar field takes its last value, so appending data_location overrides any earlier one.
  return Buffer.concat([slimTensor, ...entries, external]);
}

function tag(fieldNumber: number, wireType: WireType): Buffer {
  return encodeVarint(fieldNumber * 8 + wireType);
}

function messageField(fieldNumber: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(fieldNumber, WireType.LengthDelimited), encodeVarint(payload.length), payload]);
}

function partLength(part: Part): number {
  return 'bytes' in part ? part.bytes.length : part.copy.end - part.copy.start;
}

async function writeParts(source: fsp.FileHandle, target: fsp.FileHandle, parts: Part[]): Promise<void> {
  const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
  for (const part of parts) {
    if ('bytes' in part) {
      await writeFully(target, part.bytes, part.bytes.length);
      continue;
    }
    for (let position = part.copy.start; position < part.copy.end; ) {
      const length = Math.min(COPY_CHUNK_BYTES, part.copy.end - position);
      const { bytesRead } = await source.read(buffer, 0, length, position);
      if (bytesRead <= 0) throw new Error(`the source model ended at byte ${position} while being copied`);
      await writeFully(target, buffer, bytesRead);
      position += bytesRead;
    }
  }
}

async function writeFully(target: fsp.FileHandle, bytes: Buffer, length: number): Promise<void> {
  for (let done = 0; done < length; ) done += (await target.write(bytes, done, length - done)).bytesWritten;
}
