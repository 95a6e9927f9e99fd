'use strict';
// Issue 15's workload W-shared: 64 requests behind one ~1,000-token preamble; qwen-gen with automatic prefix caching vs
// --no-prefix-cache vs transformers.js batched (which has no prefix caching).
const fs = require('fs');
const path = require('path');
const { WORKLOADS, buildSharedWorkload, toQwenGenJsonl, summarize } = require('./workload');
const { runQwenGen } = require('./qwenGenRuns');
const { tokenAgreement, checkOutputs, fmt } = require('./figures');

async function runSharedPrefix({ quick, seed, tokenizer, common, runTjs, log }) {
  const spec = quick ? WORKLOADS.WSHAREDQ : WORKLOADS.WSHARED;
  const requests = buildSharedWorkload(spec, seed, tokenizer);
  const inputFile = path.join(common.workDir, `${spec.name}.jsonl`);
  const workloadFile = path.join(common.workDir, `${spec.name}.requests.json`);
  fs.writeFileSync(inputFile, toQwenGenJsonl(requests));
  fs.writeFileSync(workloadFile, JSON.stringify(requests));

  log(`(shared) qwen-gen on ${spec.name}, prefix cache on (default)`);
  const cached = await runQwenGen({ ...common, inputFile, tag: '-shared' });
  checkOutputs('qwen-gen W-shared', requests, cached.outputs);
  log(`(shared) qwen-gen on ${spec.name}, --no-prefix-cache`);
  const uncached = await runQwenGen({ ...common, inputFile, tag: '-shared-no-cache', extraArgs: ['--no-prefix-cache'] });
  checkOutputs('qwen-gen W-shared --no-prefix-cache', requests, uncached.outputs);
  log(`(shared) transformers.js batched on ${spec.name}`);
  const tjs = await runTjs('batched', { ...common, workloadFile });
  checkOutputs('transformers.js batched W-shared', requests, tjs.outputs);

  const prefix = (run) => run.report?.figures?.prefix_cache ?? null;
  const computedWith = prefix(cached)?.prompt_tokens_computed ?? null;
  const computedWithout = prefix(uncached)?.prompt_tokens_computed ?? null;
  const agree = tokenAgreement(cached.outputs, uncached.outputs);
  return {
    workload: { ...summarize({ ...spec, promptTokens: [spec.sharedTokens + spec.questionTokens[0], spec.sharedTokens + spec.questionTokens[1]] }, seed, requests),
      shared_tokens: spec.sharedTokens, question_token_range: spec.questionTokens },
    runs: [
      { key: 'qwen_gen_prefix_cache', label: 'qwen-gen (prefix cache)', wall_seconds: cached.wallSeconds, peak_rss_bytes: cached.peakRssBytes,
        prefix_cache: prefix(cached), command: cached.command },
      { key: 'qwen_gen_no_prefix_cache', label: 'qwen-gen --no-prefix-cache', wall_seconds: uncached.wallSeconds, peak_rss_bytes: uncached.peakRssBytes,
        prefix_cache: prefix(uncached), command: uncached.command },
      { key: 'tjs_batched', label: `transformers.js batched (${common.batchSize})`, wall_seconds: tjs.wallSeconds, peak_rss_bytes: tjs.peakRssBytes },
    ],
    prompt_tokens_computed: { with_cache: computedWith, without_cache: computedWithout,
      ratio: computedWith != null && computedWithout ? computedWith / computedWithout : null },
    speedup_vs_no_cache: uncached.wallSeconds / cached.wallSeconds,
    speedup_vs_tjs_batched: tjs.wallSeconds / cached.wallSeconds,
    tokens_identical_with_and_without_cache: `${agree.identical}/${agree.compared}`,
  };
}

/** Issue 15's targets (stated for the full run on the 0.6B shape). */
function sharedTargets(shared, quick) {
  const suffix = quick ? ' (quick run: indicative only)' : '';
  const ratio = shared.prompt_tokens_computed.ratio;
  return [
    { what: `W-shared: prompt tokens computed with the cache ≤ 1/10 of without${suffix}`, reached: ratio == null ? 'not measured' : fmt.pct(ratio),
      met: ratio == null ? null : ratio <= 0.1 },
    { what: `W-shared: wall time ≥ 4× faster than --no-prefix-cache${suffix}`, reached: fmt.ratio(shared.speedup_vs_no_cache),
      met: shared.speedup_vs_no_cache >= 4 },
  ];
}

function formatShared(shared) {
  const lines = [`W-shared (${shared.workload.requests} requests, ${shared.workload.shared_tokens}-token shared preamble):`];
  for (const run of shared.runs) {
    const computed = run.prefix_cache ? `, prompt tokens computed ${run.prefix_cache.prompt_tokens_computed}, reused ${run.prefix_cache.prompt_tokens_reused}` : '';
    lines.push(`  ${run.label.padEnd(34)} ${fmt.s(run.wall_seconds).padStart(8)} s, peak RSS ${fmt.gb(run.peak_rss_bytes)}${computed}`);
  }
  lines.push(`  cache vs no cache: ${fmt.ratio(shared.speedup_vs_no_cache)} faster, ${fmt.pct(shared.prompt_tokens_computed.ratio)} of the prompt tokens computed; ` +
    `vs transformers.js batched: ${fmt.ratio(shared.speedup_vs_tjs_batched)}; greedy tokens identical with and without the cache: ${shared.tokens_identical_with_and_without_cache}`);
  return lines.join('\n');
}

module.exports = { runSharedPrefix, sharedTargets, formatShared };
