'use strict';

/** Requests whose generated tokens are identical in two runs (greedy, same model file), keyed by request id. */
function tokenAgreement(outputsA, outputsB) {
  const byId = new Map(outputsB.map((o) => [o.id, o.tokens]));
  let identical = 0;
  const firstDifferences = [];
  for (const a of outputsA) {
    const b = byId.get(a.id);
    if (!b) continue;
    const length = Math.max(a.tokens.length, b.length);
    let i = 0;
    while (i < length && a.tokens[i] === b[i]) i++;
    if (i === length) identical++;
    else firstDifferences.push(i);
  }
  return { identical, compared: outputsA.length, first_difference_positions: firstDifferences };
}

/** Throws unless every request came back with its own prompt length and exactly its max_tokens new tokens. */
function checkOutputs(label, requests, outputs) {
  const byId = new Map(outputs.map((o) => [o.id, o]));
  for (const request of requests) {
    const output = byId.get(request.id);
    if (!output) throw new Error(`${label}: no output for ${request.id}`);
    if (output.promptTokens !== request.promptTokens) {
      throw new Error(`${label}: ${request.id} ran with ${output.promptTokens} prompt tokens, the workload says ${request.promptTokens}`);
    }
    if (output.tokens.length !== request.maxTokens) {
      throw new Error(`${label}: ${request.id} generated ${output.tokens.length} tokens, expected max_tokens = ${request.maxTokens}`);
    }
  }
}

/** Positions a request really needs: its prompt, then one per generated token except the last (never fed back). */
function realPositions(requests) {
  return requests.reduce((sum, r) => sum + r.promptTokens + r.maxTokens - 1, 0);
}

const GB = 1e9;
const fmt = {
  s: (x) => (x == null ? 'n/a' : x.toFixed(1)),
  rate: (x) => (x == null ? 'n/a' : x.toFixed(2)),
  ratio: (x) => (x == null ? 'n/a' : `${x.toFixed(2)}×`),
  pct: (x) => (x == null ? 'n/a' : `${(100 * x).toFixed(1)} %`),
  gb: (x) => (x == null ? 'n/a' : `${(x / GB).toFixed(2)} GB`),
};

function pad(text, width, right = false) {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

/** The side-by-side table and the decode/roofline lines, as printed. */
function formatTable(result) {
  const w = result.workload;
  const lines = [];
  lines.push(`qwen-gen benchmark — ${w.name}: ${w.requests} requests, prompt tokens ${w.prompt_tokens.min}..${w.prompt_tokens.max} ` +
    `(mean ${w.prompt_tokens.mean.toFixed(0)}), max_tokens ${w.max_tokens.min}..${w.max_tokens.max}, ${w.max_tokens.total} useful generated tokens, EOS ignored, seed ${w.seed}`);
  const m = result.model;
  lines.push(`model: ${m.shape_name}, ${(m.parameter_count / 1e6).toFixed(0)} M params fp32 (${fmt.gb(m.weight_bytes)}), ` +
    `${m.external_data ? 'external data, ' : ''}random weights, ${m.attention}, ${m.dtype}; batch cap ${result.batch_size}, threads ${result.threads}`);
  if (result.runtime) lines.push(`qwen-gen runtime: ${result.runtime.name} (onnxruntime ${result.runtime.onnxruntime_version}): ${result.runtime.kv_handling}`);
  lines.push('');
  const header = [pad('run', 34), pad('wall s', 8, true), pad('useful tok/s', 13, true), pad('qwen-gen ×', 11, true),
    pad('useful-token frac', 18, true), pad('peak RSS', 10, true)].join('  ');
  lines.push(header);
  lines.push('-'.repeat(header.length));
  for (const run of result.runs) {
    lines.push([pad(run.label, 34), pad(fmt.s(run.wall_seconds), 8, true), pad(fmt.rate(run.useful_tokens_per_second), 13, true),
      pad(run.key === 'qwen_gen' ? '1.00×' : fmt.ratio(run.qwen_gen_speedup), 11, true),
      pad(fmt.pct(run.useful_token_fraction), 18, true), pad(fmt.gb(run.peak_rss_bytes), 10, true)].join('  '));
  }
  lines.push('');
  const d = result.decode_batch1;
  if (d) {
    lines.push(`decode at batch 1 (qwen-gen, ${d.steps} steps timed from outside): ${fmt.rate(d.tokens_per_second)} tok/s; roofline ` +
      `${fmt.rate(d.roofline_tokens_per_second)} tok/s = ${(result.bandwidth.roofline_bytes_per_s / GB).toFixed(1)} GB/s measured read bandwidth / ` +
      `${(d.bytes_per_step / 1e6).toFixed(0)} MB per step → ${fmt.pct(result.roofline_fraction)} of roofline`);
    lines.push(`  bandwidth (memchr over ${fmt.gb(result.bandwidth.buffer_bytes)}): 1 thread ${(result.bandwidth.single_thread_bytes_per_s / GB).toFixed(1)} GB/s, ` +
      `${result.bandwidth.threads} threads ${(result.bandwidth.all_threads_bytes_per_s / GB).toFixed(1)} GB/s (the higher is used)`);
  }
  const ds = result.decode_step;
  if (ds) {
    lines.push(`decode step at batch ${ds.batch} with ${ds.context} cached tokens (real loop, median; floor = weights + KV ` +
      `${(ds.floor_bytes / 1e6).toFixed(0)} MB / measured bandwidth = ${ds.floor_ms.toFixed(0)} ms):`);
    for (const [name, r] of Object.entries(ds.runtimes)) {
      lines.push(`  ${pad(name, 17)} loop iteration ${pad(r.iteration_ms_median.toFixed(0), 6, true)} ms (run ${r.step_ms_median.toFixed(0)} ms) = ` +
        `${r.floor_ratio.toFixed(2)}× the floor; KV memory allocated ${fmt.gb(r.kv_bytes_allocated)}`);
    }
  }
  if (result.batch_sweep) {
    lines.push(`batch cap sweep (qwen-gen on ${w.name}): ` + result.batch_sweep.map((b) =>
      `${b.batch_size}: ${fmt.rate(b.useful_tokens_per_second)} tok/s (${fmt.s(b.wall_seconds)} s, ${fmt.gb(b.peak_rss_bytes)})`).join('; '));
  }
  const p = result.prefill_rss;
  if (p) {
    lines.push(`prefill ${p.rows} × ${p.prompt_tokens} tokens (qwen-gen, one batch): peak RSS ${fmt.gb(p.peak_rss_bytes)}; bound weights ` +
      `${fmt.gb(p.weight_bytes)} + KV ${fmt.gb(p.kv_bytes)} + 1 GB = ${fmt.gb(p.bound_bytes)}`);
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  if (result.targets.length > 0) {
    lines.push('targets (issues 6 and 12):');
    for (const t of result.targets) lines.push(`  ${t.met == null ? '?  ' : t.met ? 'met' : 'GAP'}  ${t.what}: ${t.reached}`);
  }
  return lines.join('\n');
}

module.exports = { tokenAgreement, checkOutputs, realPositions, formatTable, fmt };
