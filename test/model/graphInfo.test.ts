import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { GraphInfo, inspectGraph, TensorInfo } from '../../src/model/graphInfo';
import { ByteSource, encodeVarint } from '../../src/model/protobufScanner';
import { valueInfo } from '../../src/tinymodel/onnxGraphBuilder';
import { tempDir } from '../helpers/testModels';

const { DataType } = onnx.TensorProto;

let workDir: string;
beforeAll(() => {
  workDir = tempDir('graphinfo');
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

function node(opType: string, domain = '', attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, domain, input: ['x'], output: [`${opType}_out`], name: `${opType}_node`, attribute };
}

function intAttribute(name: string, i: number): onnx.IAttributeProto {
  return { name, i, type: onnx.AttributeProto.AttributeType.INT };
}

/** Inputs and outputs named and shaped like the onnx-community Qwen3 exports. */
function qwenIo(layers: number, kvHeads: number, headDim: number, kvType: number, extraInputs: onnx.IValueInfoProto[] = []) {
  const input = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    ...extraInputs,
  ];
  const output = [valueInfo('logits', DataType.FLOAT, ['batch_size', 'sequence_length', 151936])];
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) {
      input.push(valueInfo(`past_key_values.${i}.${kind}`, kvType, ['batch_size', kvHeads, 'past_sequence_length', headDim]));
      output.push(valueInfo(`present.${i}.${kind}`, kvType, ['batch_size', kvHeads, 'total_sequence_length', headDim]));
    }
  }
  return { input, output };
}

function writeModel(name: string, graph: onnx.IGraphProto, opsets: onnx.IOperatorSetIdProto[] = [{ domain: '', version: 17 }]): string {
  const bytes = onnx.ModelProto.encode({ irVersion: 8, opsetImport: opsets, producerName: 'test', graph }).finish();
  const file = path.join(workDir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const PLAIN_NODES = [
  ...['MatMul', 'MatMul', 'MatMul', 'MatMul', 'Softmax', 'Add', 'Mul', 'Sin', 'Cos', 'Neg', 'Concat', 'Slice'].map((op) => node(op)),
];

function plainModel(name: string, kvType: number): string {
  return writeModel(name, { name: 'main', node: PLAIN_NODES, ...qwenIo(3, 2, 16, kvType) });
}

const GQA_ATTRIBUTES = [
  intAttribute('num_heads', 4),
  intAttribute('kv_num_heads', 2),
  intAttribute('do_rotary', 1),
  intAttribute('rotary_interleaved', 0),
  intAttribute('local_window_size', -1),
  { name: 'scale', f: 0.25, type: onnx.AttributeProto.AttributeType.FLOAT },
];

function gqaModel(name: string, kvType: number, options: { rotaryOp?: boolean } = {}): string {
  const attributes = options.rotaryOp ? GQA_ATTRIBUTES.map((a) => (a.name === 'do_rotary' ? intAttribute('do_rotary', 0) : a)) : GQA_ATTRIBUTES;
  const nodes = [
    node('SimplifiedLayerNormalization'),
    node('SkipSimplifiedLayerNormalization', 'com.microsoft'),
    node('MatMul'),
    node('GroupQueryAttention', 'com.microsoft', attributes),
    node('MatMul'),
    node('GroupQueryAttention', 'com.microsoft', attributes),
    ...(options.rotaryOp ? [node('RotaryEmbedding', 'com.microsoft'), node('RotaryEmbedding', 'com.microsoft')] : []),
  ];
  const io = qwenIo(2, 2, 8, kvType, [valueInfo('num_logits_to_keep', DataType.INT64, [])]);
  return writeModel(name, { name: 'main', node: nodes, ...io }, [
    { domain: '', version: 17 },
    { domain: 'com.microsoft', version: 1 },
  ]);
}

/** Reads GraphInfo's fields from a complete onnx-proto decode of the file (an independent parser). */
function referenceDecode(file: string) {
  const model = onnx.ModelProto.toObject(onnx.ModelProto.decode(fs.readFileSync(file)), { longs: Number, defaults: false });
  const typeNames: Record<number, string> = { [DataType.FLOAT]: 'float32', [DataType.FLOAT16]: 'float16', [DataType.INT64]: 'int64', [DataType.INT32]: 'int32' };
  const initializerNames = new Set<string>((model.graph.initializer ?? []).map((t: { name: string }) => t.name));
  interface DecodedValueInfo {
    name: string;
    type: { tensorType: { elemType: number; shape: { dim?: { dimValue?: number; dimParam?: string }[] } } };
  }
  const tensor = (v: DecodedValueInfo): TensorInfo => ({
    name: v.name,
    dtype: typeNames[v.type.tensorType.elemType],
    dims: (v.type.tensorType.shape.dim ?? []).map((d) => d.dimValue ?? d.dimParam ?? '?'),
  });
  const opTypes: Record<string, number> = {};
  for (const n of model.graph.node ?? []) {
    const key = n.domain ? `${n.domain}:${n.opType}` : n.opType;
    opTypes[key] = (opTypes[key] ?? 0) + 1;
  }
  return {
    irVersion: model.irVersion,
    opsets: model.opsetImport.map((o: { domain?: string; version: number }) => ({ domain: o.domain ?? '', version: o.version })),
    inputs: (model.graph.input as DecodedValueInfo[]).filter((v) => !initializerNames.has(v.name)).map(tensor),
    outputs: (model.graph.output as DecodedValueInfo[]).map(tensor),
    opTypes,
  };
}

function expectMatchesReference(info: GraphInfo, file: string): void {
  const reference = referenceDecode(file);
  expect({ irVersion: info.irVersion, opsets: info.opsets, inputs: info.inputs, outputs: info.outputs, opTypes: info.opTypes }).toEqual(reference);
  expect(info.fileBytes).toBe(fs.statSync(file).size);
}

class CountingSource implements ByteSource {
  bytesRead = 0;
  reads = 0;
  largestRead = 0;
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  async read(target: Buffer, targetOffset: number, length: number, position: number): Promise<number> {
    const got = await this.inner.read(target, targetOffset, length, position);
    this.bytesRead += got;
    this.reads += 1;
    this.largestRead = Math.max(this.largestRead, length);
    return got;
  }
}

async function inspectCounting(file: string): Promise<{ info: GraphInfo; counter: CountingSource; ms: number }> {
  let counter: CountingSource | undefined;
  const started = process.hrtime.bigint();
  const info = await inspectGraph(file, { wrapSource: (source) => (counter = new CountingSource(source)) });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!counter) throw new Error('source was not wrapped');
  return { info, counter, ms };
}

describe('inspectGraph', () => {
  test('plain-ops graph with Qwen3-style KV inputs', async () => {
    const file = plainModel('plain.onnx', DataType.FLOAT);
    const info = await inspectGraph(file);
    expectMatchesReference(info, file);
    expect(info).toMatchObject({
      path: file,
      irVersion: 8,
      attention: 'plain',
      rotary: 'ops',
      kvDtype: 'float32',
      logitsDtype: 'float32',
      numLayers: 3,
      numKvHeads: 2,
      headDim: 16,
      hasAttentionMask: true,
      hasPositionIds: true,
      hasLogitsToKeep: false,
      externalData: { files: [], bytes: 0 },
    });
    expect(info.opTypes).toMatchObject({ MatMul: 4, Softmax: 1, Sin: 1, Cos: 1 });
    expect(info.gqaAttributes).toBeUndefined();
    expect(info.inputs.find((i) => i.name === 'past_key_values.2.value')).toEqual({
      name: 'past_key_values.2.value',
      dtype: 'float32',
      dims: ['batch_size', 2, 'past_sequence_length', 16],
    });
  });

  test('GroupQueryAttention graph with fused rotary: attributes, contrib-domain op keys, negative int64', async () => {
    const file = gqaModel('gqa.onnx', DataType.FLOAT);
    const info = await inspectGraph(file);
    expectMatchesReference(info, file);
    expect(info.attention).toBe('gqa');
    expect(info.rotary).toBe('gqa-fused');
    expect(info.opTypes).toEqual({
      SimplifiedLayerNormalization: 1,
      'com.microsoft:SkipSimplifiedLayerNormalization': 1,
      MatMul: 2,
      'com.microsoft:GroupQueryAttention': 2,
    });
    expect(info.gqaAttributes).toEqual({ numHeads: 4, kvNumHeads: 2, doRotary: 1, rotaryInterleaved: 0, localWindowSize: -1 });
    expect(info.opsets).toEqual([
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(info).toMatchObject({ numLayers: 2, numKvHeads: 2, headDim: 8, hasLogitsToKeep: true, kvDtype: 'float32' });
    expect(info.inputs.find((i) => i.name === 'num_logits_to_keep')).toEqual({ name: 'num_logits_to_keep', dtype: 'int64', dims: [] });
  });

  test('GroupQueryAttention with a separate RotaryEmbedding op', async () => {
    const file = gqaModel('gqa-rotary-op.onnx', DataType.FLOAT, { rotaryOp: true });
    const info = await inspectGraph(file);
    expectMatchesReference(info, file);
    expect(info.rotary).toBe('rotary-embedding-op');
    expect(info.gqaAttributes?.doRotary).toBe(0);
    expect(info.opTypes['com.microsoft:RotaryEmbedding']).toBe(2);
  });

  test('float16 KV cache on both attention kinds; logits stay float32', async () => {
    for (const file of [plainModel('plain-f16.onnx', DataType.FLOAT16), gqaModel('gqa-f16.onnx', DataType.FLOAT16)]) {
      const info = await inspectGraph(file);
      expectMatchesReference(info, file);
      expect(info.kvDtype).toBe('float16');
      expect(info.logitsDtype).toBe('float32');
      expect(info.outputs.find((o) => o.name === 'present.0.key')?.dtype).toBe('float16');
    }
  });

  test('initializers also listed as graph inputs are excluded from inputs', async () => {
    const io = qwenIo(1, 2, 4, DataType.FLOAT);
    const weight = { name: 'model.embed_tokens.weight', dataType: DataType.FLOAT, dims: [4, 2], floatData: [1, 2, 3, 4, 5, 6, 7, 8] };
    const norm = { name: 'model.norm.weight', dataType: DataType.FLOAT, dims: [2], rawData: new Uint8Array(8) };
    const file = writeModel('old-export.onnx', {
      name: 'main',
      node: [node('Gather'), node('MatMul')],
      initializer: [weight, norm],
      input: [...io.input, valueInfo(weight.name, DataType.FLOAT, [4, 2]), valueInfo(norm.name, DataType.FLOAT, [2])],
      output: io.output,
    });
    const info = await inspectGraph(file);
    expectMatchesReference(info, file);
    expect(info.inputs.map((i) => i.name)).toEqual(io.input.map((i) => i.name));
    expect(info.rotary).toBe('none-or-unknown');
  });

  test('external data: files listed, byte counts summed, data files left unread', async () => {
    const dir = fs.mkdtempSync(path.join(workDir, 'external-'));
    const external = (name: string, location: string, offset?: number, length?: number): onnx.ITensorProto => ({
      name,
      dataType: DataType.FLOAT,
      dims: [length === undefined ? 1 : length / 4],
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        ...(offset === undefined ? [] : [{ key: 'offset', value: String(offset) }]),
        ...(length === undefined ? [] : [{ key: 'length', value: String(length) }]),
      ],
    });
    // The second file's only tensor states no length, so its size on disk counts.
    fs.writeFileSync(path.join(dir, 'extra.bin'), Buffer.alloc(1000));
    const io = qwenIo(1, 2, 4, DataType.FLOAT);
    const file = path.join(dir, 'model.onnx');
    const bytes = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'main',
        node: [node('MatMul')],
        initializer: [
          external('a', 'model.onnx_data', 0, 4096),
          external('b', 'model.onnx_data', 4096, 8192),
          external('c', 'extra.bin'),
          { name: 'inline', dataType: DataType.FLOAT, dims: [1], floatData: [1] },
        ],
        ...io,
      },
    }).finish();
    fs.writeFileSync(file, bytes);
    const info = await inspectGraph(file);
    expectMatchesReference(info, file);
    expect(info.externalData).toEqual({ files: ['model.onnx_data', 'extra.bin'], bytes: 4096 + 8192 + 1000 });
  });

  test('a 50 MB embedded initializer and a 2 MB Constant are skipped, not read', async () => {
    const io = qwenIo(2, 2, 8, DataType.FLOAT);
    const bigBytes = 50 * 1024 * 1024;
    const file = writeModel('big.onnx', {
      name: 'main',
      node: [
        node('Constant', '', [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dataType: DataType.FLOAT, dims: [524288], rawData: new Uint8Array(2 * 1024 * 1024) } }]),
        ...PLAIN_NODES,
      ],
      initializer: [{ name: 'lm_head.weight', dataType: DataType.FLOAT, dims: [bigBytes / 4], rawData: new Uint8Array(bigBytes) }],
      ...io,
    });
    expect(fs.statSync(file).size).toBeGreaterThan(bigBytes);
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    const { info, counter, ms } = await inspectCounting(file);
    const arrayBuffersGrowth = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
    expectMatchesReference(info, file);
    expect(info.opTypes.Constant).toBe(1);
    expect(counter.bytesRead).toBeLessThan(512 * 1024);
    expect(counter.largestRead).toBeLessThanOrEqual(64 * 1024);
    expect(arrayBuffersGrowth).toBeLessThan(8 * 1024 * 1024);
    expect(ms).toBeLessThan(1000);
  });

  test('a 1.9 GB model (sparse file) is inspected by reading under 256 KB of it', async () => {
    // Hand-assembled: a graph of nodes, one initializer with 1.9 GB of raw_data, then inputs/outputs.
    const dataBytes = 1_900_000_000;
    const io = qwenIo(28, 8, 128, DataType.FLOAT16);
    const nodesPart = onnx.GraphProto.encode({ node: PLAIN_NODES }).finish();
    const ioPart = onnx.GraphProto.encode({ name: 'main', ...io }).finish();
    const tensorHeader = onnx.TensorProto.encode({ name: 'model.embed_tokens.weight', dataType: DataType.FLOAT, dims: [dataBytes / 4] }).finish();
    const rawDataTag = Buffer.concat([Buffer.from([(9 << 3) | 2]), encodeVarint(dataBytes)]);
    const tensorBytes = tensorHeader.length + rawDataTag.length + dataBytes;
    const initializerTag = Buffer.concat([Buffer.from([(5 << 3) | 2]), encodeVarint(tensorBytes)]);
    const graphBytes = nodesPart.length + initializerTag.length + tensorBytes + ioPart.length;
    const modelHead = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }] }).finish();
    const head = Buffer.concat([modelHead, Buffer.from([(7 << 3) | 2]), encodeVarint(graphBytes), nodesPart, initializerTag, tensorHeader, rawDataTag]);
    const file = path.join(workDir, 'huge.onnx');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, head, 0, head.length, 0);
    fs.writeSync(fd, ioPart, 0, ioPart.length, head.length + dataBytes);
    fs.closeSync(fd);

    const { info, counter, ms } = await inspectCounting(file);
    expect(info.fileBytes).toBe(head.length + dataBytes + ioPart.length);
    expect(info).toMatchObject({ attention: 'plain', kvDtype: 'float16', numLayers: 28, numKvHeads: 8, headDim: 128, hasPositionIds: true });
    expect(info.inputs).toHaveLength(3 + 56);
    expect(counter.bytesRead).toBeLessThan(256 * 1024);
    expect(ms).toBeLessThan(1000);
  });

  test('results do not depend on where read-buffer boundaries fall', async () => {
    const files = [plainModel('plain-b.onnx', DataType.FLOAT), gqaModel('gqa-b.onnx', DataType.FLOAT16, { rotaryOp: true })];
    for (const file of files) {
      const whole = await inspectGraph(file);
      for (const chunkBytes of [1, 7, 16, 100]) expect(await inspectGraph(file, { chunkBytes })).toEqual(whole);
    }
  });

  test('a file that is not a complete protobuf is rejected', async () => {
    const good = fs.readFileSync(plainModel('cut.onnx', DataType.FLOAT));
    const truncated = path.join(workDir, 'truncated.onnx');
    fs.writeFileSync(truncated, good.subarray(0, good.length - 10));
    await expect(inspectGraph(truncated)).rejects.toThrow();
  });
});
