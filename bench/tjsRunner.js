'use strict';
// Child process: runs a workload through transformers.js `generate` the documented way, either batched in input order
// (chunks of --batch-size, LEFT padding, each chunk generating its longest request's max_tokens) or one prompt at a time.
// EOS is ignored by `eos_token_id: null` (no EOS stopping criterion, logits untouched — the same tokens as qwen-gen's
// ignore_eos). Writes { loadSeconds, generateSeconds, computedPositions, sessionOptions, outputs: [{ id, promptTokens, tokens }] }
// to --out.
const fs = require('fs');
const path = require('path');
const { Command } = require('commander');
const { AutoModelForCausalLM, AutoTokenizer, env } = require('@huggingface/transformers');

async function main() {
  const opts = new Command()
    .requiredOption('--model-dir <dir>')
    .requiredOption('--workload <file>')
    .requiredOption('--mode <mode>')
    .requiredOption('--out <file>')
    .option('--batch-size <n>', '', Number, 8)
    .option('--threads <n>', '', Number)
    .option('--dtype <dtype>', 'transformers.js dtype (graph file)', 'fp32')
    .option('--session-entries <json>', 'onnxruntime session config entries qwen-gen uses, e.g. {"session.disable_prepacking":"1"}', '{}')
    .parse(process.argv)
    .opts();
  const requests = JSON.parse(fs.readFileSync(opts.workload, 'utf8'));
  const modelDir = path.resolve(opts.modelDir);
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(modelDir) + path.sep;
  const name = path.basename(modelDir);

  const loadStarted = Date.now();
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  tokenizer.padding_side = 'left';
  // The session options qwen-gen's runtimes set (threads, one inter-op thread, sequential execution, all graph
  // optimizations, and its config entries), passed through transformers.js's session_options to onnxruntime-node
  // (which takes config entries as a flat `extra` object of "section.key" strings).
  const sessionOptions = {
    graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    extra: JSON.parse(opts.sessionEntries),
  };
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: opts.dtype, session_options: sessionOptions });
  const loadSeconds = (Date.now() - loadStarted) / 1000;

  const chunkSize = opts.mode === 'batched' ? opts.batchSize : 1;
  if (opts.mode !== 'batched' && opts.mode !== 'sequential') throw new Error(`unknown --mode ${opts.mode}`);
  const outputs = [];
  let computedPositions = 0;
  const generateStarted = Date.now();
  for (let start = 0; start < requests.length; start += chunkSize) {
    const chunk = requests.slice(start, start + chunkSize);
    const inputs = tokenizer(chunk.map((r) => r.prompt), { padding: true, add_special_tokens: false });
    const [rows, paddedLength] = inputs.input_ids.dims;
    const maxNewTokens = Math.max(...chunk.map((r) => r.maxTokens));
    const sequences = await model.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false, eos_token_id: null });
    const ids = sequences.tolist();
    const mask = inputs.attention_mask.tolist();
    chunk.forEach((request, row) => {
      const promptTokens = mask[row].reduce((s, m) => s + Number(m), 0);
      outputs.push({ id: request.id, promptTokens, tokens: ids[row].slice(paddedLength, paddedLength + request.maxTokens).map(Number) });
    });
    // every row of the chunk runs the padded prompt, then one position per decode step until the longest request is done
    computedPositions += rows * (paddedLength + maxNewTokens - 1);
    process.stderr.write(`transformers.js ${opts.mode}: ${outputs.length}/${requests.length}\n`);
  }
  const generateSeconds = (Date.now() - generateStarted) / 1000;
  await model.dispose();
  fs.writeFileSync(opts.out, JSON.stringify({ loadSeconds, generateSeconds, computedPositions, sessionOptions, outputs }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
