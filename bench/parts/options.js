'use strict';
// Part `options` (issue 19 item 1): every session option and derived-graph rewrite qwen-gen ships, measured against its
// alternative on the long workload through the real CLI, per weight dtype. Each alternative is the shipped configuration
// with ONE measurement switch changed (src/runtime/sessionOptions.ts, src/model/derivedGraph.ts); repetitions are
// interleaved (shipped, alt1, alt2, …, shipped, alt1, …) and every ratio is taken inside one results file.
const fs = require('fs');
const path = require('path');
const { FULL_SHAPE, QUICK_SHAPE, DTYPES, ensureBenchModel, weightBytes, shapeName } = require('../benchModel');
const { WORKLOADS, buildWorkload, toQwenGenJsonl, summarize, loadTokenizer } = require('../workload');
const { runQwenGen, prepareQwenGen } = require('../engines');
const { summarizeRuns } = require('../summary');
const { interleaved, warmPageCache, graphFileNames } = require('../harness');
const { onnxFileForDtype } = require('../../dist/dtypeFiles');
const { OPTIONS, SWITCH_VARIABLES, configEnv, optionsFor, sessionOf, optionComparison } = require('../optionChoices');

/**
 * A folder that holds the model's files of one dtype as hard links (a copy where links cannot be made), so that a
 * configuration whose derived graph differs from the shipped one writes it beside its own links and keeps it across
 * repetitions (one derived file per model folder). Links whose target changed (a rebuilt model) are made again.
 */
function linkedModelFolder(sourceDir, targetDir, dtype) {
  const graph = onnxFileForDtype(DTYPES[dtype].onnx);
  const files = fs.readdirSync(sourceDir).filter((f) => fs.statSync(path.join(sourceDir, f)).isFile())
    .concat([graph, `${graph}_data`].filter((f) => fs.existsSync(path.join(sourceDir, f))));
  let copied = false;
  for (const file of files) {
    const from = path.join(sourceDir, file);
    const to = path.join(targetDir, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (fs.existsSync(to) && fs.statSync(to).ino === fs.statSync(from).ino) continue;
    fs.rmSync(to, { force: true });
    try {
      fs.linkSync(from, to);
    } catch {
      fs.copyFileSync(from, to);
      fs.utimesSync(to, fs.statSync(from).atime, fs.statSync(from).mtime);
      copied = true;
    }
  }
  return { dir: targetDir, copied };
}

function workloadSpec(quick) {
  return quick ? WORKLOADS.LONGQ : WORKLOADS.LONG;
}

async function options({ opts, dtype, options: wanted, log, workDir }) {
  const names = optionsFor(dtype, wanted);
  if (names.length === 0) throw new Error(`--options: none of ${wanted.join(', ')} applies to ${dtype}`);
  const shape = opts.quick ? QUICK_SHAPE : FULL_SHAPE;
  const model = await ensureBenchModel({ shape, attention: 'gqa', root: opts.modelsDir, log });
  const spec = workloadSpec(opts.quick);
  const tokenizer = await loadTokenizer(model.dir);
  const requests = buildWorkload(spec, opts.seed, tokenizer);
  const inputFile = path.join(workDir, `${spec.name}.jsonl`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  const usefulTokens = requests.reduce((s, r) => s + r.maxTokens, 0);
  const onnxDtype = DTYPES[dtype].onnx;

  // Configurations: the shipped one, then one per option, each from the model folder or its own linked folder.
  const configs = [{ key: 'shipped', option: null, dir: model.dir, env: configEnv(null) }];
  const optionsRoot = `${model.dir}-options`;
  for (const name of names) {
    const o = OPTIONS[name];
    const folder = o.derived ? linkedModelFolder(model.dir, path.join(optionsRoot, o.config), dtype) : { dir: model.dir, copied: false };
    if (folder.copied) log(`${o.config}: hard links failed, the model files were copied into ${folder.dir}`);
    configs.push({ key: o.config, option: name, dir: folder.dir, env: configEnv(name) });
  }

  // Before any measured run: each folder's derived graph written for its configuration, unmeasured.
  const prepare = {};
  for (const config of configs.filter((c, i) => configs.findIndex((d) => d.dir === c.dir) === i)) {
    prepare[config.key] = await prepareQwenGen({ name: `prepare ${config.key}`, modelDir: config.dir, dtype: onnxDtype, tokenizer, seed: opts.seed,
      workDir, threads: opts.threads, env: config.env, timeLimitSeconds: opts.timeLimit, log });
  }

  const byKey = Object.fromEntries(configs.map((c) => [c.key, c]));
  const commands = {};
  const last = {};
  const run = async (key) => {
    const config = byKey[key];
    const result = await runQwenGen({ engine: key, modelDir: config.dir, dtype: onnxDtype, inputFile, requests, workDir, batchSize: opts.batchSize,
      threads: opts.threads, env: config.env, timeLimitSeconds: opts.timeLimit });
    commands[key] = result.command;
    if (result.record.finished || !last[key]) last[key] = { report: result.report, outputs: result.outputs };
    return result;
  };
  const graphFiles = [...new Set(configs.map((c) => c.dir))].flatMap((dir) => graphFileNames(onnxDtype).map((f) => path.join(dir, 'onnx', f)));
  const { records } = await interleaved({ reps: opts.reps, engines: configs.map((c) => c.key), run, log, before: () => warmPageCache(graphFiles) });

  const summary = summarizeRuns(records, { figures: ['wall_s', 'load_s', 'prefill_s', 'decode_s', 'decode_ms_per_step', 'decode_steps', 'cpu_s'], usefulTokens });
  const comparisons = Object.fromEntries(names.map((name) => [name, optionComparison(name, summary, last.shipped, last[OPTIONS[name].config])]));
  return {
    name: `options-${dtype}`, key: `options/${dtype}`,
    model: { shape: shapeName(shape), ...shape, seed: model.options.seed, graph: 'GroupQueryAttention (fused rotary)', dir: model.dir, dtype,
      dtype_label: DTYPES[dtype].label, onnx_file: onnxFileForDtype(onnxDtype), weight_bytes: weightBytes(model.dir, dtype) },
    dtype,
    options: names,
    workload: { ...summarize(spec, opts.seed, requests), useful_tokens: usefulTokens, batch_size: opts.batchSize },
    engines: Object.fromEntries(configs.map((c) => [c.key, {
      label: c.option ? `${OPTIONS[c.option].label}: ${OPTIONS[c.option].alternative}` : 'shipped configuration (no switch set)',
      option: c.option, env: Object.fromEntries(Object.entries(c.env).filter(([, v]) => v !== undefined)), model_dir: c.dir,
      cleared_variables: SWITCH_VARIABLES, command: commands[c.key] ?? null,
      session_options: sessionOf(last[c.key]?.report), derived_graph: last[c.key]?.report?.model?.derived_graph ?? null,
    }])),
    prepare,
    runs: records,
    summary,
    comparisons,
    disclosures: batchNotes(records, configs, Math.min(opts.batchSize, requests.length)),
  };
}

/** A configuration that decoded fewer rows per step than the shipped one (the per-batch q8 graph runs at batch 1), said so. */
function batchNotes(records, configs, batchSize) {
  const notes = [];
  for (const config of configs) {
    const run = records.find((r) => r.engine === config.key && r.finished);
    if (run && run.max_decode_batch != null && run.max_decode_batch < batchSize) {
      notes.push(`${config.key} decoded at most ${run.max_decode_batch} row(s) per step (${batchSize} possible; ${run.decode_steps} decode steps); its report's warnings: ${(run.findings ?? []).join(', ') || 'none'}`);
    }
  }
  return notes;
}

module.exports = { options, linkedModelFolder };
