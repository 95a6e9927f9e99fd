#!/usr/bin/env node
'use strict';
// Two layouts of a q4 graph's weight kernels that a derived graph could use, timed against the shipped one on the
// Qwen3-0.6B shape (28 layers of q/k/v/o and gate/up/down projections, attention and norms left out):
//   node bench/matMulNBitsProbe.js --rows 8,1200 --threads 2 [--variants s4,f4,s8,f8] [--layers 28]
// s = separate MatMulNBits per projection (as exported), f = q/k/v and gate/up fused into one node each (weights
// concatenated along N, then Split: the same arithmetic per output column); 4 / 8 = bits (8 = the 4-bit values widened
// to 8 bits, zero point 128: the same dequantized weights). Every node runs with accuracy_level 4 (qwen-gen's derived
// graph). Random weights and inputs; variants interleaved, median of the runs. 8 rows ≈ a decode step at batch 8;
// 1200 rows ≈ a prefill chunk. Results on stdout as JSON lines.
const { Command } = require('commander');
const { createRandom } = require('./prng');

const opts = new Command()
  .option('--rows <list>', 'activation rows per run', '8,1200')
  .option('--variants <list>', 's4, f4, s8, f8', 's4,f4,s8,f8')
  .option('--layers <n>', 'layers', Number, 28)
  .option('--threads <n>', 'intra-op threads', Number, 2)
  .parse(process.argv)
  .opts();

const HIDDEN = 1024;
const Q = 2048;
const KV = 1024;
const INTERMEDIATE = 3072;
const BLOCK = 32;

function buildGraph(fused, bits, layers, next) {
  const { OnnxGraphBuilder, DataType } = require('../dist/tinymodel/onnxGraphBuilder');
  const b = new OnnxGraphBuilder();
  b.useDomain('com.microsoft', 1);
  const weight = (name, k, n) => {
    const blocks = k / BLOCK;
    const bytes = new Uint8Array((n * blocks * BLOCK * bits) / 8);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (next() * 256) | 0;
    const scales = new Float32Array(n * blocks);
    for (let i = 0; i < scales.length; i++) scales[i] = 0.0005 + next() * 0.001;
    b.addInitializer({ name, dims: [n, blocks, (BLOCK * bits) / 8], dataType: DataType.UINT8, rawData: bytes });
    b.addInitializer({ name: `${name}_scales`, dims: [n * blocks], dataType: DataType.FLOAT, rawData: new Uint8Array(scales.buffer) });
    return name;
  };
  const linear = (x, name, k, n) =>
    b.opMulti('MatMulNBits', [x, weight(name, k, n), `${name}_scales`], 1, { K: k, N: n, bits, block_size: BLOCK, accuracy_level: 4 }, undefined, 'com.microsoft')[0];
  let x = b.addInput('x', DataType.FLOAT, ['rows', HIDDEN]);
  for (let l = 0; l < layers; l++) {
    let q, k, v, gate, up;
    if (fused) [q, k, v] = b.opMulti('Split', [linear(x, `qkv${l}`, HIDDEN, Q + 2 * KV), b.int64([Q, KV, KV])], 3, { axis: 1 });
    else [q, k, v] = [linear(x, `q${l}`, HIDDEN, Q), linear(x, `k${l}`, HIDDEN, KV), linear(x, `v${l}`, HIDDEN, KV)];
    const hidden = b.op('Add', [b.op('Add', [x, linear(q, `o${l}`, Q, HIDDEN)]), b.op('Add', [k, v])]);
    if (fused) [gate, up] = b.opMulti('Split', [linear(hidden, `gu${l}`, HIDDEN, 2 * INTERMEDIATE), b.int64([INTERMEDIATE, INTERMEDIATE])], 2, { axis: 1 });
    else [gate, up] = [linear(hidden, `gate${l}`, HIDDEN, INTERMEDIATE), linear(hidden, `up${l}`, HIDDEN, INTERMEDIATE)];
    const down = linear(b.op('Mul', [gate, up]), `down${l}`, INTERMEDIATE, HIDDEN);
    x = b.op('Mul', [b.op('Add', [hidden, down]), b.float([0.5], [])]);
  }
  b.addOutput(x, DataType.FLOAT, ['rows', HIDDEN]);
  return Buffer.from(b.encode('qwen-gen matMulNBitsProbe'));
}

(async () => {
  const ort = require('onnxruntime-node');
  const { next } = createRandom(7);
  const variants = opts.variants.split(',');
  const sessions = {};
  for (const variant of variants) {
    if (!/^[sf][48]$/.test(variant)) throw new Error(`unknown variant ${variant} (s4, f4, s8, f8)`);
    sessions[variant] = await ort.InferenceSession.create(buildGraph(variant[0] === 'f', Number(variant[1]), opts.layers, next), {
      intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential', extra: { 'session.intra_op.allow_spinning': '0' },
    });
  }
  const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
  for (const rows of opts.rows.split(',').map(Number)) {
    const x = new ort.Tensor('float32', Float32Array.from({ length: rows * HIDDEN }, () => next() - 0.5), [rows, HIDDEN]);
    const repetitions = rows <= 64 ? 30 : 5;
    const times = Object.fromEntries(variants.map((v) => [v, []]));
    for (const variant of variants) await sessions[variant].run({ x }); // warm-up
    for (let i = 0; i < repetitions; i++) {
      for (const variant of variants) {
        const started = process.hrtime.bigint();
        await sessions[variant].run({ x });
        times[variant].push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    const base = median(times[variants[0]]);
    for (const variant of variants) {
      const ms = median(times[variant]);
      console.log(JSON.stringify({ rows, variant, layers: opts.layers, threads: opts.threads, median_ms: +ms.toFixed(2), vs_first: +(ms / base).toFixed(3), runs: repetitions }));
    }
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
