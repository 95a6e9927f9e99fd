'use strict';
// Structured outputs (issue 20): what the grammar masks cost next to the decode step, at batch 8 with every row
// constrained. The bench part `node bench/run.js structured` runs it with repetitions interleaved and writes a results
// file (bench/parts/structured.js); this module is one run of each side, and a quick standalone check:
//   node bench/structuredOverhead.js --model-dir DIR [--batch-size 8] [--requests 24] [--max-tokens 32] [--threads 2] [--dtype q4]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runMeasuredNode } = require('./measuredChild');
const { round, REPO, CLI } = require('./engines');

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

/** The workload's JSONL: `requests` prompts of ~80 tokens, each constrained (or, for the other side, not). */
function workload(requests, maxTokens, constrained) {
  return Array.from({ length: requests }, (_, i) => {
    const prompt = `Request ${i}: ${'write down some notes about the weather, the sea and the hills. '.repeat(6)}`;
    const line = { id: `s${i}`, prompt, max_tokens: maxTokens, min_tokens: maxTokens };
    return JSON.stringify(constrained ? { ...line, ...CONSTRAINTS[i % CONSTRAINTS.length] } : { ...line, ignore_eos: true });
  }).join('\n') + '\n';
}

/**
 * One qwen-gen CLI run of the workload, constrained or not (greedy, its report read). Never throws for the run's own
 * failure: the record says whether it finished. Per decode step: the step time and, constrained, the mask work
 * (bitmask + apply), the critical path (apply + waiting for bitmasks the step did not hide) and their shares of the step.
 */
async function structuredRun({ modelDir, workDir, constrained, batchSize = 8, requests = 3 * batchSize, maxTokens = 32, threads, dtype, tag = '', timeLimitSeconds }) {
  const side = constrained ? 'constrained' : 'unconstrained';
  const inputFile = path.join(workDir, `${side}.jsonl`);
  fs.writeFileSync(inputFile, workload(requests, maxTokens, constrained));
  const output = path.join(workDir, `${side}${tag}.out.jsonl`);
  const reportFile = path.join(workDir, `${side}${tag}.report.json`);
  const args = [CLI, inputFile, '-m', modelDir, '--greedy', '--batch-size', String(batchSize), '-o', output, '--overwrite', '--report', reportFile];
  if (threads) args.push('--threads', String(threads));
  if (dtype && dtype !== 'fp32') args.push('--dtype', dtype);
  const command = `node ${path.relative(REPO, CLI)} ${args.slice(1).map((a) => (a.startsWith(workDir) ? path.basename(a) : a)).join(' ')}`;
  const run = await runMeasuredNode(args, { cwd: REPO, timeLimitSeconds });
  const base = { engine: side, wall_s: round(run.wallSeconds), cpu_s: round(run.cpuSeconds), peak_rss_bytes: run.peakRssBytes, command };
  const lines = run.finished ? fs.readFileSync(output, 'utf8').split('\n').filter(Boolean) : [];
  const failed = lines.filter((line) => line.includes('"error"'));
  const problem = !run.finished ? run.status : lines.length !== requests ? `${lines.length} of ${requests} outputs` : failed.length ? `${failed.length} failed requests, e.g. ${failed[0]}` : null;
  if (problem) return { ...base, finished: false, status: run.finished ? 'wrong output' : run.status, error: problem === run.status ? run.stderrTail.split('\n').slice(-4).join('\n') : problem };
  const f = JSON.parse(fs.readFileSync(reportFile, 'utf8')).figures;
  const steps = f.decode_steps;
  const stepMs = f.stage_ms.decode / steps;
  const s = f.structured_output;
  const masked = constrained && s && s.mask_ms_per_step != null;
  return {
    ...base, finished: true, status: 'ok', decode_steps: steps, decode_ms_per_step: round(stepMs), batch_size_histogram: f.batch_size_histogram.decode,
    ...(masked ? {
      grammars_compiled: s.grammars_compiled ?? null, compile_ms: round(s.compile_ms), tokenizer_info_ms: round(s.tokenizer_info_ms),
      mask_ms_per_step: round(s.mask_ms_per_step), bitmask_ms_per_step: round(s.bitmask_ms / steps), apply_ms_per_step: round(s.apply_ms / steps),
      wait_ms_per_step: round(s.wait_ms / steps), critical_ms_per_step: round(s.critical_ms_per_step),
      // Upper bound of the overhead: all mask work counted as if it delayed the step (the bitmask part runs during it).
      mask_share: round(s.mask_ms_per_step / stepMs, 5),
      critical_share: round(s.critical_ms_per_step / stepMs, 5),
    } : {}),
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
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-structured-bench-'));
  const settings = {
    modelDir, workDir, batchSize: Number(option(args, '--batch-size', 8)), maxTokens: Number(option(args, '--max-tokens', 32)),
    threads: option(args, '--threads', undefined), dtype: option(args, '--dtype', undefined),
    ...(option(args, '--requests', undefined) !== undefined ? { requests: Number(option(args, '--requests')) } : {}),
  };
  try {
    for (const constrained of [true, false]) {
      const r = await structuredRun({ ...settings, constrained });
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exit(1);
  });
}

module.exports = { structuredRun, workload, CONSTRAINTS };
