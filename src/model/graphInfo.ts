/**
 * Inspects an ONNX decoder graph without loading its weights: I/O, op types, attention kind, rotary form,
 * KV dtype and external data. A .onnx file under 2 GB may embed every weight, so the file is scanned
 * at the wire-format level and initializer payloads are skipped on disk (see protobufScanner.ts).
 */
import * as path from 'path';
import { promises as fsp } from 'fs';
import { AttentionKind } from '../attentionKind';
import { KvDtype } from '../kvDtype';
import {
  ByteSource,
  openFileSource,
  ProtoCursor,
  readSlimMessage,
  StreamingProtoReader,
  WireType,
} from './protobufScanner';

export interface TensorInfo {
  name: string;
  /** onnxruntime's tensor type name: 'float32', 'float16', 'int64', 'int32', … */
  dtype: string;
  /** A number for a fixed size, the symbolic name for a named one, '?' when unknown. */
  dims: (number | string)[];
}

export type RotaryForm = 'none-or-unknown' | 'ops' | 'rotary-embedding-op' | 'gqa-fused';

export interface GqaAttributes {
  numHeads?: number;
  kvNumHeads?: number;
  doRotary?: number;
  rotaryInterleaved?: number;
  localWindowSize?: number;
}

export interface GraphInfo {
  path: string;
  fileBytes: number;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  /** Graph inputs excluding initializers (old exports also list every initializer as an input). */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Node count per op type; ops of a non-default domain are keyed "domain:OpType". */
  opTypes: Record<string, number>;
  attention: AttentionKind;
  rotary: RotaryForm;
  kvDtype: KvDtype;
  logitsDtype: string;
  numLayers: number;
  numKvHeads?: number;
  headDim?: number;
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  /** The graph takes a `num_logits_to_keep` input. */
  hasLogitsToKeep: boolean;
  /** External data files referenced by initializers (relative to the model's folder; left on disk). */
  externalData: { files: string[]; bytes: number };
  /**
   * Every `present.*` output is written by a GroupQueryAttention node itself (no op after it): such a graph can run with
   * past and present bound to one buffer, updated in place.
   */
  presentFromAttentionOp: boolean;
  /** Integer attributes of the first GroupQueryAttention node, when there is one. */
  gqaAttributes?: GqaAttributes;
}

export interface InspectOptions {
  /** Wraps the file's byte source, e.g. to count the bytes a scan reads. */
  wrapSource?: (source: ByteSource) => ByteSource;
  /** Read-buffer size; small values only matter to tests of chunk boundaries. */
  chunkBytes?: number;
}

/** Fields longer than this inside nodes/initializers are weights or embedded constants: skipped unread. */
const MAX_KEPT_FIELD_BYTES = 64 * 1024;

/** ONNX TensorProto.DataType → onnxruntime tensor type name. */
const ONNX_DTYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
  16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

const EXTERNAL_DATA_LOCATION = 1;
const GQA_OP = 'com.microsoft:GroupQueryAttention';
const PAST_KEY_NAME = /^past_key_values\.(\d+)\.key$/;

interface NodeSummary {
  key: string;
  outputs: string[];
  intAttributes: Map<string, number>;
}

interface InitializerSummary {
  name: string;
  externalLocation?: string;
  externalOffset?: number;
  externalLength?: number;
}

interface ScannedModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  nodes: NodeSummary[];
  initializers: InitializerSummary[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export async function inspectGraph(onnxPath: string, options: InspectOptions = {}): Promise<GraphInfo> {
  const file = await openFileSource(onnxPath);
  try {
    const source = options.wrapSource ? options.wrapSource(file) : file;
    const scanned = await scanModel(new StreamingProtoReader(source, options.chunkBytes));
    return await summarize(onnxPath, file.size, scanned);
  } finally {
    await file.close();
  }
}

async function scanModel(reader: StreamingProtoReader): Promise<ScannedModel> {
  const model: ScannedModel = { irVersion: 0, opsets: [], nodes: [], initializers: [], inputs: [], outputs: [] };
  while (reader.position < reader.size) {
    const { fieldNumber, wireType } = await reader.tag();
    if (fieldNumber === 1 && wireType === WireType.Varint) model.irVersion = await reader.int64();
    else if (fieldNumber === 8 && wireType === WireType.LengthDelimited) model.opsets.push(parseOpset(await smallMessage(reader)));
    else if (fieldNumber === 7 && wireType === WireType.LengthDelimited) await scanGraph(reader, await reader.varint(), model);
    else await reader.skip(wireType);
  }
  return model;
}

async function smallMessage(reader: StreamingProtoReader): Promise<ProtoCursor> {
  return new ProtoCursor(await readSlimMessage(reader, await reader.varint(), MAX_KEPT_FIELD_BYTES));
}

/** Streams a GraphProto: only nodes, initializers and graph inputs/outputs are looked at. */
async function scanGraph(reader: StreamingProtoReader, length: number, model: ScannedModel): Promise<void> {
  const end = reader.position + length;
  while (reader.position < end) {
    const { fieldNumber, wireType } = await reader.tag();
    if (wireType !== WireType.LengthDelimited) {
      await reader.skip(wireType);
      continue;
    }
    switch (fieldNumber) {
      case 1:
        model.nodes.push(parseNode(await smallMessage(reader)));
        break;
      case 5:
        model.initializers.push(parseInitializer(await smallMessage(reader)));
        break;
      case 11:
        model.inputs.push(parseValueInfo(await smallMessage(reader)));
        break;
      case 12:
        model.outputs.push(parseValueInfo(await smallMessage(reader)));
        break;
      default:
        reader.skipBytes(await reader.varint());
    }
  }
}

function parseOpset(cursor: ProtoCursor): { domain: string; version: number } {
  const opset = { domain: '', version: 0 };
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 1 && wireType === WireType.LengthDelimited) opset.domain = cursor.string();
    else if (fieldNumber === 2 && wireType === WireType.Varint) opset.version = cursor.int64();
    else cursor.skip(wireType);
  }
  return opset;
}

function parseNode(cursor: ProtoCursor): NodeSummary {
  let opType = '';
  let domain = '';
  const intAttributes = new Map<string, number>();
  const outputs: string[] = [];
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 2 && wireType === WireType.LengthDelimited) outputs.push(cursor.string());
    else if (fieldNumber === 4 && wireType === WireType.LengthDelimited) opType = cursor.string();
    else if (fieldNumber === 7 && wireType === WireType.LengthDelimited) domain = cursor.string();
    else if (fieldNumber === 5 && wireType === WireType.LengthDelimited) readIntAttribute(cursor.message(), intAttributes);
    else cursor.skip(wireType);
  }
  return { key: opTypeKey(domain, opType), outputs, intAttributes };
}

function opTypeKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}:${opType}`;
}

/** AttributeProto: name (1), i (3). Non-integer attributes are ignored. */
function readIntAttribute(cursor: ProtoCursor, into: Map<string, number>): void {
  let name = '';
  let value: number | undefined;
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 1 && wireType === WireType.LengthDelimited) name = cursor.string();
    else if (fieldNumber === 3 && wireType === WireType.Varint) value = cursor.int64();
    else cursor.skip(wireType);
  }
  if (name && value !== undefined) into.set(name, value);
}

/** TensorProto: name (8), external_data (13: key/value entries), data_location (14). */
function parseInitializer(cursor: ProtoCursor): InitializerSummary {
  let name = '';
  let dataLocation = 0;
  const external = new Map<string, string>();
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 8 && wireType === WireType.LengthDelimited) name = cursor.string();
    else if (fieldNumber === 14 && wireType === WireType.Varint) dataLocation = cursor.varint();
    else if (fieldNumber === 13 && wireType === WireType.LengthDelimited) {
      const [key, value] = parseStringEntry(cursor.message());
      external.set(key, value);
    } else cursor.skip(wireType);
  }
  const summary: InitializerSummary = { name };
  const location = external.get('location');
  if (dataLocation === EXTERNAL_DATA_LOCATION && location !== undefined) {
    summary.externalLocation = location;
    summary.externalOffset = parseOptionalInt(external.get('offset')) ?? 0;
    summary.externalLength = parseOptionalInt(external.get('length'));
  }
  return summary;
}

function parseStringEntry(cursor: ProtoCursor): [string, string] {
  let key = '';
  let value = '';
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 1 && wireType === WireType.LengthDelimited) key = cursor.string();
    else if (fieldNumber === 2 && wireType === WireType.LengthDelimited) value = cursor.string();
    else cursor.skip(wireType);
  }
  return [key, value];
}

function parseOptionalInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text);
}

/** ValueInfoProto name (1), type (2) → TypeProto tensor_type (1) → elem_type (1), shape (2). */
function parseValueInfo(cursor: ProtoCursor): TensorInfo {
  const info: TensorInfo = { name: '', dtype: 'unknown', dims: [] };
  while (!cursor.done) {
    const { fieldNumber, wireType } = cursor.tag();
    if (fieldNumber === 1 && wireType === WireType.LengthDelimited) info.name = cursor.string();
    else if (fieldNumber === 2 && wireType === WireType.LengthDelimited) readTensorType(cursor.message(), info);
    else cursor.skip(wireType);
  }
  return info;
}

function readTensorType(typeProto: ProtoCursor, into: TensorInfo): void {
  while (!typeProto.done) {
    const { fieldNumber, wireType } = typeProto.tag();
    if (fieldNumber !== 1 || wireType !== WireType.LengthDelimited) {
      typeProto.skip(wireType);
      continue;
    }
    const tensorType = typeProto.message();
    while (!tensorType.done) {
      const tag = tensorType.tag();
      if (tag.fieldNumber === 1 && tag.wireType === WireType.Varint) {
        const code = tensorType.varint();
        into.dtype = ONNX_DTYPE_NAMES[code] ?? `onnx-type-${code}`;
      } else if (tag.fieldNumber === 2 && tag.wireType === WireType.LengthDelimited) {
        into.dims = readShape(tensorType.message());
      } else tensorType.skip(tag.wireType);
    }
  }
}

/** TensorShapeProto dim (1) → dim_value (1) | dim_param (2). */
function readShape(shape: ProtoCursor): (number | string)[] {
  const dims: (number | string)[] = [];
  while (!shape.done) {
    const { fieldNumber, wireType } = shape.tag();
    if (fieldNumber !== 1 || wireType !== WireType.LengthDelimited) {
      shape.skip(wireType);
      continue;
    }
    const dim = shape.message();
    let value: number | string = '?';
    while (!dim.done) {
      const tag = dim.tag();
      if (tag.fieldNumber === 1 && tag.wireType === WireType.Varint) value = dim.int64();
      else if (tag.fieldNumber === 2 && tag.wireType === WireType.LengthDelimited) value = dim.string();
      else dim.skip(tag.wireType);
    }
    dims.push(value);
  }
  return dims;
}

async function summarize(onnxPath: string, fileBytes: number, model: ScannedModel): Promise<GraphInfo> {
  const initializerNames = new Set(model.initializers.map((initializer) => initializer.name));
  const inputs = model.inputs.filter((input) => !initializerNames.has(input.name));
  const inputNames = new Set(inputs.map((input) => input.name));

  const opTypes: Record<string, number> = {};
  for (const node of model.nodes) opTypes[node.key] = (opTypes[node.key] ?? 0) + 1;
  const gqaNode = model.nodes.find((node) => node.key === GQA_OP);

  const pastKeys = inputs.filter((input) => PAST_KEY_NAME.test(input.name));
  const firstPastKey = pastKeys[0];
  const kvTensor = firstPastKey ?? model.outputs.find((output) => output.name.startsWith('present.'));
  const logits = model.outputs.find((output) => output.name === 'logits') ?? model.outputs[0];

  const info: GraphInfo = {
    path: onnxPath,
    fileBytes,
    irVersion: model.irVersion,
    opsets: model.opsets,
    inputs,
    outputs: model.outputs,
    opTypes,
    attention: gqaNode ? 'gqa' : 'plain',
    rotary: rotaryForm(opTypes, gqaNode, initializerNames),
    kvDtype: kvTensor?.dtype === 'float16' ? 'float16' : 'float32',
    logitsDtype: logits?.dtype ?? 'unknown',
    numLayers: new Set(pastKeys.map((input) => PAST_KEY_NAME.exec(input.name)?.[1])).size,
    hasAttentionMask: inputNames.has('attention_mask'),
    hasPositionIds: inputNames.has('position_ids'),
    hasLogitsToKeep: inputNames.has('num_logits_to_keep'),
    externalData: await externalDataSummary(path.dirname(onnxPath), model.initializers),
    presentFromAttentionOp: presentWrittenByGqa(model),
  };
  // Past key layout is [batch, kv_heads, past_sequence, head_dim].
  if (firstPastKey && typeof firstPastKey.dims[1] === 'number') info.numKvHeads = firstPastKey.dims[1];
  if (firstPastKey && typeof firstPastKey.dims[3] === 'number') info.headDim = firstPastKey.dims[3];
  if (gqaNode) info.gqaAttributes = gqaAttributes(gqaNode);
  return info;
}

function presentWrittenByGqa(model: ScannedModel): boolean {
  const presents = model.outputs.filter((output) => output.name.startsWith('present.')).map((output) => output.name);
  const gqaOutputs = new Set(model.nodes.filter((node) => node.key === GQA_OP).flatMap((node) => node.outputs.slice(1, 3)));
  return presents.length > 0 && presents.every((name) => gqaOutputs.has(name));
}

/**
 * A separate RotaryEmbedding op (contrib or ONNX opset 23) wins; then GQA's own do_rotary; then standard
 * ops: Sin/Cos computed in the graph, or cos/sin tables stored as initializers. Anything else is unknown.
 */
function rotaryForm(opTypes: Record<string, number>, gqaNode: NodeSummary | undefined, initializerNames: Set<string>): RotaryForm {
  if (opTypes['com.microsoft:RotaryEmbedding'] || opTypes['RotaryEmbedding']) return 'rotary-embedding-op';
  if (gqaNode && (gqaNode.intAttributes.get('do_rotary') ?? 0) !== 0) return 'gqa-fused';
  if (opTypes['Sin'] && opTypes['Cos']) return 'ops';
  const names = [...initializerNames];
  if (names.some((name) => /cos/i.test(name)) && names.some((name) => /sin/i.test(name))) return 'ops';
  return 'none-or-unknown';
}

function gqaAttributes(node: NodeSummary): GqaAttributes {
  const attributes: GqaAttributes = {};
  const read = (name: string): number | undefined => node.intAttributes.get(name);
  const assign = (key: keyof GqaAttributes, name: string): void => {
    const value = read(name);
    if (value !== undefined) attributes[key] = value;
  };
  assign('numHeads', 'num_heads');
  assign('kvNumHeads', 'kv_num_heads');
  assign('doRotary', 'do_rotary');
  assign('rotaryInterleaved', 'rotary_interleaved');
  assign('localWindowSize', 'local_window_size');
  return attributes;
}

/**
 * Per file: the sum of the tensors' stated lengths, or the file's size on disk when a tensor states no
 * length (it then runs to the end of the file). A missing file counts 0 bytes; it is still listed.
 */
async function externalDataSummary(modelDir: string, initializers: InitializerSummary[]): Promise<{ files: string[]; bytes: number }> {
  const perFile = new Map<string, { statedBytes: number; allStated: boolean }>();
  for (const initializer of initializers) {
    if (initializer.externalLocation === undefined) continue;
    const entry = perFile.get(initializer.externalLocation) ?? { statedBytes: 0, allStated: true };
    if (initializer.externalLength === undefined) entry.allStated = false;
    else entry.statedBytes += initializer.externalLength;
    perFile.set(initializer.externalLocation, entry);
  }
  let bytes = 0;
  for (const [location, entry] of perFile) {
    if (entry.allStated) bytes += entry.statedBytes;
    else bytes += await fileSizeOrZero(path.join(modelDir, location));
  }
  return { files: [...perFile.keys()], bytes };
}

async function fileSizeOrZero(filePath: string): Promise<number> {
  try {
    return (await fsp.stat(filePath)).size;
  } catch {
    return 0;
  }
}
