import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { registerTinyModel } from '../../src/cli/commands/tinyModel';
import { UserError } from '../../src/errors';
import { DEFAULT_TINY_OPTIONS, buildTinyModel, ensureTinyModel, resolveTinyOptions, tinyModelCacheDir } from '../../src/tinymodel';
import { maxAbsDifference } from '../helpers/maxAbsDifference';
import { argmax, emptyPast, int64, logitsAt, presentAsPast } from '../helpers/ortStepping';
import { tempDir } from '../helpers/testModels';

/** Hugging Face config.json fields the reference implementation needs. */
interface Qwen3Config {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  intermediate_size: number;
  vocab_size: number;
  rope_theta: number;
  rms_norm_eps: number;
}

type Weights = Map<string, Float32Array>;

// Hot loops use local aliases: in jest's vm context each global lookup (`Math.abs`) is ~100x slower.
const { cos, exp, sin, sqrt, pow } = Math;
const PAD_ID = 151643;

let workDir: string;
let modelDir: string;
let config: Qwen3Config;
let weights: Weights;
let session: ort.InferenceSession;

beforeAll(async () => {
  workDir = tempDir('tiny');
  modelDir = path.join(workDir, 'default');
  await buildTinyModel(modelDir);
  config = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  weights = readWeights(path.join(modelDir, 'onnx', 'model.onnx'));
  session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'));
});

afterAll(async () => {
  await session?.release();
});

// ---------------------------------------------------------------------------------------------
// Reference Qwen3 forward pass: plain loops in float64, one token at a time with a KV cache,
// written from the architecture description (HF modeling_qwen3), not from the graph builder.
// ---------------------------------------------------------------------------------------------

function readWeights(onnxPath: string): Weights {
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxPath));
  const result: Weights = new Map();
  for (const tensor of model.graph?.initializer ?? []) {
    const name = tensor.name ?? '';
    if (!name.startsWith('model.')) continue;
    let bytes: Uint8Array;
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entry = (key: string) => String(tensor.externalData?.find((e) => e.key === key)?.value);
      const file = fs.readFileSync(path.join(path.dirname(onnxPath), entry('location')));
      bytes = file.subarray(Number(entry('offset')), Number(entry('offset')) + Number(entry('length')));
    } else {
      bytes = tensor.rawData ?? new Uint8Array(0);
    }
    const copy = new Uint8Array(bytes); // aligned copy
    result.set(name, new Float32Array(copy.buffer, 0, copy.length / 4));
  }
  return result;
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let sum = 0;
  for (const v of x) sum += v * v;
  const scale = 1 / sqrt(sum / x.length + eps);
  return x.map((v, i) => v * scale * weight[i]);
}

/** x @ W with W stored row-major [in, out]. */
function project(x: Float64Array, w: Float32Array, outDim: number): Float64Array {
  const out = new Float64Array(outDim);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    for (let j = 0; j < outDim; j++) out[j] += xi * w[i * outDim + j];
  }
  return out;
}

class ReferenceQwen3 {
  /** keys[layer][kvHead][position], after k_norm and rotary. */
  readonly keys: Float64Array[][][];
  readonly values: Float64Array[][][];

  constructor(private readonly w: Weights, private readonly c: Qwen3Config) {
    const perLayer = () => Array.from({ length: c.num_key_value_heads }, () => [] as Float64Array[]);
    this.keys = Array.from({ length: c.num_hidden_layers }, perLayer);
    this.values = Array.from({ length: c.num_hidden_layers }, perLayer);
  }

  /** Feeds tokens at positions start, start+1, ...; returns each token's logits. */
  feed(tokens: number[], start: number): Float64Array[] {
    return tokens.map((token, i) => this.step(token, start + i));
  }

  private step(token: number, position: number): Float64Array {
    const { w, c } = this;
    const H = c.hidden_size;
    const d = c.head_dim;
    const embedding = w.get('model.embed_tokens.weight')!;
    let x = Float64Array.from(embedding.subarray(token * H, (token + 1) * H));

    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const get = (name: string) => w.get(`${p}.${name}.weight`)!;
      const normed = rmsNorm(x, get('input_layernorm'), c.rms_norm_eps);
      const q = project(normed, get('self_attn.q_proj'), c.num_attention_heads * d);
      const k = project(normed, get('self_attn.k_proj'), c.num_key_value_heads * d);
      const v = project(normed, get('self_attn.v_proj'), c.num_key_value_heads * d);
      const headOf = (vec: Float64Array, h: number) => vec.slice(h * d, (h + 1) * d);
      const queries = Array.from({ length: c.num_attention_heads }, (_, h) =>
        this.rotary(rmsNorm(headOf(q, h), get('self_attn.q_norm'), c.rms_norm_eps), position),
      );
      for (let h = 0; h < c.num_key_value_heads; h++) {
        this.keys[l][h].push(this.rotary(rmsNorm(headOf(k, h), get('self_attn.k_norm'), c.rms_norm_eps), position));
        this.values[l][h].push(headOf(v, h));
      }

      const context = new Float64Array(c.num_attention_heads * d);
      const groupSize = c.num_attention_heads / c.num_key_value_heads;
      for (let h = 0; h < c.num_attention_heads; h++) {
        const keys = this.keys[l][Math.floor(h / groupSize)];
        const values = this.values[l][Math.floor(h / groupSize)];
        const scores = keys.map((key) => key.reduce((s, kv, i) => s + kv * queries[h][i], 0) / sqrt(d));
        const max = Math.max(...scores);
        const exps = scores.map((s) => exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        exps.forEach((e, j) => {
          for (let i = 0; i < d; i++) context[h * d + i] += (e / total) * values[j][i];
        });
      }
      const attention = project(context, get('self_attn.o_proj'), H);
      x = x.map((v, i) => v + attention[i]);

      const mlpIn = rmsNorm(x, get('post_attention_layernorm'), c.rms_norm_eps);
      const gate = project(mlpIn, get('mlp.gate_proj'), c.intermediate_size);
      const up = project(mlpIn, get('mlp.up_proj'), c.intermediate_size);
      const activated = gate.map((g, i) => (g / (1 + exp(-g))) * up[i]);
      const mlp = project(activated, get('mlp.down_proj'), H);
      x = x.map((v, i) => v + mlp[i]);
    }

    const final = rmsNorm(x, w.get('model.norm.weight')!, c.rms_norm_eps);
    const logits = new Float64Array(c.vocab_size);
    for (let t = 0; t < c.vocab_size; t++) {
      let s = 0;
      for (let i = 0; i < H; i++) s += final[i] * embedding[t * H + i];
      logits[t] = s;
    }
    return logits;
  }

  /** Rotate-half rotary: x*cos + cat(-x2, x1)*sin with inv_freq_i = theta^(-2i/d). */
  private rotary(x: Float64Array, position: number): Float64Array {
    const d = this.c.head_dim;
    const half = d / 2;
    const out = new Float64Array(d);
    for (let i = 0; i < half; i++) {
      const angle = position / pow(this.c.rope_theta, (2 * i) / d);
      out[i] = x[i] * cos(angle) - x[i + half] * sin(angle);
      out[i + half] = x[i + half] * cos(angle) + x[i] * sin(angle);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Running the ONNX graph
// ---------------------------------------------------------------------------------------------

/** The KV shape of a config, for the stepping helpers. */
const kvOf = (c: Qwen3Config) => ({ layers: c.num_hidden_layers, kvHeads: c.num_key_value_heads, headDim: c.head_dim });

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0) return false; // NaN and ±Infinity
  return true;
}

/** Left-padded batch with the mask and position_ids = max(cumsum(mask) - 1, 0). */
function leftPadded(rows: number[][]) {
  const width = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...Array(width - r.length).fill(PAD_ID), ...r]);
  const mask = rows.map((r) => [...Array(width - r.length).fill(0), ...Array(r.length).fill(1)]);
  const positions = rows.map((r) => [...Array(width - r.length).fill(0), ...r.map((_, i) => i)]);
  return { ids, mask, positions, width };
}

const PROMPT = [151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30, 151645, 198, 151644, 77091, 198];

// ---------------------------------------------------------------------------------------------

describe('tiny-model builder: files', () => {
  test('same seed gives a byte-identical model file, another seed a different one', async () => {
    const again = await buildTinyModel(path.join(workDir, 'again'));
    const otherSeed = await buildTinyModel(path.join(workDir, 'seed7'), { seed: 7 });
    const original = fs.readFileSync(path.join(modelDir, 'onnx', 'model.onnx'));
    expect(fs.readFileSync(again.onnxPath).equals(original)).toBe(true);
    expect(fs.readFileSync(otherSeed.onnxPath).equals(original)).toBe(false);
  });

  test('default model is small and the folder has the configs and the real tokenizer', () => {
    const onnxBytes = fs.statSync(path.join(modelDir, 'onnx', 'model.onnx')).size;
    expect(onnxBytes).toBeGreaterThan(15e6);
    expect(onnxBytes).toBeLessThan(25e6);
    expect(fs.existsSync(path.join(modelDir, 'onnx', 'model.onnx_data'))).toBe(false);

    expect(config).toMatchObject({
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      vocab_size: 151936,
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151645,
      torch_dtype: 'float32',
      max_position_embeddings: 4096,
      rope_theta: 1e6,
      rms_norm_eps: 1e-6,
      qwen_gen_tiny: { seed: DEFAULT_TINY_OPTIONS.seed },
    });
    const generation = JSON.parse(fs.readFileSync(path.join(modelDir, 'generation_config.json'), 'utf8'));
    expect(generation).toEqual({
      bos_token_id: 151643,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      do_sample: true,
      temperature: 0.6,
      top_k: 20,
      top_p: 0.95,
    });
    const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8'));
    expect(tokenizerConfig.eos_token).toBe('<|im_end|>');
    expect(tokenizerConfig.pad_token).toBe('<|endoftext|>');
    expect(fs.statSync(path.join(modelDir, 'tokenizer.json')).size).toBeGreaterThan(1e6);
  });

  test('the tied embedding is stored once', () => {
    expect(weights.get('model.embed_tokens.weight')!.length).toBe(151936 * config.hidden_size);
    const bigTensors = [...weights.values()].filter((t) => t.length >= 151936);
    expect(bigTensors).toHaveLength(1);
  });

  test('invalid shapes are rejected with a clear message', () => {
    expect(() => resolveTinyOptions({ heads: 4, kvHeads: 3 })).toThrow('heads (4) must be a multiple of kvHeads (3)');
    expect(() => resolveTinyOptions({ layers: 0 })).toThrow('layers must be a positive integer');
    expect(() => resolveTinyOptions({ headDim: 15 })).toThrow('headDim must be even');
    expect(() => resolveTinyOptions({ vocabSize: 1000 })).toThrow('vocabSize must be at least 151669');
  });
});

describe('tiny-model builder: ONNX graph', () => {
  test('inputs and outputs are named like the onnx-community Qwen3 exports', () => {
    const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => l);
    expect(session.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      ...layers.flatMap((l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]),
    ]);
    expect(session.outputNames).toEqual(['logits', ...layers.flatMap((l) => [`present.${l}.key`, `present.${l}.value`])]);
  });

  test('prefill from an empty past matches the reference forward pass within 1e-4', async () => {
    const prompt = PROMPT.slice(0, 9);
    const outputs = await session.run({
      input_ids: int64([prompt]),
      attention_mask: int64([prompt.map(() => 1)]),
      position_ids: int64([prompt.map((_, i) => i)]),
      ...emptyPast(kvOf(config), 1),
    });
    expect(outputs.logits.dims).toEqual([1, prompt.length, 151936]);
    expect(outputs['present.0.key'].dims).toEqual([1, config.num_key_value_heads, prompt.length, config.head_dim]);

    const reference = new ReferenceQwen3(weights, config);
    const expected = reference.feed(prompt, 0);
    for (let s = 0; s < prompt.length; s++) expect(maxAbsDifference(logitsAt(outputs, 0, s), expected[s])).toBeLessThan(1e-4);

    // The cache holds k after k_norm and rotary, kv head by kv head.
    const lastLayer = config.num_hidden_layers - 1;
    const presentKey = outputs[`present.${lastLayer}.key`].data as Float32Array;
    const expectedKey = reference.keys[lastLayer].flatMap((positions) => positions.flatMap((k) => [...k]));
    expect(maxAbsDifference(presentKey, expectedKey)).toBeLessThan(1e-4);
  });

  test('left-padded batch, prefill + 2 decode steps with the KV cache, matches the reference row by row', async () => {
    const rows = [PROMPT, PROMPT.slice(3, 8), [PROMPT[4]]];
    const batch = leftPadded(rows);
    let mask = batch.mask;
    let outputs = await session.run({
      input_ids: int64(batch.ids),
      attention_mask: int64(mask),
      position_ids: int64(batch.positions),
      ...emptyPast(kvOf(config), rows.length),
    });
    expect(allFinite(outputs.logits.data as Float32Array)).toBe(true); // fully masked pad rows do not NaN

    const references = rows.map(() => new ReferenceQwen3(weights, config));
    rows.forEach((row, b) => {
      const expected = references[b].feed(row, 0);
      const padding = batch.width - row.length;
      row.forEach((_, s) => expect(maxAbsDifference(logitsAt(outputs, b, padding + s), expected[s])).toBeLessThan(1e-4));
    });

    const lengths = rows.map((r) => r.length);
    for (let step = 0; step < 2; step++) {
      const next = rows.map((_, b) => argmax(logitsAt(outputs, b, outputs.logits.dims[1] - 1)));
      mask = mask.map((m) => [...m, 1]);
      outputs = await session.run({
        input_ids: int64(next.map((t) => [t])),
        attention_mask: int64(mask),
        position_ids: int64(lengths.map((n) => [n])),
        ...presentAsPast(outputs, config.num_hidden_layers),
      });
      expect(outputs['present.0.value'].dims[2]).toBe(batch.width + step + 1);
      next.forEach((token, b) => {
        const [expected] = references[b].feed([token], lengths[b]);
        expect(maxAbsDifference(logitsAt(outputs, b, 0), expected)).toBeLessThan(1e-4);
        lengths[b] += 1;
      });
    }
  });

  test('greedy decoding of a chat prompt gives varied tokens', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AutoTokenizer, env } = require('@huggingface/transformers');
    env.allowRemoteModels = false;
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
    const greedy = async (content: string) => {
      const encoded = tokenizer.apply_chat_template([{ role: 'user', content }], {
        add_generation_prompt: true,
        return_dict: true,
        return_tensor: false,
      });
      const prompt: number[] = encoded.input_ids;
      expect(prompt.slice(0, 3)).toEqual([151644, 872, 198]); // <|im_start|>user\n
      const generated: number[] = [];
      let outputs = await session.run({
        input_ids: int64([prompt]),
        attention_mask: int64([prompt.map(() => 1)]),
        position_ids: int64([prompt.map((_, i) => i)]),
        ...emptyPast(kvOf(config), 1),
      });
      for (let i = 0; i < 20; i++) {
        const token = argmax(logitsAt(outputs, 0, outputs.logits.dims[1] - 1));
        generated.push(token);
        const total = prompt.length + generated.length;
        outputs = await session.run({
          input_ids: int64([[token]]),
          attention_mask: int64([Array(total).fill(1)]),
          position_ids: int64([[total - 1]]),
          ...presentAsPast(outputs, config.num_hidden_layers),
        });
      }
      return generated;
    };
    const story = await greedy('Tell me a story about a dragon.');
    const sum = await greedy('What is 2+2?');
    expect(new Set(story).size).toBeGreaterThanOrEqual(12);
    expect(new Set(sum).size).toBeGreaterThanOrEqual(12);
    expect(story).not.toEqual(sum);
  });
});

describe('tiny-model builder: variants', () => {
  const prefillFeeds = (c: Qwen3Config, rows: number[][]) => {
    const batch = leftPadded(rows);
    return {
      input_ids: int64(batch.ids),
      attention_mask: int64(batch.mask),
      position_ids: int64(batch.positions),
      ...emptyPast(kvOf(c), rows.length),
    };
  };

  test('external data build loads and gives the same logits as the embedded build', async () => {
    const info = await buildTinyModel(path.join(workDir, 'external'), { externalDataThresholdBytes: 1_000_000 });
    expect(info.externalDataPath).toBe(path.join(workDir, 'external', 'onnx', 'model.onnx_data'));
    expect(fs.statSync(info.onnxPath).size).toBeLessThan(200_000);
    expect(fs.statSync(info.externalDataPath!).size).toBeGreaterThan(19e6);
    expect(info.bytes).toBe(fs.statSync(info.onnxPath).size + fs.statSync(info.externalDataPath!).size);
    const externalWeights = readWeights(info.onnxPath);
    expect(externalWeights.size).toBe(weights.size);
    for (const [name, values] of weights) expect(Buffer.from(externalWeights.get(name)!.buffer).equals(Buffer.from(values.buffer))).toBe(true);

    const external = await ort.InferenceSession.create(info.onnxPath);
    try {
      const feeds = prefillFeeds(config, [PROMPT, PROMPT.slice(0, 4)]);
      const [a, b] = [await session.run(feeds), await external.run(feeds)];
      expect(maxAbsDifference(a.logits.data as Float32Array, b.logits.data as Float32Array)).toBeLessThanOrEqual(1e-6);
    } finally {
      await external.release();
    }
  });

  test('num_logits_to_keep returns [B, k, V] equal to the last k positions of the full logits', async () => {
    const info = await buildTinyModel(path.join(workDir, 'keep'), { withLogitsToKeep: true });
    const keep = await ort.InferenceSession.create(info.onnxPath);
    try {
      expect(keep.inputNames).toContain('num_logits_to_keep');
      const feeds = prefillFeeds(config, [PROMPT.slice(0, 7), PROMPT.slice(0, 3)]);
      const full = await session.run(feeds);
      const k = 2;
      const kept = await keep.run({ ...feeds, num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), []) });
      expect(kept.logits.dims).toEqual([2, k, 151936]);
      for (let b = 0; b < 2; b++) {
        for (let s = 0; s < k; s++) expect(maxAbsDifference(logitsAt(kept, b, s), logitsAt(full, b, 7 - k + s))).toBeLessThanOrEqual(1e-5);
      }
      expect(maxAbsDifference(kept['present.1.key'].data as Float32Array, full['present.1.key'].data as Float32Array)).toBe(0);
    } finally {
      await keep.release();
    }
  });

  test('without attention_mask and position_ids inputs the graph derives causal positions itself', async () => {
    const info = await buildTinyModel(path.join(workDir, 'bare'), { withAttentionMask: false, withPositionIds: false });
    const bare = await ort.InferenceSession.create(info.onnxPath);
    try {
      expect(bare.inputNames.slice(0, 2)).toEqual(['input_ids', 'past_key_values.0.key']);
      const prompt = PROMPT.slice(0, 6);
      const full = await session.run(prefillFeeds(config, [prompt]));
      const derived = await bare.run({ input_ids: int64([prompt]), ...emptyPast(kvOf(config), 1) });
      expect(maxAbsDifference(derived.logits.data as Float32Array, full.logits.data as Float32Array)).toBeLessThanOrEqual(1e-5);

      const fullStep = await session.run({
        input_ids: int64([[PROMPT[6]]]),
        attention_mask: int64([Array(7).fill(1)]),
        position_ids: int64([[6]]),
        ...presentAsPast(full, config.num_hidden_layers),
      });
      const derivedStep = await bare.run({ input_ids: int64([[PROMPT[6]]]), ...presentAsPast(derived, config.num_hidden_layers) });
      expect(maxAbsDifference(derivedStep.logits.data as Float32Array, fullStep.logits.data as Float32Array)).toBeLessThanOrEqual(1e-5);
    } finally {
      await bare.release();
    }
  });
});

describe('tiny model cache', () => {
  test('cache directory precedence: QWEN_GEN_TINY_DIR, QWEN_GEN_CACHE, XDG_CACHE_HOME, ~/.cache', () => {
    const version = path.basename(tinyModelCacheDir({ QWEN_GEN_CACHE: '/c' }));
    expect(version).toMatch(/^tiny-v\d+$/);
    expect(tinyModelCacheDir({ QWEN_GEN_TINY_DIR: '/t', QWEN_GEN_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe(path.resolve('/t'));
    expect(tinyModelCacheDir({ QWEN_GEN_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe(path.join('/c', version));
    expect(tinyModelCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(path.join('/x', 'qwen-gen', version));
    expect(tinyModelCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'qwen-gen', version));
  });

  test('concurrent callers get one complete model and no leftovers', async () => {
    const cacheRoot = path.join(workDir, 'cache');
    const env = { QWEN_GEN_CACHE: cacheRoot };
    const [a, b] = await Promise.all([ensureTinyModel(env), ensureTinyModel(env)]);
    expect(a).toBe(b);
    expect(fs.readdirSync(cacheRoot)).toEqual([path.basename(a)]);
    const cached = fs.readFileSync(path.join(a, 'onnx', 'model.onnx'));
    expect(cached.equals(fs.readFileSync(path.join(modelDir, 'onnx', 'model.onnx')))).toBe(true);
    const mtime = fs.statSync(path.join(a, 'onnx', 'model.onnx')).mtimeMs;
    expect(await ensureTinyModel(env)).toBe(a); // second call reuses it
    expect(fs.statSync(path.join(a, 'onnx', 'model.onnx')).mtimeMs).toBe(mtime);
  });
});

describe('tiny-model CLI command', () => {
  const run = async (...args: string[]) => {
    const program = new Command().exitOverride();
    registerTinyModel(program);
    await program.parseAsync(['node', 'qwen-gen', 'tiny-model', ...args]);
  };

  test('builds the requested shape and reports one line on stderr', async () => {
    const dir = path.join(workDir, 'cli');
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await run(dir, '--seed', '3', '--layers', '1', '--heads', '2', '--kv-heads', '1', '--head-dim', '8', '--logits-to-keep');
      expect(stderr).toHaveBeenCalledTimes(1);
      expect(String(stderr.mock.calls[0][0])).toMatch(/^tiny-model: wrote .*cli \(\d+\.\d MB\) in \d+\.\d s\n$/);
    } finally {
      stderr.mockRestore();
    }
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(written).toMatchObject({ num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8 });
    expect(written.qwen_gen_tiny).toMatchObject({ seed: 3, withLogitsToKeep: true });
  });

  test('rejects bad numbers with a UserError naming the flag', async () => {
    const dir = path.join(workDir, 'cli-bad');
    await expect(run(dir, '--layers', '0')).rejects.toThrow(new UserError('--layers must be a positive integer (got "0")'));
    await expect(run(dir, '--hidden-size', '3.5')).rejects.toThrow(UserError);
    await expect(run(dir, '--heads', '4', '--kv-heads', '3')).rejects.toThrow('--heads (4) must be a multiple of --kv-heads (3)');
    expect(fs.existsSync(dir)).toBe(false);
  });
});
