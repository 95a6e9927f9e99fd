#!/usr/bin/env node
'use strict';
// Reproduces the failure qwen-gen exists to prevent: transformers.js `generate` on a LEFT-padded batch (what its
// text-generation pipeline does) against the same prompts run one at a time, on tiny Qwen3 graphs of both attention
// kinds built by qwen-gen's own builder. Prints, row by row, whether the batched output equals the solo output.
// Usage: npm run build && node scripts/tjs-left-padding.js [--max-new-tokens 12]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AutoModelForCausalLM, AutoTokenizer, env } = require('@huggingface/transformers');
const { buildTinyModel } = require('../dist/tinymodel');

const PROMPTS = [
  'Explain in detail how a KV cache speeds up autoregressive decoding in transformer models.',
  'Hi',
  '你好，请介绍一下你自己。',
  'Name three prime numbers.',
  'Emoji test 🙂🚀',
];

async function compare(kind, dir, maxNewTokens) {
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(dir) + path.sep;
  const name = path.basename(dir);
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  tokenizer.padding_side = 'left';
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32' });
  const texts = PROMPTS.map((content) =>
    tokenizer.apply_chat_template([{ role: 'user', content }], { tokenize: false, add_generation_prompt: true }),
  );
  const generate = async (batchTexts) => {
    const inputs = tokenizer(batchTexts, { padding: true });
    const out = await model.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false });
    const width = inputs.input_ids.dims[1];
    return out.tolist().map((row) => row.slice(width).map(Number));
  };
  const batched = await generate(texts);
  const rows = [];
  for (let i = 0; i < texts.length; i++) {
    const [solo] = await generate([texts[i]]);
    const length = tokenizer(texts[i]).input_ids.dims[1];
    const trim = (ids) => ids.slice(0, ids.findIndex((t) => t === 151645 || t === 151643) + 1 || ids.length);
    rows.push({ kind, row: i, prompt_tokens: length, equal_to_solo: JSON.stringify(trim(batched[i])) === JSON.stringify(trim(solo)) });
  }
  await model.dispose();
  return rows;
}

async function main() {
  const flag = process.argv.indexOf('--max-new-tokens');
  const maxNewTokens = flag > 0 ? Number(process.argv[flag + 1]) : 12;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-tjs-left-'));
  try {
    const results = [];
    for (const [kind, options] of [['plain', { attention: 'plain' }], ['gqa', { attention: 'gqa' }]]) {
      const dir = path.join(root, kind);
      await buildTinyModel(dir, options);
      results.push(...(await compare(kind, dir, maxNewTokens)));
    }
    console.log('transformers.js generate, left-padded batch of 5 vs each prompt alone (greedy):');
    console.log('graph  row  prompt_tokens  batched == solo');
    for (const r of results) console.log(`${r.kind.padEnd(6)} ${String(r.row).padStart(3)}  ${String(r.prompt_tokens).padStart(13)}  ${r.equal_to_solo ? 'yes' : 'NO'}`);
    for (const kind of ['plain', 'gqa']) {
      const rows = results.filter((r) => r.kind === kind);
      console.log(`${kind}: ${rows.filter((r) => !r.equal_to_solo).length} of ${rows.length} rows differ from solo`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
