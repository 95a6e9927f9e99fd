'use strict';
// Parts built on qwen-gen alone: the decode-step probe per dtype (vs its floor), the denormal decision, the batch-size
// sweep, W-shared (prefix cache on and off), the prefill RSS probe and the batch-1 decode probe.
const fs = require('fs');
const path = require('path');
const { FULL_SHAPE, QUICK_SHAPE, DTYPES, ensureBenchModel, weightBytes, kvBytesPerToken, shapeName } = require('../benchModel');
const { WORKLOADS, buildWorkload, buildSharedWorkload, probePrompt, toQwenGenJsonl, summarize, loadTokenizer } = require('../workload');
const { runQwenGen, prepareQwenGen, runTransformersJs, round, REPO, CLI } = require('../engines');
const { runMeasuredNode } = require('../measuredChild');
const { tokenAgreement } = require('../figures');
const { summarizeRuns, ratio, stats } = require('../summary');
const { interleaved, warmPageCache, modelFiles } = require('../harness');
const { qwenGenSessionOptions } = require('../sessionOptions');

const DECODE_STEP = { full: { batch: 8, context: 512 }, quick: { batch: 8, context: 128 } };
const PREFILL_PROBE = { full: { rows: 16, promptTokens: 512 }, quick: { rows: 16, promptTokens: 128 } };
const DENORMALS_FLUSHED = { QWEN_GEN_DENORMAL_AS_ZERO: '1' };

function shapeOf(opts) {
  return opts.quick ? QUICK_SHAPE : FULL_SHAPE;
}

async function gqaModel(opts, log) {
  return ensureBenchModel({ shape: shapeOf(opts), attention: 'gqa', root: opts.modelsDir, log });
}

function modelRecord(model, shape, dtypes) {
  return { shape: shapeName(shape), ...shape, seed: model.options.seed, graph: 'GroupQueryAttention (fused rotary)', dir: model.dir,
    weight_bytes: Object.fromEntries(dtypes.map((d) => [d, weightBytes(model.dir, d)])) };
}

/** One decode-step probe child: batch × context, the real loop, per-step times. */
async function decodeStepProbe({ engine, model, dtype, runtime, batch, context, threads, env = {}, workDir, timeLimitSeconds }) {
  const out = path.join(workDir, `probe-${Date.now()}.json`);
  const args = [path.join(__dirname, '..', 'decodeStepProbe.js'), '--model-dir', model.dir, '--runtime', runtime, '--dtype', DTYPES[dtype].onnx,
    '--batch', String(batch), '--context', String(context), '--threads', String(threads), '--out', out];
  const child = await runMeasuredNode(args, { cwd: REPO, env, timeLimitSeconds });
  let probe = null;
  try {
    probe = JSON.parse(fs.readFileSync(out, 'utf8'));
  } catch {
    probe = null;
  }
  fs.rmSync(out, { force: true });
  const finished = child.finished && probe != null;
  return {
    record: {
      engine, finished, status: finished ? 'ok' : child.status, wall_s: round(child.wallSeconds), peak_rss_bytes: child.peakRssBytes,
      ...(probe ? { iteration_ms: probe.iteration_ms_median, step_ms: probe.step_ms_median, runtime_name: probe.runtime?.name ?? null,
        denormals_applied: probe.denormals, kv_bytes_allocated: probe.kv_bytes_allocated, raw_step_ms: probe.step_ms, raw_iteration_ms: probe.iteration_ms,
        // The part of a loop iteration outside onnxruntime's own Run call (laying out the step, OrtValues, sampling, stops).
        outside_run_ms: probe.outside_run_ms_median, outside_run_share: probe.outside_run_share_median, raw_native_run_ms: probe.native_run_ms } : {}),
      error: finished ? null : child.stderrTail.split('\n').slice(-4).join('\n'),
    },
    command: `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}node ${args.map((a) => (a.startsWith(REPO) ? path.relative(REPO, a) : a)).join(' ')}`,
  };
}

/** Part `decode-step`: the decode step at batch 8 with 512 cached tokens, per dtype, against its floor. */
async function decodeStep({ opts, dtypes, runtimes, log, workDir, machine }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const { batch, context } = opts.quick ? DECODE_STEP.quick : DECODE_STEP.full;
  const engines = dtypes.flatMap((d) => runtimes.map((r) => `${d}/${r}`));
  const commands = {};
  const run = async (engine) => {
    const [dtype, runtime] = engine.split('/');
    const result = await decodeStepProbe({ engine, model, dtype, runtime, batch, context, threads: opts.threads, workDir, timeLimitSeconds: opts.timeLimit });
    commands[engine] = result.command;
    return result;
  };
  const { records } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(modelFiles(model.dir, (f) => !f.endsWith('.gguf'))) });
  const summary = summarizeRuns(records, { figures: ['iteration_ms', 'step_ms', 'wall_s', 'outside_run_ms', 'outside_run_share'] });
  const bandwidth = machine.bandwidth.used_bytes_per_s;
  const floors = {};
  for (const dtype of dtypes) {
    const weights = weightBytes(model.dir, dtype);
    const kv = kvBytesPerToken(shape) * batch * context;
    floors[dtype] = { weight_bytes: weights, kv_bytes: kv, bandwidth_bytes_per_s: bandwidth, floor_ms: (1000 * (weights + kv)) / bandwidth };
  }
  for (const engine of engines) {
    const dtype = engine.split('/')[0];
    const s = summary[engine];
    if (s.complete) s.floor_ratio = s.iteration_ms.median / floors[dtype].floor_ms;
    if (s.complete && summary[`fp32/${engine.split('/')[1]}`]?.complete) s.vs_fp32 = ratio(summary, engine, `fp32/${engine.split('/')[1]}`, 'iteration_ms');
  }
  return {
    name: 'decode-step', key: 'decode-step',
    model: modelRecord(model, shape, dtypes),
    probe: { batch, context, steps_timed: 16, what: 'median loop iteration (start of one decode step to the start of the next) in the real loop: engine, padding protocol, runner, sampler' },
    floors,
    engines: Object.fromEntries(engines.map((e) => [e, { label: `qwen-gen ${e.split('/')[0]}, ${e.split('/')[1]} runtime`, command: commands[e] }])),
    runs: records, summary,
  };
}

/** Part `denormals`: the decode-step probe with denormals kept (the default) and flushed, ≥ 5 probes each, interleaved. */
async function denormals({ opts, dtype, log, workDir }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const { batch, context } = opts.quick ? DECODE_STEP.quick : DECODE_STEP.full;
  const engines = ['kept', 'flushed'];
  const commands = {};
  const run = async (engine) => {
    const result = await decodeStepProbe({ engine, model, dtype, runtime: 'direct', batch, context, threads: opts.threads, workDir,
      env: engine === 'flushed' ? DENORMALS_FLUSHED : {}, timeLimitSeconds: opts.timeLimit });
    commands[engine] = result.command;
    return result;
  };
  const { records } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(modelFiles(model.dir, (f) => !f.endsWith('.gguf'))) });
  // Each probe states what it applied; a mismatch with its label would be a labelling bug (the one issue 22 found).
  const mislabelled = records.filter((r) => r.finished && !String(r.denormals_applied).startsWith(r.engine));
  if (mislabelled.length > 0) throw new Error(`denormals: ${mislabelled.length} probe(s) applied another setting than their label`);
  const summary = summarizeRuns(records, { figures: ['iteration_ms', 'step_ms'] });
  const { denormalAsZero } = require('../../dist/runtime/sessionOptions');
  return {
    name: `denormals-${dtype}`, key: `denormals/${dtype}`,
    model: modelRecord(model, shape, [dtype]), dtype,
    probe: { batch, context, runtime: 'direct', steps_timed: 16 },
    default_setting: denormalAsZero({}) ? 'flushed' : 'kept',
    engines: {
      kept: { label: 'denormals kept (onnxruntime\'s default; set_denormal_as_zero off)', command: commands.kept },
      flushed: { label: 'denormals flushed (QWEN_GEN_DENORMAL_AS_ZERO=1: session.set_denormal_as_zero=1)', command: commands.flushed },
    },
    runs: records, summary,
    flushed_vs_kept: ratio(summary, 'flushed', 'kept', 'iteration_ms'),
  };
}

/** Part `batch-sweep`: qwen-gen on a workload at each batch cap (issue 12's sweep), per dtype: useful tok/s and peak RSS. */
async function batchSweep({ opts, dtype, batchSizes, workloadName, log, workDir }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const spec = workloadName === 'long' ? (opts.quick ? WORKLOADS.LONGQ : WORKLOADS.LONG) : (opts.quick ? WORKLOADS.W16Q : WORKLOADS.W64);
  const tokenizer = await loadTokenizer(model.dir);
  const requests = buildWorkload(spec, opts.seed, tokenizer);
  const inputFile = path.join(workDir, `${spec.name}.jsonl`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  const usefulTokens = requests.reduce((s, r) => s + r.maxTokens, 0);
  const engines = batchSizes.map((b) => `batch-${b}`);
  const prepare = await prepareQwenGen({ modelDir: model.dir, dtype: DTYPES[dtype].onnx, tokenizer, seed: opts.seed, workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit, log });
  const commands = {};
  const outputs = {};
  const run = async (engine) => {
    const batchSize = Number(engine.split('-')[1]);
    const result = await runQwenGen({ engine, modelDir: model.dir, dtype: DTYPES[dtype].onnx, inputFile, requests, workDir, batchSize,
      threads: opts.threads, timeLimitSeconds: opts.timeLimit });
    commands[engine] = result.command;
    if (result.outputs) outputs[engine] = result.outputs;
    return result;
  };
  const { records } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(modelFiles(model.dir, (f) => !f.endsWith('.gguf'))) });
  const summary = summarizeRuns(records, { usefulTokens });
  const first = outputs[engines[0]];
  const checks = {};
  for (const engine of engines.slice(1)) {
    if (first && outputs[engine]) checks[`${engine} vs ${engines[0]}`] = tokenAgreement(outputs[engine], first);
  }
  return {
    name: `batch-sweep-${spec.name}-${dtype}`, key: `batch-sweep/${workloadName}/${dtype}`,
    model: modelRecord(model, shape, [dtype]), dtype,
    workload: { ...summarize(spec, opts.seed, requests), useful_tokens: usefulTokens },
    engines: Object.fromEntries(engines.map((e) => [e, { label: `qwen-gen --batch-size ${e.split('-')[1]}`, command: commands[e] }])),
    prepare, runs: records, summary,
    checks: { greedy_tokens_identical_across_batch_sizes: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, `${v.identical}/${v.compared}`])) },
  };
}

/** Part `shared` (issue 15's W-shared): qwen-gen with the prefix cache (default) and with --no-prefix-cache. */
async function shared({ opts, dtype, engines, log, workDir }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const plain = engines.includes('tjs-plain') ? await ensureBenchModel({ shape, attention: 'plain', root: opts.modelsDir, log }) : null;
  const spec = opts.quick ? WORKLOADS.WSHAREDQ : WORKLOADS.WSHARED;
  const tokenizer = await loadTokenizer(model.dir);
  const requests = buildSharedWorkload(spec, opts.seed, tokenizer);
  const inputFile = path.join(workDir, `${spec.name}.jsonl`);
  const workloadFile = path.join(workDir, `${spec.name}.requests.json`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  fs.writeFileSync(workloadFile, JSON.stringify(requests));
  const usefulTokens = requests.reduce((s, r) => s + r.maxTokens, 0);
  const prepare = engines.some((e) => e.startsWith('qwen-gen'))
    ? await prepareQwenGen({ modelDir: model.dir, dtype: DTYPES[dtype].onnx, tokenizer, seed: opts.seed, workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit, log })
    : null;
  const commands = {};
  const outputs = {};
  const run = async (engine) => {
    let result;
    const common = { engine, requests, workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit, dtype: DTYPES[dtype].onnx };
    if (engine === 'qwen-gen') result = await runQwenGen({ ...common, modelDir: model.dir, inputFile, batchSize: opts.batchSize });
    else if (engine === 'qwen-gen-no-cache') result = await runQwenGen({ ...common, modelDir: model.dir, inputFile, batchSize: opts.batchSize, extraArgs: ['--no-prefix-cache'] });
    else {
      const dir = engine === 'tjs-plain' ? plain.dir : model.dir;
      result = await runTransformersJs({ ...common, modelDir: dir, workloadFile, mode: 'batched', batchSize: opts.batchSize,
        sessionEntries: qwenGenSessionOptions(dir, DTYPES[dtype].onnx, opts.threads).entries });
    }
    commands[engine] = result.command;
    if (result.outputs) outputs[engine] = result.outputs;
    return result;
  };
  const { records } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(modelFiles(model.dir, (f) => !f.endsWith('.gguf'))) });
  const summary = summarizeRuns(records, { usefulTokens });
  for (const engine of engines) if (engine !== 'qwen-gen') summary[engine].wall_ratio_vs_qwen_gen = ratio(summary, engine, 'qwen-gen');
  const computed = (engine) => records.find((r) => r.engine === engine && r.finished)?.prefix_cache?.prompt_tokens_computed ?? null;
  const agree = outputs['qwen-gen'] && outputs['qwen-gen-no-cache'] ? tokenAgreement(outputs['qwen-gen'], outputs['qwen-gen-no-cache']) : null;
  return {
    name: `shared-${dtype}`, key: `shared/${dtype}`,
    model: modelRecord(model, shape, [dtype]), dtype,
    workload: { ...summarize({ ...spec, promptTokens: [spec.sharedTokens + spec.questionTokens[0], spec.sharedTokens + spec.questionTokens[1]] }, opts.seed, requests),
      shared_tokens: spec.sharedTokens, question_token_range: spec.questionTokens, useful_tokens: usefulTokens, batch_size: opts.batchSize },
    engines: Object.fromEntries(engines.map((e) => [e, { label: { 'qwen-gen': 'qwen-gen (prefix cache, the default)', 'qwen-gen-no-cache': 'qwen-gen --no-prefix-cache',
      'tjs-gqa': 'transformers.js batched (GroupQueryAttention graph)', 'tjs-plain': 'transformers.js batched (plain graph)' }[e] ?? e, command: commands[e] }])),
    prepare, runs: records, summary,
    checks: {
      prompt_tokens_computed: { with_cache: computed('qwen-gen'), without_cache: computed('qwen-gen-no-cache') },
      greedy_tokens_identical_with_and_without_cache: agree ? `${agree.identical}/${agree.compared}` : null,
    },
    no_cache_vs_cache: ratio(summary, 'qwen-gen-no-cache', 'qwen-gen'),
  };
}

/** Part `prefill-rss`: qwen-gen's peak RSS while prefilling 16 × 512-token prompts in one batch, against weights + KV + 1 GB. */
async function prefillRss({ opts, dtype, log, workDir }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const { rows, promptTokens } = opts.quick ? PREFILL_PROBE.quick : PREFILL_PROBE.full;
  const tokenizer = await loadTokenizer(model.dir);
  const prompt = probePrompt(tokenizer, promptTokens, opts.seed + 1);
  const requests = Array.from({ length: rows }, (_, i) => ({ id: `p${i}`, prompt, promptTokens, maxTokens: 1 }));
  const inputFile = path.join(workDir, 'prefill-rss.jsonl');
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  // Unmeasured first: a derived graph written during a measured run would add to its peak RSS.
  const prepare = await prepareQwenGen({ modelDir: model.dir, dtype: DTYPES[dtype].onnx, tokenizer, seed: opts.seed, workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit, log });
  let command = null;
  const run = async (engine) => {
    const result = await runQwenGen({ engine, modelDir: model.dir, dtype: DTYPES[dtype].onnx, inputFile, requests, workDir, batchSize: rows, threads: opts.threads, timeLimitSeconds: opts.timeLimit });
    command = result.command;
    return result;
  };
  const { records } = await interleaved({ reps: opts.reps, engines: ['qwen-gen'], run, log });
  const summary = summarizeRuns(records);
  const weights = weightBytes(model.dir, dtype);
  const kv = kvBytesPerToken(shape) * rows * (promptTokens + 1);
  return {
    name: `prefill-rss-${dtype}`, key: `prefill-rss/${dtype}`, model: modelRecord(model, shape, [dtype]), dtype,
    probe: { rows, prompt_tokens: promptTokens, bound_bytes: weights + kv + 1e9, weight_bytes: weights, kv_bytes: kv },
    engines: { 'qwen-gen': { label: `qwen-gen, ${rows} × ${promptTokens}-token prompts in one batch, max_tokens 1`, command } },
    prepare, runs: records, summary,
  };
}

/**
 * Part `decode-b1`: decode speed at batch 1, timed from outside: three requests with the same 8-token prompt and
 * max_tokens a < b < c run one at a time; the difference of the gaps before the last two output lines is (c − b) decode
 * steps (prefill, load and fixed costs cancel). Against the roofline: bandwidth / (weights + KV) bytes per step.
 */
async function decodeBatchOne({ opts, dtype, log, workDir, machine }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const tokenizer = await loadTokenizer(model.dir);
  const prompt = probePrompt(tokenizer, 8, opts.seed);
  const maxTokens = opts.quick ? [2, 10, 42] : [2, 18, 82];
  const input = path.join(workDir, 'decode-b1.jsonl');
  fs.writeFileSync(input, maxTokens.map((m, i) => JSON.stringify({ id: `d${i}`, prompt, max_tokens: m, ignore_eos: true })).join('\n') + '\n');
  const args = [CLI, input, '-m', model.dir, '--greedy', '--batch-size', '1', '--token-ids', '--threads', String(opts.threads)];
  if (dtype !== 'fp32') args.push('--dtype', DTYPES[dtype].onnx);
  const run = async (engine) => {
    const child = await runMeasuredNode(args, { cwd: REPO, timeLimitSeconds: opts.timeLimit });
    let tokS = null;
    if (child.finished) {
      const arrivals = child.lines.filter((l) => l.text.trim()).map((l) => ({ at: l.at, tokens: JSON.parse(l.text).usage.completion_tokens }));
      if (arrivals.length === 3) tokS = (arrivals[2].tokens - arrivals[1].tokens) / ((arrivals[2].at - arrivals[1].at) - (arrivals[1].at - arrivals[0].at));
    }
    return { record: { engine, finished: child.finished && tokS != null, status: child.status, wall_s: round(child.wallSeconds), peak_rss_bytes: child.peakRssBytes, tok_s: tokS } };
  };
  const { records } = await interleaved({ reps: opts.reps, engines: ['qwen-gen'], run, log });
  const summary = summarizeRuns(records, { figures: ['tok_s', 'wall_s'] });
  const meanContext = 8 + (maxTokens[1] + maxTokens[2]) / 2;
  const bytesPerStep = weightBytes(model.dir, dtype) + kvBytesPerToken(shape) * meanContext;
  const roofline = machine.bandwidth.used_bytes_per_s / bytesPerStep;
  if (summary['qwen-gen'].complete) summary['qwen-gen'].roofline_fraction = summary['qwen-gen'].tok_s.median / roofline;
  return {
    name: `decode-b1-${dtype}`, key: `decode-b1/${dtype}`, model: modelRecord(model, shape, [dtype]), dtype,
    probe: { max_tokens: maxTokens, bytes_per_step: bytesPerStep, roofline_tok_s: roofline },
    engines: { 'qwen-gen': { label: 'qwen-gen --batch-size 1', command: `node ${args.map((a) => (a.startsWith(REPO) ? path.relative(REPO, a) : a)).join(' ')}` } },
    runs: records, summary,
  };
}

module.exports = { decodeStep, denormals, batchSweep, shared, prefillRss, decodeBatchOne, stats, gqaModel, modelRecord, shapeOf };
