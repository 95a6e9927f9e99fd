'use strict';
// The session options and derived-graph rewrites qwen-gen ships, each with the alternative the bench's `options` part
// measures it against and the switch that selects that alternative (src/runtime/sessionOptions.ts,
// src/model/derivedGraph.ts), and the rule that turns two configurations' runs into a comparison. No model or build
// needed: bench/run.js, bench/parts/options.js, bench/plan.js and the tables (bench/tables.js) read it.
const { ratio } = require('./summary');
const { tokenAgreement } = require('./figures');

/** Every variable that changes what qwen-gen's session or derived graph is: cleared for every configuration, so the
 * shipped one is the default and each alternative differs from it by its own switch only. */
const SWITCH_VARIABLES = Object.freeze(['QWEN_GEN_PREPACKING', 'QWEN_GEN_SPINNING', 'QWEN_GEN_ACCURACY_LEVEL', 'QWEN_GEN_ROW_QUANT',
  'QWEN_GEN_QUANTIZED_LM_HEAD', 'QWEN_GEN_SIGNED_WEIGHTS', 'QWEN_GEN_DENORMAL_AS_ZERO', 'QWEN_GEN_SESSION_CONFIG', 'QWEN_GEN_PROFILE', 'QWEN_GEN_RUNTIME']);

const rewritesOf = (report) => (report?.model?.derived_graph?.rewrites ?? []).map((r) => r.name);
const sessionOf = (report) => report?.model?.runtime?.session_options ?? null;

/**
 * The options, in table order. `config` names the alternative configuration (its engine key in the results), `env` its
 * switch, `dtypes` the files it applies to, `derived` whether it changes the derived graph (such a configuration runs
 * from its own folder of hard links to the model files, so each keeps its own derived graph on disk), `applied(report)`
 * whether the run's report shows the alternative in effect and `shippedApplied(report)` the shipped setting.
 */
const OPTIONS = Object.freeze({
  prepacking: {
    config: 'prepacking-off', dtypes: ['fp32', 'q8', 'q4'], env: { QWEN_GEN_PREPACKING: '0' }, derived: false,
    label: 'prepacking', shipped: 'on', alternative: 'off',
    applied: (r) => sessionOf(r)?.prepacking === false, shippedApplied: (r) => sessionOf(r)?.prepacking === true,
  },
  spinning: {
    config: 'spinning-on', dtypes: ['fp32', 'q8', 'q4'], env: { QWEN_GEN_SPINNING: '1' }, derived: false,
    label: 'intra-op spinning', shipped: 'off', alternative: 'on',
    applied: (r) => sessionOf(r)?.intra_op_spinning === true, shippedApplied: (r) => sessionOf(r)?.intra_op_spinning === false,
  },
  'accuracy-level': {
    config: 'accuracy-level-0', dtypes: ['q4'], env: { QWEN_GEN_ACCURACY_LEVEL: '0' }, derived: true,
    label: 'MatMulNBits accuracy level', shipped: '4 (int8 compute)', alternative: '0 (the file\'s: float32 compute)',
    applied: (r) => r != null && !rewritesOf(r).includes('matmulnbits_accuracy_level'), shippedApplied: (r) => rewritesOf(r).includes('matmulnbits_accuracy_level'),
  },
  'row-quant': {
    config: 'row-quant-off', dtypes: ['q8'], env: { QWEN_GEN_ROW_QUANT: '0' }, derived: true,
    label: 'activation quantization', shipped: 'one scale per row, batched', alternative: 'the file\'s one scale per batch (run at batch size 1)',
    applied: (r) => r != null && !rewritesOf(r).includes('row_wise_activation_quantization'), shippedApplied: (r) => rewritesOf(r).includes('row_wise_activation_quantization'),
  },
  'lm-head': {
    config: 'lm-head-float', dtypes: ['q8', 'q4'], env: { QWEN_GEN_QUANTIZED_LM_HEAD: '0' }, derived: true,
    label: 'lm_head', shipped: '8-bit MatMulNBits', alternative: 'the float tied embedding (Gemm)',
    applied: (r) => r != null && !rewritesOf(r).includes('quantized_lm_head'), shippedApplied: (r) => rewritesOf(r).includes('quantized_lm_head'),
  },
  'signed-weights': {
    config: 'signed-weights-off', dtypes: ['q8'], env: { QWEN_GEN_SIGNED_WEIGHTS: '0' }, derived: true,
    label: 'uint8 MatMulInteger weights', shipped: 'int8 copies (uint8 × int8, VNNI)', alternative: 'the file\'s uint8 (uint8 × uint8)',
    applied: (r) => r != null && !rewritesOf(r).includes('signed_8bit_weights'), shippedApplied: (r) => rewritesOf(r).includes('signed_8bit_weights'),
  },
});
const OPTION_NAMES = Object.freeze(Object.keys(OPTIONS));

/** The options of `wanted` (default: all) that apply to a dtype, in table order. */
function optionsFor(dtype, wanted = OPTION_NAMES) {
  return OPTION_NAMES.filter((name) => wanted.includes(name) && OPTIONS[name].dtypes.includes(dtype));
}

/** The environment of a configuration: every switch cleared (undefined removes it from the child), then its own. */
function configEnv(option) {
  return { ...Object.fromEntries(SWITCH_VARIABLES.map((k) => [k, undefined])), ...(option ? OPTIONS[option].env : {}) };
}

/**
 * One option's comparison inside a results file: the alternative's median ÷ the shipped one's for each figure — only
 * when both finished every repetition AND each run's report shows the setting it is labelled with (a switch that did
 * not take effect must not pass for a measurement of it) — and the greedy-token agreement of their last finished runs.
 * `shipped` and `alternative` are { report, outputs } of those runs (or null).
 */
function optionComparison(name, summary, shipped, alternative) {
  const o = OPTIONS[name];
  const applied = alternative?.report ? o.applied(alternative.report) : null;
  const shippedApplied = shipped?.report ? o.shippedApplied(shipped.report) : null;
  const valid = applied === true && shippedApplied === true;
  const r = (figure) => (valid ? ratio(summary, o.config, 'shipped', figure) : null);
  const agree = shipped?.outputs && alternative?.outputs ? tokenAgreement(alternative.outputs, shipped.outputs) : null;
  return {
    option: name, config: o.config, label: o.label, shipped: o.shipped, alternative: o.alternative,
    switch: Object.entries(o.env).map(([k, v]) => `${k}=${v}`).join(' '),
    alternative_applied: applied, shipped_applied: shippedApplied,
    wall_ratio: r('wall_s'), decode_ratio: r('decode_s'), decode_ms_per_step_ratio: r('decode_ms_per_step'), cpu_ratio: r('cpu_s'),
    load_ratio: r('load_s'), prefill_ratio: r('prefill_s'),
    greedy_tokens_identical_to_shipped: agree ? `${agree.identical}/${agree.compared}` : null,
    first_difference_positions: agree?.first_difference_positions ?? null,
  };
}

module.exports = { OPTIONS, OPTION_NAMES, SWITCH_VARIABLES, optionsFor, configEnv, rewritesOf, sessionOf, optionComparison };
