import { runGeneration } from '../../src/engine/generationEngine';
import { runGenerationRetryingFailedSteps } from '../../src/engine/retryFailedSteps';
import { SequenceSpec } from '../../src/engine/sequence';
import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { StepRunner } from '../../src/runtime/stepRunner';
import { StepFeeds } from '../../src/runtime/stepFeeds';
import { BatchRunner } from '../../src/padding/batchRunner';
import { greedySpecs, restartGreedy } from '../helpers/greedyRun';
import { RequestSampler } from '../../src/sample/sampler';
import { GREEDY_PARAMS } from '../../src/sample/samplingParams';
import { buildTestModel } from '../helpers/testModels';

// A model step that fails costs only the rows in flight, and only those that fail again when run alone.
// Faults are injected around the real ONNX runner (the model itself is real).
const POISON = 4242;
const MAX_TOKENS = 8;
let model: LoadedModel;
let prompts: number[][];
let baseline: number[][];

function specs(): SequenceSpec<number>[] {
  return greedySpecs(prompts, MAX_TOKENS);
}

/** The real runner, with `fault(feeds, stepNumber)` deciding when a step throws instead of running. */
function faulty(fault: (feeds: StepFeeds, step: number) => boolean): StepRunner & { steps: number } {
  const runner = {
    kvShape: model.runner.kvShape,
    inputs: model.runner.inputs,
    gather: model.runner.gather.bind(model.runner),
    steps: 0,
    step(feeds: StepFeeds) {
      runner.steps++;
      if (fault(feeds, runner.steps)) return Promise.reject(new Error(`injected failure at step ${runner.steps}`));
      return model.runner.step(feeds);
    },
  };
  return runner;
}

/** Seeded sampling with a repetition penalty: each token depends on the sampler's random state and history. */
function sampledSpec(promptIds: number[], request: number): SequenceSpec<number> {
  const params = { ...GREEDY_PARAMS, temperature: 1.5, repetitionPenalty: 1.3, seed: 100 + request };
  return { request, sampleIndex: 0, promptIds, maxTokens: MAX_TOKENS, stopTokenIds: new Set(), minTokens: 0, sampler: new RequestSampler(params, promptIds) };
}

async function run(runner: StepRunner, signal?: AbortSignal) {
  const tokens: number[][] = [];
  const failed: number[] = [];
  const retries: number[] = [];
  const result = await runGenerationRetryingFailedSteps(new BatchRunner(runner, model.protocol), specs(), { batchSize: 4, maxBatchTokens: 4096, signal }, {
    onFinished: (sequence) => {
      tokens[sequence.spec.request] = sequence.tokenIds;
    },
    onFailed: (spec) => {
      failed.push(spec.request);
    },
    onRetry: (rows) => {
      retries.push(rows);
    },
    restart: restartGreedy,
  });
  return { tokens, failed, retries, result };
}

beforeAll(async () => {
  model = await loadModel(await buildTestModel('reliability-retry'));
  prompts = Array.from({ length: 10 }, (_, i) => Array.from({ length: 3 + (i % 4) }, (_, k) => 1000 + 37 * i + 11 * k));
  prompts[6] = [...prompts[6], POISON];
  baseline = [];
  await runGeneration(model.batchRunner, specs(), { batchSize: 4, maxBatchTokens: 4096 }, (sequence) => {
    baseline[sequence.spec.request] = sequence.tokenIds;
  });
  // The poison token only ever appears in prompt 6's prefill, never as a generated token.
  expect(baseline.flat()).not.toContain(POISON);
});

afterAll(async () => {
  await model.runner.release();
});

test('a one-off failure: the rows in flight are retried alone and every sequence equals the fault-free run', async () => {
  const { tokens, failed, retries, result } = await run(faulty((_, step) => step === 4));
  expect(retries).toHaveLength(1);
  expect(retries[0]).toBeGreaterThan(1);
  expect(failed).toEqual([]);
  expect(result.unfinished).toEqual([]);
  expect(tokens).toEqual(baseline);
});

test('a request that fails even alone gets onFailed once; the others complete unchanged', async () => {
  const poisoned = (feeds: StepFeeds) => feeds.inputIds.includes(BigInt(POISON));
  const { tokens, failed, result } = await run(faulty(poisoned));
  expect(failed).toEqual([6]);
  expect(result.unfinished).toEqual([]);
  const expected = baseline.map((ids, i) => (i === 6 ? undefined : ids));
  expect(tokens).toEqual(expected);
});

test('an error outside a model step (e.g. a failed output write) is not retried', async () => {
  const runner = faulty(() => false);
  const writeError = new Error('ENOSPC');
  let finished = 0;
  await expect(
    runGenerationRetryingFailedSteps(new BatchRunner(runner, model.protocol), specs(), { batchSize: 4, maxBatchTokens: 4096 }, {
      onFinished: () => {
        if (++finished === 2) throw writeError;
      },
      onFailed: () => undefined,
      restart: restartGreedy,
    }),
  ).rejects.toBe(writeError);
  expect(finished).toBe(2);
});

test('an abort stops admitting work: finished and unfinished sequences add up to all', async () => {
  const controller = new AbortController();
  let finished = 0;
  const result = await runGenerationRetryingFailedSteps(
    model.batchRunner, specs(), { batchSize: 2, maxBatchTokens: 4096, signal: controller.signal }, {
      onFinished: () => {
        if (++finished === 3) controller.abort();
      },
      onFailed: () => undefined,
      restart: restartGreedy,
    },
  );
  expect(finished).toBeGreaterThanOrEqual(3);
  expect(finished).toBeLessThan(prompts.length);
  expect(finished + result.unfinished.length).toBe(prompts.length);
});

test('a retried sampled row starts again from its prompt: the same tokens as the fault-free run (a reused sampler draws others)', async () => {
  const clean = prompts.filter((_, i) => i !== 6);
  const sampled = () => clean.map((promptIds, i) => sampledSpec(promptIds, i));
  const collect = async (runner: StepRunner, restart: (spec: SequenceSpec<number>) => SequenceSpec<number>) => {
    const tokens: number[][] = [];
    const retries: number[] = [];
    await runGenerationRetryingFailedSteps(new BatchRunner(runner, model.protocol), sampled(), { batchSize: 4, maxBatchTokens: 4096 }, {
      onFinished: (sequence) => {
        tokens[sequence.spec.request] = sequence.tokenIds;
      },
      onFailed: () => undefined,
      onRetry: (rows) => retries.push(rows),
      restart,
    });
    return { tokens, retries };
  };
  const fresh = (spec: SequenceSpec<number>) => sampledSpec(spec.promptIds, spec.request);
  const baselineSampled = (await collect(faulty(() => false), fresh)).tokens;
  // The failure comes after a few decode steps, so the rows in flight have drawn random numbers already.
  const retried = await collect(faulty((_, step) => step === 5), fresh);
  expect(retried.retries).toEqual([4]);
  expect(retried.tokens).toEqual(baselineSampled);
  // Negative control: retrying the same spec objects (their samplers already advanced) gives other tokens.
  const reused = await collect(faulty((_, step) => step === 5), (spec) => spec);
  expect(reused.retries).toEqual([4]);
  expect(reused.tokens).not.toEqual(baselineSampled);
});
