'use strict';
// The engines the bench runs, each in its own child process, each returning one repetition's record (what the results
// file keeps) and its outputs (token ids, kept in memory for the agreement checks only).
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { runMeasuredNode } = require('./measuredChild');
const { outputProblems } = require('./figures');

const REPO = path.join(__dirname, '..');
const CLI = path.join(REPO, 'bin', 'qwen-gen.js');

function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const round = (x, digits = 3) => (x == null ? null : Number(x.toFixed(digits)));

/** sha256 of every request's generated ids in id order: equal digests = identical tokens. */
function outputsDigest(outputs) {
  const sorted = [...outputs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return crypto.createHash('sha256').update(JSON.stringify(sorted.map((o) => [o.id, o.tokens]))).digest('hex').slice(0, 16);
}

/**
 * One repetition's record. A run counts as finished only if the child exited 0 within the time limit AND every request
 * came back with its own prompt length and exactly its max_tokens new tokens; anything else is kept, marked unfinished,
 * with the reason.
 */
function record(engine, child, { requests, outputs, figures = {} }) {
  const problems = child.finished && outputs ? outputProblems(requests, outputs) : [];
  const finished = child.finished && outputs != null && problems.length === 0;
  return {
    engine,
    finished,
    status: !child.finished ? child.status : outputs == null ? 'no output' : problems.length > 0 ? 'wrong output' : 'ok',
    exit_code: child.exitCode,
    signal: child.signal,
    wall_s: round(child.wallSeconds),
    peak_rss_bytes: child.peakRssBytes,
    cpu_s: round(child.cpuSeconds),
    ...figures,
    prompt_tokens: outputs ? outputs.reduce((s, o) => s + o.promptTokens, 0) : null,
    generated_tokens: outputs ? outputs.reduce((s, o) => s + o.tokens.length, 0) : null,
    outputs_sha256: outputs ? outputsDigest(outputs) : null,
    problems: problems.slice(0, 5),
    error: child.finished ? null : child.stderrTail.split('\n').slice(-4).join('\n') || null,
  };
}

/** The qwen-gen CLI, as a user runs it: raw JSONL in, --token-ids out, --report for its stage times. */
async function runQwenGen({ engine = 'qwen-gen', modelDir, dtype, inputFile, requests, workDir, batchSize, threads, env = {}, extraArgs = [], timeLimitSeconds }) {
  const tag = `${engine}-${Date.now()}`;
  const output = path.join(workDir, `${tag}.out.jsonl`);
  const report = path.join(workDir, `${tag}.report.json`);
  const args = [CLI, inputFile, '-m', modelDir, '--greedy', '--batch-size', String(batchSize), '--token-ids',
    '-o', output, '--overwrite', '--report', report, '--threads', String(threads)];
  if (dtype !== 'fp32') args.push('--dtype', dtype);
  args.push(...extraArgs);
  const child = await runMeasuredNode(args, { cwd: REPO, env, timeLimitSeconds });
  let outputs = null;
  if (child.finished && fs.existsSync(output)) {
    const lines = readJsonl(output);
    outputs = lines.filter((r) => !r.error).map((r) => ({ id: r.id, promptTokens: r.usage.prompt_tokens, tokens: r.completion_token_ids }));
  }
  const rep = readJson(report);
  const stage = rep?.figures?.stage_ms ?? {};
  const figures = {
    load_s: round(stage.load / 1000), prefill_s: round(stage.prefill / 1000), decode_s: round(stage.decode / 1000),
    decode_steps: rep?.figures?.decode_steps ?? null,
    decode_ms_per_step: stage.decode != null && rep?.figures?.decode_steps ? round(stage.decode / rep.figures.decode_steps) : null, prefix_cache: rep?.figures?.prefix_cache ?? null,
    runtime: rep?.model?.runtime?.name ?? null,
    // The most rows one decode step ran (a graph qwen-gen cannot batch exactly runs at 1), and the report's warning/error finding codes.
    max_decode_batch: maxKey(rep?.figures?.batch_size_histogram?.decode),
    findings: Array.isArray(rep?.findings) ? [...new Set(rep.findings.filter((f) => f.severity !== 'info').map((f) => f.code))] : null,
  };
  fs.rmSync(output, { force: true });
  return { record: record(engine, child, { requests, outputs, figures }), outputs, report: rep,
    command: commandLine(env, args) };
}

/**
 * One unmeasured qwen-gen run before a part's repetitions (an 8-token prompt, one new token, the same model, dtype and
 * environment): it writes the derived graph that configuration runs (src/model/derivedGraph.ts, beside the model file)
 * when it is missing or was written for other rewrites, so that no measured repetition pays for writing it (seconds,
 * and memory, on the 0.6B shape). Returns { status, wall_s, derived_graph (the report's), error, command }; a failure is
 * returned, not thrown (the measured runs then say what went wrong).
 */
async function prepareQwenGen({ modelDir, dtype, tokenizer, seed = 1, workDir, threads, env = {}, timeLimitSeconds, log = () => {}, name = 'prepare' }) {
  const { probePrompt } = require('./workload');
  const prompt = probePrompt(tokenizer, 8, seed);
  const inputFile = path.join(workDir, `prepare-${Date.now()}.jsonl`);
  const request = { id: 'prepare', prompt, promptTokens: 8, maxTokens: 1 };
  fs.writeFileSync(inputFile, `${JSON.stringify({ id: request.id, prompt, max_tokens: 1, ignore_eos: true })}\n`);
  log(`${name}: one unmeasured run on ${path.basename(modelDir)} (${dtype}; writes its derived graph if missing)`);
  const result = await runQwenGen({ engine: 'prepare', modelDir, dtype, inputFile, requests: [request], workDir, batchSize: 1, threads, env, timeLimitSeconds });
  fs.rmSync(inputFile, { force: true });
  if (!result.record.finished) log(`${name}: ${result.record.status}${result.record.error ? `: ${result.record.error.split('\n').pop()}` : ''}`);
  return { status: result.record.status, wall_s: result.record.wall_s, derived_graph: result.report?.model?.derived_graph ?? null,
    error: result.record.error, command: result.command };
}

/** transformers.js `generate`, batched in input order (chunks of the batch size, left padding) or one prompt at a time. */
async function runTransformersJs({ engine, modelDir, dtype, workloadFile, requests, workDir, mode, batchSize, threads, sessionEntries, timeLimitSeconds }) {
  const out = path.join(workDir, `${engine}-${Date.now()}.json`);
  const args = [path.join(__dirname, 'tjsRunner.js'), '--model-dir', modelDir, '--workload', workloadFile, '--mode', mode,
    '--batch-size', String(batchSize), '--threads', String(threads), '--dtype', dtype, '--out', out,
    '--session-entries', JSON.stringify(sessionEntries ?? {})];
  const child = await runMeasuredNode(args, { cwd: REPO, timeLimitSeconds });
  const result = child.finished ? readJson(out) : null;
  fs.rmSync(out, { force: true });
  const figures = result ? { load_s: round(result.loadSeconds), generate_s: round(result.generateSeconds), computed_positions: result.computedPositions } : {};
  return { record: record(engine, child, { requests, outputs: result?.outputs ?? null, figures }), outputs: result?.outputs ?? null,
    settings: result?.sessionOptions ?? null, command: commandLine({}, args) };
}

/** llama.cpp through node-llama-cpp (bench/.deps): the same requests, N sequences in one context. */
async function runLlamaCpp({ engine = 'llama.cpp', gguf, workloadFile, requests, workDir, sequences, threads, timeLimitSeconds, kvType = 'default', flashAttention = 'auto' }) {
  const out = path.join(workDir, `${engine}-${Date.now()}.json`);
  const args = [path.join(__dirname, 'llamaCppRunner.mjs'), '--gguf', gguf, '--workload', workloadFile, '--out', out,
    '--threads', String(threads), '--sequences', String(sequences), '--kv-type', kvType, '--flash-attention', flashAttention];
  const child = await runMeasuredNode(args, { cwd: REPO, timeLimitSeconds });
  const result = child.finished ? readJson(out) : null;
  fs.rmSync(out, { force: true });
  const figures = result ? { load_s: round(result.loadSeconds), generate_s: round(result.generateSeconds) } : {};
  return { record: record(engine, child, { requests, outputs: result?.outputs ?? null, figures }), outputs: result?.outputs ?? null,
    settings: result?.settings ?? null, versions: result?.versions ?? null, command: commandLine({}, args) };
}

function maxKey(histogram) {
  const keys = histogram ? Object.keys(histogram).map(Number).filter(Number.isFinite) : [];
  return keys.length > 0 ? Math.max(...keys) : null;
}

function commandLine(env, args) {
  const rel = args.map((a) => (path.isAbsolute(a) && a.startsWith(REPO) ? path.relative(REPO, a) : a));
  const quoted = rel.map((a) => (/^[\w./:=,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  // An undefined value removes the variable from the child's environment (child_process skips it): not part of the command.
  return `${Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v} `).join('')}node ${quoted.join(' ')}`;
}

module.exports = { runQwenGen, prepareQwenGen, runTransformersJs, runLlamaCpp, outputsDigest, readJson, round, REPO, CLI };
