'use strict';
// Structured outputs (issue 20): what the grammar masks cost next to the decode step, at batch 8 with every row
// constrained. Usage (after `npm run build`):
//   node bench/structuredOverhead.js --model-dir DIR [--batch-size 8] [--requests 24] [--max-tokens 32] [--threads 2] [--repeat 2] [--keep]
// Hook for bench/run.js: `measureStructuredOverhead(options)` resolves to the figures printed below.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runMeasuredNode } = require('./measuredChild');

const REPO = path.join(__dirname, '..');
const CLI = path.join(REPO, 'bin', 'qwen-gen.js');

/** One qwen-gen CLI run of `inputFile` (greedy, its report written): wall time, the report, the command. */
async function runQwenGen({ modelDir, workDir, inputFile, batchSize, threads, dtype, tag }) {
  const output = path.join(workDir, `qwen-gen${tag}.out.jsonl`);
  const report = path.join(workDir, `qwen-gen${tag}.report.json`);
  const args = [CLI, inputFile, '-m', modelDir, '--greedy', '--batch-size', String(batchSize), '-o', output, '--overwrite', '--report', report];
  if (threads) args.push('--threads', String(threads));
  if (dtype && dtype !== 'fp32') args.push('--dtype', dtype);
  const run = await runMeasuredNode(args, { cwd: REPO });
  if (!run.finished) throw new Error(`qwen-gen ${run.status}:\n${run.stderrTail}`);
  const failed = fs.readFileSync(output, 'utf8').split('\n').filter((line) => line.includes('"error"'));
  if (failed.length > 0) throw new Error(`qwen-gen failed ${failed.length} requests, e.g. ${failed[0]}`);
  return { wallSeconds: run.wallSeconds, report: JSON.parse(fs.readFileSync(report, 'utf8')), command: `node ${path.relative(REPO, CLI)} ${args.slice(1).join(' ')}` };
}

/**
 * The constraints cycle through four kinds: a JSON object holding an array of free strings (inside a string almost every
 * token is allowed: the dearest case for masking), a JSON object with an enum and an integer (few tokens allowed per
 * step), a regex allowing nearly any text and a regex of lowercase words. min_tokens = max_tokens keeps each row going
 * while its grammar can (the regex rows run to max_tokens; a JSON row that closes its object ends, and a waiting request
 * takes its row, so the batch stays full but for the tail).
 */
const CONSTRAINTS = [
  { guided_json: { type: 'object', properties: { notes: { type: 'array', items: { type: 'string' } } }, required: ['notes'] } },
  { guided_json: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, shade: { type: 'integer' } }, required: ['color', 'shade'] } },
  { guided_regex: '[^\\n]+' },
  { guided_regex: '[a-z]+( [a-z]+)*' },
];

function workload(requests, maxTokens, constrained) {
  return Array.from({ length: requests }, (_, i) => {
    const prompt = `Request ${i}: ${'write down some notes about the weather, the sea and the hills. '.repeat(6)}`;
    const line = { id: `s${i}`, prompt, max_tokens: maxTokens, min_tokens: maxTokens };
    return JSON.stringify(constrained ? { ...line, ...CONSTRAINTS[i % CONSTRAINTS.length] } : { ...line, ignore_eos: true });
  }).join('\n') + '\n';
}

function stepFigures(report) {
  const f = report.figures;
  const steps = f.decode_steps;
  return { steps, stepMs: f.stage_ms.decode / steps, histogram: f.batch_size_histogram.decode, structured: f.structured_output };
}

/**
 * Runs the same workload constrained and unconstrained (A B, `repeat` times, back to back) and reports, per decode step:
 * the mask work (bitmask + apply, from the constrained run's report), its share of the constrained step (an upper bound
 * of the overhead: on the direct runtime the bitmask part runs while the model step runs), and the ratio of the step
 * times of the two runs (the overhead as seen from outside, noisy on a shared machine).
 */
async function measureStructuredOverhead({ modelDir, batchSize = 8, requests = 3 * batchSize, maxTokens = 32, threads, repeat = 1, keep = false, dtype }) {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-structured-bench-'));
  const runs = [];
  try {
    for (let r = 0; r < repeat; r++) {
      for (const constrained of [true, false]) {
        const inputFile = path.join(workDir, `${constrained ? 'constrained' : 'free'}.jsonl`);
        fs.writeFileSync(inputFile, workload(requests, maxTokens, constrained));
        const run = await runQwenGen({ modelDir, workDir, inputFile, batchSize, threads, dtype, tag: `-${constrained ? 'c' : 'f'}${r}` });
        runs.push({ constrained, command: run.command, wallSeconds: run.wallSeconds, ...stepFigures(run.report) });
      }
    }
  } finally {
    if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
  }
  const constrained = runs.filter((r) => r.constrained);
  const free = runs.filter((r) => !r.constrained);
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const perStep = (r, ms) => ms / r.steps;
  return {
    batchSize,
    maxTokens,
    runs,
    // Medians over the constrained runs, each figure of a run taken against that run's own decode step.
    maskMsPerStep: median(constrained.map((r) => r.structured.mask_ms_per_step)),
    bitmaskMsPerStep: median(constrained.map((r) => perStep(r, r.structured.bitmask_ms))),
    applyMsPerStep: median(constrained.map((r) => perStep(r, r.structured.apply_ms))),
    waitMsPerStep: median(constrained.map((r) => perStep(r, r.structured.wait_ms))),
    criticalMsPerStep: median(constrained.map((r) => r.structured.critical_ms_per_step)),
    constrainedStepMs: median(constrained.map((r) => r.stepMs)),
    freeStepMs: median(free.map((r) => r.stepMs)),
    /** Upper bound: all mask work counted as if it delayed the step (the bitmask part runs during the step). */
    maskShareOfStep: median(constrained.map((r) => r.structured.mask_ms_per_step / r.stepMs)),
    /** What the masks added to the decode loop: applying them, and waiting for bitmasks the step did not hide. */
    criticalShareOfStep: median(constrained.map((r) => r.structured.critical_ms_per_step / r.stepMs)),
    /** Constrained over unconstrained step time, per back-to-back pair (noisy on a shared machine). */
    stepRatios: constrained.map((r, i) => r.stepMs / free[i].stepMs),
    workDir: keep ? workDir : null,
  };
}

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

async function main() {
  const args = process.argv.slice(2);
  const modelDir = option(args, '--model-dir', process.env.QWEN_GEN_BENCH_DIR);
  if (!modelDir) throw new Error('--model-dir DIR is required (a Qwen3-0.6B-shaped model folder)');
  const result = await measureStructuredOverhead({
    modelDir,
    batchSize: Number(option(args, '--batch-size', 8)),
    requests: option(args, '--requests', undefined) === undefined ? undefined : Number(option(args, '--requests')),
    maxTokens: Number(option(args, '--max-tokens', 32)),
    threads: option(args, '--threads', undefined),
    repeat: Number(option(args, '--repeat', 1)),
    dtype: option(args, '--dtype', undefined),
    keep: args.includes('--keep'),
  });
  for (const run of result.runs) {
    process.stdout.write(
      `${run.constrained ? 'constrained  ' : 'unconstrained'} ${run.steps} decode steps (batch sizes ${JSON.stringify(run.histogram)}), ` +
        `${run.stepMs.toFixed(1)} ms/step, wall ${run.wallSeconds.toFixed(1)} s` +
        (run.constrained
          ? `; mask ${run.structured.mask_ms_per_step} ms/step (bitmask ${run.structured.bitmask_ms} ms, apply ${run.structured.apply_ms} ms, ` +
            `waited ${run.structured.wait_ms} ms in all), critical path ${run.structured.critical_ms_per_step} ms/step`
          : '') +
        `\n  ${run.command}\n`,
    );
  }
  process.stdout.write(
    `mask work per decode step at batch ${result.batchSize}: ${result.maskMsPerStep.toFixed(2)} ms ` +
      `(bitmask ${result.bitmaskMsPerStep.toFixed(2)}, apply ${result.applyMsPerStep.toFixed(2)}) = ` +
      `${(100 * result.maskShareOfStep).toFixed(2)} % of the step (median ${result.constrainedStepMs.toFixed(1)} ms) if none of it overlapped the step; ` +
      `on the critical path (apply ${result.applyMsPerStep.toFixed(2)} + wait ${result.waitMsPerStep.toFixed(2)}) ${result.criticalMsPerStep.toFixed(2)} ms = ` +
      `${(100 * result.criticalShareOfStep).toFixed(2)} % (target ≤ 5 %); constrained / unconstrained step time per pair ${result.stepRatios.map((r) => r.toFixed(3)).join(', ')}\n`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
}

module.exports = { measureStructuredOverhead };
