#!/usr/bin/env node
'use strict';
// qwen-gen throughput benchmark (issue 6): qwen-gen vs transformers.js on one random Qwen3-0.6B-shaped model file.
// Usage: npm run build && node bench/run.js [--quick] [--json FILE] [--model-dir DIR] [--seed N] [--threads N]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Command, InvalidArgumentError } = require('commander');
const { FULL_SHAPE, QUICK_SHAPE, VARIANTS, variantDtype, ensureBenchModel, weightBytes, kvBytesPerToken, shapeName } = require('./benchModel');
const { WORKLOADS, buildWorkload, probePrompt, toQwenGenJsonl, summarize } = require('./workload');
const { measureBandwidth } = require('./bandwidth');
const { runMeasuredNode } = require('./measuredChild');
const { runQwenGen, measureDecodeAtBatchOne, measurePrefillRss, usefulTokenFraction } = require('./qwenGenRuns');
const { tokenAgreement, checkOutputs, realPositions, formatTable, fmt } = require('./figures');
const { runSharedPrefix, sharedTargets, formatShared } = require('./sharedPrefixRun');

const RUN_KEYS = ['qwen_gen', 'tjs_batched', 'tjs_sequential', 'decode', 'decode_step', 'batch_sweep', 'denormals', 'prefill_rss', 'shared'];
/** The session option measured by the `denormals` run (README: how it was decided). */
const DENORMALS_FLUSHED = { QWEN_GEN_DENORMAL_AS_ZERO: '1' };
/** Decode step probe (issue 12): rows × cached tokens, timed in the real loop on each runtime. */
const DECODE_STEP_PROBE = { full: { batch: 8, context: 512 }, quick: { batch: 8, context: 128 } };
const RUNTIMES = ['direct', 'onnxruntime-node'];
/** Issue 6's memory target is stated for 16 × 512 tokens; --quick uses shorter prompts to stay under a minute. */
const PREFILL_PROBE = { full: { rows: 16, promptTokens: 512 }, quick: { rows: 16, promptTokens: 128 } };

function positiveInt(name) {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function parseArgs(argv) {
  return new Command('qwen-gen-bench')
    .description('qwen-gen vs transformers.js on workload W64 (issue 6)')
    .option('--quick', 'small model (hidden 256, 4 layers, real vocabulary) and 16 short requests: under a minute', false)
    .option('--json <file>', 'write the figures as JSON')
    .option('--model-dir <dir>', 'where the random model is built and cached (default $QWEN_GEN_BENCH_DIR or ~/.cache/qwen-gen)')
    .option('--seed <n>', 'workload seed', positiveInt('--seed'), 1)
    .option('--batch-size <n>', 'batch cap for qwen-gen and the transformers.js chunks', positiveInt('--batch-size'), 8)
    .option('--threads <n>', 'onnxruntime intra-op threads for every engine', positiveInt('--threads'), os.availableParallelism())
    .option('--only <runs>', `comma-separated subset of ${RUN_KEYS.join(',')}`)
    .option('--variants <list>', `graph variants to measure, comma-separated: ${Object.keys(VARIANTS).join(', ')}`, 'plain,gqa,gqa-q4')
    .option('--batch-sizes <list>', 'batch caps of the batch_sweep run', '8,16,32')
    .option('--keep', 'keep the work folder (inputs, outputs, report)', false)
    .parse(argv)
    .opts();
}

/** Reads the model files once so that no engine pays the first disk read. */
function warmPageCache(dir) {
  const chunk = Buffer.allocUnsafe(64 << 20);
  for (const file of fs.readdirSync(path.join(dir, 'onnx'))) {
    const fd = fs.openSync(path.join(dir, 'onnx', file), 'r');
    try {
      while (fs.readSync(fd, chunk, 0, chunk.length, null) > 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

async function runTransformersJs(mode, { modelDir, workDir, workloadFile, batchSize, threads, dtype }) {
  const out = path.join(workDir, `tjs-${mode}.json`);
  const args = [path.join(__dirname, 'tjsRunner.js'), '--model-dir', modelDir, '--workload', workloadFile, '--mode', mode,
    '--batch-size', String(batchSize), '--threads', String(threads), '--dtype', dtype, '--out', out];
  const run = await runMeasuredNode(args, { cwd: path.join(__dirname, '..'), label: `transformers.js ${mode}` });
  return { ...run, ...JSON.parse(fs.readFileSync(out, 'utf8')) };
}

async function main() {
  const opts = parseArgs(process.argv);
  const log = (message) => process.stderr.write(`bench: ${message}\n`);
  const selected = new Set(opts.only ? opts.only.split(',').map((s) => s.trim()) : RUN_KEYS);
  for (const key of selected) if (!RUN_KEYS.includes(key)) throw new Error(`--only: unknown run "${key}" (${RUN_KEYS.join(', ')})`);
  const variants = opts.variants.split(',').map((v) => v.trim());
  for (const variant of variants) if (!VARIANTS[variant]) throw new Error(`--variants: unknown variant "${variant}" (${Object.keys(VARIANTS).join(', ')})`);
  const results = [];
  for (const variant of variants) {
    const result = await benchVariant(variant, opts, selected, log);
    console.log(formatTable(result));
    if (result.shared_prefix) console.log(formatShared(result.shared_prefix));
    console.log('');
    results.push(result);
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n');
}

/** Every selected run on one graph variant of the shape, side by side. */
async function benchVariant(variant, opts, selected, log) {
  const shape = opts.quick ? QUICK_SHAPE : FULL_SHAPE;
  const spec = opts.quick ? WORKLOADS.W16Q : WORKLOADS.W64;
  const startedAt = Date.now();

  const model = await ensureBenchModel(shape, opts.modelDir && variantModelDir(opts.modelDir, variant), log, variant);
  if (model.built) log(`model built in ${model.buildSeconds.toFixed(0)} s`);
  const { AutoTokenizer, env } = require('@huggingface/transformers');
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(model.dir) + path.sep;
  const tokenizer = await AutoTokenizer.from_pretrained(path.basename(model.dir));
  const requests = buildWorkload(spec, opts.seed, tokenizer);
  const workload = summarize(spec, opts.seed, requests);

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-bench-'));
  const inputFile = path.join(workDir, `${spec.name}.jsonl`);
  const workloadFile = path.join(workDir, `${spec.name}.requests.json`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  fs.writeFileSync(workloadFile, JSON.stringify(requests));

  log('measuring memory read bandwidth');
  const bandwidth = await measureBandwidth(opts.quick ? 256 << 20 : 1 << 30, opts.threads);
  warmPageCache(model.dir);

  // Other processes on the machine skew every timing: sample the load average so the report can say so.
  const loadSamples = [os.loadavg()[0]];
  const loadSampler = setInterval(() => loadSamples.push(os.loadavg()[0]), 5000);
  loadSampler.unref();

  const common = { modelDir: model.dir, workDir, batchSize: opts.batchSize, threads: opts.threads, dtype: variantDtype(variant) };
  const usefulTokens = workload.max_tokens.total;
  const real = realPositions(requests);
  const runs = [];
  const notes = [];
  let qwen = null;
  let sequential = null;
  let batched = null;

  if (selected.has('qwen_gen')) {
    log(`(a) qwen-gen CLI on ${spec.name}`);
    qwen = await runQwenGen({ ...common, inputFile });
    checkOutputs('qwen-gen', requests, qwen.outputs);
    const useful = usefulTokenFraction(qwen.report);
    if (useful.value == null) notes.push(`qwen-gen useful-token fraction unavailable: ${useful.source}`);
    runs.push({ key: 'qwen_gen', label: '(a) qwen-gen CLI', wall_seconds: qwen.wallSeconds, peak_rss_bytes: qwen.peakRssBytes,
      useful_token_fraction: useful.value, useful_token_fraction_source: useful.source, command: qwen.command,
      report_figures: qwen.report?.figures ?? null });
  }
  if (selected.has('tjs_batched')) {
    log(`(b) transformers.js generate, chunks of ${opts.batchSize} in input order, left padding`);
    batched = await runTransformersJs('batched', { ...common, workloadFile });
    checkOutputs('transformers.js batched', requests, batched.outputs);
    runs.push({ key: 'tjs_batched', label: `(b) transformers.js batched (${opts.batchSize})`, wall_seconds: batched.wallSeconds,
      peak_rss_bytes: batched.peakRssBytes, load_seconds: batched.loadSeconds, generate_seconds: batched.generateSeconds,
      useful_token_fraction: real / batched.computedPositions, useful_token_fraction_source: 'counted by the runner: rows × (padded prompt + longest max_tokens − 1) per chunk' });
  }
  if (selected.has('tjs_sequential')) {
    log('(c) transformers.js generate, one prompt at a time');
    sequential = await runTransformersJs('sequential', { ...common, workloadFile });
    checkOutputs('transformers.js sequential', requests, sequential.outputs);
    runs.push({ key: 'tjs_sequential', label: '(c) transformers.js one at a time', wall_seconds: sequential.wallSeconds,
      peak_rss_bytes: sequential.peakRssBytes, load_seconds: sequential.loadSeconds, generate_seconds: sequential.generateSeconds,
      useful_token_fraction: real / sequential.computedPositions, useful_token_fraction_source: 'counted by the runner' });
  }
  const qwenRun = runs.find((r) => r.key === 'qwen_gen');
  for (const run of runs) {
    run.useful_generated_tokens = usefulTokens;
    run.useful_tokens_per_second = usefulTokens / run.wall_seconds;
    run.qwen_gen_speedup = qwenRun ? run.wall_seconds / qwenRun.wall_seconds : null;
  }

  let decode = null;
  const bytesPerStepBase = weightBytes(shape, variant, model.dir);
  if (selected.has('decode')) {
    log('decode speed at batch 1 (qwen-gen, --batch-size 1)');
    const prompt = probePrompt(tokenizer, 8, opts.seed);
    const probe = await measureDecodeAtBatchOne({ ...common, prompt, maxTokens: opts.quick ? [2, 10, 42] : [2, 18, 82] });
    const meanContext = probe.promptTokens + (probe.maxTokens[1] + probe.maxTokens[2]) / 2;
    const bytesPerStep = bytesPerStepBase + kvBytesPerToken(shape) * meanContext;
    const rooflineTokensPerSecond = bandwidth.roofline_bytes_per_s / bytesPerStep;
    decode = { tokens_per_second: probe.tokensPerSecond, steps: probe.steps, bytes_per_step: bytesPerStep,
      weight_bytes: bytesPerStepBase, kv_bytes_per_step: bytesPerStep - bytesPerStepBase, roofline_tokens_per_second: rooflineTokensPerSecond,
      roofline_fraction: probe.tokensPerSecond / rooflineTokensPerSecond };
  }

  let decodeStep = null;
  if (selected.has('decode_step')) {
    const { batch, context } = opts.quick ? DECODE_STEP_PROBE.quick : DECODE_STEP_PROBE.full;
    const floorBytes = bytesPerStepBase + kvBytesPerToken(shape) * batch * context;
    const floorMs = (1000 * floorBytes) / bandwidth.roofline_bytes_per_s;
    decodeStep = { batch, context, floor_ms: floorMs, floor_bytes: floorBytes, runtimes: {} };
    // The denormal setting is measured on the same probe: the direct runtime with set_denormal_as_zero on.
    const probes = [...RUNTIMES.map((runtime) => ({ key: runtime, runtime, env: {} })), { key: 'direct, denormals flushed', runtime: 'direct', env: DENORMALS_FLUSHED }];
    for (const { key, runtime, env } of probes) {
      log(`decode step at batch ${batch} with ${context} cached tokens, real loop, ${key}`);
      const out = path.join(workDir, `decode-step-${key.replace(/\W+/g, '-')}.json`);
      await runMeasuredNode([path.join(__dirname, 'decodeStepProbe.js'), '--model-dir', model.dir, '--runtime', runtime, '--dtype', common.dtype,
        '--batch', String(batch), '--context', String(context), '--threads', String(opts.threads), '--out', out],
      { cwd: path.join(__dirname, '..'), env, label: `decode step probe (${key})` });
      const probe = JSON.parse(fs.readFileSync(out, 'utf8'));
      decodeStep.runtimes[key] = { ...probe, floor_ratio: probe.iteration_ms_median / floorMs };
    }
  }

  let batchSweep = null;
  if (selected.has('batch_sweep')) {
    batchSweep = [];
    for (const batchSize of opts.batchSizes.split(',').map(Number)) {
      log(`qwen-gen on ${spec.name} at --batch-size ${batchSize}`);
      const run = batchSize === opts.batchSize && qwen ? qwen : await runQwenGen({ ...common, batchSize, inputFile });
      checkOutputs(`qwen-gen batch ${batchSize}`, requests, run.outputs);
      batchSweep.push({ batch_size: batchSize, wall_seconds: run.wallSeconds, useful_tokens_per_second: usefulTokens / run.wallSeconds,
        peak_rss_bytes: run.peakRssBytes });
    }
  }

  let prefill = null;
  if (selected.has('prefill_rss')) {
    const { rows, promptTokens } = opts.quick ? PREFILL_PROBE.quick : PREFILL_PROBE.full;
    log(`qwen-gen peak RSS while prefilling ${rows} × ${promptTokens}-token prompts (--batch-size ${rows}, max_tokens 1)`);
    const probe = await measurePrefillRss({ ...common, prompt: probePrompt(tokenizer, promptTokens, opts.seed + 1), rows, promptTokens });
    const kvBytes = kvBytesPerToken(shape) * rows * (promptTokens + 1);
    const boundBytes = bytesPerStepBase + kvBytes + 1e9;
    prefill = { rows, prompt_tokens: promptTokens, peak_rss_bytes: probe.peakRssBytes, wall_seconds: probe.wallSeconds,
      weight_bytes: bytesPerStepBase, kv_bytes: kvBytes, bound_bytes: boundBytes, within_bound: probe.peakRssBytes <= boundBytes };
  }

  let denormals = null;
  if (selected.has('denormals')) {
    log(`qwen-gen on ${spec.name} with denormals flushed (session.set_denormal_as_zero on)`);
    const kept = await runQwenGen({ ...common, inputFile, env: DENORMALS_FLUSHED, tag: '-denormals-flushed' });
    checkOutputs('qwen-gen, denormals flushed', requests, kept.outputs);
    denormals = { kept_wall_seconds: kept.wallSeconds, flushed_wall_seconds: qwen?.wallSeconds ?? null,
      kept_vs_flushed_tokens: qwen ? tokenAgreement(kept.outputs, qwen.outputs) : null,
      kept_vs_tjs_sequential: sequential ? tokenAgreement(kept.outputs, sequential.outputs) : null,
      flushed_vs_tjs_sequential: qwen && sequential ? tokenAgreement(qwen.outputs, sequential.outputs) : null };
    notes.push(`denormals: W64 ${fmt.s(denormals.kept_wall_seconds)} s kept vs ${fmt.s(denormals.flushed_wall_seconds)} s flushed; ` +
      `tokens identical kept vs flushed ${denormals.kept_vs_flushed_tokens?.identical ?? 'n/a'}/${requests.length}; vs transformers.js one at a time: ` +
      `kept ${denormals.kept_vs_tjs_sequential?.identical ?? 'n/a'}, flushed ${denormals.flushed_vs_tjs_sequential?.identical ?? 'n/a'}`);
  }

  let sharedPrefix = null;
  if (selected.has('shared')) {
    sharedPrefix = await runSharedPrefix({ quick: opts.quick, seed: opts.seed, tokenizer, common, runTjs: runTransformersJs, log });
  }

  if (qwen && sequential) {
    const agree = tokenAgreement(qwen.outputs, sequential.outputs);
    notes.push(`greedy tokens of (a) identical to (c) for ${agree.identical}/${agree.compared} requests (same model file, EOS ignored in both)`);
  }
  if (batched && sequential) {
    const agree = tokenAgreement(batched.outputs, sequential.outputs);
    notes.push(`greedy tokens of (b) identical to (c) for ${agree.identical}/${agree.compared} requests (left padding on a plain-attention graph)`);
  }
  if (batched) notes.push('transformers.js cannot give each row of a batch its own max_tokens: each chunk generates its longest request\'s count; only each request\'s own max_tokens count as useful tokens');
  notes.push('wall time = child process start to exit (Node start-up, model load, tokenization and generation); tokens/s = useful generated tokens / wall time');

  clearInterval(loadSampler);
  const meanLoad = loadSamples.reduce((a, b) => a + b, 0) / loadSamples.length;
  if (meanLoad > opts.threads + 1) {
    notes.push(`the machine was busy: mean 1-min load average ${meanLoad.toFixed(1)} on ${os.cpus().length} cores while the runs used ${opts.threads} threads; timings are skewed, rerun on an idle machine`);
  }

  const ratio = (key) => runs.find((r) => r.key === key)?.qwen_gen_speedup ?? null;
  const result = {
    ratio_vs_tjs_batched: ratio('tjs_batched'),
    ratio_vs_tjs_sequential: ratio('tjs_sequential'),
    useful_token_fraction: qwenRun?.useful_token_fraction ?? null,
    roofline_fraction: decode?.roofline_fraction ?? null,
    peak_rss_bytes: qwenRun?.peak_rss_bytes ?? null,
    peak_rss_bytes_by_run: Object.fromEntries(runs.map((r) => [r.key, r.peak_rss_bytes])),
    mode: opts.quick ? 'quick' : 'full',
    workload: workload,
    model: { shape_name: shapeName(shape, variant), variant, ...shape, dir: model.dir, parameter_count: model.parameterCount, weight_bytes: bytesPerStepBase,
      file_bytes: model.bytes, external_data: model.external,
      attention: VARIANTS[variant].attention === 'gqa' ? 'GroupQueryAttention (fused rotary, like onnxruntime-genai CPU exports)' : 'plain (optimum-style ops)',
      dtype: VARIANTS[variant].quantize ?? 'fp32' },
    runtime: qwen?.report?.model?.runtime ?? null,
    decode_step: decodeStep,
    batch_sweep: batchSweep,
    denormals,
    batch_size: opts.batchSize,
    threads: opts.threads,
    runs,
    decode_batch1: decode,
    prefill_rss: prefill,
    shared_prefix: sharedPrefix,
    bandwidth,
    machine: { load_average_at_start: loadSamples[0], load_average_mean: meanLoad, load_average_max: Math.max(...loadSamples), cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, total_memory_bytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.arch()}` },
    notes,
    targets: [],
    total_seconds: (Date.now() - startedAt) / 1000,
  };
  result.targets = targetChecks(result, opts.quick);
  if (sharedPrefix) result.targets.push(...sharedTargets(sharedPrefix, opts.quick));

  if (opts.keep) log(`work folder kept: ${workDir}`);
  else fs.rmSync(workDir, { recursive: true, force: true });
  return result;
}

/** --model-dir names the folder of the first variant; the others sit beside it. */
function variantModelDir(dir, variant) {
  return variant === 'plain' ? dir : `${dir}-${variant}`;
}

/** Issues 6 and 12's targets; they are stated for the full W64 run on the 0.6B shape, so a --quick run only shows them. */
function targetChecks(result, quick) {
  const check = (what, value, goal, shown) => ({ what: quick ? `${what} (quick run: indicative only)` : what,
    reached: value == null ? 'not measured' : shown(value), met: value == null ? null : value >= goal });
  const times = (x) => `${x.toFixed(2)}×`;
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  return [
    check('qwen-gen ≥ 3× transformers.js batched', result.ratio_vs_tjs_batched, 3, times),
    check('qwen-gen ≥ 3× transformers.js one at a time (issue 12; issue 6 asked 5×)', result.ratio_vs_tjs_sequential, 3, times),
    check(`decode step (batch ${result.decode_step?.batch}, ${result.decode_step?.context} cached, real loop, direct runtime) ≤ 2.5× its floor`,
      result.decode_step?.runtimes.direct && 2.5 / result.decode_step.runtimes.direct.floor_ratio, 1,
      () => `${result.decode_step.runtimes.direct.floor_ratio.toFixed(2)}× the floor`),
    check('useful-token fraction ≥ 95 %', result.useful_token_fraction, 0.95, pct),
    check('batch-1 decode ≥ 80 % of the roofline', result.roofline_fraction, 0.8, pct),
    check(`peak RSS of a ${(result.prefill_rss ?? PREFILL_PROBE.full).rows} × ${result.prefill_rss?.prompt_tokens ?? PREFILL_PROBE.full.promptTokens}-token prefill ≤ weights + KV + 1 GB`,
      result.prefill_rss && result.prefill_rss.bound_bytes / result.prefill_rss.peak_rss_bytes, 1,
      () => `${(result.prefill_rss.peak_rss_bytes / 1e9).toFixed(2)} GB vs ${(result.prefill_rss.bound_bytes / 1e9).toFixed(2)} GB`),
  ];
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack || error.message}\n`);
  process.exit(1);
});
