import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { execFileSync } from 'child_process';
import { onnx } from 'onnx-proto';
import { registerTinyModel } from '../../../src/cli/commands/tinyModel';
import { UserError } from '../../../src/errors';
import { TinyModelOptions, buildTinyModel, resolveTinyOptions } from '../../../src/tinymodel';
import { GgufTensorType, quantizeQ4_0 } from '../../../src/tinymodel/gguf/ggmlTypes';
import { float32ToFloat16 as float32ToFloat16Bits } from '../../../src/runtime/float16';
import { ggufFileName, parseGgufTypes, writeTinyModelGguf } from '../../../src/tinymodel/gguf';
import { qwen3TokenizerDir } from '../../../src/tinymodel/modelFolder';
import { tempDir } from '../../helpers/testModels';

/**
 * The GGUF export (src/tinymodel/gguf/), checked against sources that are not the writer:
 * - header, metadata and tensor infos read back by an independent parser (@huggingface/gguf);
 * - F32 tensor data equal to the ONNX graph's initializers (read with onnx-proto), in GGUF's [out, in] layout;
 * - F16 values, Q8_0 and Q4_0 blocks recomputed here from llama.cpp's reference formulas (ggml-quants.c
 *   quantize_row_q8_0_ref / quantize_row_q4_0_ref), with this file's own float16 rounding (a different algorithm:
 *   scaling by the unit in the last place instead of bit manipulation), and dequantization within its error bound.
 */

// Hot loops use local aliases: in jest's vm context each global lookup (`Math.abs`) is ~100x slower.
const { abs, fround, floor, trunc, min, max, log2, sign } = Math;

/** Small, but every quantized row length is a multiple of 32 (hidden 32, heads·head_dim 64, intermediate 64). */
const OPTIONS: Partial<TinyModelOptions> = { seed: 11, attention: 'gqa', layers: 2, hiddenSize: 32, heads: 4, kvHeads: 2, headDim: 16, intermediateSize: 64 };
const TYPES: GgufTensorType[] = ['F32', 'F16', 'Q8_0', 'Q4_0'];
const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;

interface Parsed {
  metadata: Record<string, unknown>;
  tensorInfos: { name: string; n_dims: number; shape: number[]; dtype: number; offset: number }[];
  tensorDataOffset: number;
}

/**
 * @huggingface/gguf's reader, run in a child process: under jest's vm context its retry on a short read never fires
 * (`err instanceof RangeError` fails across realms), so it is run as plain Node. BigInts come back as numbers.
 */
function readGguf(file: string): Parsed {
  const script = `
    const { gguf } = require('@huggingface/gguf');
    gguf(process.argv[1], { allowLocalFile: true }).then((r) => process.stdout.write(JSON.stringify(r, (k, v) => typeof v === 'bigint' ? Number(v) : v)));`;
  const json = execFileSync(process.execPath, ['-e', script, file], { cwd: path.join(__dirname, '..', '..', '..'), maxBuffer: 256 << 20 });
  return JSON.parse(json.toString('utf8')) as Parsed;
}

let dir: string;
const parsed = new Map<GgufTensorType, Parsed>();
const files = new Map<GgufTensorType, Buffer>();
let onnxWeights: Map<string, { dims: number[]; values: Float32Array }>;

beforeAll(async () => {
  dir = path.join(tempDir('gguf'), 'model');
  await buildTinyModel(dir, OPTIONS);
  await writeTinyModelGguf(dir, OPTIONS, TYPES);
  for (const type of TYPES) {
    const file = path.join(dir, 'gguf', ggufFileName(type));
    parsed.set(type, readGguf(file));
    files.set(type, fs.readFileSync(file));
  }
  onnxWeights = readOnnxWeights(path.join(dir, 'onnx', 'model.onnx'));
});

/** The tensor names and ggml shapes a Qwen3 GGUF must hold (llama.cpp's LLM_TENSOR_NAMES for qwen3), from the options. */
function expectedTensors(o: TinyModelOptions): Map<string, { ne: number[]; onnx: string; kind: 'norm' | 'matrix' }> {
  const q = o.heads * o.headDim;
  const kv = o.kvHeads * o.headDim;
  const h = o.hiddenSize;
  const m = new Map<string, { ne: number[]; onnx: string; kind: 'norm' | 'matrix' }>();
  m.set('token_embd.weight', { ne: [h, o.vocabSize], onnx: 'model.embed_tokens.weight', kind: 'matrix' });
  m.set('output_norm.weight', { ne: [h], onnx: 'model.norm.weight', kind: 'norm' });
  for (let i = 0; i < o.layers; i++) {
    const p = `model.layers.${i}`;
    const add = (name: string, ne: number[], onnxName: string) => m.set(`blk.${i}.${name}.weight`, { ne, onnx: `${p}.${onnxName}.weight`, kind: ne.length === 1 ? 'norm' : 'matrix' });
    add('attn_norm', [h], 'input_layernorm');
    add('attn_q', [h, q], 'self_attn.q_proj');
    add('attn_k', [h, kv], 'self_attn.k_proj');
    add('attn_v', [h, kv], 'self_attn.v_proj');
    add('attn_output', [q, h], 'self_attn.o_proj');
    add('attn_q_norm', [o.headDim], 'self_attn.q_norm');
    add('attn_k_norm', [o.headDim], 'self_attn.k_norm');
    add('ffn_norm', [h], 'post_attention_layernorm');
    add('ffn_gate', [h, o.intermediateSize], 'mlp.gate_proj');
    add('ffn_up', [h, o.intermediateSize], 'mlp.up_proj');
    add('ffn_down', [o.intermediateSize, h], 'mlp.down_proj');
  }
  return m;
}

function readOnnxWeights(onnxPath: string): Map<string, { dims: number[]; values: Float32Array }> {
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxPath));
  const result = new Map<string, { dims: number[]; values: Float32Array }>();
  for (const tensor of model.graph?.initializer ?? []) {
    const name = tensor.name ?? '';
    if (!name.startsWith('model.') || !tensor.rawData) continue;
    const copy = new Uint8Array(tensor.rawData);
    result.set(name, { dims: (tensor.dims ?? []).map(Number), values: new Float32Array(copy.buffer, 0, copy.length / 4) });
  }
  return result;
}

/** The bytes of one tensor in a GGUF file, located by the independent parser's offsets. */
function tensorData(type: GgufTensorType, name: string): Uint8Array {
  const info = parsed.get(type)!.tensorInfos.find((t) => t.name === name)!;
  const start = parsed.get(type)!.tensorDataOffset + info.offset;
  const elements = info.shape.reduce((a, b) => a * Number(b), 1);
  const bytes = { 0: elements * 4, 1: elements * 2, 2: (elements / 32) * 18, 8: (elements / 32) * 34 }[info.dtype as 0 | 1 | 2 | 8];
  return new Uint8Array(files.get(type)!.subarray(start, start + bytes));
}

/** The ONNX weight in GGUF's row-major order: a projection [in, out] read as [out, in]. */
function onnxInGgufOrder(onnxName: string): Float32Array {
  const { dims, values } = onnxWeights.get(onnxName)!;
  if (dims.length !== 2 || onnxName.endsWith('embed_tokens.weight')) return values;
  const [inputs, outputs] = dims;
  const out = new Float32Array(values.length);
  for (let o = 0; o < outputs; o++) for (let i = 0; i < inputs; i++) out[o * inputs + i] = values[i * outputs + o];
  return out;
}

/** IEEE half bits by scaling to the half's unit in the last place and rounding half to even (exact in float64). */
function referenceHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const negative = x < 0 || Object.is(x, -0);
  const a = abs(x);
  const exponent = a === 0 ? -14 : max(-14, floor(log2(a)));
  const ulp = 2 ** (exponent - 10);
  const scaled = a / ulp;
  let units = floor(scaled);
  const rest = scaled - units;
  if (rest > 0.5 || (rest === 0.5 && units % 2 === 1)) units += 1;
  let bits: number;
  if (units >= 2048) { // rounding carried into the next binade
    bits = exponent + 1 + 15 >= 31 ? 0x7c00 : ((exponent + 1 + 15) << 10) | ((units / 2 - 1024) & 0x3ff);
  } else if (units < 1024) {
    bits = units; // subnormal (exponent pinned at -14)
  } else {
    bits = exponent + 15 >= 31 ? 0x7c00 : ((exponent + 15) << 10) | (units - 1024);
  }
  return (negative ? 0x8000 : 0) | bits;
}

function halfToNumber(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** quantize_row_q8_0_ref, written out here: d = amax/127, id = 1/d, q = roundf(x·id), all in float32. */
function referenceQ8Block(x: Float32Array): { d: number; q: number[] } {
  let amax = 0;
  for (const v of x) amax = max(amax, abs(v));
  const d = fround(amax / 127);
  const id = d ? fround(1 / d) : 0;
  return { d, q: Array.from(x, (v) => { const t = fround(v * id); return sign(t) * floor(abs(t) + 0.5); }) };
}

/** quantize_row_q4_0_ref: d = (value of largest |x|)/-8, q = min(15, (int8)(x·id + 8.5f)). */
function referenceQ4Block(x: Float32Array): { d: number; q: number[] } {
  let amax = 0;
  let m = 0;
  for (const v of x) if (amax < abs(v)) { amax = abs(v); m = v; }
  const d = fround(m / -8);
  const id = d ? fround(1 / d) : 0;
  return { d, q: Array.from(x, (v) => min(15, trunc(fround(fround(v * id) + 8.5)))) };
}

/** Count of blocks whose bytes differ from the reference; also checks each dequantized value within its bound. */
function checkQuantized(type: 'Q8_0' | 'Q4_0', data: Uint8Array, values: Float32Array, rows: Iterable<number>, rowLength: number): { blocks: number; mismatched: number; worstBoundRatio: number } {
  const blockBytes = type === 'Q8_0' ? 34 : 18;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let blocks = 0;
  let mismatched = 0;
  let worstBoundRatio = 0;
  for (const row of rows) {
    for (let b = 0; b < rowLength / 32; b++) {
      const start = row * rowLength + b * 32;
      const x = values.subarray(start, start + 32);
      const ref = type === 'Q8_0' ? referenceQ8Block(x) : referenceQ4Block(x);
      const at = (start / 32) * blockBytes;
      const storedD = view.getUint16(at, true);
      const q = type === 'Q8_0'
        ? Array.from({ length: 32 }, (_, j) => view.getInt8(at + 2 + j))
        : Array.from({ length: 32 }, (_, j) => (j < 16 ? data[at + 2 + j] & 0x0f : data[at + 2 + j - 16] >> 4));
      blocks++;
      if (storedD !== referenceHalf(ref.d) || q.some((v, j) => v !== ref.q[j])) mismatched++;
      // Dequantized: Q8_0 x ≈ d·q, Q4_0 x ≈ d·(q − 8); the rounding step is half a unit (a whole unit where Q4_0 clamps
      // at 15), plus the float16 rounding of d over up to 127 (8) units.
      const d16 = halfToNumber(storedD);
      const bound = type === 'Q8_0' ? abs(ref.d) / 2 + 127 * abs(d16 - ref.d) : abs(ref.d) + 8 * abs(d16 - ref.d);
      for (let j = 0; j < 32; j++) {
        const dequantized = type === 'Q8_0' ? d16 * q[j] : d16 * (q[j] - 8);
        worstBoundRatio = max(worstBoundRatio, abs(dequantized - x[j]) / (bound * (1 + 1e-6) + 1e-30));
      }
    }
  }
  return { blocks, mismatched, worstBoundRatio };
}

/** Every row of the layer matrices; for the 151,936-row embedding its first and last rows and 500 spread between. */
function rowsToCheck(ne: number[]): number[] {
  const rows = ne[1];
  if (rows <= 4096) return Array.from({ length: rows }, (_, i) => i);
  return [0, 1, rows - 1, ...Array.from({ length: 500 }, (_, i) => Math.floor(((i + 0.5) * rows) / 500))];
}

describe('GGUF header, metadata and tensor infos (read by @huggingface/gguf)', () => {
  test('architecture qwen3, the model\'s dimensions, file type per tensor type', () => {
    const o = resolveTinyOptions(OPTIONS);
    const fileTypes = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };
    for (const type of TYPES) {
      const m = parsed.get(type)!.metadata;
      expect(m).toMatchObject({
        version: 3,
        'general.architecture': 'qwen3',
        'general.file_type': fileTypes[type],
        'qwen3.block_count': o.layers,
        'qwen3.embedding_length': o.hiddenSize,
        'qwen3.feed_forward_length': o.intermediateSize,
        'qwen3.attention.head_count': o.heads,
        'qwen3.attention.head_count_kv': o.kvHeads,
        'qwen3.attention.key_length': o.headDim,
        'qwen3.attention.value_length': o.headDim,
        'qwen3.context_length': o.maxPositionEmbeddings,
        'qwen3.rope.freq_base': o.ropeTheta,
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': 'qwen2',
        'tokenizer.ggml.bos_token_id': 151643,
        'tokenizer.ggml.eos_token_id': 151645,
        'tokenizer.ggml.padding_token_id': 151643,
        'tokenizer.ggml.add_bos_token': false,
      });
      expect(m['qwen3.attention.layer_norm_rms_epsilon']).toBeCloseTo(o.rmsNormEps, 12);
    }
  });

  test('tokenizer: one token per embedding row, the tokenizer.json vocabulary and merges, unused ids as [PAD{id}]', () => {
    const json = JSON.parse(fs.readFileSync(path.join(qwen3TokenizerDir(), 'tokenizer.json'), 'utf8'));
    const m = parsed.get('F32')!.metadata;
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    const types = m['tokenizer.ggml.token_type'] as number[];
    const merges = m['tokenizer.ggml.merges'] as string[];
    expect(tokens).toHaveLength(resolveTinyOptions(OPTIONS).vocabSize);
    for (const [text, id] of Object.entries(json.model.vocab as Record<string, number>)) {
      if (tokens[id] !== text || types[id] !== 1) throw new Error(`token ${id}: ${tokens[id]} (type ${types[id]}), tokenizer.json says ${text}`);
    }
    expect(tokens[151645]).toBe('<|im_end|>');
    expect(types[151645]).toBe(3); // CONTROL
    expect(tokens[151667]).toBe('<think>');
    expect(types[151667]).toBe(4); // USER_DEFINED: added, not special
    expect(tokens[151700]).toBe('[PAD151700]');
    expect(types[151700]).toBe(5); // UNUSED
    expect(merges).toHaveLength(json.model.merges.length);
    expect(merges[0]).toBe([].concat(json.model.merges[0]).join(' '));
    expect(String(m['tokenizer.chat_template'])).toContain('<|im_start|>');
  });

  test('tensor names, ggml shapes ([in, out] for a projection), types, and 32-byte aligned, non-overlapping data', () => {
    const expected = expectedTensors(resolveTinyOptions(OPTIONS));
    for (const type of TYPES) {
      const { tensorInfos, tensorDataOffset } = parsed.get(type)!;
      expect(tensorInfos.map((t) => t.name).sort()).toEqual([...expected.keys()].sort());
      expect(Number(tensorDataOffset) % 32).toBe(0);
      const spans: [number, number][] = [];
      for (const info of tensorInfos) {
        const want = expected.get(info.name)!;
        expect(info.shape.map(Number)).toEqual(want.ne);
        expect(info.dtype).toBe(want.kind === 'norm' ? GGML.F32 : GGML[type]);
        expect(Number(info.offset) % 32).toBe(0);
        spans.push([Number(info.offset), Number(info.offset) + tensorData(type, info.name).length]);
      }
      spans.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
      expect(files.get(type)!.length).toBeGreaterThanOrEqual(Number(tensorDataOffset) + spans[spans.length - 1][1]);
    }
  });
});

describe('GGUF tensor data', () => {
  test('F32: every tensor equals the ONNX graph\'s initializer, projections transposed to [out, in]', () => {
    const expected = expectedTensors(resolveTinyOptions(OPTIONS));
    for (const [name, want] of expected) {
      const data = tensorData('F32', name);
      const values = new Float32Array(new Uint8Array(data).buffer);
      expect(Buffer.compare(Buffer.from(values.buffer), Buffer.from(onnxInGgufOrder(want.onnx).buffer))).toBe(0);
    }
    // Negative control: the ONNX [in, out] order itself is not what the file holds (the layout check can fail).
    const q = tensorData('F32', 'blk.0.attn_q.weight');
    expect(Buffer.compare(Buffer.from(q), Buffer.from(onnxWeights.get('model.layers.0.self_attn.q_proj.weight')!.values.buffer))).not.toBe(0);
  });

  test('F16: each value is the float32 weight rounded to the nearest half (ties to even)', () => {
    for (const [name, want] of expectedTensors(resolveTinyOptions(OPTIONS))) {
      if (want.kind === 'norm') continue;
      const halves = new Uint16Array(new Uint8Array(tensorData('F16', name)).buffer);
      const values = onnxInGgufOrder(want.onnx);
      let wrong = 0;
      for (let i = 0; i < values.length; i++) if (halves[i] !== referenceHalf(values[i])) wrong++;
      expect(`${name}: ${wrong} wrong`).toBe(`${name}: 0 wrong`);
    }
  });

  test.each(['Q8_0', 'Q4_0'] as const)('%s: blocks equal llama.cpp\'s reference quantization; dequantized values within the bound', (type) => {
    let blocks = 0;
    for (const [name, want] of expectedTensors(resolveTinyOptions(OPTIONS))) {
      if (want.kind === 'norm') continue;
      const result = checkQuantized(type, tensorData(type, name), onnxInGgufOrder(want.onnx), rowsToCheck(want.ne), want.ne[0]);
      expect(`${name}: ${result.mismatched} of ${result.blocks} blocks differ`).toBe(`${name}: 0 of ${result.blocks} blocks differ`);
      expect(result.worstBoundRatio).toBeLessThanOrEqual(1);
      blocks += result.blocks;
    }
    expect(blocks).toBeGreaterThan(1000);
  });

  test('negative controls: a wrong nibble order and a wrong rounding are caught by the same checks', () => {
    const values = onnxInGgufOrder('model.layers.0.mlp.gate_proj.weight');
    const right = quantizeQ4_0(values);
    expect(checkQuantized('Q4_0', right, values, [0, 1, 2], 32).mismatched).toBe(0);
    // Elements interleaved (j, j+1 in one byte) instead of (j, j+16): llama.cpp would read other weights.
    const interleaved = new Uint8Array(right);
    for (let b = 0; b < 3; b++) {
      const ref = referenceQ4Block(values.subarray(b * 32, b * 32 + 32));
      for (let j = 0; j < 16; j++) interleaved[b * 18 + 2 + j] = ref.q[2 * j] | (ref.q[2 * j + 1] << 4);
    }
    expect(checkQuantized('Q4_0', interleaved, values, [0, 1, 2], 32).mismatched).toBe(3);
    // Another 4-bit convention (scale amax / 7, q = round(x / scale) + 8, as symmetric MatMulNBits weights use) is not
    // llama.cpp's and is caught.
    const rounded = new Uint8Array(right);
    for (let b = 0; b < 64; b++) {
      const x = values.subarray(b * 32, b * 32 + 32);
      const scale = x.reduce((a, v) => max(a, abs(v)), 0) / 7;
      const q = Array.from(x, (v) => min(15, max(0, Math.round(v / scale) + 8)));
      new DataView(rounded.buffer).setUint16(b * 18, float32ToFloat16Bits(scale), true);
      for (let j = 0; j < 16; j++) rounded[b * 18 + 2 + j] = q[j] | (q[j + 16] << 4);
    }
    expect(checkQuantized('Q4_0', rounded, values, [0, 1], 1024).mismatched).toBe(64);
  });
});

describe('float16 rounding', () => {
  test('every finite half round-trips; midpoints round to even; overflow to infinity; tiny values to zero', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToNumber(bits);
      if (Number.isNaN(value)) continue;
      if (float32ToFloat16Bits(value) !== bits) throw new Error(`half ${bits.toString(16)} (${value}) encodes to ${float32ToFloat16Bits(value).toString(16)}`);
    }
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10: even (1)
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie: even (1 + 2^-9)
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds past the largest half (65504)
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even (0)
    expect(float32ToFloat16Bits(3 * 2 ** -26)).toBe(1);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    for (let i = 0; i < 20000; i++) {
      const x = fround((i - 10000) * 0.00731 * 1.37 ** (i % 40 - 20));
      if (float32ToFloat16Bits(x) !== referenceHalf(x)) throw new Error(`${x}: ${float32ToFloat16Bits(x)} vs ${referenceHalf(x)}`);
    }
  });
});

describe('tiny-model --gguf', () => {
  async function runCli(args: string[]): Promise<void> {
    const program = new Command().exitOverride();
    registerTinyModel(program);
    await program.parseAsync(['node', 'qwen-gen', 'tiny-model', ...args]);
  }

  test('writes gguf/model-<TYPE>.gguf for each listed type beside the ONNX graph', async () => {
    const out = path.join(tempDir('gguf-cli'), 'model');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runCli([out, '--layers', '1', '--gguf', 'f32,q4_0']);
    } finally {
      stderr.mockRestore();
    }
    expect(fs.readdirSync(path.join(out, 'gguf')).sort()).toEqual(['model-F32.gguf', 'model-Q4_0.gguf']);
    expect(fs.existsSync(path.join(out, 'onnx', 'model.onnx'))).toBe(true);
    const header = readGguf(path.join(out, 'gguf', 'model-Q4_0.gguf'));
    expect(header.metadata['qwen3.block_count']).toBe(1);
  });

  test('an unknown type or a row length the block formats cannot hold is refused naming the flag', async () => {
    expect(() => parseGgufTypes('f32,q5_k')).toThrow(/f32, f16, q8_0, q4_0/);
    await expect(runCli([path.join(tempDir('gguf-bad'), 'm'), '--gguf', 'q5_k'])).rejects.toThrow(UserError);
    await expect(runCli([path.join(tempDir('gguf-bad'), 'm'), '--gguf', 'q8_0', '--hidden-size', '48', '--head-dim', '12'])).rejects.toThrow(/--gguf.*32/);
  });
});
