import * as crypto from 'crypto';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { DERIVED_GRAPH_METADATA_KEY, derivedGraphPath, ensureDerivedGraph } from '../../src/model/derivedGraph';
import { LOGITS_INDEX_INPUT } from '../../src/model/gatheredLogitsPlan';
import { buildTinyModel, TinyModelInfo } from '../../src/tinymodel';
import { tempDir } from '../helpers/testModels';

const PAD_ID = 151643;
/** Right-padded batch: prompt lengths very different, so most rows have pads after their last real token. */
const PROMPT_LENGTHS = [3, 40, 1, 17, 64];

let workDir: string;

/** The derived graph with only the logits-gathering rewrite (what this file tests). */
async function ensureGatheredLogitsGraph(onnxPath: string): Promise<{ path: string; created: boolean } | { path: null; reason: string }> {
  const result = await ensureDerivedGraph(onnxPath, { gatherLogits: true, kernels: null });
  return result.path === null ? { path: null, reason: result.reason } : { path: result.path, created: result.created };
}
let embedded: TinyModelInfo;

beforeAll(async () => {
  workDir = tempDir('gather');
  embedded = await buildTinyModel(path.join(workDir, 'embedded'));
});

function fileHash(filePath: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(filePath)).digest('hex');
}

/** Seeded prompts of the given lengths (token ids below the pad id). */
function prompts(lengths: number[]): number[][] {
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648);
  return lengths.map((length) => Array.from({ length }, () => next() % PAD_ID));
}

/** Prefill feeds: right padding (mask 1…1 0…0), position_ids 0..S-1, empty past KV [B, kvHeads, 0, headDim]. */
function rightPaddedFeeds(model: TinyModelInfo, rows: number[][]): Record<string, ort.Tensor> {
  const { layers, kvHeads, headDim } = model.options;
  const batch = rows.length;
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(batch * width).fill(BigInt(PAD_ID));
  const mask = new BigInt64Array(batch * width);
  const positions = new BigInt64Array(batch * width);
  rows.forEach((row, b) => {
    row.forEach((token, s) => {
      ids[b * width + s] = BigInt(token);
      mask[b * width + s] = 1n;
    });
    for (let s = 0; s < width; s++) positions[b * width + s] = BigInt(s);
  });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, width]),
    attention_mask: new ort.Tensor('int64', mask, [batch, width]),
    position_ids: new ort.Tensor('int64', positions, [batch, width]),
  };
  for (let layer = 0; layer < layers; layer++) {
    for (const part of ['key', 'value']) {
      feeds[`past_key_values.${layer}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [batch, kvHeads, 0, headDim]);
    }
  }
  return feeds;
}

function lastColumns(rows: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.map((r) => BigInt(r.length - 1))), [rows.length]);
}

function logitsRow(logits: ort.Tensor, row: number, column: number): Float32Array {
  const [, columns, vocab] = logits.dims.map(Number);
  const start = (row * columns + column) * vocab;
  return (logits.data as Float32Array).subarray(start, start + vocab);
}

async function withSessions<T>(paths: string[], use: (sessions: ort.InferenceSession[]) => Promise<T>): Promise<T> {
  const sessions = await Promise.all(paths.map((p) => ort.InferenceSession.create(p)));
  try {
    return await use(sessions);
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

/**
 * The derived graph's row b equals the original's logits at column len_b - 1, and every present.* output is
 * identical. `extraOriginalFeeds` completes the original's inputs (e.g. num_logits_to_keep = 0: all positions).
 */
async function expectSameAsOriginal(model: TinyModelInfo, derivedPath: string, extraOriginalFeeds: Record<string, ort.Tensor> = {}) {
  const rows = prompts(PROMPT_LENGTHS);
  await withSessions([model.onnxPath, derivedPath], async ([original, derived]) => {
    expect(derived.inputNames).toContain(LOGITS_INDEX_INPUT);
    expect(derived.outputNames).toEqual(original.outputNames);
    const feeds = rightPaddedFeeds(model, rows);
    const full = await original.run({ ...feeds, ...extraOriginalFeeds });
    const gathered = await derived.run({ ...feeds, [LOGITS_INDEX_INPUT]: lastColumns(rows) });

    const width = Math.max(...PROMPT_LENGTHS);
    expect(full.logits.dims).toEqual([rows.length, width, model.options.vocabSize]);
    expect(gathered.logits.dims).toEqual([rows.length, 1, model.options.vocabSize]);
    rows.forEach((row, b) => {
      const expected = logitsRow(full.logits, b, row.length - 1);
      expect(maxAbsDifference(logitsRow(gathered.logits, b, 0), expected)).toBeLessThanOrEqual(1e-5);
      // The comparison can fail: a padded row's logits at its last real column differ from those at the last column.
      if (row.length < width) expect(maxAbsDifference(logitsRow(full.logits, b, width - 1), expected)).toBeGreaterThan(1e-2);
    });
    const presentNames = original.outputNames.filter((name) => name.startsWith('present.'));
    expect(presentNames.length).toBe(2 * model.options.layers);
    for (const name of presentNames) {
      expect(gathered[name].dims).toEqual(full[name].dims);
      expect(gathered[name].data).toEqual(full[name].data);
    }
  });
}

function decodeModel(filePath: string): onnx.ModelProto {
  return onnx.ModelProto.decode(fs.readFileSync(filePath));
}

/** The decoded graph (protobufjs decodes nested messages as class instances, so repeated fields are arrays). */
function decodeGraph(filePath: string): onnx.GraphProto {
  return decodeModel(filePath).graph as onnx.GraphProto;
}

function dimsOf(info: onnx.IValueInfoProto): onnx.TensorShapeProto.IDimension[] {
  return info.type?.tensorType?.shape?.dim ?? [];
}

describe('embedded-weights model', () => {
  let derivedPath: string;
  let sourceHash: string;

  beforeAll(async () => {
    sourceHash = fileHash(embedded.onnxPath);
    const result = await ensureGatheredLogitsGraph(embedded.onnxPath);
    if (result.path === null) throw new Error(`not derived: ${result.reason}`);
    expect(result.created).toBe(true);
    derivedPath = result.path;
  });

  test('is written beside the model under a derived name; the user file is byte-identical', () => {
    expect(derivedPath).toBe(path.join(path.dirname(embedded.onnxPath), 'model.qwen-gen.onnx'));
    expect(derivedGraphPath(embedded.onnxPath)).toBe(derivedPath);
    expect(fileHash(embedded.onnxPath)).toBe(sourceHash);
    expect(fs.readdirSync(path.dirname(derivedPath)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  test("row b's logits equal the original's at column len_b - 1; present.* are identical", async () => {
    await expectSameAsOriginal(embedded, derivedPath);
  });

  test('declares logits_index [batch] and logits [batch, 1, vocab] with the symbolic dims kept', () => {
    const graph = decodeGraph(derivedPath);
    const input = graph.input.find((i) => i.name === LOGITS_INDEX_INPUT)!;
    expect(input.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.INT64);
    expect(dimsOf(input).map((d) => d.dimParam)).toEqual(['batch_size']);
    const dims = dimsOf(graph.output.find((o) => o.name === 'logits')!);
    expect(dims[0].dimParam).toBe('batch_size');
    expect(Number(dims[1].dimValue)).toBe(1);
    expect(Number(dims[2].dimValue)).toBe(embedded.options.vocabSize);
    // The vocabulary projection runs once, on the gathered rows.
    const nodes = graph.node as onnx.NodeProto[];
    const projections = nodes.filter((n) => (n.opType === 'Gemm' || n.opType === 'MatMul') && n.input.includes('model.embed_tokens.weight'));
    expect(projections).toHaveLength(1);
    expect(nodes.find((n) => n.output.includes(projections[0].input[0]))?.opType).toBe('GatherND');
  });

  test('holds no copy of the weights: embedded tensors become references into the user file', () => {
    expect(fs.statSync(derivedPath).size).toBeLessThan(fs.statSync(embedded.onnxPath).size / 20);
    const embedding = (decodeGraph(derivedPath).initializer as onnx.TensorProto[]).find((t) => t.name === 'model.embed_tokens.weight');
    expect(embedding?.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    expect(embedding?.externalData.find((e) => e.key === 'location')?.value).toBe('model.onnx');
  });

  test('a second call reuses the file; a changed source makes it derive again', async () => {
    const before = fs.statSync(derivedPath).mtimeMs;
    expect(await ensureGatheredLogitsGraph(embedded.onnxPath)).toEqual({ path: derivedPath, created: false });
    expect(fs.statSync(derivedPath).mtimeMs).toBe(before);

    const touched = new Date(Date.now() + 5000);
    fs.utimesSync(embedded.onnxPath, touched, touched);
    expect(await ensureGatheredLogitsGraph(embedded.onnxPath)).toEqual({ path: derivedPath, created: true });
    expect(await ensureGatheredLogitsGraph(embedded.onnxPath)).toEqual({ path: derivedPath, created: false });
    expect(fileHash(embedded.onnxPath)).toBe(sourceHash);
  });

  test('a corrupt derived file is replaced', async () => {
    fs.writeFileSync(derivedPath, 'not a model');
    expect(await ensureGatheredLogitsGraph(embedded.onnxPath)).toEqual({ path: derivedPath, created: true });
    const metadata = decodeModel(derivedPath).metadataProps.find((p) => p.key === DERIVED_GRAPH_METADATA_KEY);
    expect(JSON.parse(metadata?.value ?? '{}').size).toBe(fs.statSync(embedded.onnxPath).size);
  });

  test('concurrent calls all end with a valid file and leave no temp files', async () => {
    fs.rmSync(derivedPath);
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureGatheredLogitsGraph(embedded.onnxPath)));
    for (const result of results) expect(result.path).toBe(derivedPath);
    expect(fs.readdirSync(path.dirname(derivedPath)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await expectSameAsOriginal(embedded, derivedPath);
  });
});

test('an external-data model: the derived graph references the same data file and gives the same logits', async () => {
  const model = await buildTinyModel(path.join(workDir, 'external'), { externalDataThresholdBytes: 0 });
  expect(model.externalDataPath).toBeDefined();
  const sourceHash = fileHash(model.onnxPath);
  const dataHash = fileHash(model.externalDataPath!);
  const result = await ensureGatheredLogitsGraph(model.onnxPath);
  if (result.path === null) throw new Error(result.reason);
  const locations = new Set(
    (decodeGraph(result.path).initializer as onnx.TensorProto[]).flatMap((t) => t.externalData.filter((e) => e.key === 'location').map((e) => e.value)),
  );
  expect([...locations]).toEqual(['model.onnx_data']);
  await expectSameAsOriginal(model, result.path);
  expect(fileHash(model.onnxPath)).toBe(sourceHash);
  expect(fileHash(model.externalDataPath!)).toBe(dataHash);
});

test('a graph with num_logits_to_keep: the derived graph gathers from all positions and drops that input', async () => {
  const model = await buildTinyModel(path.join(workDir, 'keep'), { withLogitsToKeep: true });
  const result = await ensureGatheredLogitsGraph(model.onnxPath);
  if (result.path === null) throw new Error(result.reason);
  expect(decodeGraph(result.path).input.map((i) => i.name)).not.toContain('num_logits_to_keep');
  const keepAll = new ort.Tensor('int64', BigInt64Array.from([0n]), []);
  await expectSameAsOriginal(model, result.path, { num_logits_to_keep: keepAll });
});

describe('other projection forms (hand-made heads on a [batch, sequence, hidden] input)', () => {
  const T = onnx.TensorProto.DataType;
  const H = 32;
  const V = 48;
  const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

  const floatTensor = (name: string, dims: number[], values: number[], dataType = T.FLOAT): onnx.ITensorProto => {
    if (dataType === T.FLOAT) return { name, dims, dataType, rawData: new Uint8Array(Float32Array.from(values).buffer) };
    return { name, dims, dataType, rawData: Uint8Array.from(values) }; // UINT8 / INT8 (two's complement) bytes
  };
  const io = (name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });

  async function expectGatheredRows(name: string, graph: onnx.IGraphProto, tolerance = 1e-5, extraOpsets: onnx.IOperatorSetIdProto[] = []) {
    const dir = path.join(workDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'head.onnx');
    const model: onnx.IModelProto = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }, ...extraOpsets], graph };
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    const result = await ensureGatheredLogitsGraph(file);
    if (result.path === null) throw new Error(result.reason);
    const random = seeded(7);
    const [batch, width] = [3, 5];
    const hidden = new ort.Tensor('float32', Float32Array.from({ length: batch * width * H }, () => random() * 2 - 1), [batch, width, H]);
    const columns = [4, 0, 2];
    await withSessions([file, result.path], async ([original, derived]) => {
      const full = await original.run({ hidden });
      const index = new ort.Tensor('int64', BigInt64Array.from(columns.map(BigInt)), [batch]);
      const gathered = await derived.run({ hidden, [LOGITS_INDEX_INPUT]: index });
      expect(gathered.logits.dims).toEqual([batch, 1, V]);
      expect(gathered.logits.type).toBe(full.logits.type);
      columns.forEach((column, b) => {
        expect(maxAbsDifference(logitsRow(gathered.logits, b, 0), logitsRow(full.logits, b, column))).toBeLessThanOrEqual(tolerance);
      });
    });
  }

  test('MatMul on a transposed [vocab, hidden] weight, between Casts to float16 and back', async () => {
    const random = seeded(1);
    const weight = floatTensor('lm_head.weight', [V, H], Array.from({ length: V * H }, () => random() - 0.5));
    await expectGatheredRows('matmul-fp16', {
      name: 'matmul_fp16',
      initializer: [weight],
      node: [
        { opType: 'Transpose', input: ['lm_head.weight'], output: ['w_t'], attribute: [{ name: 'perm', type: 7, ints: [1, 0] }] },
        { opType: 'Cast', input: ['w_t'], output: ['w_half'], attribute: [{ name: 'to', type: 2, i: T.FLOAT16 }] },
        { opType: 'Cast', input: ['hidden'], output: ['hidden_half'], attribute: [{ name: 'to', type: 2, i: T.FLOAT16 }] },
        { opType: 'MatMul', input: ['hidden_half', 'w_half'], output: ['logits_half'] },
        { opType: 'Cast', input: ['logits_half'], output: ['logits'], attribute: [{ name: 'to', type: 2, i: T.FLOAT }] },
      ],
      input: [io('hidden', T.FLOAT, ['batch_size', 'sequence_length', H])],
      output: [io('logits', T.FLOAT, ['batch_size', 'sequence_length', V])],
    }, 2e-3); // float16 math over 3 rows vs 15 rows may round differently: a few float16 ulps at |logits| < 4
  });

  test('MatMul on a DequantizeLinear int8 weight', async () => {
    const random = seeded(2);
    const weight = floatTensor('w_q', [H, V], Array.from({ length: H * V }, () => Math.floor(random() * 256)), T.INT8);
    await expectGatheredRows('matmul-dq', {
      name: 'matmul_dq',
      initializer: [weight, floatTensor('w_scale', [], [0.01])],
      node: [
        { opType: 'DequantizeLinear', input: ['w_q', 'w_scale'], output: ['w'] },
        { opType: 'MatMul', input: ['hidden', 'w'], output: ['logits'] },
      ],
      input: [io('hidden', T.FLOAT, ['batch_size', 'sequence_length', H])],
      output: [io('logits', T.FLOAT, ['batch_size', 'sequence_length', V])],
    });
  });

  test('com.microsoft MatMulNBits (4-bit)', async () => {
    const random = seeded(3);
    const blockSize = 16;
    const blocks = H / blockSize;
    const packed = floatTensor('w_4bit', [V, blocks, blockSize / 2], Array.from({ length: V * H / 2 }, () => Math.floor(random() * 256)), T.UINT8);
    const scales = floatTensor('w_scales', [V * blocks], Array.from({ length: V * blocks }, () => 0.01 + random() * 0.05));
    const int = (name: string, i: number): onnx.IAttributeProto => ({ name, type: 2, i });
    await expectGatheredRows(
      'matmul-nbits',
      {
        name: 'matmul_nbits',
        initializer: [packed, scales],
        node: [
          {
            opType: 'MatMulNBits',
            domain: 'com.microsoft',
            input: ['hidden', 'w_4bit', 'w_scales'],
            output: ['logits'],
            attribute: [int('K', H), int('N', V), int('bits', 4), int('block_size', blockSize)],
          },
        ],
        input: [io('hidden', T.FLOAT, ['batch_size', 'sequence_length', H])],
        output: [io('logits', T.FLOAT, ['batch_size', 'sequence_length', V])],
      },
      1e-5,
      [{ domain: 'com.microsoft', version: 1 }],
    );
  });
});

describe('unrecognised graphs give path null with a reason and write nothing', () => {
  const T = onnx.TensorProto.DataType;
  const valueInfo = (name: string, dims: (number | string)[]): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: T.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });

  async function expectRefused(name: string, graph: onnx.IGraphProto, reason: RegExp) {
    const dir = path.join(workDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'model.onnx');
    const model: onnx.IModelProto = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph };
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    // Sanity: onnxruntime accepts the graph, so the refusal is about its structure, not about a broken file.
    await (await ort.InferenceSession.create(file)).release();
    const result = await ensureGatheredLogitsGraph(file);
    expect(result.path).toBeNull();
    expect('reason' in result && result.reason).toMatch(reason);
    expect(fs.readdirSync(dir)).toEqual(['model.onnx']);
  }

  test('logits computed without any projection', async () => {
    await expectRefused(
      'no-projection',
      {
        name: 'no_projection',
        node: [{ opType: 'Relu', input: ['hidden'], output: ['logits'] }],
        input: [valueInfo('hidden', ['batch_size', 'sequence_length', 8])],
        output: [valueInfo('logits', ['batch_size', 'sequence_length', 8])],
      },
      /Relu/,
    );
  });

  test('a MatMul whose second operand is not a weight', async () => {
    await expectRefused(
      'two-inputs',
      {
        name: 'two_inputs',
        node: [{ opType: 'MatMul', input: ['hidden', 'other'], output: ['logits'] }],
        input: [valueInfo('hidden', ['batch_size', 'sequence_length', 4]), valueInfo('other', [4, 8])],
        output: [valueInfo('logits', ['batch_size', 'sequence_length', 8])],
      },
      /not an initializer/,
    );
  });

  test('no logits output at all', async () => {
    await expectRefused(
      'no-logits',
      {
        name: 'no_logits',
        node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
        input: [valueInfo('x', [2])],
        output: [valueInfo('y', [2])],
      },
      /no 'logits' output/,
    );
  });

  test('a file that is not an ONNX model', async () => {
    const file = path.join(workDir, 'garbage.onnx');
    fs.writeFileSync(file, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const result = await ensureGatheredLogitsGraph(file);
    expect(result.path).toBeNull();
  });
});

test('measurement (reported, not asserted): prefill of a 256-token prompt, original vs derived', async () => {
  const derived = await ensureGatheredLogitsGraph(embedded.onnxPath);
  if (derived.path === null) throw new Error(derived.reason);
  const rows = prompts([256]);
  const feeds = rightPaddedFeeds(embedded, rows);
  const timings = await withSessions([embedded.onnxPath, derived.path], async ([original, gathered]) => {
    const time = async (run: () => Promise<unknown>) => {
      await run(); // warm-up
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        const start = process.hrtime.bigint();
        await run();
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      return samples.sort((a, b) => a - b)[1];
    };
    return {
      originalMs: await time(() => original.run(feeds)),
      derivedMs: await time(() => gathered.run({ ...feeds, [LOGITS_INDEX_INPUT]: lastColumns(rows) })),
    };
  });
  console.log(
    `prefill 256 tokens, tiny model (median of 3): original ${timings.originalMs.toFixed(1)} ms, ` +
      `gathered ${timings.derivedMs.toFixed(1)} ms (${(timings.originalMs / timings.derivedMs).toFixed(1)}x)`,
  );
  expect(timings.derivedMs).toBeGreaterThan(0);
});
