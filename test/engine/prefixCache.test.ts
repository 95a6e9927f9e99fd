import { EngineStats } from '../../src/engine/engineStats';
import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { KvCache } from '../../src/runtime/kvCache';
import { StepRunner } from '../../src/runtime/stepRunner';
import { StepFeeds } from '../../src/runtime/stepFeeds';
import { BatchRows } from '../../src/padding/batchRows';
import { PaddingProtocol } from '../../src/padding/paddingProtocol';
import { prefixReuseIsExact } from '../../src/engine/prefixReuseCheck';
import { PrefixIndex } from '../../src/schedule/prefixIndex';
import { TinyModelOptions } from '../../src/tinymodel';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens } from '../helpers/greedyRun';
import { buildTestModel } from '../helpers/testModels';

const VARIANTS: [string, Partial<TinyModelOptions>][] = [
  ['plain', { attention: 'plain' }],
  ['gqa', { attention: 'gqa', rotary: 'fused' }],
  ['plain + float16 KV', { attention: 'plain', kvDtype: 'float16' }],
  ['gqa + float16 KV', { attention: 'gqa', rotary: 'fused', kvDtype: 'float16' }],
];

/** The one graph here whose split prefill is not bit-identical to a whole one: prefix caching turns itself off there. */
const INEXACT = 'plain + float16 KV';
const EXACT_VARIANTS = VARIANTS.map(([name]) => name).filter((name) => name !== INEXACT);

const SYSTEM = 'You are a careful assistant for a batch job. Answer in one short sentence and never repeat the question back.';
const OTHER_SYSTEM = 'Tu es un assistant précis. Réponds en français, en une phrase courte, sans répéter la question posée.';

const models = new Map<string, LoadedModel>();
let prompts: number[][];
let otherGroup: number[][];

beforeAll(async () => {
  for (const [name, options] of VARIANTS) {
    const dir = await buildTestModel(`prefix-${name.replace(/\W+/g, '-')}`, { seed: 11, ...options });
    models.set(name, await loadModel(dir, { runtime: 'direct' }));
  }
  const { tokenizer } = models.get('plain')!;
  const chat = (system: string, user: string) =>
    encodePrompt(tokenizer, { messages: [{ role: 'system', content: system }, { role: 'user', content: user }] }, { enableThinking: false });
  const a = chat(SYSTEM, 'What is the capital of France?');
  const c = chat(SYSTEM, 'Name three prime numbers.');
  prompts = [
    a,
    chat(SYSTEM, 'What is the capital of Italy, and why was it chosen?'), // shares the system message and the question's start
    c,
    chat(SYSTEM, 'x'),
    a.slice(0, 32), // a prompt that IS another's prefix, ending on a block boundary
    a.slice(0, 37), // … and one that ends inside a block
    [...c], // the same prompt as another request: everything but its last token comes from the cache
    encodePrompt(tokenizer, { messages: [{ role: 'user', content: 'Hi' }] }, { enableThinking: false }), // shares nothing
  ];
  otherGroup = [chat(OTHER_SYSTEM, 'Quelle est la capitale de la France ?'), chat(OTHER_SYSTEM, 'Cite trois nombres premiers.')];
}, 300_000);

afterAll(async () => {
  for (const model of models.values()) await model.runner.release();
});

test('the prefix index finds the shared prefixes, capped one token short of the prompt', () => {
  const index = new PrefixIndex(prompts);
  const shared = prompts.map((p) => index.sharedPrefix(p)?.length ?? 0);
  // The system message ends inside a block: the shared part is cut at a block boundary inside the template.
  expect(shared[0] % 16).toBe(0);
  expect(shared[0]).toBeGreaterThan(16);
  expect(shared[1]).toBeGreaterThanOrEqual(shared[3]); // its question starts like a's: at least the system part
  expect(shared[2]).toBe(prompts[2].length - 1); // c and its copy share everything
  expect(shared[4]).toBe(31);
  expect(shared[5]).toBe(32);
  expect(shared[6]).toBe(prompts[6].length - 1);
  expect(shared[7]).toBe(0);
});

const limits = (n: number) => Array.from({ length: n }, (_, i) => 6 + ((i * 5) % 9));

test.each(VARIANTS.map(([name]) => name))('%s: with the prefix cache = without it = solo, token for token', async (name) => {
  const model = models.get(name)!;
  const maxTokens = limits(prompts.length);
  const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens, prefixCache: false, ignoreEos: true });
  const off = await greedyTokens(model, prompts, { batchSize: 4, maxTokens, prefixCache: false, ignoreEos: true });
  let stats: EngineStats | undefined;
  const on = await greedyTokens(model, prompts, { batchSize: 4, maxTokens, ignoreEos: true, onStats: (s) => (stats = s) });
  const onSolo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens, ignoreEos: true });
  expect(off).toEqual(solo);
  expect(on).toEqual(solo);
  expect(onSolo).toEqual(solo);
  if (name === INEXACT) {
    expect(stats).toMatchObject({ prefixReuseInexact: 1, prefixHits: 0, prefixComputations: 0 });
  } else {
    expect(stats!.prefixReuseInexact).toBe(0);
    expect(stats!.prefixHits).toBeGreaterThanOrEqual(4);
    expect(stats!.prefixTokensReused).toBeGreaterThan(100);
  }
  // Small prefill chunks: the suffix and the prefix are both prefilled in several steps.
  expect(await greedyTokens(model, prompts, { batchSize: 3, maxTokens, ignoreEos: true, maxBatchTokens: 7 })).toEqual(solo);
});

/** Chat prompts behind one system message whose rests (after the shared blocks) all differ in length. */
function raggedRests(model: LoadedModel): number[][] {
  const chat = (user: string) =>
    encodePrompt(model.tokenizer, { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }] }, { enableThinking: false });
  return ['Why?', 'Name a colour.', 'What is two plus two, in words?', 'Describe a quiet morning by the sea in a few calm words, please.',
    'List the planets of the solar system from the closest to the farthest one from the sun, with one fact each.', 'Hello there.'].map(chat);
}

/** The padding protocol, except that a shorter row's trailing pads stay in the batch as if they were prompt tokens. */
class KeptTrailingPads extends PaddingProtocol {
  override afterExtend(rows: BatchRows, feeds: StepFeeds, present: KvCache): BatchRows {
    return { cache: present, mask: feeds.attentionMask, width: feeds.maskWidth, counts: rows.counts.map((c) => c + feeds.seqLen) };
  }
}

test.each(EXACT_VARIANTS)('%s: rests of different lengths after their prefixes are prefilled together where the graph allows, outputs unchanged', async (name) => {
  const model = models.get(name)!;
  const ragged = raggedRests(model);
  const index = new PrefixIndex(ragged);
  const rests = ragged.map((p) => p.length - index.sharedPrefix(p)!.length);
  expect(new Set(rests).size).toBe(ragged.length);
  const maxTokens = limits(ragged.length);
  const solo = await greedyTokens(model, ragged, { batchSize: 1, maxTokens, prefixCache: false, ignoreEos: true });
  let stats: EngineStats | undefined;
  const on = await greedyTokens(model, ragged, { batchSize: 8, maxTokens, ignoreEos: true, maxPaddingFraction: 1, onStats: (s) => (stats = s) });
  expect(on).toEqual(solo);
  const restTokens = rests.reduce((a, b) => a + b, 0);
  const prefixTokens = stats!.prefillRealTokens - restTokens;
  expect(stats!.prefixComputations).toBe(1);
  if (model.protocol.layout.multiRowExtend) {
    // Plain attention: one prefill of the shared prefix, then one step for all six rests, padded to the longest.
    expect(stats!.prefillBatchSizes).toEqual({ 1: 1, [ragged.length]: 1 });
    expect(stats!.prefillPositions).toBe(prefixTokens + ragged.length * Math.max(...rests));
    // Negative control: the trailing pads must leave the batch after that step; kept as tokens, they change the outputs.
    const kept = new KeptTrailingPads(model.protocol.side, model.protocol.layout, model.tokens.padTokenId ?? 0);
    const wrong = await greedyTokens(model, ragged, { batchSize: 8, maxTokens, ignoreEos: true, maxPaddingFraction: 1, protocol: kept });
    expect(wrong.filter((tokens, i) => tokens.join(',') !== solo[i].join(',')).length).toBeGreaterThanOrEqual(3);
  } else {
    // GroupQueryAttention extends one row at a time: the prefix, then each rest alone, no pads.
    expect(stats!.prefillBatchSizes).toEqual({ 1: 1 + ragged.length });
    expect(stats!.prefillPositions).toBe(stats!.prefillRealTokens);
  }
});

/**
 * Two prefixes in one group, both still wanted: S+X for two prompts, then S+Y for two (longest first puts the X prompts
 * first). With room for one cached prefix beside one row, S+Y evicts S+X.
 */
function twoBranchPrompts(model: LoadedModel): number[][] {
  const encode = (text: string) => model.tokenizer.encode(text, { add_special_tokens: false });
  const s = encode(SYSTEM);
  const x = encode(' Topic one: the history of Roman roads and their stone bridges, told in detail for a student.');
  const y = encode(' Topic two: the chemistry of baking bread at home, explained step by step for a beginner.');
  return [
    [...s, ...x, ...encode(' Question: which emperor built the longest road, and how long did the work take in total?')],
    [...s, ...x, ...encode(' Question: were the bridges made of brick?')],
    [...s, ...y, ...encode(' Question: why does dough rise?')],
    [...s, ...y, ...encode(' Question: salt?')],
  ];
}

test.each(VARIANTS.map(([name]) => name))('%s: a small cache budget evicts prefixes (LRU) or skips caching, outputs unchanged', async (name) => {
  const model = models.get(name)!;
  const branches = twoBranchPrompts(model);
  const maxTokens = limits(branches.length);
  const solo = await greedyTokens(model, branches, { batchSize: 1, maxTokens, prefixCache: false, ignoreEos: true });
  const index = new PrefixIndex(branches);
  const prefixLengths = branches.map((p) => index.sharedPrefix(p)!.length);
  expect(prefixLengths[0]).toBeGreaterThan(prefixLengths[2] - 16); // sanity: two different prefixes of similar size
  expect(index.sharedPrefix(branches[0])!.node).not.toBe(index.sharedPrefix(branches[2])!.node);
  const grown = Math.max(...branches.map((p, i) => p.length + maxTokens[i]));
  // One row at a time, room for one cached prefix beside it, not two.
  let stats: EngineStats | undefined;
  const tight = await greedyTokens(model, branches, {
    batchSize: 1, maxTokens, ignoreEos: true, maxCacheTokens: grown + Math.max(...prefixLengths) + 2, onStats: (s) => (stats = s),
  });
  expect(tight).toEqual(solo);
  const cached = name === INEXACT ? 0 : 2;
  expect(stats).toMatchObject({ prefixComputations: cached, prefixEvictions: cached / 2, prefixHits: cached });
  // S+Y is computed from a copy of S taken from the cached S+X (whole blocks of their common start), not from nothing:
  // reused = the two hits' prefixes + those blocks, and every other prompt token is computed once.
  let common = 0;
  while (branches[0][common] === branches[2][common]) common++;
  const reused = name === INEXACT ? 0 : prefixLengths[1] + prefixLengths[3] + Math.floor(common / 16) * 16;
  const total = branches.reduce((sum, p) => sum + p.length, 0);
  expect(stats).toMatchObject({ prefixTokensReused: reused, prefillRealTokens: total - reused });
  // Room for both: no eviction.
  await greedyTokens(model, branches, { batchSize: 1, maxTokens, ignoreEos: true, onStats: (s) => (stats = s) });
  expect(stats).toMatchObject({ prefixComputations: cached, prefixEvictions: 0, prefixHits: cached, prefixTokensReused: reused });
  // No room at all: nothing is cached, every prompt is prefilled whole.
  const mixed = [otherGroup[0], ...prompts.slice(0, 4), otherGroup[1]];
  const mixedLimits = limits(mixed.length);
  const none = await greedyTokens(model, mixed, { batchSize: 2, maxTokens: mixedLimits, ignoreEos: true, maxCacheTokens: 1, onStats: (s) => (stats = s) });
  expect(none).toEqual(await greedyTokens(model, mixed, { batchSize: 1, maxTokens: mixedLimits, prefixCache: false, ignoreEos: true }));
  expect(stats).toMatchObject({ prefixComputations: 0, prefixHits: 0 });
});

/** A runner that reads gathers from a cached prefix one block off: slot j comes from slot j − 16 (the first block twice). */
function prefixOneBlockOff(runner: StepRunner): StepRunner {
  return {
    kvShape: runner.kvShape,
    inputs: runner.inputs,
    step: runner.step.bind(runner),
    gather: (length, sources, retained?: ReadonlySet<KvCache>) =>
      runner.gather(
        length,
        sources.map((s) => (retained?.has(s.cache) ? { ...s, slots: s.slots.map((slot) => (slot >= 16 ? slot - 16 : slot)) } : s)),
        retained,
      ),
  };
}

test.each(EXACT_VARIANTS)('%s: negative control — reusing the prefix one block off changes the output', async (name) => {
  const model = models.get(name)!;
  const maxTokens = limits(prompts.length);
  const solo = await greedyTokens(model, prompts, { batchSize: 1, maxTokens, prefixCache: false, ignoreEos: true });
  const wrong = await greedyTokens(model, prompts, { batchSize: 4, maxTokens, ignoreEos: true, runner: prefixOneBlockOff(model.runner) });
  const differing = wrong.filter((tokens, i) => tokens.join(',') !== solo[i].join(','));
  expect(differing.length).toBeGreaterThanOrEqual(3);
  // The wrapper alone (no cache: no retained gathers) changes nothing.
  expect(await greedyTokens(model, prompts, { batchSize: 4, maxTokens, ignoreEos: true, prefixCache: false, runner: prefixOneBlockOff(model.runner) })).toEqual(solo);
});

test('the exactness check: a split prefill is bit-identical to a whole one except on a plain graph with float16 KV', async () => {
  for (const [name] of VARIANTS) {
    const model = models.get(name)!;
    expect([name, await prefixReuseIsExact(model.batchRunner, prompts[0], 16)]).toEqual([name, name !== INEXACT]);
  }
});
