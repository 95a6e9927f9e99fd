'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

/** Qwen3-0.6B's dimensions (random weights): the same compute per token as the real model. */
const FULL_SHAPE = Object.freeze({
  hiddenSize: 1024, layers: 28, heads: 16, kvHeads: 8, headDim: 128, intermediateSize: 3072,
  vocabSize: 151936, maxPositionEmbeddings: 40960,
});

/** A small body with the real vocabulary, so the lm_head/logits costs keep their real per-token size. */
const QUICK_SHAPE = Object.freeze({
  hiddenSize: 256, layers: 4, heads: 4, kvHeads: 2, headDim: 64, intermediateSize: 768,
  vocabSize: 151936, maxPositionEmbeddings: 4096,
});

const MODEL_SEED = 1234;
const MARKER_FILE = 'bench-model.json';

/** Graph variants the bench measures: the attention kind (real CPU fp32 exports are GroupQueryAttention) and q4 weights. */
const VARIANTS = Object.freeze({
  plain: Object.freeze({ attention: 'plain' }),
  gqa: Object.freeze({ attention: 'gqa', rotary: 'fused' }),
  'gqa-q4': Object.freeze({ attention: 'gqa', rotary: 'fused', quantize: 'q4' }),
});

/** The transformers.js dtype (graph file) of a variant: `model_q4.onnx` for q4 weights, else `model.onnx`. */
function variantDtype(variant) {
  return VARIANTS[variant].quantize ?? 'fp32';
}

function shapeName(shape, variant = 'plain') {
  const base = `h${shape.hiddenSize}-l${shape.layers}-a${shape.heads}x${shape.kvHeads}x${shape.headDim}-i${shape.intermediateSize}-v${shape.vocabSize}`;
  return variant === 'plain' ? base : `${base}-${variant}`;
}

/** --model-dir, else $QWEN_GEN_BENCH_DIR, else ~/.cache/qwen-gen/bench-<shape>-v<builder version>. */
function defaultModelDir(shape, builderVersion, explicit, variant) {
  if (explicit) return path.resolve(explicit);
  const base = process.env.QWEN_GEN_BENCH_DIR
    ? path.resolve(process.env.QWEN_GEN_BENCH_DIR)
    : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'qwen-gen');
  return path.join(base, `bench-${shapeName(shape, variant)}-v${builderVersion}`);
}

/**
 * Returns the model folder for `shape`, building it once. The marker file is written last and records the exact
 * options, so an interrupted build or a folder built with other options is rebuilt rather than silently reused.
 */
async function ensureBenchModel(shape, explicitDir, log, variant = 'plain') {
  const tiny = require('../dist/tinymodel');
  const dir = defaultModelDir(shape, tiny.TINY_BUILDER_VERSION, explicitDir, variant);
  const options = variant === 'plain' ? {} : VARIANTS[variant];
  const wanted = { builderVersion: tiny.TINY_BUILDER_VERSION, seed: MODEL_SEED, ...shape, ...options };
  const markerPath = path.join(dir, MARKER_FILE);
  if (fs.existsSync(markerPath)) {
    const marker = JSON.parse(fs.readFileSync(markerPath, 'utf8'));
    if (JSON.stringify(marker.options) === JSON.stringify(wanted)) return { dir, built: false, buildSeconds: 0, ...marker.info };
    log(`model in ${dir} was built with other options; rebuilding`);
  }
  fs.rmSync(markerPath, { force: true });
  log(`building the ${shapeName(shape, variant)} random model in ${dir} (once; cached for later runs)`);
  const started = Date.now();
  const info = await tiny.buildTinyModel(dir, { seed: MODEL_SEED, ...shape, ...options });
  const buildSeconds = (Date.now() - started) / 1000;
  const summary = { bytes: info.bytes, parameterCount: info.parameterCount, external: Boolean(info.externalDataPath) };
  fs.writeFileSync(markerPath, JSON.stringify({ options: wanted, info: summary }, null, 2) + '\n');
  return { dir, built: true, buildSeconds, ...summary };
}

/**
 * Weight bytes one decode step must read (the tied embedding is read whole as the lm_head). float32 unless the variant
 * is quantized, where the model's files are measured instead.
 */
function weightBytes(shape, variant = 'plain', dir = null) {
  if (variant !== 'plain' && VARIANTS[variant].quantize && dir) {
    const onnxDir = path.join(dir, 'onnx');
    // The graph file and its external data; the derived logits-gathering graph qwen-gen writes beside it is not counted.
    return fs.readdirSync(onnxDir).filter((f) => /^model_q4\.onnx(_data)?$/.test(f)).reduce((sum, f) => sum + fs.statSync(path.join(onnxDir, f)).size, 0);
  }
  const { qwen3WeightSpecs, totalWeightBytes } = require('../dist/tinymodel/qwen3Weights');
  const { resolveTinyOptions } = require('../dist/tinymodel');
  return totalWeightBytes(qwen3WeightSpecs(resolveTinyOptions({ seed: MODEL_SEED, ...shape })));
}

/** float32 KV-cache bytes per token of context (keys and values of every layer). */
function kvBytesPerToken(shape) {
  return shape.layers * 2 * shape.kvHeads * shape.headDim * 4;
}

module.exports = { FULL_SHAPE, QUICK_SHAPE, VARIANTS, variantDtype, ensureBenchModel, weightBytes, kvBytesPerToken, shapeName };
