'use strict';
// Part `compare`: one workload (issue 19's long workload or W64) on one weight dtype, side by side: qwen-gen, llama.cpp
// on the same seed's weights as GGUF, and transformers.js on the plain graph (where its left padding is correct) and on
// the GroupQueryAttention graph (where it is not), repetitions interleaved.
const fs = require('fs');
const path = require('path');
const { FULL_SHAPE, QUICK_SHAPE, DTYPES, ATTENTIONS, ensureBenchModel, ggufPath, weightBytes, shapeName } = require('../benchModel');
const { WORKLOADS, buildWorkload, toQwenGenJsonl, summarize, loadTokenizer } = require('../workload');
const { runQwenGen, prepareQwenGen, runTransformersJs, runLlamaCpp } = require('../engines');
const { qwenGenSessionOptions } = require('../sessionOptions');
const { tokenAgreement, realPositions } = require('../figures');
const { summarizeRuns, ratio } = require('../summary');
const { interleaved, warmPageCache, modelFiles, graphFileNames } = require('../harness');
const { llamaCppModulePath, INSTALL_HINT } = require('../llamaCppDeps');
const { onnxFileForDtype } = require('../../dist/dtypeFiles');

/** Engine keys → what they are; `graph` names the model folder they read. */
const ENGINES = Object.freeze({
  'qwen-gen': { graph: 'gqa', label: 'qwen-gen (GroupQueryAttention graph)' },
  'qwen-gen-plain': { graph: 'plain', label: 'qwen-gen (plain graph)' },
  'llama.cpp': { graph: 'gguf', label: 'llama.cpp (node-llama-cpp, same weights as GGUF)' },
  'llama.cpp-f32kv': { graph: 'gguf', label: 'llama.cpp with a float32 KV cache and no flash attention (qwen-gen\'s arithmetic)' },
  'tjs-plain': { graph: 'plain', label: 'transformers.js batched (plain graph: its left padding is correct there)' },
  'tjs-gqa': { graph: 'gqa', label: 'transformers.js batched (GroupQueryAttention graph: left padding gives wrong padded rows)' },
  'tjs-plain-sequential': { graph: 'plain', label: 'transformers.js one prompt at a time (plain graph)' },
});
const DEFAULT_ENGINES = ['qwen-gen', 'llama.cpp', 'tjs-plain', 'tjs-gqa', 'qwen-gen-plain'];
/** The qwen-gen row on the same graph, for the same-graph ratio. */
const SAME_GRAPH = { 'tjs-plain': 'qwen-gen-plain', 'tjs-plain-sequential': 'qwen-gen-plain', 'tjs-gqa': 'qwen-gen' };

function workloadSpec(name, quick) {
  if (name === 'long') return quick ? WORKLOADS.LONGQ : WORKLOADS.LONG;
  if (name === 'W64') return quick ? WORKLOADS.W16Q : WORKLOADS.W64;
  throw new Error(`--workload: unknown workload "${name}" (long, W64)`);
}

async function compare({ opts, dtype, workloadName, engines, log, workDir }) {
  for (const engine of engines) if (!ENGINES[engine]) throw new Error(`--engines: unknown engine "${engine}" (${Object.keys(ENGINES).join(', ')})`);
  if (engines.some((e) => e.startsWith('llama.cpp')) && !llamaCppModulePath()) throw new Error(`node-llama-cpp is not installed (bench-only); run: ${INSTALL_HINT}`);
  const shape = opts.quick ? QUICK_SHAPE : FULL_SHAPE;
  const spec = workloadSpec(workloadName, opts.quick);
  const needs = (graph) => engines.some((e) => ENGINES[e].graph === graph);
  const models = {};
  models.gqa = await ensureBenchModel({ shape, attention: 'gqa', root: opts.modelsDir, gguf: needs('gguf') ? [DTYPES[dtype].gguf] : [], log });
  if (needs('plain')) models.plain = await ensureBenchModel({ shape, attention: 'plain', root: opts.modelsDir, log });

  const tokenizer = await loadTokenizer(models.gqa.dir);
  const requests = buildWorkload(spec, opts.seed, tokenizer);
  const inputFile = path.join(workDir, `${spec.name}.jsonl`);
  const workloadFile = path.join(workDir, `${spec.name}.requests.json`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  fs.writeFileSync(workloadFile, JSON.stringify(requests));
  const usefulTokens = requests.reduce((s, r) => s + r.maxTokens, 0);

  const sessions = {};
  for (const graph of ['gqa', 'plain']) if (models[graph]) sessions[graph] = qwenGenSessionOptions(models[graph].dir, DTYPES[dtype].onnx, opts.threads);
  const onnxDtype = DTYPES[dtype].onnx;
  const common = { requests, workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit };
  const commands = {};
  const settings = {};
  const run = async (engine) => {
    const graph = ENGINES[engine].graph;
    let result;
    if (engine.startsWith('qwen-gen')) {
      result = await runQwenGen({ ...common, engine, modelDir: models[graph].dir, dtype: onnxDtype, inputFile, batchSize: opts.batchSize });
    } else if (engine.startsWith('llama.cpp')) {
      const exact = engine === 'llama.cpp-f32kv' ? { kvType: 'f32', flashAttention: 'off' } : {};
      result = await runLlamaCpp({ ...common, engine, gguf: ggufPath(models.gqa, dtype), workloadFile, sequences: opts.batchSize, ...exact });
      if (result.settings) settings[engine] = { ...result.settings, versions: result.versions };
    } else {
      const mode = engine.endsWith('sequential') ? 'sequential' : 'batched';
      result = await runTransformersJs({ ...common, engine, modelDir: models[graph].dir, dtype: onnxDtype, workloadFile, mode,
        batchSize: opts.batchSize, sessionEntries: sessions[graph].entries });
      if (result.settings) settings[engine] = { session_options: result.settings };
    }
    commands[engine] = result.command;
    return result;
  };
  // qwen-gen's derived graphs written before the repetitions, so that its first one does not pay for them.
  const prepare = {};
  for (const engine of engines.filter((e) => e.startsWith('qwen-gen'))) {
    prepare[engine] = await prepareQwenGen({ name: `prepare ${engine}`, modelDir: models[ENGINES[engine].graph].dir, dtype: onnxDtype, tokenizer, seed: opts.seed,
      workDir, threads: opts.threads, timeLimitSeconds: opts.timeLimit, log });
  }
  const files = [...new Set(Object.values(models).flatMap((m) => modelFiles(m.dir, (f) => graphFileNames(onnxDtype).includes(f) || f === `model-${DTYPES[dtype].gguf}.gguf`)))];
  const { records, last } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(files) });

  const summary = summarizeRuns(records, { usefulTokens });
  for (const engine of engines) {
    summary[engine].wall_ratio_vs_qwen_gen = engine === 'qwen-gen' ? null : ratio(summary, engine, 'qwen-gen');
    const same = SAME_GRAPH[engine];
    summary[engine].wall_ratio_vs_qwen_gen_same_graph = same && same !== engine ? ratio(summary, engine, same) : null;
  }
  const checks = agreementChecks(engines, last, requests);
  const real = realPositions(requests);
  for (const engine of engines.filter((e) => e.startsWith('tjs'))) {
    const computed = records.find((r) => r.engine === engine && r.finished)?.computed_positions;
    if (computed) summary[engine].useful_token_fraction = real / computed;
  }
  return {
    name: `compare-${spec.name}-${dtype}`,
    key: `compare/${workloadName}/${dtype}`,
    model: {
      shape: shapeName(shape), ...shape, seed: models.gqa.options.seed, dtype, dtype_label: DTYPES[dtype].label,
      onnx_file: onnxFileForDtype(onnxDtype), gguf_type: DTYPES[dtype].gguf, weight_bytes: weightBytes(models.gqa.dir, dtype),
      graphs: Object.fromEntries(Object.keys(models).map((g) => [g, ATTENTIONS[g].label])), dirs: Object.fromEntries(Object.entries(models).map(([g, m]) => [g, m.dir])),
    },
    workload: { ...summarize(spec, opts.seed, requests), useful_tokens: usefulTokens, batch_size: opts.batchSize },
    engines: Object.fromEntries(engines.map((e) => [e, { label: ENGINES[e].label, command: commands[e] ?? null, ...(settings[e] ?? {}) }])),
    session_options: { qwen_gen: sessions, transformers_js: 'the same config entries and threads, through from_pretrained(..., { session_options })' },
    prepare,
    runs: records,
    summary,
    checks,
    disclosures: [...disclosures(engines, sessions, settings), ...batchDisclosures(records, Math.min(opts.batchSize, requests.length))],
  };
}

/** Greedy-token agreement of each engine's last finished run with qwen-gen's, and prompt-token agreement. */
function agreementChecks(engines, last, requests) {
  const checks = {};
  const base = last['qwen-gen']?.outputs;
  for (const engine of engines) {
    const outputs = last[engine]?.outputs;
    if (!outputs) continue;
    const entry = {};
    entry.prompt_tokens_equal_workload = `${requests.filter((r) => outputs.find((o) => o.id === r.id)?.promptTokens === r.promptTokens).length}/${requests.length}`;
    if (base && engine !== 'qwen-gen') {
      const agree = tokenAgreement(outputs, base);
      entry.greedy_tokens_identical_to_qwen_gen = `${agree.identical}/${agree.compared}`;
      entry.first_difference_positions = agree.first_difference_positions;
    }
    const same = SAME_GRAPH[engine] && SAME_GRAPH[engine] !== 'qwen-gen' ? last[SAME_GRAPH[engine]]?.outputs : null;
    if (same) {
      const agree = tokenAgreement(outputs, same);
      entry.greedy_tokens_identical_to_same_graph_qwen_gen = `${agree.identical}/${agree.compared}`;
    }
    checks[engine] = entry;
  }
  return checks;
}

/** A qwen-gen row that decoded fewer rows at a time than the batch size (e.g. a graph it runs at batch 1), said so. */
function batchDisclosures(records, batchSize) {
  const notes = [];
  for (const engine of ['qwen-gen', 'qwen-gen-plain']) {
    const run = records.find((r) => r.engine === engine && r.finished);
    if (run && run.max_decode_batch != null && run.max_decode_batch < batchSize) {
      notes.push(`${engine} decoded at most ${run.max_decode_batch} row(s) per step (${batchSize} possible); its report's warnings: ${(run.findings ?? []).join(', ') || 'none'}`);
    }
  }
  return notes;
}

/** What differs between the sides, stated next to the table. */
function disclosures(engines, sessions, settings) {
  const notes = [];
  const entries = (g) => JSON.stringify(sessions[g]?.entries ?? {});
  if (engines.some((e) => e.startsWith('tjs'))) {
    notes.push(`transformers.js gets qwen-gen's session options: the same threads, one inter-op thread, sequential execution, all graph optimizations and the config entries ${entries('gqa')}${sessions.plain && entries('plain') !== entries('gqa') ? ` (plain graph: ${entries('plain')})` : ''} (source: ${sessions.gqa?.source})`);
    notes.push('transformers.js computes logits at every prompt position and has no per-row max_tokens: each batch runs until its longest request is done, and rows that finished keep being computed; qwen-gen computes logits only where it reads them and admits the next request into a finished row');
  }
  for (const [graph, session] of Object.entries(sessions)) {
    for (const d of session.derived ?? []) notes.push(`qwen-gen runs a derived graph (${d.file} of the ${ATTENTIONS[graph].label} model) instead of the file, which transformers.js runs as it is: ${d.rewrites.join('; ') || 'no rewrites listed'}`);
  }
  if (engines.includes('llama.cpp-f32kv')) notes.push('llama.cpp-f32kv: node-llama-cpp with a float32 KV cache and flash attention off, the arithmetic in which its greedy tokens equal qwen-gen\'s on float32 weights (test/tinymodel/gguf/llamaCppEquality.test.ts)');
  if (engines.includes('llama.cpp')) {
    const log = settings['llama.cpp']?.llama_log ?? [];
    notes.push(`llama.cpp runs with node-llama-cpp's defaults except threads (passed explicitly) and sequences (= the batch size): ${log.filter((l) => /Flash|K \(|REPACK|backend/.test(l)).join('; ') || 'its log lines were not captured'}`);
    notes.push('llama.cpp\'s GGUF quantizes every 2-D weight, the tied embedding / lm_head included (llama-quantize --pure layout); the builder\'s q8 and q4 ONNX graphs keep the embedding / lm_head in float32');
  }
  return notes;
}

module.exports = { compare, ENGINES, DEFAULT_ENGINES };
