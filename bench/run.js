#!/usr/bin/env node
'use strict';
// qwen-gen's benchmark. Each part runs its engines in child processes, repetitions interleaved, and writes a results
// file (bench/results/*.json) with the command, commit, machine, versions and every figure of every repetition; the
// README's performance tables are generated from those files (node scripts/bench-tables.js). See bench/README.md.
//   npm run build && node bench/run.js <part> [options]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Command, InvalidArgumentError } = require('commander');
const { DTYPES } = require('./benchModel');
const { RESULTS_SCHEMA, gitInfo, engineVersions, startLoadSampler, machineInfo, writeResults } = require('./harness');
const { compare, DEFAULT_ENGINES } = require('./parts/compare');
const { decodeStep, denormals, batchSweep, shared, prefillRss, decodeBatchOne } = require('./parts/probes');
const { options } = require('./parts/options');
const { structured } = require('./parts/structured');
const { OPTION_NAMES, optionsFor } = require('./optionChoices');
const { renderResult } = require('./tables');

const PARTS = ['compare', 'options', 'shared', 'decode-step', 'batch-sweep', 'denormals', 'prefill-rss', 'decode-b1', 'structured'];
/** Per-run time limit when --time-limit is not given: `options` runs each configuration on the long workload only. */
const DEFAULT_TIME_LIMIT = 3600;
const OPTIONS_TIME_LIMIT = 900;

function positiveInt(name) {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function list(name, allowed) {
  return (value) => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = allowed ? items.filter((x) => !allowed.includes(x)) : [];
    if (items.length === 0 || bad.length > 0) throw new InvalidArgumentError(`${name}: expected a comma-separated list of ${allowed?.join(', ') ?? 'values'}`);
    return items;
  };
}

function parseArgs(argv) {
  const program = new Command('qwen-gen-bench')
    .description('qwen-gen vs llama.cpp and transformers.js; results as data under bench/results/')
    .argument('[part]', `one of ${PARTS.join(', ')}; none with --quick: every part, small`)
    .option('--quick', 'small model (hidden 256, 4 layers, real vocabulary) and short workloads: minutes, plumbing only', false)
    .option('--reps <n>', 'repetitions of every engine, interleaved (the median is reported)', positiveInt('--reps'))
    .option('--time-limit <seconds>', `a run still going after this is killed and recorded as unfinished (default ${DEFAULT_TIME_LIMIT}; options: ${OPTIONS_TIME_LIMIT})`, positiveInt('--time-limit'))
    .option('--threads <n>', 'threads for every engine (onnxruntime intra-op, llama.cpp)', positiveInt('--threads'), os.availableParallelism())
    .option('--batch-size <n>', 'batch cap of qwen-gen, transformers.js chunks and llama.cpp sequences', positiveInt('--batch-size'), 8)
    .option('--seed <n>', 'workload seed', positiveInt('--seed'), 1)
    .option('--dtype <list>', `weight dtypes, one results file each (compare, options, shared, batch-sweep, denormals, prefill-rss, decode-b1, structured; decode-step takes them all in one): ${Object.keys(DTYPES).join(', ')}`, list('--dtype', Object.keys(DTYPES)))
    .option('--options <list>', `options: the shipped settings to measure against their alternative (default: every one that applies to the dtype): ${OPTION_NAMES.join(', ')}`, list('--options', OPTION_NAMES))
    .option('--workload <name>', 'compare (default long), batch-sweep (default W64): long (issue 19: 8 prompts of 300–450 tokens, 112–128 new) or W64')
    .option('--engines <list>', `compare: ${DEFAULT_ENGINES.join(',')} (also tjs-plain-sequential); shared: qwen-gen,qwen-gen-no-cache (also tjs-gqa, tjs-plain)`, list('--engines'))
    .option('--runtimes <list>', 'decode-step: direct and/or onnxruntime-node', list('--runtimes', ['direct', 'onnxruntime-node']), ['direct'])
    .option('--batch-sizes <list>', 'batch-sweep: the batch caps', list('--batch-sizes'), ['8', '16', '32'])
    .option('--models-dir <dir>', 'where the bench models are built and kept (default $QWEN_GEN_BENCH_DIR, else ~/.cache/qwen-gen)')
    .option('--out <file>', 'write the results file here instead of bench/results/ (one part and one dtype only)')
    .option('--label <text>', 'stored in the results file (e.g. "sanity"); scripts/bench-tables.js uses only results without a label')
    .option('--no-write', 'print the results, write no file')
    .option('--keep', 'keep the work folder (inputs, outputs, reports)', false)
    .parse(argv);
  return { part: program.args[0], opts: program.opts() };
}

async function main() {
  const { part, opts } = parseArgs(process.argv);
  const log = (message) => process.stderr.write(`bench: ${message}\n`);
  if (!part && !opts.quick) {
    process.stderr.write(`bench: name a part (${PARTS.join(', ')}) or run everything small with --quick; see bench/README.md\n`);
    process.exit(2);
  }
  if (part && !PARTS.includes(part)) {
    process.stderr.write(`bench: unknown part "${part}" (${PARTS.join(', ')})\n`);
    process.exit(2);
  }
  opts.reps ??= part === 'denormals' ? 5 : opts.quick ? 1 : 3;
  opts.timeLimitGiven = opts.timeLimit;
  const jobs = part ? jobsOf(part, opts) : quickJobs(opts);
  if (opts.out && jobs.length > 1) throw new Error('--out names one results file: give one part and one --dtype');

  log('measuring memory read bandwidth');
  const machine = await machineInfo(opts.threads, opts.quick);
  const versions = engineVersions();
  for (const job of jobs) {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-bench-'));
    const stopLoad = startLoadSampler();
    const started = Date.now();
    const date = new Date().toISOString();
    let body;
    try {
      body = await job.run({ log, workDir, machine });
    } finally {
      if (opts.keep) log(`work folder kept: ${workDir}`);
      else fs.rmSync(workDir, { recursive: true, force: true });
    }
    const load = stopLoad();
    const result = {
      schema: RESULTS_SCHEMA,
      ...pick(body, ['name', 'key']),
      part: job.part,
      quick: Boolean(opts.quick),
      label: opts.label ?? null,
      command: job.command,
      invoked_as: `node bench/run.js ${process.argv.slice(2).join(' ')}`,
      date,
      git: gitInfo(),
      machine: { ...machine, load_average: load, busy: load.mean > job.opts.threads + 1 },
      versions,
      settings: { reps: job.opts.reps, threads: job.opts.threads, batch_size: job.opts.batchSize, time_limit_s: job.opts.timeLimit, seed: job.opts.seed },
      ...omit(body, ['name', 'key']),
      total_s: (Date.now() - started) / 1000,
    };
    console.log(renderResult(result, { file: null }));
    if (opts.write) log(`results: ${path.relative(process.cwd(), writeResults(result, { out: opts.out, quick: opts.quick }))}`);
  }
}

/** One job per results file, each with the command that reproduces exactly that file. */
function jobsOf(part, opts) {
  const defaultTimeLimit = part === 'options' ? OPTIONS_TIME_LIMIT : DEFAULT_TIME_LIMIT;
  opts = { ...opts, timeLimit: opts.timeLimitGiven ?? defaultTimeLimit };
  const dtypes = opts.dtype ?? (['compare', 'options', 'batch-sweep', 'decode-step'].includes(part) ? ['fp32', 'q8', 'q4'] : ['fp32']);
  const base = [`--reps ${opts.reps}`, `--threads ${opts.threads}`, ...(opts.quick ? ['--quick'] : []),
    ...(opts.batchSize !== 8 ? [`--batch-size ${opts.batchSize}`] : []), ...(opts.timeLimit !== defaultTimeLimit ? [`--time-limit ${opts.timeLimit}`] : []),
    ...(opts.seed !== 1 ? [`--seed ${opts.seed}`] : [])];
  const cmd = (...args) => ['node bench/run.js', part, ...args, ...base].join(' ');
  switch (part) {
    case 'compare': {
      opts = { ...opts, workload: opts.workload ?? 'long' };
      const engines = opts.engines ?? DEFAULT_ENGINES;
      const enginesArg = opts.engines ? [`--engines ${engines.join(',')}`] : [];
      return dtypes.map((dtype) => ({ part, command: cmd(`--workload ${opts.workload}`, `--dtype ${dtype}`, ...enginesArg),
        opts, run: (ctx) => compare({ ...ctx, opts, dtype, workloadName: opts.workload, engines }) }));
    }
    case 'options': {
      const wanted = opts.options ?? OPTION_NAMES;
      const measured = dtypes.filter((dtype) => optionsFor(dtype, wanted).length > 0);
      if (measured.length === 0) throw new Error(`--options: none of ${wanted.join(', ')} applies to ${dtypes.join(', ')}`);
      return measured.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`, ...(opts.options ? [`--options ${optionsFor(dtype, wanted).join(',')}`] : [])),
        opts, run: (ctx) => options({ ...ctx, opts, dtype, options: wanted }) }));
    }
    case 'shared': {
      const engines = opts.engines ?? ['qwen-gen', 'qwen-gen-no-cache'];
      return dtypes.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`, ...(opts.engines ? [`--engines ${engines.join(',')}`] : [])),
        opts, run: (ctx) => shared({ ...ctx, opts, dtype, engines }) }));
    }
    case 'decode-step':
      return [{ part, command: cmd(`--dtype ${dtypes.join(',')}`, ...(opts.runtimes.join(',') !== 'direct' ? [`--runtimes ${opts.runtimes.join(',')}`] : [])),
        opts, run: (ctx) => decodeStep({ ...ctx, opts, dtypes, runtimes: opts.runtimes }) }];
    case 'batch-sweep':
      opts = { ...opts, workload: opts.workload ?? 'W64' };
      return dtypes.map((dtype) => ({ part, command: cmd(`--workload ${opts.workload}`, `--dtype ${dtype}`, `--batch-sizes ${opts.batchSizes.join(',')}`),
        opts, run: (ctx) => batchSweep({ ...ctx, opts, dtype, batchSizes: opts.batchSizes.map(Number), workloadName: opts.workload }) }));
    case 'denormals':
      return dtypes.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`), opts, run: (ctx) => denormals({ ...ctx, opts, dtype }) }));
    case 'prefill-rss':
      return dtypes.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`), opts, run: (ctx) => prefillRss({ ...ctx, opts, dtype }) }));
    case 'decode-b1':
      return dtypes.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`), opts, run: (ctx) => decodeBatchOne({ ...ctx, opts, dtype }) }));
    case 'structured':
      return dtypes.map((dtype) => ({ part, command: cmd(`--dtype ${dtype}`), opts, run: (ctx) => structured({ ...ctx, opts, dtype }) }));
    default:
      throw new Error(`unknown part ${part}`);
  }
}

/** `--quick` without a part: every part once, small, fp32 (and the three dtypes where the part compares them). */
function quickJobs(opts) {
  const saved = { dtype: opts.dtype, workload: opts.workload };
  const jobs = [];
  for (const workload of ['long', 'W64']) jobs.push(...jobsOf('compare', { ...opts, workload, dtype: saved.dtype ?? ['fp32'] }));
  jobs.push(...jobsOf('options', { ...opts, dtype: saved.dtype ?? ['fp32', 'q8', 'q4'] }),
    ...jobsOf('shared', opts), ...jobsOf('decode-step', opts), ...jobsOf('batch-sweep', { ...opts, workload: 'W64', dtype: saved.dtype ?? ['fp32'] }),
    ...jobsOf('denormals', { ...opts, reps: Math.max(opts.reps, 2) }), ...jobsOf('prefill-rss', opts), ...jobsOf('decode-b1', opts), ...jobsOf('structured', opts));
  return jobs;
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((k) => k in object).map((k) => [k, object[k]]));
}

function omit(object, keys) {
  return Object.fromEntries(Object.entries(object).filter(([k]) => !keys.includes(k)));
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack || error.message}\n`);
  process.exit(1);
});
