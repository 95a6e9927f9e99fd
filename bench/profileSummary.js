#!/usr/bin/env node
'use strict';
// Where a step's time goes, from onnxruntime's profiler trace (QWEN_GEN_PROFILE=PREFIX writes PREFIX_<date>.json when
// the session is released):
//   QWEN_GEN_PROFILE=/tmp/q4 node bench/decodeStepProbe.js --model-dir DIR --dtype q4 --runtime direct --out /tmp/p.json
//   node bench/profileSummary.js /tmp/q4_*.json [--json]
// Runs are split into decode (input_ids [B, 1]) and prefill; node times are summed per category: the weight matmuls,
// the vocabulary projection (lm_head: the matmul whose weight is over 100 MB, or a node of the derived graph's head),
// attention, activation quantization, and every other op type. "outside nodes" is the run's time not spent in a node.
const fs = require('fs');

function category(event) {
  const op = event.args.op_name;
  const weightBytes = Number(event.args.parameter_size || 0);
  const matmul = /MatMul|Gemm/.test(op);
  if (matmul && (weightBytes > 100e6 || /lm_head|qwen_gen_gather/.test(event.name))) return `lm_head ${op}`;
  if (matmul) return `weights ${op}`;
  if (/Attention/.test(op)) return `attention ${op}`;
  return op;
}

function summarize(events) {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const nodes = events.filter((e) => e.cat === 'Node').sort((a, b) => a.ts - b.ts);
  const kinds = {};
  let next = 0;
  for (const run of runs) {
    while (next < nodes.length && nodes[next].ts < run.ts) next++;
    const inRun = [];
    while (next < nodes.length && nodes[next].ts <= run.ts + run.dur) inRun.push(nodes[next++]);
    if (inRun.length === 0) continue;
    const embedding = inRun.find((e) => e.args.op_name === 'Gather' && Number(e.args.parameter_size) > 1e6);
    const idsShape = embedding ? embedding.args.input_type_shape[1].int64 : [];
    const kind = idsShape[1] === 1 ? 'decode' : 'prefill';
    const k = (kinds[kind] ??= { runs: 0, runMs: 0, byCategory: {} });
    k.runs++;
    k.runMs += run.dur / 1000;
    for (const e of inRun) k.byCategory[category(e)] = (k.byCategory[category(e)] ?? 0) + e.dur / 1000;
  }
  const out = {};
  for (const [kind, k] of Object.entries(kinds)) {
    const perRun = (ms) => +(ms / k.runs).toFixed(1);
    const nodeMs = Object.values(k.byCategory).reduce((a, b) => a + b, 0);
    out[kind] = {
      runs: k.runs,
      run_ms: perRun(k.runMs),
      outside_nodes_ms: perRun(k.runMs - nodeMs),
      categories: Object.fromEntries(Object.entries(k.byCategory).sort((a, b) => b[1] - a[1]).map(([c, ms]) => [c, perRun(ms)])),
    };
  }
  return out;
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/profileSummary.js TRACE.json [--json]\n');
    process.exit(2);
  }
  const summary = summarize(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    for (const [kind, s] of Object.entries(summary)) {
      process.stdout.write(`${kind}: ${s.runs} runs, ${s.run_ms} ms per run (${s.outside_nodes_ms} ms outside nodes)\n`);
      for (const [c, ms] of Object.entries(s.categories).slice(0, 12)) {
        process.stdout.write(`  ${c.padEnd(40)} ${String(ms).padStart(9)} ms  ${((100 * ms) / s.run_ms).toFixed(1).padStart(5)} %\n`);
      }
    }
  }
}

module.exports = { summarize };
