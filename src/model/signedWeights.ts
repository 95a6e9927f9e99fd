/**
 * `signed_8bit_weights`: a dynamically quantized graph whose MatMulInteger weights are uint8 — transformers.js's
 * quantize.py writes them so for graphs with GroupQueryAttention (its QUINT8_OPS rule), and every `model_uint8.onnx` —
 * multiplies uint8 by uint8, which onnxruntime's CPU kernel (MLAS) runs on a slower path than uint8 by int8 (the VNNI
 * instruction multiplies unsigned by signed bytes). The rewrite stores each such weight as int8, w − 128, with its zero
 * point z − 128: (w − 128) − (z − 128) = w − z, so every integer product, and every output, is exactly the file's.
 *
 * Only on CPUs with VNNI (`cpuFeatures.ts`): without it MLAS's uint8 × int8 kernel sums byte pairs into saturating
 * 16-bit integers, which would change results. The int8 copies are written once into the derived data file
 * (`<name>.qwen-gen.onnx_data`, after the quantized lm_head when there is one); the user's files are only read.
 */
import { promises as fsp } from 'fs';
import { onnx } from 'onnx-proto';
import { ByteSource, externalTensor, initializerSource, readFully, writeFully } from './initializerData';
import { GraphField, ModelLayout, opTypeKeyOf, toNumber } from './onnxModelLayout';

const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT8 = onnx.TensorProto.DataType.INT8;
/** Each weight starts on a page boundary of the data file (so onnxruntime may map it rather than copy it). */
const ALIGNMENT = 4096;

/** One weight to copy as int8: its bytes (in the source file, or a small embedded weight's own) and where they go. */
export interface SignedWeightCopy {
  name: string;
  source: ByteSource | Uint8Array;
  /** Offset in the derived data file. */
  offset: number;
}

export interface SignedWeightsPlan {
  /** The layout with the weights and zero points replaced (synthesized initializers). */
  layout: ModelLayout;
  copies: SignedWeightCopy[];
  /** MatMulInteger nodes whose weight is now int8. */
  nodes: number;
  /** Size of the data file once the copies are written (they start at the offset given to the plan). */
  dataEnd: number;
}

export interface SignedWeightsResult {
  plan: SignedWeightsPlan | null;
  /** Weights left as they are, and why. */
  skipped: string[];
}

/**
 * Plans the rewrite over `layout` (the kernel rewrites already applied). `onnxPath` is the user's graph (embedded
 * weights and relative external-data locations), `dataFileName` the derived data file's name and `dataOffset` where in
 * it the first copy may start.
 */
export async function planSignedWeights(layout: ModelLayout, onnxPath: string, dataFileName: string, dataOffset: number): Promise<SignedWeightsResult> {
  const skipped: string[] = [];
  const fields = layout.graphFields;
  const initializerIndex = new Map<string, number>();
  const consumers = new Map<string, { node: onnx.NodeProto; slot: number }[]>();
  const declared = new Set<string>();
  fields.forEach((field, index) => {
    if (field.kind === 'initializer') initializerIndex.set(field.tensor.name, index);
    if (field.kind === 'input' || field.kind === 'output' || field.kind === 'valueInfo') declared.add(field.info.name);
    if (field.kind === 'node') {
      field.node.input.forEach((input, slot) => {
        if (input) consumers.set(input, [...(consumers.get(input) ?? []), { node: field.node, slot }]);
      });
    }
  });
  const matMuls = fields.filter((f): f is Extract<GraphField, { kind: 'node' }> => f.kind === 'node' && opTypeKeyOf(f.node) === 'MatMulInteger').map((f) => f.node);
  const onlyAs = (name: string, slot: number) => (consumers.get(name) ?? []).every((c) => opTypeKeyOf(c.node) === 'MatMulInteger' && c.slot === slot);
  const weightFieldOf = (node: onnx.NodeProto) => {
    const at = initializerIndex.get(node.input[1]);
    const field = at === undefined ? undefined : fields[at];
    return field?.kind === 'initializer' ? field : undefined;
  };

  const zeroPoints = new Map<string, Uint8Array | undefined>();
  const files = new OpenFiles();
  try {
    for (const node of matMuls) {
      const name = node.input[3] ?? '';
      if (name && !zeroPoints.has(name)) zeroPoints.set(name, await zeroPointValues(fields[initializerIndex.get(name) ?? -1], onnxPath, files));
    }
  } finally {
    await files.close();
  }

  // The nodes that can take an int8 weight; a weight or zero point shared with a node that cannot keeps them all as they are.
  const candidates = new Set<onnx.NodeProto>();
  const sources = new Map<string, ByteSource | Uint8Array>();
  for (const node of matMuls) {
    const weight = weightFieldOf(node);
    const zeroPointName = node.input[3] ?? '';
    const why = (reason: string) => skipped.push(`MatMulInteger '${node.name || node.output[0]}': ${reason}`);
    if (!weight) why('its weight is not an initializer');
    else if (weight.tensor.dataType === INT8) continue; // already signed
    else if (weight.tensor.dataType !== UINT8) why('its weight is neither uint8 nor int8');
    else if (!onlyAs(node.input[1], 1) || (zeroPointName && !onlyAs(zeroPointName, 3))) why('its weight or zero point feeds another node');
    // A typed declaration (graph input of an old IR version, value_info) would contradict the new int8 type.
    else if (declared.has(node.input[1]) || declared.has(zeroPointName)) why('its weight or zero point is also declared with its type');
    else if (zeroPointName && !zeroPoints.get(zeroPointName)) why('its zero point is not a small uint8 initializer');
    else {
      const source = weightSource(weight, onnxPath);
      if ('reason' in source) why(`its weight ${source.reason}`);
      else {
        sources.set(node.input[1], source);
        candidates.add(node);
      }
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of [...candidates]) {
      const shared = [node.input[1], node.input[3] ?? ''].filter(Boolean).flatMap((name) => (consumers.get(name) ?? []).map((c) => c.node));
      if (shared.every((other) => candidates.has(other))) continue;
      candidates.delete(node);
      skipped.push(`MatMulInteger '${node.name || node.output[0]}': its weight or zero point is shared with a node that keeps uint8`);
      changed = true;
    }
  }

  const replaced = new Map<number, GraphField>();
  const copies: SignedWeightCopy[] = [];
  const addedZeroPoints = new Map<string, GraphField>();
  const rewiredNodes = new Map<onnx.NodeProto, onnx.NodeProto>();
  let offset = align(dataOffset);
  for (const node of candidates) {
    const weightName = node.input[1];
    const weightAt = initializerIndex.get(weightName)!;
    if (!replaced.has(weightAt)) {
      const weight = fields[weightAt] as Extract<GraphField, { kind: 'initializer' }>;
      const source = sources.get(weightName)!;
      copies.push({ name: weightName, source, offset });
      replaced.set(weightAt, synthesizedInitializer(externalTensor(weightName, INT8, weight.tensor.dims, dataFileName, offset, source.length)));
      offset = align(offset + source.length);
    }
    const zeroPointName = node.input[3] ?? '';
    if (zeroPointName) {
      const zeroPointAt = initializerIndex.get(zeroPointName)!;
      if (replaced.has(zeroPointAt)) continue;
      const original = (fields[zeroPointAt] as Extract<GraphField, { kind: 'initializer' }>).tensor;
      const signed = zeroPoints.get(zeroPointName)!.map((z) => z ^ 0x80);
      replaced.set(zeroPointAt, synthesizedInitializer(onnx.TensorProto.create({ name: zeroPointName, dataType: INT8, dims: original.dims, rawData: signed })));
    } else {
      // No zero point means 0 for the uint8 weight: −128 for its int8 copy.
      const name = `qwen_gen_signed/${weightName}/zero_point`;
      if (!addedZeroPoints.has(name)) {
        addedZeroPoints.set(name, synthesizedInitializer(onnx.TensorProto.create({ name, dataType: INT8, dims: [], rawData: new Uint8Array([0x80]) })));
      }
      const rewired = onnx.NodeProto.fromObject(onnx.NodeProto.toObject(node));
      while (rewired.input.length < 4) rewired.input.push('');
      rewired.input[3] = name;
      rewiredNodes.set(node, rewired);
    }
  }
  if (copies.length === 0) return { plan: null, skipped };
  const graphFields = fields.map((field, index): GraphField => {
    const replacement = replaced.get(index);
    if (replacement) return replacement;
    if (field.kind === 'node' && rewiredNodes.has(field.node)) return { kind: 'node', span: { start: 0, end: 0 }, node: rewiredNodes.get(field.node)!, synthesized: true };
    return field;
  });
  return { plan: { layout: { ...layout, graphFields: [...graphFields, ...addedZeroPoints.values()] }, copies, nodes: candidates.size, dataEnd: offset }, skipped };
}

/**
 * Writes the int8 copies into `target` at their offsets: each byte XOR 0x80 (u − 128 in two's complement). `target` is
 * created when `create`, otherwise opened for writing where it is (the quantized lm_head written before).
 */
export async function writeSignedWeights(plan: SignedWeightsPlan, target: string, create: boolean): Promise<void> {
  const output = await fsp.open(target, create ? 'wx' : 'r+');
  const files = new OpenFiles();
  try {
    const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
    const writeSigned = async (bytes: Buffer, length: number, position: number) => {
      for (let i = 0; i < length; i++) bytes[i] ^= 0x80;
      await writeFully(output, bytes, position, length);
    };
    for (const { source, offset } of plan.copies) {
      if (source instanceof Uint8Array) {
        await writeSigned(Buffer.from(source), source.length, offset);
        continue;
      }
      const input = await files.open(source.file);
      for (let done = 0; done < source.length; done += chunk.length) {
        const piece = chunk.subarray(0, Math.min(chunk.length, source.length - done));
        await readFully(input, piece, source.offset + done);
        await writeSigned(piece, piece.length, offset + done);
      }
    }
    // The file ends where the plan says, so the next derivation finds the same size.
    await output.truncate(plan.dataEnd);
    await output.sync();
  } finally {
    await files.close();
    await output.close();
  }
}

/** Files opened for reading once each, however many tensors are read from them. */
class OpenFiles {
  private readonly handles = new Map<string, Promise<fsp.FileHandle>>();

  open(file: string): Promise<fsp.FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = fsp.open(file, 'r');
      this.handles.set(file, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    const opened = await Promise.allSettled(this.handles.values());
    this.handles.clear();
    for (const result of opened) if (result.status === 'fulfilled') await result.value.close();
  }
}

function align(offset: number): number {
  return Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
}

function synthesizedInitializer(tensor: onnx.TensorProto): GraphField {
  return { kind: 'initializer', synthesized: true, span: { start: 0, end: 0 }, tensor, slimBytes: Buffer.alloc(0), droppedOtherLargeField: false };
}

/** Where a uint8 weight's bytes are: a range of a file, or a small embedded weight's own bytes. */
function weightSource(field: Extract<GraphField, { kind: 'initializer' }>, onnxPath: string): ByteSource | Uint8Array | { reason: string } {
  const elements = elementCount(field.tensor);
  if (!field.rawData && field.tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) {
    const raw = field.tensor.rawData;
    return raw && raw.length === elements ? Uint8Array.from(raw) : { reason: 'is not stored as raw bytes' };
  }
  const source = initializerSource(field, onnxPath, elements);
  if ('reason' in source) return source;
  return source.length === elements ? source : { reason: 'has an unexpected byte length' };
}

function elementCount(tensor: onnx.TensorProto): number {
  return tensor.dims.reduce((product, d) => product * toNumber(d), 1);
}

/** Zero points larger than this are not read (a per-column zero point of a real projection is a few kilobytes). */
const MAX_ZERO_POINT_BYTES = 1 << 20;

/** A uint8 zero-point initializer's values (scalar or per column), embedded or in external data; undefined otherwise. */
async function zeroPointValues(field: GraphField | undefined, onnxPath: string, files: OpenFiles): Promise<Uint8Array | undefined> {
  if (!field || field.kind !== 'initializer' || field.tensor.dataType !== UINT8) return undefined;
  const tensor = field.tensor;
  const elements = elementCount(tensor);
  if (elements > MAX_ZERO_POINT_BYTES) return undefined;
  if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const source = initializerSource(field, onnxPath, elements);
    if ('reason' in source || source.length !== elements) return undefined;
    const bytes = Buffer.alloc(elements);
    try {
      await readFully(await files.open(source.file), bytes, source.offset);
    } catch {
      return undefined; // a missing or short data file: the weight is left as it is, with the reason
    }
    return Uint8Array.from(bytes);
  }
  if (field.rawData) return undefined; // a large embedded payload: not a zero point
  const raw = tensor.rawData;
  if (raw && raw.length === elements) return Uint8Array.from(raw);
  const ints = tensor.int32Data;
  if (ints && ints.length === elements) return Uint8Array.from(ints);
  return undefined;
}
