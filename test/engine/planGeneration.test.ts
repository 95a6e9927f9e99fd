import { EngineStats } from '../../src/engine/engineStats';
import { runGeneration } from '../../src/engine/generationEngine';
import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { planGeneration, PlannedGroup } from '../../src/engine/planGeneration';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedySpecs } from '../helpers/greedyRun';
import { VARIED_MESSAGES } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';

// The dry run drives the engine itself with a runner that computes nothing: its groups and prompt tokens must be the
// run's, token for token, whenever every output runs to its max_tokens (the plan's one assumption about the model).
const models = new Map<string, LoadedModel>();

beforeAll(async () => {
  for (const attention of ['plain', 'gqa'] as const) {
    models.set(attention, await loadModel(await buildTestModel(`plan-${attention}`, { attention, seed: 13 }), { runtime: 'direct' }));
  }
}, 120_000);

afterAll(async () => {
  for (const model of models.values()) await model.runner.release();
});

const SYSTEM = 'You are a careful assistant for a batch job. Answer in one short sentence and never repeat the question back.';

function corpora(model: LoadedModel): Record<string, number[][]> {
  const chat = (messages: { role: string; content: string }[]) => encodePrompt(model.tokenizer, { messages }, { enableThinking: false });
  const withSystem = (user: string) => chat([{ role: 'system', content: SYSTEM }, { role: 'user', content: user }]);
  const doc = (name: string) => `${name}: ${'a long shared document about roads, bridges and milestones. '.repeat(6)}`;
  return {
    'no shared prefix': VARIED_MESSAGES.map(chat),
    'shared prefixes': [
      withSystem('What is the capital of France?'), withSystem('Name three prime numbers.'), withSystem('x'),
      withSystem(`${doc('Doc A')} Who built them?`), withSystem(`${doc('Doc A')} How long are they?`),
      withSystem(`${doc('Doc B')} Why?`), withSystem(`${doc('Doc B')} When, and where exactly, in which century?`),
      chat([{ role: 'user', content: 'Hi' }]),
    ],
  };
}

interface Outcome {
  groups: PlannedGroup[];
  stats: EngineStats;
}

/** The real run (greedy, eos ignored), with the groups its KV manager admitted and the prefill work of each. */
async function realRun(model: LoadedModel, prompts: number[][], maxTokens: number[], limits: Limits): Promise<Outcome> {
  // The last prompt is asked for twice (n = 2): its samples share one prompt array.
  const specs = greedySpecs([...prompts, prompts[prompts.length - 1]], [...maxTokens, maxTokens[maxTokens.length - 1]]);
  const groups: PlannedGroup[] = [];
  let counted = { steps: 0, positions: 0, promptTokens: 0 };
  const { stats } = await runGeneration(model.batchRunner, specs, {
    ...limits,
    onAdmitted: (admitted, so) => {
      groups.push({
        ids: admitted.map((spec) => spec.request as number),
        steps: so.prefillSteps - counted.steps,
        positions: so.prefillPositions - counted.positions,
        promptTokens: so.prefillRealTokens - counted.promptTokens,
      });
      counted = { steps: so.prefillSteps, positions: so.prefillPositions, promptTokens: so.prefillRealTokens };
    },
  }, () => undefined);
  return { groups, stats };
}

async function plan(model: LoadedModel, prompts: number[][], maxTokens: number[], limits: Limits): Promise<Outcome> {
  const sequences = [...prompts, prompts[prompts.length - 1]].map((promptIds, id) => ({ id, promptIds, maxTokens: maxTokens[Math.min(id, maxTokens.length - 1)] }));
  return planGeneration(sequences, model.protocol, model.runner.inputs, limits);
}

interface Limits {
  batchSize: number;
  maxBatchTokens: number;
  maxCacheTokens?: number;
  prefixCache?: boolean;
}

/** The counters a plan must reach exactly as the run does. */
function work(stats: EngineStats) {
  const { prefillSteps, prefillPositions, prefillRealTokens, prefixHits, prefixTokensReused, prefixComputations, prefixEvictions, decodeSteps, rebuilds, prefillBatchSizes, decodeBatchSizes } = stats;
  return { prefillSteps, prefillPositions, prefillRealTokens, prefixHits, prefixTokensReused, prefixComputations, prefixEvictions, decodeSteps, rebuilds, prefillBatchSizes, decodeBatchSizes };
}

const CASES = ['plain', 'gqa'].flatMap((attention) => ['no shared prefix', 'shared prefixes'].map((corpus) => [attention, corpus] as const));

test.each(CASES)('%s graph, %s: the dry run plans the groups, prefill steps and prompt tokens of the run', async (attention, corpus) => {
  const model = models.get(attention)!;
  const prompts = corpora(model)[corpus];
  const maxTokens = prompts.map((_, i) => 3 + ((i * 5) % 11));
  // A tight cache (evictions, rows held back), small prefill steps (chunks), and the defaults.
  const longest = Math.max(...prompts.map((p) => p.length));
  for (const limits of [
    { batchSize: 4, maxBatchTokens: 4096 },
    { batchSize: 3, maxBatchTokens: 48, maxCacheTokens: 2 * (longest + 16) + 40 },
  ]) {
    const real = await realRun(model, prompts, maxTokens, limits);
    const planned = await plan(model, prompts, maxTokens, limits);
    expect(planned.groups).toEqual(real.groups);
    expect(work(planned.stats)).toEqual(work(real.stats));
    expect(real.groups.length).toBeGreaterThan(1);
    if (corpus === 'shared prefixes') expect(real.stats.prefixHits).toBeGreaterThan(0);
    else expect(real.stats.prefixHits).toBe(0);
    // The tight cache evicts a prefix; the small steps chunk the longest prompts.
    if (limits.maxCacheTokens && corpus === 'shared prefixes') expect(real.stats.prefixEvictions).toBeGreaterThan(0);
    if (limits.maxCacheTokens) expect(real.stats.prefillSteps).toBeGreaterThan(real.groups.length);
  }
});

test('negative control: a plan with other limits, or without the prefix cache, differs from the run', async () => {
  const model = models.get('gqa')!;
  const prompts = corpora(model)['shared prefixes'];
  const maxTokens = prompts.map(() => 4);
  const limits = { batchSize: 4, maxBatchTokens: 4096 };
  const real = await realRun(model, prompts, maxTokens, limits);
  const noCache = await plan(model, prompts, maxTokens, { ...limits, prefixCache: false });
  expect(noCache.stats.prefillRealTokens).toBeGreaterThan(real.stats.prefillRealTokens);
  const smaller = await plan(model, prompts, maxTokens, { ...limits, batchSize: 2 });
  expect(smaller.groups).not.toEqual(real.groups);
});
