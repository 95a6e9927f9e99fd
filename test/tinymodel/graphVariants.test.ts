import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { registerTinyModel } from '../../src/cli/commands/tinyModel';
import { UserError } from '../../src/errors';
import { inspectGraph } from '../../src/model/graphInfo';
import { TinyModelOptions, buildTinyModel, resolveTinyOptions } from '../../src/tinymodel';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import { argmax, emptyPast, int64, logitsAt, Outputs, presentAsPast } from '../helpers/ortStepping';
import { tempDir } from '../helpers/testModels';

/**
 * The tiny-model builder's graph variants (GroupQueryAttention with either rotary form, float16 KV caches) against
 * the plain float32 graph built from the same seed. The plain graph is checked against an independent float64
 * reference in tinyModel.test.ts, so agreement with it is agreement with Qwen3.
 */

// Hot loops use local aliases: in jest's vm context each global lookup (`Math.abs`) is ~100x slower.
const { max } = Math;

const PAD_ID = 151643;
/** `<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n` */
const PROMPT = [151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198];
/** float32 graphs agree to float rounding (measured ≤ 5e-6). */
const FLOAT32_TOLERANCE = 1e-4;
/**
 * A float16 cache rounds every cached key/value to 11 significant bits (relative 2^-11 ≈ 5e-4); with logits of
 * magnitude ~3 the measured gap to the float32 graph is ≤ 7e-3 (the gqa float16 graphs also attend in float16).
 */
const FLOAT16_TOLERANCE = 2e-2;


interface Variant {
  label: string;
  options: Partial<TinyModelOptions>;
  tolerance: number;
}

const VARIANTS: Variant[] = [
  { label: 'gqa + RotaryEmbedding op', options: { attention: 'gqa', rotary: 'op' }, tolerance: FLOAT32_TOLERANCE },
  { label: 'gqa + fused rotary', options: { attention: 'gqa', rotary: 'fused' }, tolerance: FLOAT32_TOLERANCE },
  { label: 'plain + float16 KV', options: { kvDtype: 'float16' }, tolerance: FLOAT16_TOLERANCE },
  { label: 'gqa + op + float16 KV', options: { attention: 'gqa', rotary: 'op', kvDtype: 'float16' }, tolerance: FLOAT16_TOLERANCE },
  { label: 'gqa + fused + float16 KV', options: { attention: 'gqa', rotary: 'fused', kvDtype: 'float16' }, tolerance: FLOAT16_TOLERANCE },
];

interface Model {
  dir: string;
  onnxPath: string;
  options: TinyModelOptions;
  session: ort.InferenceSession;
}

let workDir: string;
let plain: Model;
const models = new Map<string, Model>();

async function openModel(name: string, options: Partial<TinyModelOptions>): Promise<Model> {
  const info = await buildTinyModel(path.join(workDir, name), options);
  return { dir: info.dir, onnxPath: info.onnxPath, options: info.options, session: await ort.InferenceSession.create(info.onnxPath) };
}

beforeAll(async () => {
  workDir = tempDir('variants');
  plain = await openModel('plain', {});
  for (const [i, variant] of VARIANTS.entries()) models.set(variant.label, await openModel(`variant-${i}`, variant.options));
});

afterAll(async () => {
  await plain?.session.release();
  for (const model of models.values()) await model.session.release();
});

// ------------------------------------------------------------------------------------------------------------
// Feeding helpers: right padding is the protocol GroupQueryAttention assumes (NOTES.md "Two attention styles").
// ------------------------------------------------------------------------------------------------------------

/** One prompt, unpadded: every prefill position's logits, then one decode step per token in `continuation`. */
async function soloRun(
  model: Model,
  prompt: number[],
  continuation: number[],
): Promise<{ prefill: Float32Array[]; steps: Float32Array[]; outputs: Outputs[] }> {
  let outputs = await model.session.run({
    input_ids: int64([prompt]),
    attention_mask: int64([prompt.map(() => 1)]),
    position_ids: int64([prompt.map((_, i) => i)]),
    ...emptyPast(model.options, 1),
  });
  const prefill = prompt.map((_, s) => logitsAt(outputs, 0, s));
  const all = [outputs];
  const steps: Float32Array[] = [];
  let length = prompt.length;
  for (const token of continuation) {
    length += 1;
    outputs = await model.session.run({
      input_ids: int64([[token]]),
      attention_mask: int64([Array(length).fill(1)]),
      position_ids: int64([[length - 1]]),
      ...presentAsPast(outputs, model.options.layers),
    });
    steps.push(logitsAt(outputs, 0, 0));
    all.push(outputs);
  }
  return { prefill, steps, outputs: all };
}

/**
 * Right-padded batch: mask 1…1 0…0, position_ids 0..W-1, each row's logits read at its own last real column; each
 * decode step appends a 1 column to the mask (pads stay 0 as holes) and feeds the row's own count as position.
 */
async function rightPaddedRun(
  model: Model,
  rows: number[][],
  continuations: number[][],
): Promise<{ logits: Float32Array[][]; outputs: Outputs[] }> {
  const width = max(...rows.map((row) => row.length));
  let mask = rows.map((row) => [...row.map(() => 1), ...Array(width - row.length).fill(0)]);
  let outputs = await model.session.run({
    input_ids: int64(rows.map((row) => [...row, ...Array(width - row.length).fill(PAD_ID)])),
    attention_mask: int64(mask),
    position_ids: int64(rows.map(() => Array.from({ length: width }, (_, i) => i))),
    ...emptyPast(model.options, rows.length),
  });
  const logits = rows.map((row, b) => [logitsAt(outputs, b, row.length - 1)]);
  const all = [outputs];
  const lengths = rows.map((row) => row.length);
  for (let step = 0; step < continuations[0].length; step++) {
    mask = mask.map((m) => [...m, 1]);
    outputs = await model.session.run({
      input_ids: int64(continuations.map((tokens) => [tokens[step]])),
      attention_mask: int64(mask),
      position_ids: int64(lengths.map((n) => [n])),
      ...presentAsPast(outputs, model.options.layers),
    });
    lengths.forEach((_, b) => (lengths[b] += 1));
    rows.forEach((_, b) => logits[b].push(logitsAt(outputs, b, 0)));
    all.push(outputs);
  }
  return { logits, outputs: all };
}

/** Left-padded prefill as transformers.js pads: mask 0…0 1…1, position_ids = max(cumsum(mask) - 1, 0); last column. */
async function leftPaddedPrefill(model: Model, rows: number[][]): Promise<Float32Array[]> {
  const width = max(...rows.map((row) => row.length));
  const mask = rows.map((row) => [...Array(width - row.length).fill(0), ...row.map(() => 1)]);
  const positions = mask.map((m) => {
    let seen = 0;
    return m.map((bit) => max((seen += bit) - 1, 0));
  });
  const outputs = await model.session.run({
    input_ids: int64(rows.map((row) => [...Array(width - row.length).fill(PAD_ID), ...row])),
    attention_mask: int64(mask),
    position_ids: int64(positions),
    ...emptyPast(model.options, rows.length),
  });
  return rows.map((_, b) => logitsAt(outputs, b, width - 1));
}

const ROWS = [PROMPT, PROMPT.slice(3, 9), PROMPT.slice(5, 7)];

// ------------------------------------------------------------------------------------------------------------

describe.each(VARIANTS)('tiny-model variant: $label', ({ label, options, tolerance }) => {
  const model = () => models.get(label)!;

  test('same external I/O names as the plain graph; KV tensors of the requested dtype', async () => {
    expect(model().session.inputNames).toEqual(plain.session.inputNames);
    expect(model().session.outputNames).toEqual(plain.session.outputNames);
    const info = await inspectGraph(model().onnxPath);
    const kvDtype = options.kvDtype ?? 'float32';
    expect(info.kvDtype).toBe(kvDtype);
    for (const tensor of [...info.inputs, ...info.outputs]) {
      const isKv = /^(past_key_values|present)\./.test(tensor.name);
      expect([tensor.name, tensor.dtype]).toEqual([tensor.name, isKv ? kvDtype : tensor.name === 'logits' ? 'float32' : 'int64']);
    }
  });

  test(`single prompt: prefill at every position and 2 decode steps equal the plain graph within ${tolerance}`, async () => {
    const reference = await soloRun(plain, PROMPT, []);
    const first = argmax(reference.prefill[PROMPT.length - 1]);
    const referenceAfterFirst = await soloRun(plain, PROMPT, [first]);
    const continuation = [first, argmax(referenceAfterFirst.steps[0])];
    const expected = await soloRun(plain, PROMPT, continuation);

    const actual = await soloRun(model(), PROMPT, continuation);
    PROMPT.forEach((_, s) => expect(maxAbsDifference(actual.prefill[s], expected.prefill[s])).toBeLessThan(tolerance));
    continuation.forEach((_, i) => expect(maxAbsDifference(actual.steps[i], expected.steps[i])).toBeLessThan(tolerance));
    expect(actual.steps.map(argmax)).toEqual(expected.steps.map(argmax));

    const present = actual.outputs[2]['present.0.key'] as ort.Tensor;
    expect(present.dims).toEqual([1, model().options.kvHeads, PROMPT.length + 2, model().options.headDim]);
    if (options.kvDtype === 'float16') {
      expect(present.type).toBe('float16');
      expect(present.data).toBeInstanceOf(Uint16Array);
    }
  });

  test('right-padded batch of 3 rows: prefill and 2 decode steps equal each row run alone', async () => {
    const continuations = ROWS.map((_, b) => [1000 + b, 2000 + b]);
    const batch = await rightPaddedRun(model(), ROWS, continuations);
    for (const [b, row] of ROWS.entries()) {
      const solo = await soloRun(model(), row, continuations[b]);
      const soloLogits = [solo.prefill[row.length - 1], ...solo.steps];
      // GQA rows are bit-identical to solo; the plain graph's masked softmax over pad columns differs by float rounding.
      soloLogits.forEach((expected, i) => expect(maxAbsDifference(batch.logits[b][i], expected)).toBeLessThan(1e-5));
    }
  });

  test('the config.json records the variant', () => {
    const config = JSON.parse(fs.readFileSync(path.join(model().dir, 'config.json'), 'utf8'));
    expect(config.qwen_gen_tiny).toMatchObject({
      attention: options.attention ?? 'plain',
      kvDtype: options.kvDtype ?? 'float32',
      seed: 42,
    });
    expect(config.qwen_gen_tiny.rotary).toBe(options.rotary);
  });
});

describe('GroupQueryAttention graphs', () => {
  const gqaOp = () => models.get('gqa + RotaryEmbedding op')!;
  const gqaFused = () => models.get('gqa + fused rotary')!;

  test('graph inspection: GroupQueryAttention, fused norms, rotary form and GQA attributes', async () => {
    const op = await inspectGraph(gqaOp().onnxPath);
    const fused = await inspectGraph(gqaFused().onnxPath);
    const layers = plain.options.layers;
    for (const info of [op, fused]) {
      expect(info.attention).toBe('gqa');
      expect(info.opTypes['com.microsoft:GroupQueryAttention']).toBe(layers);
      expect(info.opTypes['com.microsoft:SkipSimplifiedLayerNormalization']).toBe(2 * layers);
      // input_layernorm of layer 0, plus q_norm and k_norm of every layer
      expect(info.opTypes['SimplifiedLayerNormalization']).toBe(1 + 2 * layers);
      expect(info.opTypes['Softmax']).toBeUndefined();
      expect(info.gqaAttributes).toMatchObject({ numHeads: plain.options.heads, kvNumHeads: plain.options.kvHeads, rotaryInterleaved: 0 });
    }
    expect(op.rotary).toBe('rotary-embedding-op');
    expect(op.opTypes['com.microsoft:RotaryEmbedding']).toBe(2 * layers);
    expect(op.gqaAttributes?.doRotary).toBe(0);
    expect(fused.rotary).toBe('gqa-fused');
    expect(fused.opTypes['com.microsoft:RotaryEmbedding']).toBeUndefined();
    expect(fused.gqaAttributes?.doRotary).toBe(1);

    const plainInfo = await inspectGraph(plain.onnxPath);
    expect(plainInfo.attention).toBe('plain');
    expect(plainInfo.rotary).toBe('ops');
  });

  test('negative control: a LEFT-padded batch gives wrong padded rows on gqa (and right ones on plain)', async () => {
    const expected: Float32Array[] = [];
    for (const row of ROWS) expected.push((await soloRun(plain, row, [])).prefill[row.length - 1]);
    const onPlain = await leftPaddedPrefill(plain, ROWS);
    ROWS.forEach((_, b) => expect(maxAbsDifference(onPlain[b], expected[b])).toBeLessThan(FLOAT32_TOLERANCE));

    for (const model of [gqaOp(), gqaFused()]) {
      const onGqa = await leftPaddedPrefill(model, ROWS);
      expect(maxAbsDifference(onGqa[0], expected[0])).toBeLessThan(FLOAT32_TOLERANCE); // the longest row has no padding
      // Logits here are of magnitude ~3; the padded rows are off by ~4 (measured), silently.
      expect(maxAbsDifference(onGqa[1], expected[1])).toBeGreaterThan(1);
      expect(maxAbsDifference(onGqa[2], expected[2])).toBeGreaterThan(1);
    }
  });

  test('fused rotary derives positions itself (position_ids ignored); the RotaryEmbedding op uses them', async () => {
    const run = (model: Model, positions: number[]) =>
      model.session.run({
        input_ids: int64([PROMPT]),
        attention_mask: int64([PROMPT.map(() => 1)]),
        position_ids: int64([positions]),
        ...emptyPast(model.options, 1),
      });
    const right = PROMPT.map((_, i) => i);
    const wrong = PROMPT.map(() => 7);
    const last = (outputs: Outputs) => logitsAt(outputs, 0, PROMPT.length - 1);
    expect(maxAbsDifference(last(await run(gqaFused(), wrong)), last(await run(gqaFused(), right)))).toBe(0);
    expect(maxAbsDifference(last(await run(gqaOp(), wrong)), last(await run(gqaOp(), right)))).toBeGreaterThan(0.1);
  });

  test("the present cache holds each right-padded row's real tokens compacted at slots 0..n-1", async () => {
    const model = gqaFused();
    const continuations = ROWS.map((_, b) => [3000 + b]);
    const batch = await rightPaddedRun(model, ROWS, continuations);
    const { kvHeads, headDim } = model.options;
    const batchKey = batch.outputs[1]['present.1.key'] as ort.Tensor; // after one decode step
    const slots = batchKey.dims[2];
    expect(slots).toBe(PROMPT.length + 1);
    for (const [b, row] of ROWS.entries()) {
      const solo = await soloRun(model, row, continuations[b]);
      const soloKey = solo.outputs[1]['present.1.key'] as ort.Tensor; // [1, kv, n+1, d]
      const n = row.length + 1;
      for (let h = 0; h < kvHeads; h++) {
        const batchStart = ((b * kvHeads + h) * slots) * headDim;
        const soloStart = (h * n) * headDim;
        const got = (batchKey.data as Float32Array).subarray(batchStart, batchStart + n * headDim);
        const want = (soloKey.data as Float32Array).subarray(soloStart, soloStart + n * headDim);
        expect(maxAbsDifference(got, want)).toBeLessThan(1e-6);
      }
    }
  });
});

describe('variant options', () => {
  test('gqa defaults to the fused rotary form; rotary is rejected without gqa; unknown values are rejected', () => {
    expect(resolveTinyOptions({ attention: 'gqa' }).rotary).toBe('fused');
    expect(resolveTinyOptions({}).rotary).toBeUndefined();
    expect(() => resolveTinyOptions({ rotary: 'op' })).toThrow("rotary applies only to attention 'gqa'");
    expect(() => resolveTinyOptions({ attention: 'sdpa' as never })).toThrow('attention must be one of plain, gqa');
    expect(() => resolveTinyOptions({ kvDtype: 'bfloat16' as never })).toThrow('kvDtype must be one of float32, float16');
    expect(() => resolveTinyOptions({ attention: 'gqa', rotary: 'interleaved' as never })).toThrow('rotary must be one of op, fused');
  });

  test('CLI: --attention gqa --rotary op --kv-dtype float16 builds that variant; --rotary needs gqa', async () => {
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerTinyModel(program);
      await program.parseAsync(['node', 'qwen-gen', 'tiny-model', ...args]);
    };
    const dir = path.join(workDir, 'cli-gqa');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await run(dir, '--layers', '1', '--attention', 'gqa', '--rotary', 'op', '--kv-dtype', 'float16');
      await expect(run(path.join(workDir, 'cli-bad'), '--rotary', 'op')).rejects.toThrow(UserError);
      await expect(run(path.join(workDir, 'cli-bad'), '--attention', 'sdpa')).rejects.toThrow(/argument 'sdpa' is invalid/);
    } finally {
      stderr.mockRestore();
    }
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(written.qwen_gen_tiny).toMatchObject({ layers: 1, attention: 'gqa', rotary: 'op', kvDtype: 'float16' });
    const info = await inspectGraph(path.join(dir, 'onnx', 'model.onnx'));
    expect([info.attention, info.rotary, info.kvDtype]).toEqual(['gqa', 'rotary-embedding-op', 'float16']);
    expect(fs.existsSync(path.join(workDir, 'cli-bad'))).toBe(false);
  });
});
