'use strict';
const { OPTIONS, OPTION_NAMES } = require('./optionChoices');
// Markdown tables of a results file, one renderer per part: what bench/run.js prints and what scripts/bench-tables.js
// writes into README.md. Every figure comes from the file; a summary is shown only for an engine whose every repetition
// finished (bench/summary.js), and a ratio only when both sides did.

const GB = 1e9;
const num = (x, digits = 1) => (x == null || !Number.isFinite(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const gb = (bytes) => (bytes == null ? 'n/a' : `${num(bytes / GB, 2)} GB`);
const times = (x) => (x == null ? '—' : `${num(x, 2)}×`);
const pct = (x) => (x == null ? 'n/a' : `${num(100 * x, 1)} %`);

/** "107.6 (105.2–110.4)" for a median and its range over the repetitions; one run shows its value alone. */
function range(s, digits = 1, unit = '') {
  if (!s) return 'n/a';
  if (s.n === 1) return `${num(s.median, digits)}${unit} (1 run)`;
  return `${num(s.median, digits)}${unit} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

/** Why an engine has no figures: how many of its repetitions did not finish, and how. */
function unfinished(entry, settings) {
  const statuses = [...new Set(entry.unfinished_statuses)].map((s) => (s === 'time limit' ? `over the ${num(settings.time_limit_s, 0)} s time limit` : s));
  return `**unfinished** (${entry.reps - entry.finished} of ${entry.reps} runs: ${statuses.join(', ')})`;
}

function row(cells) {
  return `| ${cells.join(' | ')} |`;
}

function table(header, rows, align) {
  return [row(header), row(align ?? header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(row)].join('\n');
}

function describeMachine(r) {
  const m = r.machine;
  const load = m.load_average ? `; load average ${num(m.load_average.mean, 1)} mean, ${num(m.load_average.max, 1)} max${m.busy ? ' (**busy machine**: timings skewed)' : ''}` : '';
  return `${m.cpu_model ?? 'unknown CPU'}, ${m.cpus} cores, ${num(m.memory_bytes / 2 ** 30, 0)} GiB, read bandwidth ${num(m.bandwidth.used_bytes_per_s / GB, 1)} GB/s${load}`;
}

function provenance(r, file) {
  const commit = r.git?.commit ? r.git.commit.slice(0, 10) + (r.git.dirty?.length ? ' + uncommitted changes' : '') : 'unknown commit';
  const source = file ? `\`${file}\`` : 'this run';
  return `<sub>From ${source} (${r.date.slice(0, 10)}, ${commit}; ${describeMachine(r)}): \`${r.command}\` — ${r.settings.reps} repetition(s), engines interleaved, median (min–max).</sub>`;
}

function workloadLine(w) {
  if (!w) return '';
  const prompt = w.prompt_tokens ? `prompt tokens ${w.prompt_tokens.min}–${w.prompt_tokens.max}` : '';
  return `${w.name}: ${w.requests} requests, ${prompt}, max_tokens ${w.max_tokens.min}–${w.max_tokens.max} (${w.useful_tokens ?? w.max_tokens.total} useful tokens), EOS ignored, greedy`;
}

function renderCompare(r) {
  const s = r.summary;
  const rows = Object.entries(r.engines).map(([engine, info]) => {
    const e = s[engine];
    const check = r.checks?.[engine];
    const sameGraph = check?.greedy_tokens_identical_to_same_graph_qwen_gen;
    const agree = (check?.greedy_tokens_identical_to_qwen_gen ?? (engine === 'qwen-gen' ? '—' : 'n/a')) + (sameGraph ? ` (same graph: ${sameGraph})` : '');
    if (!e.complete) return [info.label, unfinished(e, r.settings), '', '', '', '', '', agree];
    const split = engine.startsWith('qwen-gen') ? `${num(e.load_s?.median)} / ${num(e.prefill_s?.median)} / ${num(e.decode_s?.median)}` : `${num(e.load_s?.median)} / ${num(e.generate_s?.median)} (load / generate)`;
    return [info.label, range(e.wall_s), num(e.useful_tok_s?.median, 2), engine === 'qwen-gen' ? '1.00×' : times(e.wall_ratio_vs_qwen_gen),
      times(e.wall_ratio_vs_qwen_gen_same_graph), split, gb(e.peak_rss_bytes?.max), agree];
  });
  return [
    `**${r.model.dtype_label}**, workload ${workloadLine(r.workload)}; batch ${r.workload.batch_size}, ${r.settings.threads} threads; random Qwen3-0.6B-shaped weights (seed ${r.model.seed}).`,
    '',
    table(['engine', 'wall s', 'useful tok/s', 'its wall ÷ qwen-gen\'s', 'same graph ÷ qwen-gen', 'load / prefill / decode s', 'peak RSS', 'greedy tokens = qwen-gen'], rows),
    '',
    ...(r.disclosures ?? []).map((d) => `- ${d}`),
  ].join('\n');
}

function renderDecodeStep(r) {
  const rows = Object.entries(r.engines).map(([engine, info]) => {
    const [dtype] = engine.split('/');
    const e = r.summary[engine];
    const f = r.floors[dtype];
    const floor = `${num(f.floor_ms, 0)} ms (${num(f.weight_bytes / 1e6, 0)} MB weights + ${num(f.kv_bytes / 1e6, 0)} MB KV)`;
    if (!e.complete) return [info.label, unfinished(e, r.settings), floor, '', '', ''];
    const outside = e.outside_run_ms ? `${range(e.outside_run_ms, 2, ' ms')}, ${pct(e.outside_run_share?.median)}` : 'n/a';
    return [info.label, range(e.iteration_ms, 0, ' ms'), floor, times(e.floor_ratio), dtype === 'fp32' ? '1.00×' : times(e.vs_fp32), outside];
  });
  return [
    `Decode step at batch ${r.probe.batch} with ${r.probe.context} cached tokens (${r.probe.what}); floor = (the dtype's weight bytes + the rows' KV bytes) / measured read bandwidth.`,
    '',
    table(['probe', 'loop iteration', 'floor', '× floor', '÷ fp32 step', 'outside onnxruntime\'s Run (share of the iteration)'], rows),
  ].join('\n');
}

function renderDenormals(r) {
  const rows = Object.entries(r.engines).map(([engine, info]) => {
    const e = r.summary[engine];
    if (!e.complete) return [info.label + (r.default_setting === engine ? ' — **the default**' : ''), unfinished(e, r.settings), ''];
    return [info.label + (r.default_setting === engine ? ' — **the default**' : ''), range(e.iteration_ms, 0, ' ms'), `${e.reps}`];
  });
  return [
    `Denormals, decode-step probe (${r.dtype}, batch ${r.probe.batch}, ${r.probe.context} cached tokens, direct runtime), kept and flushed interleaved; each probe records the setting it applied. Raw per-step times are in the results file.`,
    '',
    table(['setting', 'loop iteration', 'probes'], rows),
    '',
    `flushed ÷ kept: ${times(r.flushed_vs_kept)}`,
  ].join('\n');
}

function renderBatchSweep(r) {
  const rows = Object.entries(r.engines).map(([engine, info]) => {
    const e = r.summary[engine];
    const agree = r.checks?.greedy_tokens_identical_across_batch_sizes?.[`${engine} vs ${Object.keys(r.engines)[0]}`] ?? '—';
    if (!e.complete) return [info.label, unfinished(e, r.settings), '', '', '', agree];
    return [info.label, range(e.wall_s), num(e.useful_tok_s?.median, 2), `${num(e.prefill_s?.median)} / ${num(e.decode_s?.median)}`, gb(e.peak_rss_bytes?.max), agree];
  });
  return [
    `Batch cap sweep, qwen-gen, ${r.dtype}, workload ${workloadLine(r.workload)}; ${r.settings.threads} threads.`,
    '',
    table(['batch cap', 'wall s', 'useful tok/s', 'prefill / decode s', 'peak RSS', `greedy tokens = ${Object.keys(r.engines)[0]}`], rows),
  ].join('\n');
}

/** Issue 15's target for W-shared, carried into issue 19: the prefix cache's run ≥ 4× faster than the uncached run. */
const SHARED_TARGET = 4;

function renderShared(r) {
  const rows = Object.entries(r.engines).map(([engine, info]) => {
    const e = r.summary[engine];
    const computed = r.runs.find((x) => x.engine === engine && x.finished)?.prefix_cache?.prompt_tokens_computed;
    if (!e.complete) return [info.label, unfinished(e, r.settings), '', '', '', ''];
    return [info.label, range(e.wall_s), computed == null ? '—' : num(computed, 0), e.prefill_s ? `${num(e.prefill_s.median)} / ${num(e.decode_s.median)}` : '—',
      gb(e.peak_rss_bytes?.max), engine === 'qwen-gen' ? '1.00×' : times(e.wall_ratio_vs_qwen_gen)];
  });
  const c = r.checks.prompt_tokens_computed;
  const uncached = r.summary['qwen-gen-no-cache'];
  const ratioMedian = r.summary['qwen-gen']?.complete && uncached?.complete ? uncached.wall_ratio_vs_qwen_gen : undefined;
  const verdict = ratioMedian == null ? 'not measured' : ratioMedian >= SHARED_TARGET ? 'met' : '**not met**';
  return [
    `W-shared, ${r.dtype}: ${r.workload.requests} requests behind one ${r.workload.shared_tokens}-token preamble, then a ${r.workload.question_token_range[0]}–${r.workload.question_token_range[1]}-token question each, max_tokens ${r.workload.max_tokens.max}, EOS ignored; batch ${r.workload.batch_size}, ${r.settings.threads} threads.`,
    '',
    table(['run', 'wall s', 'prompt tokens computed', 'prefill / decode s', 'peak RSS', 'its wall ÷ qwen-gen\'s'], rows),
    '',
    `Prompt tokens computed with the cache: ${c.with_cache == null || !c.without_cache ? 'n/a' : `${pct(c.with_cache / c.without_cache)} of the uncached run's`}; greedy tokens identical with and without it: ${r.checks.greedy_tokens_identical_with_and_without_cache ?? 'n/a'}.`,
    '',
    `Target (issues 15 and 19): with the prefix cache ≥ ${SHARED_TARGET}× faster than \`--no-prefix-cache\` (ratio of the median wall times: ${times(ratioMedian)}) — ${verdict}.`,
  ].join('\n');
}

function renderPrefillRss(r) {
  const e = r.summary['qwen-gen'];
  const peak = e.complete ? e.peak_rss_bytes : null;
  return table(['probe', 'peak RSS', 'bound: weights + KV + 1 GB'], [[
    `qwen-gen, ${r.probe.rows} × ${r.probe.prompt_tokens}-token prompts in one batch (${r.dtype})`,
    e.complete ? `${range({ ...peak, median: peak.median / GB, min: peak.min / GB, max: peak.max / GB }, 2, ' GB')}` : unfinished(e, r.settings), gb(r.probe.bound_bytes)]]);
}

function renderDecodeB1(r) {
  const e = r.summary['qwen-gen'];
  return table(['probe', 'decode tok/s', 'roofline tok/s', 'fraction'], [[
    `qwen-gen, batch 1, ${r.dtype}`, e.complete ? range(e.tok_s, 2) : unfinished(e, r.settings), num(r.probe.roofline_tok_s, 2), pct(e.roofline_fraction)]]);
}

/** "a vs b" of two medians (either side may be missing). */
function versus(a, b, format) {
  return `${a == null ? '—' : format(a)} vs ${b == null ? '—' : format(b)}`;
}

/**
 * The session-option decisions (part `options`): one row per option and dtype, the shipped configuration against the
 * alternative from the same results file. `entries` are { result, file } of options results, newest first; `wanted`
 * the dtypes (table order). Each (dtype, option) row comes from the newest file that measured it, so the part can be run
 * in pieces (`--options`); a row no file has says how to measure it (or is left out with `measuredOnly`: one file).
 */
function renderOptionsTable(entries, wanted, { measuredOnly = false } = {}) {
  const used = [];
  const notes = [];
  const rows = [];
  for (const dtype of wanted) {
    for (const name of OPTION_NAMES.filter((n) => OPTIONS[n].dtypes.includes(dtype))) {
      const o = OPTIONS[name];
      const optionCell = `${o.label}: **${o.shipped}** vs ${o.alternative} (\`${Object.entries(o.env).map(([k, v]) => `${k}=${v}`).join(' ')}\`)`;
      const entry = entries.find((e) => e.result.dtype === dtype && e.result.comparisons?.[name]);
      if (!entry && measuredOnly) continue;
      if (!entry) {
        rows.push([optionCell, dtype, `_not measured yet: \`node bench/run.js options --dtype ${dtype} --options ${name}\`_`, '', '', '', '', '', '', '']);
        continue;
      }
      if (!used.includes(entry)) used.push(entry);
      const r = entry.result;
      const c = r.comparisons[name];
      const shipped = r.summary.shipped;
      const alt = r.summary[c.config];
      const median = (e, figure) => (e?.complete ? e[figure]?.median ?? null : null);
      const rss = (e) => (e?.complete ? e.peak_rss_bytes?.max ?? null : null);
      const steps = (e) => median(e, 'decode_steps');
      const perStep = versus(median(shipped, 'decode_ms_per_step'), median(alt, 'decode_ms_per_step'), (x) => num(x, 0))
        + (steps(shipped) != null && steps(alt) != null && steps(shipped) !== steps(alt) ? ` (${num(steps(shipped), 0)} vs ${num(steps(alt), 0)} steps)` : '');
      let ratioCell;
      if (c.alternative_applied === false || c.shipped_applied === false) ratioCell = `**switch not in effect** (${c.alternative_applied === false ? 'alternative' : 'shipped'} run's report)`;
      else ratioCell = c.wall_ratio == null ? '—' : `${times(c.wall_ratio)} / ${times(c.decode_ratio)}`;
      rows.push([
        optionCell, dtype,
        shipped.complete ? range(shipped.wall_s) : unfinished(shipped, r.settings),
        alt?.complete ? range(alt.wall_s) : alt ? unfinished(alt, r.settings) : 'n/a',
        ratioCell,
        perStep,
        versus(median(shipped, 'load_s'), median(alt, 'load_s'), (x) => num(x)),
        versus(median(shipped, 'cpu_s'), median(alt, 'cpu_s'), (x) => num(x)),
        versus(rss(shipped), rss(alt), (x) => num(x / GB, 2)) + ' GB',
        c.greedy_tokens_identical_to_shipped ?? 'n/a',
      ]);
      for (const d of r.disclosures ?? []) if (d.startsWith(`${c.config} `) && !notes.includes(d)) notes.push(d);
    }
  }
  const w = used[0]?.result.workload;
  return [
    `Each alternative is the shipped configuration with one switch changed; both run the same workload through the CLI in the same results file, repetitions interleaved (shipped, alternatives, shipped, …). ${w ? `Workload ${workloadLine(w)}; batch ${w.batch_size}, ${used[0].result.settings.threads} threads; ` : ''}GroupQueryAttention graph, random Qwen3-0.6B-shaped weights. Wall s: median (min–max); the other columns: medians, shipped vs alternative (peak RSS: the largest). Ratios: the alternative's median ÷ the shipped one's, only when both finished every repetition.`,
    '',
    table(['option: **shipped** vs alternative', 'dtype', 'wall s, shipped', 'wall s, alternative', 'alternative ÷ shipped: wall / decode', 'decode ms/step', 'load s', 'CPU s', 'peak RSS', 'greedy tokens = shipped'], rows,
      ['---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
    ...used.map((e) => `\n${provenance(e.result, e.file)}`),
  ].join('\n');
}

function renderStructured(r) {
  const c = r.summary.constrained;
  const u = r.summary.unconstrained;
  const ms = (e, figure) => (e?.complete ? range(e[figure], 2, ' ms') : 'n/a');
  const rows = [
    ['decode step', c.complete ? range(c.decode_ms_per_step, 1, ' ms') : unfinished(c, r.settings), u.complete ? range(u.decode_ms_per_step, 1, ' ms') : unfinished(u, r.settings)],
    ['grammar bitmasks (overlap the step on the direct runtime)', ms(c, 'bitmask_ms_per_step'), '—'],
    ['applying the masks (between steps)', ms(c, 'apply_ms_per_step'), '—'],
    ['waiting for bitmasks the step did not hide', ms(c, 'wait_ms_per_step'), '—'],
    ['**critical path** (applying + waiting), share of the step', c.complete ? `${range(c.critical_ms_per_step, 2, ' ms')}, **${pct(c.critical_share?.median)}**` : 'n/a', '—'],
    ['all mask work, share of the step (if none of it overlapped)', c.complete ? `${range(c.mask_ms_per_step, 2, ' ms')}, ${pct(c.mask_share?.median)}` : 'n/a', '—'],
    ['compiling the grammars, once per run (+ tokenizer view)', c.complete ? `${range(c.compile_ms, 0, ' ms')} (+ ${range(c.tokenizer_info_ms, 0, ' ms')})` : 'n/a', '—'],
    ['wall (load included)', c.complete ? range(c.wall_s, 1, ' s') : 'n/a', u.complete ? range(u.wall_s, 1, ' s') : 'n/a'],
  ];
  const w = r.workload;
  const verdict = c.complete && c.critical_share ? (c.critical_share.median <= r.target_critical_share ? 'met' : '**not met**') : 'not measured';
  return [
    `Structured outputs, ${r.dtype}: ${w.requests} requests at batch ${w.batch_size}, ${w.max_tokens} tokens each (min_tokens = max_tokens), ${w.what}; per decode step, medians of the constrained runs (each figure against that run's own step).`,
    '',
    table(['per decode step', 'every row constrained', 'no constraint'], rows),
    '',
    `Constrained ÷ unconstrained decode step: ${times(r.step_ratio)}. Target (issue 20): the critical path ≤ ${pct(r.target_critical_share)} of the step — ${verdict}.`,
  ].join('\n');
}

const RENDERERS = { structured: renderStructured, compare: renderCompare, 'decode-step': renderDecodeStep, denormals: renderDenormals, 'batch-sweep': renderBatchSweep,
  shared: renderShared, 'prefill-rss': renderPrefillRss, 'decode-b1': renderDecodeB1 };

const QUICK_NOTE = '**Quick run (small model): plumbing only, not a measurement of the 0.6B shape.**\n\n';

/** The markdown of one results file: its table(s), then where it came from. */
function renderResult(result, { file }) {
  const quick = result.quick ? QUICK_NOTE : '';
  if (result.part === 'options') return `${quick}${renderOptionsTable([{ result, file }], [result.dtype], { measuredOnly: true })}`;
  const render = RENDERERS[result.part];
  if (!render) throw new Error(`no renderer for part ${result.part}`);
  return `${quick}${render(result)}\n\n${provenance(result, file)}`;
}

module.exports = { renderResult, renderOptionsTable, range, num };
