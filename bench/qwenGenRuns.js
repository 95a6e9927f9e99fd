'use strict';
const fs = require('fs');
const path = require('path');
const { runMeasuredNode } = require('./measuredChild');

const REPO = path.join(__dirname, '..');
const CLI = path.join(REPO, 'bin', 'qwen-gen.js');

function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

/** The whole workload through the qwen-gen CLI, as a user would run it. */
async function runQwenGen({ modelDir, workDir, inputFile, batchSize, threads, dtype, env = {}, tag = '', extraArgs = [] }) {
  const output = path.join(workDir, `qwen-gen-b${batchSize}${tag}.out.jsonl`);
  const report = path.join(workDir, `qwen-gen-b${batchSize}${tag}.report.json`);
  const args = [CLI, inputFile, '-m', modelDir, '--greedy', '--batch-size', String(batchSize), '--token-ids',
    '-o', output, '--overwrite', '--report', report];
  if (threads) args.push('--threads', String(threads));
  if (dtype && dtype !== 'fp32') args.push('--dtype', dtype);
  args.push(...extraArgs);
  const run = await runMeasuredNode(args, { cwd: REPO, env, label: 'qwen-gen' });
  const records = readJsonl(output);
  const failed = records.filter((r) => r.error);
  if (failed.length > 0) throw new Error(`qwen-gen failed ${failed.length} requests, e.g. ${JSON.stringify(failed[0].error)}`);
  return {
    ...run,
    command: `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}node ${path.relative(REPO, CLI)} ${args.slice(1).join(' ')}`,
    report: fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : null,
    outputs: records.map((r) => ({ id: r.id, promptTokens: r.usage.prompt_tokens, tokens: r.completion_token_ids })),
  };
}

/**
 * Decode speed at batch 1, timed from outside: three requests with the same 8-token prompt and max_tokens a < b < c,
 * run one at a time (--batch-size 1). Each output line is written when its request finishes, so the gap before a line is
 * (prefill + (max_tokens - 1) decode steps + fixed costs) of that request; the difference of two gaps cancels the
 * prefill and fixed costs, leaving (c - b) decode steps. Load time never enters.
 */
async function measureDecodeAtBatchOne({ modelDir, workDir, prompt, maxTokens, threads, dtype }) {
  const input = path.join(workDir, 'decode-probe.jsonl');
  fs.writeFileSync(input, maxTokens.map((m, i) => JSON.stringify({ id: `d${i}`, prompt, max_tokens: m, ignore_eos: true })).join('\n') + '\n');
  const args = [CLI, input, '-m', modelDir, '--greedy', '--batch-size', '1', '--token-ids'];
  if (threads) args.push('--threads', String(threads));
  if (dtype && dtype !== 'fp32') args.push('--dtype', dtype);
  const run = await runMeasuredNode(args, { cwd: REPO, label: 'qwen-gen decode probe' });
  const arrivals = run.lines.filter((l) => l.text.trim() !== '').map((l) => {
    const record = JSON.parse(l.text);
    if (record.error) throw new Error(`decode probe request failed: ${JSON.stringify(record.error)}`);
    return { at: l.at, tokens: record.usage.completion_tokens };
  });
  if (arrivals.length !== 3) throw new Error(`decode probe: expected 3 output lines, got ${arrivals.length}`);
  const gap = (i) => arrivals[i].at - arrivals[i - 1].at;
  const steps = arrivals[2].tokens - arrivals[1].tokens;
  if (steps <= 0) throw new Error('decode probe: requests finished in an unexpected order (use max_tokens a < b < c)');
  const secondsPerStep = (gap(2) - gap(1)) / steps;
  return { tokensPerSecond: 1 / secondsPerStep, secondsPerStep, steps, promptTokens: 8, maxTokens, peakRssBytes: run.peakRssBytes };
}

/**
 * Peak RSS of qwen-gen while it prefills `rows` prompts of `promptTokens` tokens together (--batch-size rows,
 * max_tokens 1), for issue 6's memory target: weights + KV cache + 1 GB.
 */
async function measurePrefillRss({ modelDir, workDir, prompt, rows, promptTokens, threads, dtype }) {
  const input = path.join(workDir, 'prefill-rss.jsonl');
  fs.writeFileSync(input, Array.from({ length: rows }, (_, i) => JSON.stringify({ id: `p${i}`, prompt, max_tokens: 1, ignore_eos: true })).join('\n') + '\n');
  const output = path.join(workDir, 'prefill-rss.out.jsonl');
  const args = [CLI, input, '-m', modelDir, '--greedy', '--batch-size', String(rows), '-o', output, '--overwrite'];
  if (threads) args.push('--threads', String(threads));
  if (dtype && dtype !== 'fp32') args.push('--dtype', dtype);
  const run = await runMeasuredNode(args, { cwd: REPO, label: 'qwen-gen prefill RSS probe' });
  const records = readJsonl(output);
  const bad = records.filter((r) => r.error || r.usage.prompt_tokens !== promptTokens);
  if (records.length !== rows || bad.length > 0) throw new Error(`prefill RSS probe: unexpected output ${JSON.stringify(bad[0] ?? records.length)}`);
  return { wallSeconds: run.wallSeconds, peakRssBytes: run.peakRssBytes };
}

/**
 * Real tokens / all token positions computed, from qwen-gen's --report. The report's `figures` section is new; this
 * accepts a ready fraction or the engine's counters (camelCase or snake_case) wherever they sit in the report.
 */
function usefulTokenFraction(report) {
  if (!report) return { value: null, source: 'qwen-gen wrote no report' };
  const found = {};
  const visit = (node, trail) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const normal = key.replace(/_/g, '').toLowerCase();
      if (typeof value === 'number' && !(normal in found)) found[normal] = { value, at: [...trail, key].join('.') };
      else visit(value, [...trail, key]);
    }
  };
  visit(report.figures ?? report, report.figures ? ['figures'] : []);
  if (found.usefultokenfraction) return { value: found.usefultokenfraction.value, source: `report ${found.usefultokenfraction.at}` };
  const waste = report.figures?.padding_waste;
  const stages = waste ? Object.entries(waste).filter(([, v]) => v && typeof v.positions === 'number' && typeof v.pad_positions === 'number') : [];
  if (stages.length > 0) {
    const positions = stages.reduce((sum, [, v]) => sum + v.positions, 0);
    const pads = stages.reduce((sum, [, v]) => sum + v.pad_positions, 0);
    return { value: (positions - pads) / positions, source: `report figures.padding_waste (${stages.map(([k]) => k).join(' + ')}): 1 − pad positions / positions` };
  }
  const names = ['prefillpositions', 'prefillrealtokens', 'decodepositions', 'decoderealtokens'];
  if (names.every((n) => n in found)) {
    const [pp, pr, dp, dr] = names.map((n) => found[n].value);
    return { value: (pr + dr) / (pp + dp), source: `report counters (${names.map((n) => found[n].at).join(', ')})` };
  }
  return { value: null, source: 'qwen-gen\'s report has no useful-token figures yet' };
}

module.exports = { runQwenGen, measureDecodeAtBatchOne, measurePrefillRss, usefulTokenFraction, readJsonl };
