#!/usr/bin/env node
'use strict';
// The final benchmark plan: every bench part the README's tables need, in order, one `node bench/run.js` child per
// results file. It prints each step's estimated duration before it starts, writes each results file as the step ends,
// goes on past a step that failed, and is restartable: a step whose results file for the current commit already exists
// (same key, full size, unlabelled, every engine it asks for) is skipped unless --redo. See bench/README.md.
//   npm run build && node bench/plan.js [--list] [--redo] [--only ID,ID] [--threads N] [--models-dir DIR] [--quick]
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const { Command } = require('commander');
const { llamaCppModulePath, INSTALL_HINT } = require('./llamaCppDeps');
const { OPTIONS, optionsFor } = require('./optionChoices');

const REPO = path.join(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');
const LONG_ENGINES = ['qwen-gen', 'llama.cpp', 'tjs-plain', 'tjs-gqa', 'qwen-gen-plain'];
const W64_FP32_ENGINES = ['qwen-gen', 'llama.cpp', 'tjs-plain', 'tjs-gqa', 'qwen-gen-plain'];
const W64_ENGINES = ['qwen-gen', 'llama.cpp'];

/**
 * The plan, in order. Each step writes one results file (`key`) and names the engines that file must hold to count as
 * done. `minutes`: the estimated duration at full size with 3 repetitions (denormals: 5 probes each way) on the 2-core
 * machine when nothing else runs, from the durations of the plan's run on 2026-12-07 (bench/README.md); the rest from
 * earlier estimates.
 */
function planSteps() {
  const steps = [];
  const optionsMinutes = { fp32: 5, q8: 8, q4: 12 };
  for (const dtype of ['fp32', 'q8', 'q4']) {
    steps.push({ id: `options-${dtype}`, key: `options/${dtype}`, args: ['options', '--dtype', dtype], minutes: optionsMinutes[dtype],
      engines: ['shipped', ...optionsFor(dtype).map((o) => OPTIONS[o].config)] });
  }
  steps.push({ id: 'decode-step', key: 'decode-step', args: ['decode-step', '--dtype', 'fp32,q8,q4'], minutes: 2,
    engines: ['fp32/direct', 'q8/direct', 'q4/direct'] });
  steps.push({ id: 'denormals-fp32', key: 'denormals/fp32', args: ['denormals', '--dtype', 'fp32'], minutes: 3, engines: ['kept', 'flushed'], reps: 5 });
  steps.push({ id: 'prefill-rss-fp32', key: 'prefill-rss/fp32', args: ['prefill-rss', '--dtype', 'fp32'], minutes: 1, engines: ['qwen-gen'] });
  steps.push({ id: 'structured-fp32', key: 'structured/fp32', args: ['structured', '--dtype', 'fp32'], minutes: 2, engines: ['constrained', 'unconstrained'] });
  steps.push({ id: 'decode-b1-fp32', key: 'decode-b1/fp32', args: ['decode-b1', '--dtype', 'fp32'], minutes: 1, engines: ['qwen-gen'] });
  const longMinutes = { fp32: 22, q8: 20, q4: 19 };
  for (const dtype of ['fp32', 'q8', 'q4']) {
    steps.push({ id: `compare-long-${dtype}`, key: `compare/long/${dtype}`, minutes: longMinutes[dtype], engines: LONG_ENGINES, llama: true,
      args: ['compare', '--workload', 'long', '--dtype', dtype, '--engines', LONG_ENGINES.join(',')] });
  }
  // transformers.js on W64 only on fp32 (its GQA run once did not finish in 25 min: a 2-hour limit per run there).
  steps.push({ id: 'compare-W64-fp32', key: 'compare/W64/fp32', minutes: 315, engines: W64_FP32_ENGINES, llama: true,
    args: ['compare', '--workload', 'W64', '--dtype', 'fp32', '--engines', W64_FP32_ENGINES.join(','), '--time-limit', '7200'] });
  for (const [dtype, minutes] of [['q8', 14], ['q4', 9]]) {
    steps.push({ id: `compare-W64-${dtype}`, key: `compare/W64/${dtype}`, minutes, engines: W64_ENGINES, llama: true,
      args: ['compare', '--workload', 'W64', '--dtype', dtype, '--engines', W64_ENGINES.join(',')] });
  }
  // Minutes as measured on 2026-12-08 (fp32 W-shared not run yet: an estimate).
  for (const [dtype, minutes] of [['fp32', 20], ['q4', 13], ['q8', 11]]) {
    steps.push({ id: `shared-${dtype}`, key: `shared/${dtype}`, args: ['shared', '--dtype', dtype], minutes, engines: ['qwen-gen', 'qwen-gen-no-cache'] });
  }
  for (const [dtype, minutes] of [['fp32', 16], ['q8', 13], ['q4', 13]]) {
    steps.push({ id: `batch-sweep-W64-${dtype}`, key: `batch-sweep/W64/${dtype}`, minutes, engines: ['batch-8', 'batch-16', 'batch-32'],
      args: ['batch-sweep', '--workload', 'W64', '--dtype', dtype, '--batch-sizes', '8,16,32'] });
  }
  return steps;
}

function parseArgs(argv) {
  const program = new Command('qwen-gen-bench-plan')
    .description('the final benchmark plan: every part in order, restartable (bench/README.md)')
    .option('--list', 'print the plan, its estimates and what is already done; run nothing', false)
    .option('--redo', 'run every step again, even one whose results file for this commit exists', false)
    .option('--only <ids>', 'run only these steps (comma-separated ids, as --list prints them)')
    .option('--threads <n>', 'passed to every part (default: all cores)')
    .option('--models-dir <dir>', 'passed to every part (default $QWEN_GEN_BENCH_DIR, else ~/.cache/qwen-gen)')
    .option('--quick', 'the same plan on the small model, one repetition (plumbing only; results under bench/results/quick/)', false)
    .option('--no-tables', 'do not run npm run bench:tables at the end')
    .parse(argv);
  return program.opts();
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8').replace(/\n$/, '');
  } catch {
    return null;
  }
}

/** Results files of this commit (full size or --quick as asked; never labelled), read once per check. */
function resultsOf(commit, quick, root = RESULTS_DIR) {
  const dir = quick ? path.join(root, 'quick') : root;
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    try {
      const result = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
      if (result.git?.commit === commit && Boolean(result.quick) === quick && !result.label) out.push({ file: path.join(dir, name), result });
    } catch {
      // a file being written or not a results file: not a finished step
    }
  }
  return out;
}

/** The results file that makes a step done: its key, every engine it asks for, at least its repetitions. */
function doneBy(step, results, quick) {
  const reps = quick ? 1 : step.reps ?? 3;
  return results.find(({ result }) => result.key === step.key && step.engines.every((e) => result.engines?.[e]) && (result.settings?.reps ?? 0) >= reps) ?? null;
}

const minutes = (m) => (m >= 90 ? `~${(m / 60).toFixed(1)} h` : m >= 1 ? `~${Math.round(m)} min` : `${Math.round(m * 60)} s`);

function runStep(step, extra, logFile) {
  return new Promise((resolve) => {
    const args = [path.join(__dirname, 'run.js'), ...step.args, ...extra];
    fs.appendFileSync(logFile, `\n=== ${new Date().toISOString()} ${step.id}: node ${path.relative(REPO, args[0])} ${args.slice(1).join(' ')}\n`);
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const tee = (stream, keep) => (chunk) => {
      stream.write(chunk);
      fs.appendFileSync(logFile, chunk);
      if (keep) stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    };
    child.stdout.on('data', tee(process.stdout, false));
    child.stderr.on('data', tee(process.stderr, true));
    child.on('close', (code, signal) => resolve({ code, signal, written: /bench: results: (\S+)/.exec(stderr)?.[1] ?? null }));
  });
}

async function main() {
  const opts = parseArgs(process.argv);
  const log = (message) => process.stderr.write(`plan: ${message}\n`);
  const commit = git(['rev-parse', 'HEAD'])?.trim() ?? null;
  const dirty = (git(['status', '--porcelain', '--untracked-files=no']) ?? '').split('\n').filter(Boolean).map((l) => l.slice(3))
    .filter((f) => !f.startsWith('bench/results/') && !f.endsWith('.md'));
  let steps = planSteps();
  if (opts.only) {
    const ids = opts.only.split(',').map((s) => s.trim());
    const unknown = ids.filter((id) => !steps.some((s) => s.id === id));
    if (unknown.length > 0) {
      log(`unknown step(s): ${unknown.join(', ')} (node bench/plan.js --list names them)`);
      process.exit(2);
    }
    steps = steps.filter((s) => ids.includes(s.id));
  }
  const extra = [...(opts.threads ? ['--threads', String(opts.threads)] : []), ...(opts.modelsDir ? ['--models-dir', opts.modelsDir] : []),
    ...(opts.quick ? ['--quick'] : [])];

  const status = steps.map((step) => ({ step, done: opts.redo ? null : doneBy(step, resultsOf(commit, opts.quick), opts.quick) }));
  const todo = status.filter((s) => !s.done);
  log(`commit ${commit?.slice(0, 10) ?? 'unknown'}${dirty.length ? ` (uncommitted changes: ${dirty.join(', ')}: the results will say so)` : ''}`);
  log(`${steps.length} step(s); estimated durations at full size, 3 repetitions, on the 2-core machine with nothing else running:`);
  for (const { step, done } of status) {
    log(`  ${step.id.padEnd(22)} ${minutes(step.minutes).padStart(9)}  node bench/run.js ${step.args.join(' ')}${done ? `  [done: ${path.relative(REPO, done.file)}]` : ''}`);
  }
  log(`to run: ${todo.length} step(s), ${minutes(todo.reduce((s, t) => s + t.step.minutes, 0))} estimated${opts.quick ? ' at full size (--quick takes minutes)' : ''}`);
  if (todo.some((t) => t.step.llama) && !llamaCppModulePath()) {
    log(`WARNING: node-llama-cpp is not installed: the compare steps will fail. Install it first: ${INSTALL_HINT}`);
  }
  if (opts.list) return;

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, `plan-${commit?.slice(0, 10) ?? 'unknown'}${opts.quick ? '-quick' : ''}.log`);
  log(`log: ${path.relative(REPO, logFile)}`);
  const outcome = [];
  for (const [i, { step, done }] of status.entries()) {
    if (done) {
      log(`[${i + 1}/${status.length}] ${step.id}: skipped, done in ${path.relative(REPO, done.file)} (--redo runs it again)`);
      outcome.push({ step, state: 'skipped', file: done.file });
      continue;
    }
    log(`[${i + 1}/${status.length}] ${step.id}: starting, estimated ${minutes(step.minutes)}${opts.quick ? ' at full size' : ''}: node bench/run.js ${[...step.args, ...extra].join(' ')}`);
    const started = Date.now();
    const { code, signal, written } = await runStep(step, extra, logFile);
    const took = (Date.now() - started) / 60000;
    const state = code === 0 ? 'done' : `FAILED (${signal ? `signal ${signal}` : `exit ${code}`})`;
    log(`[${i + 1}/${status.length}] ${step.id}: ${state} after ${minutes(took)} (estimated ${minutes(step.minutes)})${written ? `: ${written}` : ''}`);
    outcome.push({ step, state, took, file: written });
  }
  log('summary:');
  for (const o of outcome) log(`  ${o.step.id.padEnd(22)} ${o.state}${o.took != null ? ` (${minutes(o.took)})` : ''}${o.file ? `  ${path.relative(REPO, path.resolve(REPO, o.file))}` : ''}`);
  const failed = outcome.filter((o) => o.state.startsWith('FAILED'));
  if (opts.tables && !opts.quick) {
    log('npm run bench:tables');
    try {
      execFileSync(process.execPath, [path.join(REPO, 'scripts', 'bench-tables.js')], { cwd: REPO, stdio: 'inherit' });
    } catch {
      log('bench:tables reported a problem (above)');
    }
  }
  if (failed.length > 0) {
    log(`${failed.length} step(s) failed: ${failed.map((o) => o.step.id).join(', ')}; run the plan again to retry them (finished steps are skipped)`);
    process.exit(1);
  }
}

module.exports = { planSteps, doneBy, resultsOf };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`plan: ${error.stack || error.message}\n`);
    process.exit(1);
  });
}
