import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens, maskWithheld } from '../helpers/greedyRun';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import { RAW_PROMPTS, VARIED_MESSAGES } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';
import { Constraint } from '../../src/params/constraintParams';
import { CompiledConstraint, ConstraintCompiler } from '../../src/structured/constraintCompiler';
import { readGrammarVocabulary } from '../../src/structured/grammarVocabulary';
import { RowConstraint } from '../../src/structured/rowConstraint';
import { emptyStructuredStats } from '../../src/structured/structuredStats';
import { maskHook } from '../../src/job/structuredOutputs';

let model: LoadedModel;
/** The same model folder run on its original graph (logits for every position), not the derived logits-gathering one. */
let fullLogitsModel: LoadedModel;
let prompts: number[][];

beforeAll(async () => {
  const dir = await buildTestModel('invariance');
  model = await loadModel(dir);
  fullLogitsModel = await loadModel(dir, { derivedGraph: false });
  prompts = [
    ...VARIED_MESSAGES.map((messages) => encodePrompt(model.tokenizer, { messages }, { enableThinking: true })),
    ...RAW_PROMPTS.map((prompt) => encodePrompt(model.tokenizer, { prompt }, { enableThinking: true })),
  ];
});

afterAll(async () => {
  await model?.runner.release();
  await fullLogitsModel?.runner.release();
});

test('the default run uses the derived graph; the comparison model uses the original graph', () => {
  expect(model.runner.inputs.hasLogitsIndex).toBe(true);
  expect(fullLogitsModel.runner.inputs.hasLogitsIndex).toBe(false);
});

test('the corpus spans 1 to more than 200 tokens', () => {
  const lengths = prompts.map((p) => p.length);
  expect(Math.min(...lengths)).toBe(1);
  expect(Math.max(...lengths)).toBeGreaterThan(200);
  expect(prompts.length).toBeGreaterThanOrEqual(12);
});

test('greedy batched output equals solo output token for token, rows finishing at different steps', async () => {
  const maxTokens = prompts.map((_, i) => 4 + ((i * 7) % 29));
  const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens });
  const batched = await greedyTokens(model, prompts, { batchSize: 8, maxTokens });
  const wide = await greedyTokens(model, prompts, { batchSize: 16, maxTokens, maxBatchTokens: 1200 });
  expect(batched).toEqual(solo);
  expect(wide).toEqual(solo);
  // The outputs are not degenerate: different prompts give different completions.
  expect(new Set(solo.map((t) => t.join(','))).size).toBeGreaterThan(prompts.length / 2);
});

test.each([
  ['derived graph', () => model],
  ['original graph', () => fullLogitsModel],
])("a padded row's next-token logits match the prompt run alone within 1e-4 (%s)", async (_name, which) => {
  const model = which();
  // One padded batch: the longest prompt with every short one (the long ones are covered by the generation test).
  const longest = prompts.reduce((a, b) => (b.length > a.length ? b : a));
  const group = [longest, ...prompts.filter((p) => p.length < 40).slice(0, 5)];
  const feeds = model.protocol.prefill(group);
  const batched = await model.runner.step(feeds);
  // A step's logits are valid until the runner's next step: keep the batched rows before running the solo prompts.
  const batchedRows = group.map((_, b) => Float32Array.from(batched.logits.row(b, feeds.logitColumns[b])));
  let padded = 0;
  for (let b = 0; b < group.length; b++) {
    const soloFeeds = model.protocol.prefill([group[b]]);
    const solo = await model.runner.step(soloFeeds);
    const expected = solo.logits.row(0, soloFeeds.logitColumns[0]);
    const actual = batchedRows[b];
    expect(maxAbsDifference(expected, actual)).toBeLessThan(1e-4);
    if (group[b].length < feeds.seqLen) padded++;
  }
  expect(padded).toBeGreaterThanOrEqual(3);
});

test('greedy output is the same on the original graph (logits everywhere) and on the derived graph', async () => {
  const maxTokens = 8;
  const subset = [...prompts].sort((a, b) => a.length - b.length).filter((_, i) => i % 3 === 0);
  const derived = await greedyTokens(model, subset, { batchSize: 8, maxTokens });
  const original = await greedyTokens(fullLogitsModel, subset, { batchSize: 8, maxTokens });
  expect(derived).toEqual(original);
});

test('greedy with structured-output constraints: batched equals solo, and every output that ended is valid', async () => {
  const constraints: Constraint[] = [
    { kind: 'json_schema', schema: { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 999 }, ok: { type: 'boolean' } }, required: ['n', 'ok'] }, anyWhitespace: false },
    { kind: 'regex', pattern: '[a-z]{2,5}-[0-9]{2}' },
    { kind: 'choice', choices: ['alpha', 'beta', 'gamma delta'] },
  ];
  const stats = emptyStructuredStats();
  const compiler = await ConstraintCompiler.create(readGrammarVocabulary(model.folder.dir), model.vocabSize, model.tokens.eosTokenIds, stats);
  const compiled = [...(await compiler.compileAll(constraints)).values()] as CompiledConstraint[];
  // Each run gets fresh row constraints (they are stateful); rows finish at different steps, as their grammars end.
  const rows = () => prompts.map((_, i) => new RowConstraint(compiled[i % 3], { thinking: null, stopTokenIds: model.tokens.eosTokenIds, stats }));
  const run = (batchSize: number) => {
    const constraintOf = rows();
    return greedyTokens(model, prompts, { batchSize, maxTokens: 40, constraints: (i) => constraintOf[i], beforeSampling: maskHook(stats) });
  };
  const solo = await run(1);
  expect(await run(8)).toEqual(solo);
  expect(await run(16)).toEqual(solo);
  const eos = model.tokens.eosTokenIds;
  const texts = solo.map((ids) => model.tokenizer.decode(ids.filter((id) => !eos.includes(id)), { skip_special_tokens: true }));
  const ended = solo.map((ids) => eos.includes(ids[ids.length - 1]));
  expect(ended.filter(Boolean).length).toBeGreaterThanOrEqual(prompts.length - 2);
  texts.forEach((text, i) => {
    if (!ended[i]) return;
    if (i % 3 === 0) expect(Object.keys(JSON.parse(text)).sort()).toEqual(['n', 'ok']);
    if (i % 3 === 1) expect(text).toMatch(/^[a-z]{2,5}-[0-9]{2}$/);
    if (i % 3 === 2) expect(['alpha', 'beta', 'gamma delta']).toContain(text);
  });
  // The constraint is in force: the same prompts decode differently without it.
  const free = await greedyTokens(model, prompts, { batchSize: 8, maxTokens: 40 });
  expect(free.filter((ids, i) => ids.join(',') === solo[i].join(',')).length).toBe(0);
});

test('negative control: withholding the attention mask makes padded rows diverge', async () => {
  const maxTokens = 12;
  const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens });
  const unmasked = await greedyTokens(model, prompts, { batchSize: 16, maxTokens, runner: maskWithheld(model.runner), maxBatchTokens: 1200 });
  const longest = Math.max(...prompts.map((p) => p.length));
  const diverged = prompts.filter((p, i) => p.length < longest && unmasked[i].join(',') !== solo[i].join(','));
  expect(diverged.length).toBeGreaterThan(0);
  // The longest row has no pads in its prefill group, so its first token is unaffected: the check singles out padding.
  const longestIndex = prompts.findIndex((p) => p.length === longest);
  expect(unmasked[longestIndex][0]).toEqual(solo[longestIndex][0]);
});
