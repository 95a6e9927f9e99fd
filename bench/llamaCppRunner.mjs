#!/usr/bin/env node
// Child process: runs a workload through llama.cpp (node-llama-cpp, installed in bench/.deps by bench/llamaCppDeps.js)
// the way qwen-gen runs it: N sequences in one context, each taking the next request as soon as it is free (continuous
// batching), raw prompt text tokenized by llama.cpp from the GGUF's own tokenizer, greedy (temperature 0), end-of-
// generation tokens ignored (generation stops only at the request's max_tokens), threads passed explicitly.
//   node bench/llamaCppRunner.mjs --gguf FILE --workload requests.json --out out.json --threads 2 --sequences 8
//     [--kv-type default|f32|f16] [--flash-attention auto|on|off] [--batch-size 512] [--context-size N]
// requests.json: [{ id, prompt, maxTokens }]. Writes { loadSeconds, generateSeconds, settings, versions,
// outputs: [{ id, promptTokens, promptIds, tokens }] } to --out; settings.llama_log quotes llama.cpp's own lines on
// flash attention, the KV cache types and the CPU backend it loaded.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const { llamaCppModulePath, installedVersions, INSTALL_HINT } = require('./llamaCppDeps.js');

function parseArgs(argv) {
  const opts = { sequences: 8, threads: 0, flashAttention: 'auto', batchSize: 512, contextSize: 0, kvType: 'default' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    opts[key] = argv[i + 1];
  }
  for (const key of ['sequences', 'threads', 'batchSize', 'contextSize']) opts[key] = Number(opts[key]);
  for (const key of ['gguf', 'workload', 'out']) if (!opts[key]) throw new Error(`--${key} is required`);
  if (!(opts.threads > 0)) throw new Error('--threads must be given (node-llama-cpp\'s default oversubscribes small machines)');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv);
  const entry = llamaCppModulePath();
  if (!entry) throw new Error(`node-llama-cpp is not installed; run: ${INSTALL_HINT}`);
  const { getLlama } = await import(pathToFileURL(entry).href);
  const requests = JSON.parse(fs.readFileSync(opts.workload, 'utf8'));

  const loadStarted = performance.now();
  // llama.cpp's own log lines name what it resolved (flash attention, KV cache types, the CPU backend it loaded).
  const log = [];
  const logger = (level, message) => {
    const text = String(message).trim();
    if (/Flash Attention (enabled|disabled)|llama_kv_cache: size|loaded CPU backend|CPU_REPACK model buffer|n_ctx_seq +=|n_batch +=|n_ubatch +=|file type +=/.test(text)) {
      log.push(text.replace(/ from \S*\/(libggml[^/]*)$/, ' $1').replace(/\s+/g, ' '));
    }
    if (level === 'error' || level === 'fatal') process.stderr.write(`${text}\n`);
  };
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: opts.threads, logLevel: 'debug', logger });
  const model = await llama.loadModel({ modelPath: path.resolve(opts.gguf) });
  const tokenized = requests.map((r) => ({ ...r, ids: model.tokenize(r.prompt, false) }));
  const longest = Math.max(...tokenized.map((r) => r.ids.length + r.maxTokens));
  const contextSize = opts.contextSize > 0 ? opts.contextSize : Math.ceil(longest / 256) * 256;
  const flashAttention = opts.flashAttention === 'auto' ? 'auto' : opts.flashAttention === 'on';
  const context = await model.createContext({
    sequences: Math.min(opts.sequences, requests.length), contextSize, batchSize: opts.batchSize, flashAttention,
    threads: { ideal: opts.threads, min: opts.threads },
    // The KV cache type is node-llama-cpp's default (F16) unless asked: the equality test uses F32, qwen-gen's own cache type.
    ...(opts.kvType === 'default' ? {} : { experimentalKvCacheKeyType: opts.kvType.toUpperCase(), experimentalKvCacheValueType: opts.kvType.toUpperCase() }),
  });
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  const outputs = new Array(requests.length);
  let next = 0;
  let done = 0;
  const firstTokenAt = [];
  const generateStarted = performance.now();
  const worker = async (sequence) => {
    while (next < tokenized.length) {
      const index = next++;
      const request = tokenized[index];
      await sequence.clearHistory();
      const tokens = [];
      if (request.maxTokens > 0) {
        for await (const token of sequence.evaluate(request.ids, { temperature: 0, yieldEogToken: true })) {
          if (tokens.length === 0) firstTokenAt.push((performance.now() - generateStarted) / 1000);
          tokens.push(Number(token));
          if (tokens.length >= request.maxTokens) break;
        }
      }
      outputs[index] = { id: request.id, promptTokens: request.ids.length, promptIds: [...request.ids].map(Number), tokens };
      done++;
      process.stderr.write(`llama.cpp: ${done}/${requests.length}\n`);
    }
  };
  const sequences = Array.from({ length: context.totalSequences }, () => context.getSequence());
  await Promise.all(sequences.map((sequence) => worker(sequence)));
  const generateSeconds = (performance.now() - generateStarted) / 1000;

  const settings = {
    threads: opts.threads, sequences: context.totalSequences, context_size_per_sequence: context.contextSize, batch_size: context.batchSize,
    flash_attention_option: context.flashAttention, gpu: llama.gpu, mmap: model.useMmap, llama_log: [...new Set(log)],
    sampling: 'temperature 0 (greedy), end-of-generation tokens yielded and ignored',
  };
  const versions = { ...installedVersions(), llama_cpp_build: llama.llamaCppRelease ?? null };
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  fs.writeFileSync(opts.out, JSON.stringify({ loadSeconds, generateSeconds, settings, versions, outputs }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
