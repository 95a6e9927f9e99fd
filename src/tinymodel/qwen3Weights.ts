import { SeededRandom, deriveSeed } from './seededRandom';
import { TinyModelOptions } from './tinyModelOptions';

/**
 * The weight tensors of a Qwen3 decoder, independent of how a graph lays them out.
 * Names follow Hugging Face's; projection matrices are stored [in, out] (transposed
 * relative to PyTorch's Linear) so the graph multiplies `x @ W` directly.
 */
export const qwen3WeightNames = {
  embedTokens: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  layer(i: number) {
    const p = `model.layers.${i}`;
    return {
      inputNorm: `${p}.input_layernorm.weight`,
      qProj: `${p}.self_attn.q_proj.weight`,
      kProj: `${p}.self_attn.k_proj.weight`,
      vProj: `${p}.self_attn.v_proj.weight`,
      oProj: `${p}.self_attn.o_proj.weight`,
      qNorm: `${p}.self_attn.q_norm.weight`,
      kNorm: `${p}.self_attn.k_norm.weight`,
      postAttentionNorm: `${p}.post_attention_layernorm.weight`,
      gateProj: `${p}.mlp.gate_proj.weight`,
      upProj: `${p}.mlp.up_proj.weight`,
      downProj: `${p}.mlp.down_proj.weight`,
    };
  },
};

export interface WeightSpec {
  name: string;
  /** Projections are [in, out] matrices multiplied as `x @ W` (the ones quantized graphs quantize). */
  kind: 'embedding' | 'norm' | 'projection';
  dims: number[];
  /** Values are uniform with this mean and standard deviation. */
  mean: number;
  std: number;
}

/**
 * Init scales, chosen so greedy decoding gives varied tokens. HF's 0.02 init with tied embeddings
 * repeats one token: the residual stream stays close to the input token's own embedding. Here
 * projections are 1/sqrt(fan_in), the embedding is small next to the layer outputs, and q_norm/k_norm
 * weights around 2.5 (trained Qwen3 models also have large ones) make attention sharp enough that
 * the context, not a few "hub" tokens, decides the next token. Measured over seeds 1..8 and two chat
 * prompts: 19-20 distinct ids in 20 greedy tokens (with norms of 1 and embedding std 0.1: as few as 3).
 */
const EMBEDDING_STD = 0.15;
const NORM_WEIGHT_STD = 0.1;
const QK_NORM_WEIGHT_MEAN = 2.5;

export function qwen3WeightSpecs(o: TinyModelOptions): WeightSpec[] {
  const projection = (name: string, fanIn: number, fanOut: number): WeightSpec => ({
    name, kind: 'projection', dims: [fanIn, fanOut], mean: 0, std: 1 / Math.sqrt(fanIn),
  });
  const norm = (name: string, size: number, mean = 1): WeightSpec => ({ name, kind: 'norm', dims: [size], mean, std: NORM_WEIGHT_STD });
  const qSize = o.heads * o.headDim;
  const kvSize = o.kvHeads * o.headDim;

  const specs: WeightSpec[] = [
    { name: qwen3WeightNames.embedTokens, kind: 'embedding', dims: [o.vocabSize, o.hiddenSize], mean: 0, std: EMBEDDING_STD },
  ];
  for (let i = 0; i < o.layers; i++) {
    const n = qwen3WeightNames.layer(i);
    specs.push(
      norm(n.inputNorm, o.hiddenSize),
      projection(n.qProj, o.hiddenSize, qSize),
      projection(n.kProj, o.hiddenSize, kvSize),
      projection(n.vProj, o.hiddenSize, kvSize),
      norm(n.qNorm, o.headDim, QK_NORM_WEIGHT_MEAN),
      norm(n.kNorm, o.headDim, QK_NORM_WEIGHT_MEAN),
      projection(n.oProj, qSize, o.hiddenSize),
      norm(n.postAttentionNorm, o.hiddenSize),
      projection(n.gateProj, o.hiddenSize, o.intermediateSize),
      projection(n.upProj, o.hiddenSize, o.intermediateSize),
      projection(n.downProj, o.intermediateSize, o.hiddenSize),
    );
  }
  specs.push(norm(qwen3WeightNames.finalNorm, o.hiddenSize));
  return specs;
}

export function weightElementCount(spec: WeightSpec): number {
  return spec.dims.reduce((a, b) => a * b, 1);
}

/** Total bytes of all weights as float32. */
export function totalWeightBytes(specs: readonly WeightSpec[]): number {
  return specs.reduce((sum, spec) => sum + 4 * weightElementCount(spec), 0);
}

/** The values of one weight: a function of (seed, name) only. */
export function generateWeight(spec: WeightSpec, seed: number): Float32Array {
  const random = new SeededRandom(deriveSeed(seed, spec.name));
  return random.fillUniform(new Float32Array(weightElementCount(spec)), spec.mean, spec.std);
}
