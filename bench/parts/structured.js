'use strict';
// Part `structured` (issue 20): the same workload with every row constrained and with none, through the CLI at batch 8
// on the 0.6B shape, repetitions interleaved; per decode step, the grammar masks' work and what of it delayed the loop,
// against the step. Target: the critical path ≤ 5 % of the step.
const { DTYPES } = require('../benchModel');
const { structuredRun, CONSTRAINTS } = require('../structuredOverhead');
const { summarizeRuns, ratio } = require('../summary');
const { interleaved, warmPageCache, modelFiles } = require('../harness');
const { gqaModel, modelRecord, shapeOf } = require('./probes');

const WORKLOAD = { full: { maxTokens: 32 }, quick: { maxTokens: 8 } };
const TARGET_CRITICAL_SHARE = 0.05;
const FIGURES = ['wall_s', 'cpu_s', 'decode_ms_per_step', 'mask_ms_per_step', 'bitmask_ms_per_step', 'apply_ms_per_step', 'wait_ms_per_step',
  'critical_ms_per_step', 'mask_share', 'critical_share', 'compile_ms', 'tokenizer_info_ms'];

async function structured({ opts, dtype, log, workDir }) {
  const shape = shapeOf(opts);
  const model = await gqaModel(opts, log);
  const { maxTokens } = opts.quick ? WORKLOAD.quick : WORKLOAD.full;
  const batchSize = opts.batchSize;
  const requests = 3 * batchSize;
  const engines = ['constrained', 'unconstrained'];
  const commands = {};
  const run = async (engine, rep) => {
    const record = await structuredRun({ modelDir: model.dir, workDir, constrained: engine === 'constrained', batchSize, requests, maxTokens,
      threads: opts.threads, dtype: DTYPES[dtype].onnx, tag: `-${rep}`, timeLimitSeconds: opts.timeLimit });
    commands[engine] = record.command;
    return { record };
  };
  const { records } = await interleaved({ reps: opts.reps, engines, run, log, before: () => warmPageCache(modelFiles(model.dir, (f) => !f.endsWith('.gguf'))) });
  const summary = summarizeRuns(records, { figures: FIGURES });
  return {
    name: `structured-${dtype}`, key: `structured/${dtype}`,
    model: modelRecord(model, shape, [dtype]), dtype,
    workload: { requests, batch_size: batchSize, max_tokens: maxTokens, min_tokens: maxTokens, constraints: CONSTRAINTS,
      what: 'the same prompts (~80 tokens) constrained (JSON schemas and regexes, in turn) and unconstrained (ignore_eos), greedy, direct runtime' },
    target_critical_share: TARGET_CRITICAL_SHARE,
    engines: Object.fromEntries(engines.map((e) => [e, { label: e === 'constrained' ? 'every row constrained' : 'no constraint', command: commands[e] }])),
    step_ratio: ratio(summary, 'constrained', 'unconstrained', 'decode_ms_per_step'),
    runs: records, summary,
  };
}

module.exports = { structured };
