import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { choosePaddingProtocol } from '../../src/padding/paddingProtocol';
import { TinyModelOptions } from '../../src/tinymodel';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens } from '../helpers/greedyRun';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import { VARIED_MESSAGES } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';

// Every graph kind the builder makes, from the same seed (so the same weights).
const VARIANTS: [string, Partial<TinyModelOptions>][] = [
  ['plain', { attention: 'plain' }],
  ['gqa + RotaryEmbedding op', { attention: 'gqa', rotary: 'op' }],
  ['gqa + fused rotary', { attention: 'gqa', rotary: 'fused' }],
  ['plain + float16 KV', { attention: 'plain', kvDtype: 'float16' }],
  ['gqa + float16 KV', { attention: 'gqa', rotary: 'fused', kvDtype: 'float16' }],
];

const models = new Map<string, LoadedModel>();
/** The same graphs on the fallback runtime (onnxruntime-node's JS API). */
const nodeModels = new Map<string, LoadedModel>();
let prompts: number[][];
const maxTokens = (i: number) => 3 + ((i * 5) % 17);

beforeAll(async () => {
  for (const [name, options] of VARIANTS) {
    const dir = await buildTestModel(`kind-${name.replace(/\W+/g, '-')}`, { seed: 7, ...options });
    models.set(name, await loadModel(dir, { runtime: 'direct' }));
    nodeModels.set(name, await loadModel(dir, { runtime: 'onnxruntime-node' }));
  }
  const any = models.get('plain')!;
  prompts = VARIED_MESSAGES.map((messages) => encodePrompt(any.tokenizer, { messages }, { enableThinking: false }));
}, 300_000); // ten sessions over five graphs

afterAll(async () => {
  for (const model of [...models.values(), ...nodeModels.values()]) await model.runner.release();
});

test('inspection tells the kinds apart and the protocol follows the graph', () => {
  expect(models.get('plain')!.graph.attention).toBe('plain');
  expect(models.get('gqa + fused rotary')!.graph.attention).toBe('gqa');
  expect(models.get('gqa + float16 KV')!.runner.kvShape.dtype).toBe('float16');
  expect(models.get('plain')!.protocol.layout.name).toBe('mask-aligned');
  expect(models.get('gqa + RotaryEmbedding op')!.protocol.layout.name).toBe('compacted');
  for (const model of models.values()) expect(model.protocol.side).toBe('right');
});

test('each graph runs on the direct runtime, in place exactly on GroupQueryAttention graphs, and on onnxruntime-node', () => {
  for (const [name] of VARIANTS) {
    const direct = models.get(name)!.runner.runtime;
    expect(direct.name).toBe('direct');
    expect(direct.kvHandling).toMatch(name.startsWith('gqa') ? /^in place/ : /alternate/);
    expect(nodeModels.get(name)!.runner.runtime.name).toBe('onnxruntime-node');
  }
});

const RUNTIMES = VARIANTS.flatMap(([name]) => [[name, 'direct'], [name, 'onnxruntime-node']] as const);

test.each(RUNTIMES)('%s on %s: batched (continuous batching) equals solo, token for token', async (name, runtime) => {
  const model = (runtime === 'direct' ? models : nodeModels).get(name)!;
  const limits = prompts.map((_, i) => maxTokens(i));
  const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens: limits });
  // Batch 4 over 13 prompts: rows finish at different steps and waiting prompts are admitted into the running cache.
  const batched = await greedyTokens(model, prompts, { batchSize: 4, maxTokens: limits });
  expect(batched).toEqual(solo);
});

test.each(VARIANTS.map(([name]) => name))('%s: the direct runtime and onnxruntime-node give the same tokens', async (name) => {
  const limits = prompts.map((_, i) => maxTokens(i) + 6);
  const direct = await greedyTokens(models.get(name)!, prompts, { batchSize: 5, maxTokens: limits, ignoreEos: true });
  const node = await greedyTokens(nodeModels.get(name)!, prompts, { batchSize: 5, maxTokens: limits, ignoreEos: true });
  expect(direct).toEqual(node);
  expect(direct.every((tokens, i) => tokens.length === limits[i])).toBe(true);
});

test('plain and GroupQueryAttention graphs from the same seed give the same greedy tokens', async () => {
  const limits = prompts.map(() => 8);
  const plain = await greedyTokens(models.get('plain')!, prompts, { batchSize: 6, maxTokens: limits });
  for (const name of ['gqa + RotaryEmbedding op', 'gqa + fused rotary']) {
    expect(await greedyTokens(models.get(name)!, prompts, { batchSize: 6, maxTokens: limits })).toEqual(plain);
  }
});

test('plain and gqa next-token logits agree within 1e-4', async () => {
  const plain = models.get('plain')!;
  const gqa = models.get('gqa + fused rotary')!;
  for (const prompt of prompts.slice(0, 4)) {
    const a = await plain.runner.step(plain.protocol.prefill([prompt]));
    const b = await gqa.runner.step(gqa.protocol.prefill([prompt]));
    const column = prompt.length - 1;
    expect(maxAbsDifference(a.logits.row(0, column), b.logits.row(0, column))).toBeLessThan(1e-4);
  }
});

test('negative control: forcing left padding on the gqa graph makes padded rows diverge', async () => {
  const gqa = models.get('gqa + fused rotary')!;
  const left = choosePaddingProtocol('gqa', gqa.fillTokenId, 'left');
  const limits = prompts.map(() => 6);
  const solo = await greedyTokens(gqa, prompts, { batchSize: 1, maxTokens: limits });
  const leftBatched = await greedyTokens(gqa, prompts, { batchSize: 13, maxTokens: limits, protocol: left });
  const longest = Math.max(...prompts.map((p) => p.length));
  const padded = prompts.map((p, i) => ({ p, i })).filter(({ p }) => p.length < longest);
  const diverged = padded.filter(({ i }) => leftBatched[i].join(',') !== solo[i].join(','));
  expect(diverged.length).toBeGreaterThan(padded.length / 2);
  // The same left padding is fine on the plain graph: the failure is GQA's, as NOTES.md measured.
  const plain = models.get('plain')!;
  const plainLeft = choosePaddingProtocol('plain', plain.fillTokenId, 'left');
  expect(await greedyTokens(plain, prompts, { batchSize: 13, maxTokens: limits, protocol: plainLeft })).toEqual(
    await greedyTokens(plain, prompts, { batchSize: 1, maxTokens: limits }),
  );
});
