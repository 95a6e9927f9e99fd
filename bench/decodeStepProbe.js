#!/usr/bin/env node
'use strict';
// Decode step time in the real loop (engine + runner + sampler), one runtime per child process:
//   node bench/decodeStepProbe.js --model-dir DIR --runtime direct|onnxruntime-node --batch 8 --context 512 --out FILE
// `batch` rows of `context` prompt tokens, then decode steps timed one by one (the runner wrapped with a clock); the
// median of the steps after the first few is reported. EOS is ignored, so every row runs every step.
const fs = require('fs');
const { Command } = require('commander');

const opts = new Command()
  .requiredOption('--model-dir <dir>')
  .requiredOption('--runtime <runtime>')
  .requiredOption('--out <file>')
  .option('--batch <n>', 'rows', Number, 8)
  .option('--context <n>', 'cached tokens per row when timing starts', Number, 512)
  .option('--steps <n>', 'decode steps timed', Number, 16)
  .option('--threads <n>', 'intra-op threads', Number)
  .option('--dtype <dtype>', 'graph file dtype', 'fp32')
  .option('--sequences <kind>', "'job': sequences made as a generate run makes them (sampler and stop checks from the request's settings); 'bare': a greedy sampler and a length check only", 'job')
  .parse(process.argv)
  .opts();

(async () => {
  const { loadModel } = require('../dist/engine/loadModel');
  const { runGeneration } = require('../dist/engine/generationEngine');
  const { BatchRunner } = require('../dist/padding/batchRunner');
  const { RequestSampler } = require('../dist/sample/sampler');
  const { GREEDY_PARAMS } = require('../dist/sample/samplingParams');
  const model = await loadModel(opts.modelDir, { runtime: opts.runtime, threads: opts.threads, dtype: opts.dtype === 'fp32' ? undefined : opts.dtype });
  const warmup = 3;
  const maxTokens = warmup + opts.steps + 1;
  const promptLength = opts.context - warmup;
  const prompt = (row) => Array.from({ length: promptLength }, (_, i) => 1000 + ((row * 7919 + i * 104729) % 50000));
  const jobSpecs = () => {
    const { resolveDefaults, requestSettings } = require('../dist/job/generationDefaults');
    const { sequenceSpecs } = require('../dist/job/preparedRequest');
    const settings = requestSettings(resolveDefaults(null, { greedy: true, ignoreEos: true, maxTokens }), {});
    return Array.from({ length: opts.batch }, (_, row) => sequenceSpecs(
      { request: { id: `r${row}`, index: row, line: row + 1, kind: 'prompt', prompt: '', params: {} }, settings, promptIds: prompt(row) },
      model,
    )).flat();
  };
  const specs = opts.sequences === 'job' ? jobSpecs() : Array.from({ length: opts.batch }, (_, row) => {
    const promptIds = prompt(row);
    return {
      request: row, sampleIndex: 0, promptIds, maxTokens,
      stopTokenIds: new Set(), minTokens: 0,
      sampler: new RequestSampler(GREEDY_PARAMS, promptIds),
    };
  });
  const decodeMs = [];
  const decodeStarts = [];
  // Time inside the runtime's native Run call, per decode step: the rest of a loop iteration is qwen-gen's own work.
  const decodeRunMs = [];
  const runner = {
    kvShape: model.runner.kvShape,
    inputs: model.runner.inputs,
    gather: model.runner.gather.bind(model.runner),
    async step(feeds) {
      const started = process.hrtime.bigint();
      if (feeds.seqLen === 1 && feeds.batch === opts.batch) decodeStarts.push(Number(started) / 1e6);
      const runBefore = model.runner.stats.runMs;
      const result = await model.runner.step(feeds);
      if (feeds.seqLen === 1 && feeds.batch === opts.batch) {
        decodeMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        decodeRunMs.push(model.runner.stats.runMs - runBefore);
      }
      return result;
    },
  };
  const loopStarted = Date.now();
  await runGeneration(new BatchRunner(runner, model.protocol), specs, { batchSize: opts.batch, maxBatchTokens: opts.batch * promptLength }, () => {});
  const loopMs = Date.now() - loopStarted;
  const timed = decodeMs.slice(warmup).sort((a, b) => a - b);
  const median = timed[Math.floor(timed.length / 2)];
  // Start to start of consecutive decode steps: the whole loop iteration (feeds, run, sampling, stop checks).
  const iterationsInOrder = decodeStarts.slice(warmup + 1).map((t, i) => t - decodeStarts[warmup + i]);
  const iterations = [...iterationsInOrder].sort((a, b) => a - b);
  const medianOf = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  // Per iteration: the share of it spent outside the native Run (feeds, OrtValues, sampling, stop checks, bookkeeping).
  const outsideRun = iterationsInOrder.map((ms, i) => ms - decodeRunMs[warmup + i]);
  fs.writeFileSync(opts.out, JSON.stringify({
    runtime: model.runner.runtime, sequences: opts.sequences, batch: opts.batch,
    // What this process applied, read from the code that applies it (not from the caller's label).
    denormals: require('../dist/runtime/sessionOptions').denormalAsZero() ? 'flushed (session.set_denormal_as_zero=1)' : 'kept (onnxruntime default)', context: opts.context, steps: timed.length,
    step_ms_median: median, iteration_ms_median: iterations[Math.floor(iterations.length / 2)], step_ms_min: timed[0], step_ms_max: timed[timed.length - 1], loop_ms: loopMs,
    // The native Run call alone, and what a loop iteration spends outside it.
    run_ms_median: medianOf(decodeRunMs.slice(warmup)),
    outside_run_ms_median: medianOf(outsideRun),
    outside_run_share_median: medianOf(outsideRun.map((ms, i) => ms / iterationsInOrder[i])),
    // Raw data: every timed step's `run` time, its native Run time and every loop iteration, in order (ms, 0.1 ms resolution).
    step_ms: decodeMs.slice(warmup).map((x) => Math.round(x * 10) / 10), iteration_ms: decodeStarts.slice(warmup + 1).map((t, i) => Math.round((t - decodeStarts[warmup + i]) * 10) / 10),
    native_run_ms: decodeRunMs.slice(warmup).map((x) => Math.round(x * 10) / 10),
    kv_bytes_allocated: model.runner.stats.kvBytesAllocated,
  }));
  await model.runner.release();
})().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
