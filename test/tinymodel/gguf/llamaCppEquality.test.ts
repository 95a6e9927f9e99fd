import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../../src/engine/loadModel';
import { encodePrompt } from '../../../src/tokenize/promptEncoder';
import { TinyAttention, TinyModelOptions, buildTinyModel } from '../../../src/tinymodel';
import { writeTinyModelGguf } from '../../../src/tinymodel/gguf';
import { greedyTokens } from '../../helpers/greedyRun';
import { tempDir } from '../../helpers/testModels';

/**
 * Opt-in: llama.cpp, an independent implementation of Qwen3, gives the same greedy tokens as qwen-gen on the builder's
 * float32 models written as GGUF (plain and GroupQueryAttention graphs). Needs node-llama-cpp, which the bench installs
 * on demand (never `npm ci`): `node bench/llamaCppDeps.js install`. Without it the test is skipped with that note.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { llamaCppModulePath, INSTALL_HINT } = require('../../../bench/llamaCppDeps.js') as { llamaCppModulePath: () => string | null; INSTALL_HINT: string };

const REPO = path.join(__dirname, '..', '..', '..');
const RUNNER = path.join(REPO, 'bench', 'llamaCppRunner.mjs');
const installed = llamaCppModulePath() !== null;
if (!installed) {
  // eslint-disable-next-line no-console
  console.log(`llamaCppEquality.test.ts skipped: node-llama-cpp is not installed (bench-only). To run it: ${INSTALL_HINT}`);
}
const maybe = installed ? describe : describe.skip;

/** A shape llama.cpp's CPU kernels take (head_dim 32, rows of multiples of 32), small enough to build in a second. */
const SHAPE: Partial<TinyModelOptions> = { seed: 5, layers: 2, hiddenSize: 64, heads: 4, kvHeads: 2, headDim: 32, intermediateSize: 128 };
const PROMPTS = [
  'Once upon a time',
  'The quick brown fox jumps over the lazy dog, and then the dog wakes up.',
  ' def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n',
  '東京の天気はどうですか？ 12345 — ünïcödé and emoji 🙂',
];
const MAX_TOKENS = [64, 80, 64, 96];

interface LlamaOutput {
  id: string;
  promptIds: number[];
  tokens: number[];
}

function runLlamaCpp(gguf: string, work: string): LlamaOutput[] {
  const workload = path.join(work, 'requests.json');
  const out = path.join(work, 'llama.json');
  fs.writeFileSync(workload, JSON.stringify(PROMPTS.map((prompt, i) => ({ id: `p${i}`, prompt, maxTokens: MAX_TOKENS[i] }))));
  // qwen-gen's numerics: a float32 KV cache and attention computed without llama.cpp's flash-attention kernel. With
  // llama.cpp's defaults (float16 KV cache, flash attention) the random weights' flat logits flip some greedy tokens
  // after 8–41 equal ones (measured on seeds 5–7), which says nothing about either implementation.
  execFileSync(process.execPath, [RUNNER, '--gguf', gguf, '--workload', workload, '--out', out, '--threads', '2', '--sequences', '4',
    '--kv-type', 'f32', '--flash-attention', 'off'],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  return (JSON.parse(fs.readFileSync(out, 'utf8')) as { outputs: LlamaOutput[] }).outputs;
}

async function qwenGenTokens(dir: string): Promise<{ promptIds: number[][]; tokens: number[][] }> {
  const model = await loadModel(dir, { threads: 2 });
  try {
    const promptIds = PROMPTS.map((prompt) => encodePrompt(model.tokenizer, { prompt }, { enableThinking: true }));
    const tokens = await greedyTokens(model, promptIds, { batchSize: 4, maxTokens: MAX_TOKENS, ignoreEos: true });
    return { promptIds, tokens };
  } finally {
    await model.runner.release();
  }
}

maybe('greedy tokens equal llama.cpp\'s on the same weights (opt-in: node-llama-cpp)', () => {
  const attentions: TinyAttention[] = ['plain', 'gqa'];

  test.each(attentions)('%s graph, float32: same prompt tokens, same 64–96 generated tokens for every prompt', async (attention) => {
    const work = tempDir(`llama-${attention}`);
    const dir = path.join(work, 'model');
    await buildTinyModel(dir, { ...SHAPE, attention });
    const [gguf] = await writeTinyModelGguf(dir, SHAPE, ['F32']);
    const ours = await qwenGenTokens(dir);
    const theirs = runLlamaCpp(gguf.path, work);
    PROMPTS.forEach((_, i) => {
      expect(theirs[i].promptIds).toEqual(ours.promptIds[i]);
      expect(ours.tokens[i]).toHaveLength(MAX_TOKENS[i]);
      expect(new Set(ours.tokens[i]).size).toBeGreaterThan(10); // varied tokens: equality is not a repeated token's
      expect(theirs[i].tokens).toEqual(ours.tokens[i]);
    });
  });

  test('negative control: llama.cpp on another seed\'s weights disagrees', async () => {
    const work = tempDir('llama-other-seed');
    const dir = path.join(work, 'model');
    await buildTinyModel(dir, { ...SHAPE, attention: 'gqa' });
    const [gguf] = await writeTinyModelGguf(path.join(work, 'other'), { ...SHAPE, seed: SHAPE.seed! + 1 }, ['F32']);
    const ours = await qwenGenTokens(dir);
    const theirs = runLlamaCpp(gguf.path, work);
    const identical = PROMPTS.filter((_, i) => JSON.stringify(theirs[i].tokens) === JSON.stringify(ours.tokens[i]));
    expect(identical).toHaveLength(0);
  });
});
