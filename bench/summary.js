'use strict';
// Medians and ranges of repeated runs, shared by bench/run.js (what it prints and stores) and scripts/bench-tables.js
// (the README tables). Rule: an engine's figures are summarised only when every one of its repetitions finished; a run
// that did not finish (error, killed, over the time limit, wrong output) leaves the engine "unfinished" — shown as such,
// never turned into a median or a ratio.

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** { median, min, max, n } of the numbers, or null when there are none. */
function stats(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * Per engine: repetitions, how many finished, and — only when all finished — the median/min/max of every numeric figure
 * named in `figures`, plus useful tokens/s (useful tokens / wall) and the largest peak RSS.
 */
function summarizeRuns(runs, { figures = ['wall_s', 'load_s', 'prefill_s', 'decode_s', 'generate_s'], usefulTokens = null } = {}) {
  const byEngine = new Map();
  for (const run of runs) {
    if (!byEngine.has(run.engine)) byEngine.set(run.engine, []);
    byEngine.get(run.engine).push(run);
  }
  const summary = {};
  for (const [engine, list] of byEngine) {
    const finished = list.filter((r) => r.finished);
    const complete = finished.length === list.length && list.length > 0;
    const entry = { reps: list.length, finished: finished.length, complete,
      unfinished_statuses: list.filter((r) => !r.finished).map((r) => r.status) };
    if (complete) {
      for (const figure of figures) entry[figure] = stats(list.map((r) => r[figure]));
      if (usefulTokens) entry.useful_tok_s = stats(list.map((r) => usefulTokens / r.wall_s));
      entry.peak_rss_bytes = stats(list.map((r) => r.peak_rss_bytes));
      const digests = new Set(list.map((r) => r.outputs_sha256));
      entry.same_tokens_every_rep = digests.size === 1;
    }
    summary[engine] = entry;
  }
  return summary;
}

/** median wall of `engine` / median wall of `base`, only when both completed every repetition. */
function ratio(summary, engine, base, figure = 'wall_s') {
  const a = summary[engine];
  const b = summary[base];
  if (!a?.complete || !b?.complete || !a[figure] || !b[figure]) return null;
  return a[figure].median / b[figure].median;
}

module.exports = { median, stats, summarizeRuns, ratio };
