import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { DtypeName } from '../../src/dtypeFiles';
import { buildTinyModel } from '../../src/tinymodel';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { effectiveBatchSize } from '../../src/schedule/batchingSupport';
import { greedyTokens } from '../helpers/greedyRun';
import { RAW_PROMPTS, VARIED_MESSAGES } from '../helpers/prompts';
import { tempDir } from '../helpers/testModels';
import * as path from 'node:path';

// Greedy batched == solo on every dtype file the builder makes, with the session options and derived-graph rewrites
// qwen-gen ships (prepacking on; MatMulNBits at accuracy level 4; per-row activation quantization in the dynamically
// quantized files; the 8-bit lm_head in quantized files), on both runtimes, on a GroupQueryAttention graph and a plain one.
const ALL_DTYPES: DtypeName[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'];
const RUNTIMES = ['direct', 'onnxruntime-node'] as const;

const dirs: Record<'gqa' | 'plain', string> = { gqa: '', plain: '' };
let prompts: number[][];
const maxTokens = (count: number) => Array.from({ length: count }, (_, i) => 3 + ((i * 5) % 11));

beforeAll(async () => {
  dirs.gqa = path.join(tempDir('dtype-invariance-gqa'), 'model');
  await buildTinyModel(dirs.gqa, { attention: 'gqa', variants: ALL_DTYPES });
  dirs.plain = path.join(tempDir('dtype-invariance-plain'), 'model');
  await buildTinyModel(dirs.plain, { variants: ALL_DTYPES });
});

async function withModel<T>(dir: string, dtype: DtypeName, runtime: (typeof RUNTIMES)[number], use: (model: LoadedModel) => Promise<T>, derivedGraph = true): Promise<T> {
  const model = await loadModel(dir, { dtype, runtime, threads: 2, derivedGraph });
  try {
    if (!prompts) {
      prompts = [
        ...VARIED_MESSAGES.map((messages) => encodePrompt(model.tokenizer, { messages }, { enableThinking: true })),
        ...RAW_PROMPTS.map((prompt) => encodePrompt(model.tokenizer, { prompt }, { enableThinking: true })),
      ];
    }
    return await use(model);
  } finally {
    await model.runner.release();
  }
}

const cases = [
  ...ALL_DTYPES.flatMap((dtype) => RUNTIMES.map((runtime) => ['gqa', dtype, runtime] as const)),
  ...ALL_DTYPES.flatMap((dtype) => RUNTIMES.map((runtime) => ['plain', dtype, runtime] as const)),
];

test.each(cases)('%s %s (%s): greedy batched at 8 and 16 equals solo, and the scheduler batches it', async (kind, dtype, runtime) => {
  await withModel(dirs[kind], dtype, runtime, async (model) => {
    expect(model.runtime.name).toBe(runtime);
    expect(model.runtime.session?.prepacking).toBe(true);
    expect(effectiveBatchSize(model.graph, 8)).toBe(8);
    const rewrites = model.derived?.rewrites.map((r) => r.name) ?? [];
    if (['q8', 'int8', 'uint8'].includes(dtype)) expect(rewrites).toContain('row_wise_activation_quantization');
    if (dtype === 'q4' || dtype === 'q4f16') expect(rewrites).toContain('matmulnbits_accuracy_level');
    // The vocabulary projection of a quantized file with a float32 embedding runs in 8 bits (q4f16's embedding is float16).
    if (['q8', 'int8', 'uint8', 'q4', 'bnb4'].includes(dtype)) expect(rewrites).toContain('quantized_lm_head');
    const counts = maxTokens(prompts.length);
    const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens: counts, ignoreEos: true });
    const batched = await greedyTokens(model, prompts, { batchSize: 8, maxTokens: counts, ignoreEos: true });
    const wide = await greedyTokens(model, prompts, { batchSize: 16, maxTokens: counts, maxBatchTokens: 1200, ignoreEos: true });
    expect(batched).toEqual(solo);
    expect(wide).toEqual(solo);
    expect(solo.every((tokens, i) => tokens.length === counts[i])).toBe(true);
    expect(new Set(solo.map((t) => t.join(','))).size).toBeGreaterThan(prompts.length / 2);
  });
});

test.each(['q8', 'int8', 'uint8'] as const)(
  'negative control: the %s file run as it is (one activation scale per batch) is not batch-invariant, and the scheduler runs it at batch size 1',
  async (dtype) => {
    await withModel(dirs.gqa, dtype, 'direct', async (model) => {
      expect(model.derived).toBeNull();
      expect(effectiveBatchSize(model.graph, 8)).toBe(1);
      const counts = maxTokens(prompts.length);
      const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens: counts, ignoreEos: true });
      // Forced past the scheduler's decision: the engine batches what it is told to.
      const batched = await greedyTokens(model, prompts, { batchSize: 16, maxTokens: counts, maxBatchTokens: 1200, ignoreEos: true });
      expect(batched.filter((tokens, i) => tokens.join(',') !== solo[i].join(',')).length).toBeGreaterThan(0);
    }, false);
  },
);
