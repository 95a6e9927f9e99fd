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

/**
 * The weight dtypes the bench compares. Each names the ONNX graph file qwen-gen and transformers.js load (their
 * `--dtype` / `dtype`) and the GGUF tensor type llama.cpp runs on the same seed's weights.
 */
const DTYPES = Object.freeze({
  fp32: Object.freeze({ onnx: 'fp32', gguf: 'F32', label: 'fp32 (llama.cpp F32)' }),
  q8: Object.freeze({ onnx: 'q8', gguf: 'Q8_0', label: '8-bit (qwen-gen/transformers.js q8: MatMulInteger; llama.cpp Q8_0)' }),
  q4: Object.freeze({ onnx: 'q4', gguf: 'Q4_0', label: '4-bit (qwen-gen/transformers.js q4: MatMulNBits; llama.cpp Q4_0)' }),
});
const ONNX_VARIANTS = Object.freeze(['fp32', 'q4', 'q8']);

/** Graph kinds: GroupQueryAttention with fused rotary (like onnxruntime-genai's CPU exports) and plain ONNX ops. */
const ATTENTIONS = Object.freeze({
  gqa: Object.freeze({ attention: 'gqa', rotary: 'fused', label: 'GroupQueryAttention (fused rotary)' }),
  plain: Object.freeze({ attention: 'plain', label: 'plain ONNX ops' }),
});

function shapeName(shape) {
  return `h${shape.hiddenSize}-l${shape.layers}-a${shape.heads}x${shape.kvHeads}x${shape.headDim}-i${shape.intermediateSize}-v${shape.vocabSize}`;
}

/** $QWEN_GEN_BENCH_DIR, else ~/.cache/qwen-gen (one folder per shape and attention kind under it). */
function modelsRoot(explicit) {
  if (explicit) return path.resolve(explicit);
  if (process.env.QWEN_GEN_BENCH_DIR) return path.resolve(process.env.QWEN_GEN_BENCH_DIR);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'qwen-gen');
}

function modelDirName(shape, attention, builderVersion) {
  return `bench-${shapeName(shape)}-${attention}-s${MODEL_SEED}-v${builderVersion}`;
}

function readMarker(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The model folder of one shape and attention kind: onnx/model.onnx, model_q4.onnx, model_quantized.onnx (the builder's
 * fp32, q4 and q8 variants of the same weights), built once. With `gguf`, also gguf/model-<TYPE>.gguf for the listed
 * llama.cpp types, written from the same seed's float32 weights. The marker file is written last and records the exact
 * options, so an interrupted build or a folder built with other options is rebuilt rather than silently reused.
 */
async function ensureBenchModel({ shape, attention, root, gguf = [], log }) {
  const tiny = require('../dist/tinymodel');
  const dir = path.join(modelsRoot(root), modelDirName(shape, attention, tiny.TINY_BUILDER_VERSION));
  const options = { seed: MODEL_SEED, ...shape, ...withoutLabel(ATTENTIONS[attention]), variants: [...ONNX_VARIANTS] };
  const wanted = { builderVersion: tiny.TINY_BUILDER_VERSION, ...options };
  let marker = readMarker(dir);
  if (marker && JSON.stringify(marker.options) !== JSON.stringify(wanted)) {
    log(`model in ${dir} was built with other options; rebuilding`);
    marker = null;
  }
  let buildSeconds = 0;
  if (!marker) {
    fs.rmSync(path.join(dir, MARKER_FILE), { force: true });
    log(`building the ${shapeName(shape)} ${attention} model (fp32, q4, q8) in ${dir} (once; kept for later runs)`);
    const started = Date.now();
    const info = await tiny.buildTinyModel(dir, options);
    buildSeconds = (Date.now() - started) / 1000;
    marker = { options: wanted, info: { parameterCount: info.parameterCount, graphs: info.graphs.map((g) => ({ dtype: g.dtype, bytes: g.bytes })) }, gguf: {} };
    writeMarker(dir, marker);
  }
  marker.gguf ??= {};
  const missing = gguf.filter((type) => !marker.gguf[type] || !fs.existsSync(path.join(dir, marker.gguf[type].file)));
  if (missing.length > 0) {
    const { writeTinyModelGguf } = require('../dist/tinymodel/gguf');
    log(`writing GGUF ${missing.join(', ')} of the same weights into ${path.join(dir, 'gguf')}`);
    const started = Date.now();
    const written = await writeTinyModelGguf(dir, tiny.resolveTinyOptions(options), missing);
    buildSeconds += (Date.now() - started) / 1000;
    for (const file of written) marker.gguf[file.type] = { file: path.relative(dir, file.path), bytes: file.bytes };
    writeMarker(dir, marker);
  }
  return { dir, builtSeconds: buildSeconds, marker, options: tiny.resolveTinyOptions(options) };
}

function withoutLabel({ label, ...rest }) {
  return rest;
}

function writeMarker(dir, marker) {
  fs.writeFileSync(path.join(dir, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
}

/** The GGUF file of a dtype in a bench model folder. */
function ggufPath(model, dtype) {
  const entry = model.marker.gguf[DTYPES[dtype].gguf];
  if (!entry) throw new Error(`no ${DTYPES[dtype].gguf} GGUF in ${model.dir}`);
  return path.join(model.dir, entry.file);
}

/**
 * Bytes of weights one decode step reads for a dtype: the graph file and its external data (the tied embedding is read
 * whole as the lm_head; the builder keeps it float32 in every variant). The derived logits-gathering graph qwen-gen
 * writes beside it is not counted.
 */
function weightBytes(modelDir, dtype) {
  const { onnxFileForDtype } = require('../dist/dtypeFiles');
  const file = path.join(modelDir, onnxFileForDtype(DTYPES[dtype].onnx));
  return [file, `${file}_data`].filter((f) => fs.existsSync(f)).reduce((sum, f) => sum + fs.statSync(f).size, 0);
}

/** float32 KV-cache bytes per token of context (keys and values of every layer). */
function kvBytesPerToken(shape) {
  return shape.layers * 2 * shape.kvHeads * shape.headDim * 4;
}

module.exports = {
  FULL_SHAPE, QUICK_SHAPE, MODEL_SEED, DTYPES, ATTENTIONS, ensureBenchModel, ggufPath, weightBytes, kvBytesPerToken, shapeName, modelsRoot,
};
