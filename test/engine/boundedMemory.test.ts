import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { planMemory } from '../../src/schedule/memoryBudget';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens } from '../helpers/greedyRun';
import { buildTestModel } from '../helpers/testModels';

// A long prompt on a graph that computes logits for every prompt position (the derived graph is turned off), under a small
// memory budget: the prefill must be chunked so that no step materialises logits beyond the budget, and the output must not
// change. Measured by counting the logits elements the runner received, not by timing.
let model: LoadedModel;
let longPrompt: number[];

beforeAll(async () => {
  const dir = await buildTestModel('bounded', { maxPositionEmbeddings: 8192 });
  model = await loadModel(dir, { derivedGraph: false });
  const text = 'The history of computing is long and full of surprises. '.repeat(110);
  longPrompt = encodePrompt(model.tokenizer, { messages: [{ role: 'user', content: text }] }, { enableThinking: false });
});

afterAll(async () => {
  await model?.runner.release();
});

test('a long prompt under a small --max-memory is prefilled in chunks with bounded logits, and gives the same tokens', async () => {
  expect(longPrompt.length).toBeGreaterThan(1000);
  const vocab = model.vocabSize;
  const plan = planMemory({
    budgetBytes: 96 * 1024 ** 2,
    kv: model.runner.kvShape,
    kvCopies: model.runner.runtime.kvCopies,
    vocabSize: vocab,
    hiddenSize: 32,
    intermediateSize: 64,
    heads: 4,
    logits: 'all-positions',
  });
  expect(plan.maxBatchTokens).toBeLessThan(longPrompt.length / 4);

  model.runner.stats.peakLogitsElements = 0;
  const bounded = await greedyTokens(model, [longPrompt], { batchSize: 1, maxTokens: 6, maxBatchTokens: plan.maxBatchTokens });
  const peakBounded = model.runner.stats.peakLogitsElements;
  // One chunk's logits at most: never the whole prompt's.
  expect(peakBounded).toBeLessThanOrEqual(plan.maxBatchTokens * vocab);
  expect(peakBounded * 4 * 2).toBeLessThanOrEqual(plan.budgetBytes);

  model.runner.stats.peakLogitsElements = 0;
  const unbounded = await greedyTokens(model, [longPrompt], { batchSize: 1, maxTokens: 6, maxBatchTokens: 100000 });
  expect(model.runner.stats.peakLogitsElements).toBe(longPrompt.length * vocab); // what an unbounded prefill allocates
  expect(bounded).toEqual(unbounded);
});
