import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveDefaults } from '../../src/job/generationDefaults';
import { loadCheckedModel } from '../../src/job/loadCheckedModel';
import { openJob } from '../../src/job/openJob';
import { prepareRequests } from '../../src/job/prepareRequests';
import { RecordWriter } from '../../src/job/recordWriter';
import { runEngine } from '../../src/job/runEngine';
import { StageTimer } from '../../src/job/stageTimer';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The job's steps run one after the other on a real tiny model, as runGenerateJob chains them.
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('job-steps', { maxPositionEmbeddings: 64 });
  work = tempDir('job-steps');
});

function inputFile(name: string, lines: (object | string)[]): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n');
  return file;
}

const baseOptions = { strict: false, format: 'auto' as const, overwrite: false, log: () => {} };

test('open → load → prepare → run: refusals and completions are written, samples gathered, progress counted', async () => {
  const input = inputFile('steps.jsonl', [
    { id: 'two', prompt: 'Hello there', n: 2, max_tokens: 4, temperature: 1, seed: 3, ignore_eos: true },
    { id: 'long', prompt: 'word '.repeat(80) },
    { id: 'clamped', prompt: 'A short prompt', max_tokens: 500 },
    'not a request',
  ]);
  const out = path.join(work, 'steps-out.jsonl');
  const timer = new StageTimer();
  const opened = await openJob({ ...baseOptions, input, output: out }, timer);
  expect(opened.input.requests.map((r) => r.id)).toEqual(['two', 'long', 'clamped']);
  expect(opened.input.inputErrors).toHaveLength(1);

  const { model, diagnostics } = await loadCheckedModel(
    { model: modelDir, load: {}, failOn: 'never', reportFormat: 'json', flags: { greedy: true }, batchSize: 4, log: () => {} },
    timer,
  );
  try {
    const defaults = resolveDefaults(model.folder.generationConfig, { greedy: true });
    const records = new RecordWriter(await opened.target.open('fp'), { settings: 'fp', format: opened.input.format, model: model.spec, includeTokenIds: false, timer });
    const prepared = prepareRequests(opened.todo, defaults, model, diagnostics, records);
    expect(prepared.map((p) => [p.request.id, p.settings.maxTokens, p.clampedFrom])).toEqual([
      ['two', 4, undefined],
      ['clamped', 64 - prepared[1].promptIds.length, 500],
    ]);
    const progress: number[] = [];
    const run = await runEngine(prepared, { model, settings: 'fp', records, diagnostics, timer }, {
      batchSize: 4,
      echoParams: false,
      onProgress: (done) => progress.push(done),
      log: () => {},
    });
    records.close();
    expect(run.unfinished).toBe(0);
    expect(progress).toEqual([1, 2]);
    expect([records.written, records.failed]).toEqual([2, 1]);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ id: 'long', error: { code: 'prompt_over_context' } });
    const two = lines.find((line) => line.id === 'two');
    expect(two.choices).toHaveLength(2);
    expect(two.choices.map((c: { finish_reason: string }) => c.finish_reason)).toEqual(['length', 'length']);
    expect(two.usage.completion_tokens).toBe(8);
  } finally {
    await model.runner.release();
  }
});

test('a failed model step: the rows in flight are retried from their prompts, and sampled outputs equal the fault-free run', async () => {
  const requests = Array.from({ length: 6 }, (_, i) => ({
    id: `s${i}`, prompt: `Sample number ${i} of a retried batch`, max_tokens: 10, temperature: 1.2, repetition_penalty: 1.3, seed: i, ignore_eos: true,
  }));
  const input = inputFile('retry.jsonl', requests);
  const runOnce = async (name: string, failAtStep: number | null) => {
    const out = path.join(work, `${name}.jsonl`);
    const timer = new StageTimer();
    const opened = await openJob({ ...baseOptions, input, output: out }, timer);
    const { model, diagnostics } = await loadCheckedModel(
      { model: modelDir, load: {}, failOn: 'never', reportFormat: 'json', flags: {}, batchSize: 4, log: () => {} },
      timer,
    );
    try {
      let steps = 0;
      const runner = model.runner;
      const faulty = {
        kvShape: runner.kvShape,
        inputs: runner.inputs,
        gather: runner.gather.bind(runner),
        step: (feeds: Parameters<typeof runner.step>[0]) => (++steps === failAtStep ? Promise.reject(new Error('injected')) : runner.step(feeds)),
      };
      const defaults = resolveDefaults(model.folder.generationConfig, {});
      const records = new RecordWriter(await opened.target.open('fp'), { settings: 'fp', format: opened.input.format, model: model.spec, includeTokenIds: true, timer });
      const prepared = prepareRequests(opened.todo, defaults, model, diagnostics, records);
      await runEngine(prepared, { model: { ...model, batchRunner: model.batchRunner.withRunner(faulty) }, settings: 'fp', records, diagnostics, timer }, {
        batchSize: 4, echoParams: false, log: () => {},
      });
      records.close();
      return fs.readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line))
        .map((line) => [line.id, line.completion_token_ids ?? line.error]).sort();
    } finally {
      await model.runner.release();
    }
  };
  const clean = await runOnce('retry-clean', null);
  expect(clean).toHaveLength(6);
  expect(clean.every(([, ids]) => Array.isArray(ids) && ids.length === 10)).toBe(true);
  // Step 4 is a decode step of the first batch: its rows have drawn random numbers before the failure. (The engine-level
  // test in test/engine/retryFailedSteps.test.ts shows that retrying the same samplers gives other tokens.)
  expect(await runOnce('retry-failed', 4)).toEqual(clean);
});
