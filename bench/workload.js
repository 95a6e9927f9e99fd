'use strict';
const { createRandom } = require('./prng');

/** W64 as issue 6 defines it, issue 19's long workload, and small variants for --quick. */
const WORKLOADS = Object.freeze({
  W64: { name: 'W64', count: 64, promptTokens: [8, 512], maxTokens: [16, 128] },
  W16Q: { name: 'W16-quick', count: 16, promptTokens: [8, 64], maxTokens: [4, 20] },
  // Issue 19: 8 prompts of 300–450 words (each word one token), 112–128 new tokens each: one batch of 8, decode-heavy.
  LONG: { name: 'long', count: 8, promptTokens: [300, 450], maxTokens: [112, 128] },
  LONGQ: { name: 'long-quick', count: 4, promptTokens: [60, 90], maxTokens: [16, 24] },
  // Issue 15: one long shared preamble (system prompt + few-shot block), then a short question of its own per request.
  WSHARED: { name: 'W-shared', count: 64, sharedTokens: 1000, questionTokens: [20, 80], maxTokens: [32, 32] },
  WSHAREDQ: { name: 'W-shared-quick', count: 16, sharedTokens: 200, questionTokens: [8, 24], maxTokens: [8, 8] },
});

/**
 * Words that are each ONE token with their leading space (" word"). Qwen3's pre-tokenizer cuts text before every
 * " letters" run, so a prompt made of N such words encodes to exactly N tokens; buildWorkload still checks it.
 */
function singleTokenWords(tokenizer) {
  const words = [];
  for (const [token, id] of tokenizer.get_vocab()) {
    if (!/^Ġ[a-z]{3,9}$/.test(token)) continue;
    const word = ` ${token.slice(1)}`;
    const ids = tokenizer.encode(word, { add_special_tokens: false });
    if (ids.length === 1 && ids[0] === id) words.push({ id, word });
  }
  words.sort((a, b) => a.id - b.id);
  return words.slice(0, 4096).map((w) => w.word);
}

/**
 * Deterministic requests: prompt token lengths and max_tokens drawn uniformly (inclusive ranges) from `seed`.
 * Returns [{ id, prompt, promptTokens, maxTokens }] in input order; throws if a prompt's token count is not the drawn one.
 */
function buildWorkload(spec, seed, tokenizer) {
  const random = createRandom(seed);
  const words = singleTokenWords(tokenizer);
  const requests = [];
  for (let i = 0; i < spec.count; i++) {
    const promptTokens = random.int(spec.promptTokens[0], spec.promptTokens[1]);
    const maxTokens = random.int(spec.maxTokens[0], spec.maxTokens[1]);
    const prompt = randomPrompt(tokenizer, words, random, promptTokens);
    requests.push({ id: `w${String(i).padStart(3, '0')}`, prompt, promptTokens, maxTokens });
  }
  return requests;
}

/**
 * W-shared: every prompt is the same preamble of `sharedTokens` tokens followed by its own question (drawn from `seed`).
 * Returns the same request shape as buildWorkload.
 */
function buildSharedWorkload(spec, seed, tokenizer) {
  const random = createRandom(seed);
  const words = singleTokenWords(tokenizer);
  const preamble = randomPrompt(tokenizer, words, random, spec.sharedTokens);
  const requests = [];
  for (let i = 0; i < spec.count; i++) {
    const questionTokens = random.int(spec.questionTokens[0], spec.questionTokens[1]);
    const maxTokens = random.int(spec.maxTokens[0], spec.maxTokens[1]);
    const prompt = preamble + randomPrompt(tokenizer, words, random, questionTokens);
    const promptTokens = tokenizer.encode(prompt, { add_special_tokens: false }).length;
    if (promptTokens !== spec.sharedTokens + questionTokens) throw new Error(`a W-shared prompt encodes to ${promptTokens} tokens`);
    requests.push({ id: `s${String(i).padStart(3, '0')}`, prompt, promptTokens, maxTokens });
  }
  return requests;
}

function randomPrompt(tokenizer, words, random, tokens) {
  let prompt = '';
  for (let k = 0; k < tokens; k++) prompt += words[random.int(0, words.length - 1)];
  const encoded = tokenizer.encode(prompt, { add_special_tokens: false });
  if (encoded.length !== tokens) throw new Error(`a generated prompt encodes to ${encoded.length} tokens, expected ${tokens}`);
  return prompt;
}

/** One prompt of exactly `tokens` tokens, for the probes. */
function probePrompt(tokenizer, tokens, seed) {
  return randomPrompt(tokenizer, singleTokenWords(tokenizer), createRandom(seed), tokens);
}

/** qwen-gen input lines: raw prompt (no chat template), per-request max_tokens, EOS ignored. */
function toQwenGenJsonl(requests) {
  return requests.map((r) => JSON.stringify({ id: r.id, prompt: r.prompt, max_tokens: r.maxTokens, ignore_eos: true })).join('\n') + '\n';
}

function summarize(spec, seed, requests) {
  const sum = (key) => requests.reduce((s, r) => s + r[key], 0);
  const stats = (key) => {
    const values = requests.map((r) => r[key]);
    return { min: Math.min(...values), max: Math.max(...values), mean: sum(key) / requests.length, total: sum(key) };
  };
  return {
    name: spec.name,
    seed,
    requests: requests.length,
    prompt_token_range: spec.promptTokens,
    max_tokens_range: spec.maxTokens,
    prompt_tokens: stats('promptTokens'),
    max_tokens: stats('maxTokens'),
    eos: 'ignored (qwen-gen: ignore_eos per request; transformers.js: eos_token_id null)',
    prompt_format: 'raw text of single-token words, no chat template; token counts checked with the model tokenizer',
  };
}

module.exports = { WORKLOADS, buildWorkload, buildSharedWorkload, probePrompt, toQwenGenJsonl, summarize };

/** The model folder's tokenizer through transformers.js (the same files qwen-gen reads). */
async function loadTokenizer(modelDir) {
  const path = require('path');
  const { AutoTokenizer, env } = require('@huggingface/transformers');
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(modelDir) + path.sep;
  return AutoTokenizer.from_pretrained(path.basename(modelDir));
}

module.exports.loadTokenizer = loadTokenizer;
