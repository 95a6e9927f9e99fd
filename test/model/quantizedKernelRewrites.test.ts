import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { derivedGraphPath, ensureDerivedGraph, planDerivedGraph } from '../../src/model/derivedGraph';
import { loadModel } from '../../src/engine/loadModel';
import { DEFAULT_KERNEL_REWRITES } from '../../src/model/quantizedKernelRewrites';
import { DtypeName } from '../../src/dtypeFiles';
import { buildTinyModel } from '../../src/tinymodel';
import { cpuHasVnni, vnniInCpuinfo } from '../../src/cpuFeatures';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import { tempDir } from '../helpers/testModels';

const { fround, abs, max, floor } = Math;
const KERNELS_ONLY = { gatherLogits: false, kernels: DEFAULT_KERNEL_REWRITES };
/** Each rewrite is compared on its own: the float vocabulary projection kept where another rewrite is under test. */
const FLOAT_LM_HEAD = { QWEN_GEN_QUANTIZED_LM_HEAD: '0' };
const SIGNED = { gatherLogits: false, kernels: { ...DEFAULT_KERNEL_REWRITES, signedWeights: true } };
/** uint8 × int8 sums exactly only with VNNI (derivedGraphOptions applies the rewrite only there): comparisons need it. */
const withVnni = cpuHasVnni() ? test : test.skip;

let workDir: string;
beforeAll(() => {
  workDir = tempDir('kernel-rewrites');
});

function fileHash(filePath: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(filePath)).digest('hex');
}

function decodeGraph(file: string): { node: onnx.NodeProto[]; initializer: onnx.TensorProto[] } {
  const graph = onnx.ModelProto.decode(fs.readFileSync(file)).graph as onnx.GraphProto;
  return { node: graph.node as onnx.NodeProto[], initializer: graph.initializer as onnx.TensorProto[] };
}

/** Seeded values in [-scale/2, scale/2). */
function seeded(count: number, scale: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out[i] = fround(scale * (state / 2147483648 - 0.5));
  }
  return out;
}

interface Projection {
  file: string;
  k: number;
  n: number;
  weights: Int8Array | Uint8Array;
  /** Per tensor (length 1) or per output column (length n). */
  weightScale: Float32Array;
  weightZeroPoint: Int8Array | Uint8Array;
}

/**
 * One projection as onnxruntime's dynamic quantizer writes it: DynamicQuantizeLinear(x) → MatMulInteger(q, W, zp, W_zp) →
 * Cast → Mul(·, Mul(x_scale, W_scale)).
 */
/** `externalData`: every initializer in `projection.onnx_data` (as large exports store them, zero points included). */
function writeProjection(name: string, options: { signed: boolean; perColumn: boolean; externalData?: boolean }): Projection {
  // Over 64 KB of weights, so the derived file references them instead of copying them (small tensors are copied).
  const k = 256;
  const n = 272;
  const count = k * n;
  const weights = options.signed
    ? Int8Array.from(seeded(count, 254, 3), (v) => Math.round(v))
    : Uint8Array.from(seeded(count, 255, 3), (v) => Math.round(v + 127.5));
  const columns = options.perColumn ? n : 1;
  const weightScale = Float32Array.from(seeded(columns, 0.01, 5), (v) => fround(abs(v) + 0.001));
  const weightZeroPoint = options.signed ? new Int8Array(columns) : Uint8Array.from(seeded(columns, 40, 7), (v) => Math.round(v + 120));
  const elem = options.signed ? onnx.TensorProto.DataType.INT8 : onnx.TensorProto.DataType.UINT8;
  const columnDims = options.perColumn ? [n] : [];
  const tensor = (tensorName: string, dataType: number, dims: number[], data: ArrayBufferView) => ({
    name: tensorName, dataType, dims, rawData: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  });
  const valueInfo = (valueName: string, dims: (number | string)[]) => ({
    name: valueName,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
  const model = onnx.ModelProto.fromObject({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'projection',
      node: [
        { name: 'quantize', opType: 'DynamicQuantizeLinear', input: ['x'], output: ['x_q', 'x_scale', 'x_zero_point'] },
        { name: 'matmul', opType: 'MatMulInteger', input: ['x_q', 'w', 'x_zero_point', 'w_zero_point'], output: ['product'] },
        { name: 'cast', opType: 'Cast', input: ['product'], output: ['product_f'], attribute: [{ name: 'to', type: 2, i: 1 }] },
        { name: 'scales', opType: 'Mul', input: ['x_scale', 'w_scale'], output: ['scale'] },
        { name: 'rescale', opType: 'Mul', input: ['product_f', 'scale'], output: ['y'] },
      ],
      initializer: [
        tensor('w', elem, [k, n], weights),
        tensor('w_scale', onnx.TensorProto.DataType.FLOAT, columnDims, weightScale),
        tensor('w_zero_point', elem, columnDims, weightZeroPoint),
      ],
      input: [valueInfo('x', ['rows', k])],
      output: [valueInfo('y', ['rows', n])],
    },
  });
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'projection.onnx');
  if (options.externalData) {
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const initializer of (model.graph as onnx.GraphProto).initializer) {
      const raw = Buffer.from(initializer.rawData as Uint8Array);
      initializer.rawData = new Uint8Array(0);
      initializer.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      initializer.externalData = [
        { key: 'location', value: 'projection.onnx_data' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) },
      ].map((e) => onnx.StringStringEntryProto.create(e));
      chunks.push(raw);
      offset += raw.length;
    }
    fs.writeFileSync(path.join(dir, 'projection.onnx_data'), Buffer.concat(chunks));
  }
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return { file, k, n, weights, weightScale, weightZeroPoint };
}

/** ONNX Round: halves to even. */
function roundHalfToEven(x: number): number {
  const r = floor(x + 0.5);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The derived projection computed here in float32, step by step as the rewrite specifies it: per row, scale =
 * max(|x|) / 127, q = round(x / scale) (zero point 128 on uint8), integer dot product with (w - w_zero_point), then
 * · w_scale · scale.
 */
function rowWiseReference(p: Projection, x: Float32Array, rows: number): Float32Array {
  const y = new Float32Array(rows * p.n);
  for (let r = 0; r < rows; r++) {
    let rowMax = 0;
    for (let i = 0; i < p.k; i++) rowMax = max(rowMax, abs(x[r * p.k + i]));
    const scale = fround(max(rowMax, fround(1e-30)) / 127);
    const q = new Int32Array(p.k);
    for (let i = 0; i < p.k; i++) q[i] = roundHalfToEven(fround(x[r * p.k + i] / scale));
    for (let j = 0; j < p.n; j++) {
      const column = p.weightScale.length === 1 ? 0 : j;
      let dot = 0;
      for (let i = 0; i < p.k; i++) dot += q[i] * (p.weights[i * p.n + j] - p.weightZeroPoint[column]);
      y[r * p.n + j] = fround(fround(fround(dot) * p.weightScale[column]) * scale);
    }
  }
  return y;
}

async function runRows(file: string, x: Float32Array, rows: number, k: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const output = await session.run({ x: new ort.Tensor('float32', x.slice(0, rows * k), [rows, k]) });
    return Float32Array.from(output.y.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** Rows of very different magnitudes: a per-batch scale is set by the largest. */
function inputRows(k: number, rows: number): Float32Array {
  const x = seeded(rows * k, 2, 11);
  for (let i = 0; i < k; i++) x[2 * k + i] = fround(x[2 * k + i] * 100);
  for (let i = 0; i < k; i++) x[3 * k + i] = fround(abs(x[3 * k + i]) + 0.5); // all positive: a one-sided row
  return x;
}

describe.each([
  ['int8 weights, per-tensor scale', { signed: true, perColumn: false }],
  ['uint8 weights with a zero point, per-tensor scale', { signed: false, perColumn: false }],
  ['uint8 weights, per-column scales and zero points', { signed: false, perColumn: true }],
])('row-wise activation quantization (%s)', (name, options) => {
  let projection: Projection;
  let derived: string;
  const rows = 5;

  beforeAll(async () => {
    projection = writeProjection(name.replace(/[^a-z0-9]+/gi, '-'), options);
    const before = fileHash(projection.file);
    const result = await ensureDerivedGraph(projection.file, KERNELS_ONLY);
    if (result.path === null) throw new Error(result.reason);
    expect(result.rewrites.map((r) => r.name)).toEqual(['row_wise_activation_quantization']);
    derived = result.path;
    expect(fileHash(projection.file)).toBe(before);
  });

  test('the derived graph has no DynamicQuantizeLinear and multiplies the same weight tensors', () => {
    const graph = decodeGraph(derived);
    const ops = graph.node.map((n) => n.opType);
    expect(ops).not.toContain('DynamicQuantizeLinear');
    expect(graph.node.find((n) => n.opType === 'MatMulInteger')?.input.slice(1, 2)).toEqual(['w']);
    // The weights are the user's bytes, referenced in place (no copy in the derived file).
    const w = graph.initializer.find((t) => t.name === 'w');
    expect(w?.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
  });

  test('equals the row-wise quantization computed independently here, for every row', async () => {
    const x = inputRows(projection.k, rows);
    const actual = await runRows(derived, x, rows, projection.k);
    const expected = rowWiseReference(projection, x, rows);
    // Integer products are exact and each float step is one IEEE float32 operation, in the same order as here: equal to
    // a few ulps at most (1e-6 relative).
    for (let i = 0; i < expected.length; i++) expect(abs(actual[i] - expected[i])).toBeLessThanOrEqual(1e-6 * abs(expected[i]));
  });

  test("a row's result does not depend on the rows beside it (bit for bit)", async () => {
    const x = inputRows(projection.k, rows);
    const together = await runRows(derived, x, rows, projection.k);
    for (let r = 0; r < rows; r++) {
      const alone = await runRows(derived, x.slice(r * projection.k, (r + 1) * projection.k), 1, projection.k);
      expect(Array.from(alone)).toEqual(Array.from(together.subarray(r * projection.n, (r + 1) * projection.n)));
    }
  });

  test('negative control: the original graph (one scale per batch) changes a row when a larger row joins it', async () => {
    const x = inputRows(projection.k, rows);
    const together = await runRows(projection.file, x, rows, projection.k);
    const alone = await runRows(projection.file, x.slice(0, projection.k), 1, projection.k);
    expect(maxAbsDifference(alone, together.subarray(0, projection.n))).toBeGreaterThan(0);
  });
});

describe.each([
  ['a zero point, per-tensor scale', { signed: false, perColumn: false }],
  ['per-column scales and zero points', { signed: false, perColumn: true }],
  ['every tensor in external data, zero points included', { signed: false, perColumn: true, externalData: true }],
])('uint8 weights stored as int8 (%s)', (name, options) => {
  const slug = name.replace(/[^a-z0-9]+/gi, '-');
  const rows = 5;
  let projection: Projection;
  let unsignedProjection: Projection;
  let derived: string;
  let unsignedDerived: string;

  beforeAll(async () => {
    projection = writeProjection(`signed-${slug}`, options);
    unsignedProjection = writeProjection(`unsigned-${slug}`, options);
    const before = fileHash(projection.file);
    const result = await ensureDerivedGraph(projection.file, SIGNED);
    if (result.path === null) throw new Error(result.reason);
    expect(result.rewrites.map((r) => r.name)).toEqual(['row_wise_activation_quantization', 'signed_8bit_weights']);
    expect(fileHash(projection.file)).toBe(before);
    derived = result.path;
    const plain = await ensureDerivedGraph(unsignedProjection.file, KERNELS_ONLY);
    if (plain.path === null) throw new Error(plain.reason);
    unsignedDerived = plain.path;
  });

  test('the weight is read from the derived data file as w − 128 and its zero point is z − 128 (int8)', () => {
    const graph = decodeGraph(derived);
    const w = graph.initializer.find((t) => t.name === 'w')!;
    expect(w.dataType).toBe(onnx.TensorProto.DataType.INT8);
    const entry = (key: string) => w.externalData.find((e) => e.key === key)?.value;
    expect(entry('location')).toBe('projection.qwen-gen.onnx_data');
    const data = fs.readFileSync(path.join(path.dirname(projection.file), 'projection.qwen-gen.onnx_data'));
    const stored = new Int8Array(data.buffer, data.byteOffset + Number(entry('offset')), Number(entry('length')));
    expect(stored.length).toBe(projection.k * projection.n);
    expect(Array.from(stored)).toEqual(Array.from(projection.weights, (v) => v - 128));
    const zeroPoint = graph.initializer.find((t) => t.name === 'w_zero_point')!;
    expect(zeroPoint.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect(Array.from(new Int8Array(zeroPoint.rawData.buffer, zeroPoint.rawData.byteOffset, zeroPoint.rawData.length))).toEqual(
      Array.from(projection.weightZeroPoint, (z) => z - 128),
    );
  });

  withVnni('gives the uint8 graph\'s outputs bit for bit, and the row-wise reference computed here', async () => {
    const x = inputRows(projection.k, rows);
    const signed = await runRows(derived, x, rows, projection.k);
    expect(Array.from(signed)).toEqual(Array.from(await runRows(unsignedDerived, x, rows, projection.k)));
    const expected = rowWiseReference(projection, x, rows);
    for (let i = 0; i < expected.length; i++) expect(abs(signed[i] - expected[i])).toBeLessThanOrEqual(1e-6 * abs(expected[i]));
  });

  test('negative control: the int8 weight with its zero point left unshifted gives other outputs', async () => {
    const model = onnx.ModelProto.decode(fs.readFileSync(derived));
    const zeroPoint = (model.graph as onnx.GraphProto).initializer.find((t) => t.name === 'w_zero_point')!;
    zeroPoint.rawData = Uint8Array.from(projection.weightZeroPoint);
    const broken = path.join(path.dirname(projection.file), 'broken.onnx');
    fs.writeFileSync(broken, onnx.ModelProto.encode(model).finish());
    const x = inputRows(projection.k, rows);
    expect(maxAbsDifference(await runRows(broken, x, rows, projection.k), rowWiseReference(projection, x, rows))).toBeGreaterThan(0.01);
  });
});

test('the VNNI check reads the flags line of /proc/cpuinfo', () => {
  expect(vnniInCpuinfo('processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n')).toBe(true);
  expect(vnniInCpuinfo('flags\t\t: fpu avx2 avx_vnni\n')).toBe(true);
  expect(vnniInCpuinfo('flags\t\t: fpu sse2 avx2 avx512f\nbugs\t\t: avx512_vnni\n')).toBe(false);
  expect(vnniInCpuinfo('')).toBe(false);
});

test('a DynamicQuantizeLinear whose scale is used in another way is left alone, with the reason', async () => {
  const projection = writeProjection('other-use', { signed: true, perColumn: false });
  const model = onnx.ModelProto.decode(fs.readFileSync(projection.file));
  (model.graph as onnx.GraphProto).output.push(onnx.ValueInfoProto.create({ name: 'x_scale' }));
  fs.writeFileSync(projection.file, onnx.ModelProto.encode(model).finish());
  const plan = await planDerivedGraph(projection.file, KERNELS_ONLY);
  expect('skipped' in plan && plan.skipped).toEqual([expect.stringMatching(/^DynamicQuantizeLinear 'quantize': its outputs are graph outputs/)]);
  const result = await ensureDerivedGraph(projection.file, KERNELS_ONLY);
  expect(result.path).toBeNull();
  expect(fs.existsSync(derivedGraphPath(projection.file))).toBe(false);
});

describe('on the builder models (logits against the float model of the same weights)', () => {
  const PROMPTS = [[9707, 11, 1879, 0], [785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13, 576, 3974], [40]];
  let dir: string;
  beforeAll(async () => {
    dir = path.join(workDir, 'builder');
    await buildTinyModel(dir, { attention: 'gqa', variants: ['fp32', 'q8', 'uint8', 'q4', 'q4f16'] });
  });

  /** Each prompt's next-token logits, run alone. */
  async function logits(dtype: DtypeName, derivedGraph: boolean, env: Record<string, string> = {}): Promise<Float32Array[]> {
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      const model = await loadModel(dir, { dtype, derivedGraph, runtime: 'direct' });
      try {
        const rows: Float32Array[] = [];
        for (const prompt of PROMPTS) {
          const feeds = model.protocol.prefill([prompt]);
          const result = await model.runner.step(feeds);
          rows.push(Float32Array.from(result.logits.row(0, feeds.logitColumns[0])));
        }
        return rows;
      } finally {
        await model.runner.release();
      }
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }

  test.each(['q8', 'uint8'] as const)(
    '%s: the per-row graph is about as close to the float model as the file itself (within 2x per prompt, no worse in sum)',
    async (dtype) => {
      const reference = await logits('fp32', false);
      const file = await logits(dtype, false);
      const derived = await logits(dtype, true, FLOAT_LM_HEAD);
      const fileError = file.map((row, i) => maxAbsDifference(row, reference[i]));
      const derivedError = derived.map((row, i) => maxAbsDifference(row, reference[i]));
      // Symmetric per-row int8 has 255 levels over [-max|x|, max|x|]; the file's asymmetric uint8 has 256 over
      // [min(x, 0), max(x, 0)] of the whole tensor: for a one-sided row up to 2x finer, for a batch or a long prompt coarser.
      derivedError.forEach((error, i) => expect(error).toBeLessThanOrEqual(2 * fileError[i]));
      expect(derivedError.reduce((a, b) => a + b)).toBeLessThanOrEqual(fileError.reduce((a, b) => a + b));
      // The rewrite ran (negative control: the logits moved).
      expect(derived.some((row, i) => maxAbsDifference(row, file[i]) > 0)).toBe(true);
    },
  );

  test.each(['q4', 'q4f16'] as const)(
    '%s: accuracy level 4 moves the logits by less than half of what 4-bit weights move them from the float model',
    async (dtype) => {
      const reference = await logits('fp32', false);
      const level0 = await logits(dtype, true, { ...FLOAT_LM_HEAD, QWEN_GEN_ACCURACY_LEVEL: '0' });
      const level4 = await logits(dtype, true, FLOAT_LM_HEAD);
      const graph = decodeGraph(derivedGraphPath(path.join(dir, 'onnx', dtype === 'q4' ? 'model_q4.onnx' : 'model_q4f16.onnx')));
      const levels = graph.node.filter((n) => n.opType === 'MatMulNBits').map((n) => n.attribute.find((a) => a.name === 'accuracy_level')?.i);
      expect(levels.length).toBeGreaterThan(0);
      expect(levels.every((level) => Number(level) === 4)).toBe(true);
      level4.forEach((row, i) => {
        const moved = maxAbsDifference(row, level0[i]);
        // Negative control: int8 compute does change the numbers (the attribute takes effect)...
        expect(moved).toBeGreaterThan(0);
        // ...by less than the weights' own 4-bit rounding does: 8-bit activations per block of 32 are finer than 4-bit weights.
        expect(moved).toBeLessThan(0.5 * maxAbsDifference(level0[i], reference[i]));
      });
    },
  );
  withVnni.each(['q8', 'uint8'] as const)('%s: int8 copies of the uint8 weights give the same logits bit for bit (GroupQueryAttention q8 files are uint8)', async (dtype) => {
    const signed = await logits(dtype, true);
    const graph = decodeGraph(derivedGraphPath(path.join(dir, 'onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model_uint8.onnx')));
    const weightNames = new Set(graph.node.filter((n) => n.opType === 'MatMulInteger').map((n) => n.input[1]));
    const weights = graph.initializer.filter((t) => weightNames.has(t.name));
    expect(weights.length).toBeGreaterThan(0);
    expect(weights.every((t) => t.dataType === onnx.TensorProto.DataType.INT8)).toBe(true);
    const unsigned = await logits(dtype, true, { QWEN_GEN_SIGNED_WEIGHTS: '0' });
    const unsignedGraph = decodeGraph(derivedGraphPath(path.join(dir, 'onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model_uint8.onnx')));
    expect(unsignedGraph.initializer.filter((t) => weightNames.has(t.name)).every((t) => t.dataType === onnx.TensorProto.DataType.UINT8)).toBe(true);
    signed.forEach((row, i) => expect(maxAbsDifference(row, unsigned[i])).toBe(0));
  });

  test('q4: the 8-bit lm_head copy dequantizes to within half a step of every float weight (read back from its file)', async () => {
    await logits('q4', true);
    const source = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'onnx', 'model_q4.onnx'))).graph as onnx.GraphProto;
    const embedding = (source.initializer as onnx.TensorProto[]).find((t) => t.name === 'model.embed_tokens.weight')!;
    const raw = embedding.rawData;
    const weights = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const [vocab, hidden] = embedding.dims.map(Number);
    const data = fs.readFileSync(path.join(dir, 'onnx', 'model_q4.qwen-gen.onnx_data'));
    const blocks = hidden / 32;
    expect(data.length).toBe(vocab * hidden + vocab * blocks * 4);
    const scales = new Float32Array(data.buffer.slice(data.byteOffset + vocab * hidden, data.byteOffset + data.length));
    let worst = 0;
    for (let row = 0; row < vocab; row += 97) {
      for (let b = 0; b < blocks; b++) {
        let amax = 0;
        for (let i = 0; i < 32; i++) amax = max(amax, abs(weights[row * hidden + b * 32 + i]));
        const scale = scales[row * blocks + b];
        expect(abs(scale - amax / 127)).toBeLessThanOrEqual(1e-6 * amax);
        for (let i = 0; i < 32; i++) {
          const at = row * hidden + b * 32 + i;
          const error = abs((data[at] - 128) * scale - weights[at]);
          worst = max(worst, error / scale);
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(0.5001);
    expect(worst).toBeGreaterThan(0.3); // rounding happened: the copy is not the float weight
  });

  test.each(['q4', 'q8'] as const)('%s: the 8-bit lm_head moves the logits by under 1 %% of their range (negative control: it moves them)', async (dtype) => {
    const floatHead = await logits(dtype, true, FLOAT_LM_HEAD);
    const quantizedHead = await logits(dtype, true);
    const graph = decodeGraph(derivedGraphPath(path.join(dir, 'onnx', dtype === 'q4' ? 'model_q4.onnx' : 'model_quantized.onnx')));
    expect(graph.node.filter((n) => n.opType === 'Gemm')).toEqual([]);
    quantizedHead.forEach((row, i) => {
      let range = 0;
      for (let j = 0; j < row.length; j++) range = max(range, abs(floatHead[i][j]));
      const moved = maxAbsDifference(row, floatHead[i]);
      expect(moved).toBeGreaterThan(0);
      // Each weight moves by at most 1/254 of its block's largest magnitude, so a logit by well under 1 % of the largest.
      expect(moved).toBeLessThan(0.01 * range);
    });
  });
});
