#!/usr/bin/env node
'use strict';
// One run of the long workload (issue 19: 8 prompts of 300-450 words, 112-128 new tokens, EOS ignored, greedy, batch
// cap 8, 2 threads) through the real engine in this process, timing prefill and decode steps in wall time AND in CPU time
// of the whole process (all onnxruntime threads). On a shared machine the wall time mostly measures the other users;
// the CPU time a step costs does not (spinning threads excepted), so session options are compared by CPU time, A B A B:
//   for i in 1 2; do node bench/stageCpuRun.js --model-dir DIR --dtype q4 --label acc4;
//     QWEN_GEN_ACCURACY_LEVEL=0 node bench/stageCpuRun.js --model-dir DIR --dtype q4 --label acc0; done
// The switches are the environment variables of src/runtime/sessionOptions.ts and src/model/derivedGraph.ts. One JSON
// line per run on stdout (and appended to --out when given). `--load-only` reports what loading holds in memory (RSS);
// `--write-workload FILE` writes the same requests as qwen-gen JSONL for a CLI run.
const fs = require('fs');
const os = require('os');
const crypto = require('crypto');
const { Command } = require('commander');
const { buildWorkload } = require('./workload');

const opts = new Command()
  .requiredOption('--model-dir <dir>')
  .option('--dtype <dtype>', 'graph file dtype', 'fp32')
  .option('--label <label>', 'name of this configuration', 'run')
  .option('--threads <n>', 'intra-op threads', Number, 2)
  .option('--batch <n>', 'batch cap', Number, 8)
  .option('--runtime <runtime>', 'direct or onnxruntime-node', 'direct')
  .option('--out <file>', 'append the JSON line here too')
  .option('--load-only', 'load the model, report the memory it holds (RSS) and the load time, and stop')
  .option('--write-workload <file>', 'write the workload as qwen-gen JSONL (for the CLI) and stop; needs no model')
  .parse(process.argv)
  .opts();

const LONG = { name: 'long', count: 8, promptTokens: [300, 450], maxTokens: [112, 128] };
const cpuSeconds = (usage) => (usage.user + usage.system) / 1e6;

(async () => {
  if (opts.writeWorkload) {
    const { loadTokenizer } = require('../dist/tokenize/tokenizer');
    const { toQwenGenJsonl } = require('./workload');
    const tokenizer = await loadTokenizer(opts.modelDir);
    fs.writeFileSync(opts.writeWorkload, toQwenGenJsonl(buildWorkload(LONG, 19, tokenizer)));
    return;
  }
  const { loadModel } = require('../dist/engine/loadModel');
  const { runGeneration } = require('../dist/engine/generationEngine');
  const { BatchRunner } = require('../dist/padding/batchRunner');
  const { RequestSampler } = require('../dist/sample/sampler');
  const { GREEDY_PARAMS } = require('../dist/sample/samplingParams');
  const { effectiveBatchSize } = require('../dist/schedule/batchingSupport');
  const rssBefore = process.memoryUsage().rss;
  const loadCpu = process.cpuUsage();
  const loadStarted = Date.now();
  const model = await loadModel(opts.modelDir, { dtype: opts.dtype, threads: opts.threads, runtime: opts.runtime });
  const load = { wall: (Date.now() - loadStarted) / 1000, cpu: cpuSeconds(process.cpuUsage(loadCpu)) };
  if (opts.loadOnly) {
    const line = {
      label: opts.label, dtype: opts.dtype, rewrites: (model.derived?.rewrites ?? []).map((r) => r.name),
      session: model.runtime.session?.configEntries ?? {}, load_wall_s: +load.wall.toFixed(1), load_cpu_s: +load.cpu.toFixed(1),
      rss_after_load_gb: +(process.memoryUsage().rss / 1e9).toFixed(3), rss_added_by_load_gb: +((process.memoryUsage().rss - rssBefore) / 1e9).toFixed(3),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    if (opts.out) fs.appendFileSync(opts.out, `${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);
    await model.runner.release();
    return;
  }
  const requests = buildWorkload(LONG, 19, model.tokenizer);
  const specs = requests.map((r, i) => {
    const promptIds = Array.from(model.tokenizer.encode(r.prompt, { add_special_tokens: false }));
    return {
      request: i, sampleIndex: 0, promptIds, maxTokens: r.maxTokens, stopTokenIds: new Set(), minTokens: 0,
      sampler: new RequestSampler(GREEDY_PARAMS, promptIds),
    };
  });
  const stages = { prefill: { wall: 0, cpu: 0, steps: 0 }, decode: { wall: 0, cpu: 0, steps: 0 } };
  const inner = model.runner;
  const runner = {
    kvShape: inner.kvShape,
    inputs: inner.inputs,
    gather: inner.gather.bind(inner),
    reserveRows: inner.reserveRows?.bind(inner),
    recycle: inner.recycle?.bind(inner),
    runtime: inner.runtime,
    stats: inner.stats,
    async step(feeds) {
      const cpu = process.cpuUsage();
      const started = process.hrtime.bigint();
      const result = await inner.step(feeds);
      const stage = feeds.seqLen === 1 ? stages.decode : stages.prefill;
      stage.wall += Number(process.hrtime.bigint() - started) / 1e9;
      stage.cpu += cpuSeconds(process.cpuUsage(cpu));
      stage.steps++;
      return result;
    },
  };
  const batchSize = effectiveBatchSize(model.graph, opts.batch);
  const tokens = [];
  await runGeneration(new BatchRunner(runner, model.protocol), specs, { batchSize, maxBatchTokens: 2048 }, (finished) => {
    tokens[finished.spec.request] = finished.tokenIds;
  });
  const round = (x, digits = 1) => +x.toFixed(digits);
  const line = {
    label: opts.label, dtype: opts.dtype, batch: batchSize,
    rewrites: (model.derived?.rewrites ?? []).map((r) => r.name),
    session: model.runtime.session?.configEntries ?? {},
    load_wall_s: round(load.wall), load_cpu_s: round(load.cpu),
    prefill_wall_s: round(stages.prefill.wall), prefill_cpu_s: round(stages.prefill.cpu),
    decode_wall_s: round(stages.decode.wall), decode_cpu_s: round(stages.decode.cpu), decode_steps: stages.decode.steps,
    decode_cpu_ms_per_step: round((1000 * stages.decode.cpu) / stages.decode.steps, 0),
    decode_wall_ms_per_step: round((1000 * stages.decode.wall) / stages.decode.steps, 0),
    peak_rss_gb: round((process.resourceUsage().maxRSS * 1024) / 1e9, 2),
    load_average: round(os.loadavg()[0]),
    tokens_md5: crypto.createHash('md5').update(JSON.stringify(tokens)).digest('hex').slice(0, 8),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if (opts.out) fs.appendFileSync(opts.out, `${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);
  await model.runner.release();
})().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
