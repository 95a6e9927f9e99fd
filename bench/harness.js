'use strict';
// What every bench part shares: the machine and software it ran on, repetitions interleaved across engines, the page
// cache warmed, the load average sampled, and the results file written under bench/results/.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { measureBandwidth } = require('./bandwidth');
const { installedVersions, llamaCppModulePath } = require('./llamaCppDeps');

const REPO = path.join(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');
const RESULTS_SCHEMA = 'qwen-gen-bench-results/1';

function git(args, trim = true) {
  try {
    const out = execFileSync('git', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] }).toString('utf8');
    return trim ? out.trim() : out;
  } catch {
    return null;
  }
}

/**
 * The commit measured; `dirty` lists changed tracked files outside bench/results and the markdown documents (a
 * measurement of uncommitted code; README tables regenerated between two parts of a plan change no measurement).
 */
function gitInfo() {
  const status = git(['status', '--porcelain', '--untracked-files=no'], false) ?? '';
  const changed = status.split('\n').filter(Boolean).map((l) => l.slice(3)).filter((f) => !f.startsWith('bench/results/') && !f.endsWith('.md'));
  return { commit: git(['rev-parse', 'HEAD']), branch: git(['rev-parse', '--abbrev-ref', 'HEAD']), dirty: changed };
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function engineVersions() {
  return {
    'qwen-gen': JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version,
    'onnxruntime-node': packageVersion('onnxruntime-node'),
    '@huggingface/transformers': packageVersion('@huggingface/transformers'),
    ...(llamaCppModulePath() ? installedVersions() : { 'node-llama-cpp': null }),
    node: process.version,
  };
}

/** Samples the 1-minute load average every 5 s while a part runs: other processes skew every timing. */
function startLoadSampler() {
  const samples = [os.loadavg()[0]];
  const timer = setInterval(() => samples.push(os.loadavg()[0]), 5000);
  timer.unref();
  return () => {
    clearInterval(timer);
    samples.push(os.loadavg()[0]);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    return { start: samples[0], mean: Number(mean.toFixed(2)), max: Math.max(...samples), samples: samples.length };
  };
}

async function machineInfo(threads, quick) {
  const bandwidth = await measureBandwidth(quick ? 256 << 20 : 1 << 30, threads);
  const round = (x) => Math.round(x / 1e6) * 1e6;
  return {
    cpus: os.cpus().length, available_parallelism: os.availableParallelism(), cpu_model: os.cpus()[0]?.model ?? null,
    memory_bytes: os.totalmem(), platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    bandwidth: { buffer_bytes: bandwidth.buffer_bytes, threads: bandwidth.threads, single_thread_bytes_per_s: round(bandwidth.single_thread_bytes_per_s),
      all_threads_bytes_per_s: round(bandwidth.all_threads_bytes_per_s), used_bytes_per_s: round(bandwidth.roofline_bytes_per_s),
      method: 'Buffer#indexOf of an absent byte (memchr) over a filled buffer, best of 5; the higher of 1 thread and all threads is used' },
  };
}

/** Reads files once so that no engine pays the first disk read (and again before each repetition: cheap when cached). */
function warmPageCache(files) {
  const chunk = Buffer.allocUnsafe(64 << 20);
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    const fd = fs.openSync(file, 'r');
    try {
      while (fs.readSync(fd, chunk, 0, chunk.length, null) > 0);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Every file of a model folder's onnx/ (graphs and external data) and gguf/ that a part reads. */
function modelFiles(dir, filter = () => true) {
  const out = [];
  for (const sub of ['onnx', 'gguf']) {
    const d = path.join(dir, sub);
    if (fs.existsSync(d)) for (const f of fs.readdirSync(d)) if (filter(f)) out.push(path.join(d, f));
  }
  return out;
}

/** The file names of a dtype's graph in onnx/: the graph, its external data and qwen-gen's derived graph with its data. */
function graphFileNames(onnxDtype) {
  const { onnxFileForDtype } = require('../dist/dtypeFiles');
  const graph = path.basename(onnxFileForDtype(onnxDtype));
  const derived = graph.replace(/\.onnx$/, '.qwen-gen.onnx');
  return [graph, `${graph}_data`, derived, `${derived}_data`];
}

/**
 * Runs `engines` `reps` times, interleaved (A B C, A B C, …) so machine noise falls on every side alike. `run(engine,
 * rep)` returns { record, ... }; records gain `rep` and `order`. `before(rep)` runs before each repetition.
 */
async function interleaved({ reps, engines, run, log, before }) {
  const records = [];
  const last = {};
  let order = 0;
  for (let rep = 1; rep <= reps; rep++) {
    if (before) await before(rep);
    for (const engine of engines) {
      log(`rep ${rep}/${reps}: ${engine}`);
      const result = await run(engine, rep);
      const rec = { ...result.record, engine: result.record.engine ?? engine, rep, order: order++ };
      records.push(rec);
      if (rec.finished || !last[engine]?.record?.finished) last[engine] = result; // the last finished run, for the checks
      log(`  ${engine}: ${rec.finished ? `${rec.wall_s.toFixed(1)} s` : `NOT FINISHED (${rec.status})${rec.error ? `: ${rec.error.split('\n').pop()}` : ''}`}`);
    }
  }
  return { records, last };
}

function stamp(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
}

/**
 * Writes a results file: bench/results/<name>-<UTC time>.json (bench/results/quick/ for --quick runs, git-ignored),
 * or `out` when given. Returns its path.
 */
function writeResults(result, { out, quick }) {
  const file = out ? path.resolve(out) : path.join(quick ? path.join(RESULTS_DIR, 'quick') : RESULTS_DIR, `${result.name}-${stamp(new Date(result.date))}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  return file;
}

module.exports = {
  REPO, RESULTS_DIR, RESULTS_SCHEMA, gitInfo, engineVersions, startLoadSampler, machineInfo, warmPageCache, modelFiles, graphFileNames, interleaved, writeResults,
};
