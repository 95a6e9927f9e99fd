import { DataType, OnnxGraphBuilder } from './onnxGraphBuilder';
import { GraphVariant } from './graphVariants';
import { qwen3WeightNames } from './qwen3Weights';
import { quantizedWeightNames } from './variantWeights';

const MICROSOFT_DOMAIN = 'com.microsoft';

/**
 * The graph-side reading of weights stored by storeWeight: linear projections in the variant's operator form, and
 * float32 views of float16 weights for the ops that compute in float32. For the default variant every method emits
 * exactly the nodes the graphs emitted before variants existed (the default model's bytes depend on it).
 */
export class VariantGraphOps {
  private readonly half: boolean;
  private readonly float32Views = new Map<string, string>();

  constructor(private readonly b: OnnxGraphBuilder, readonly variant: GraphVariant) {
    this.half = variant.weightDtype === 'float16';
    if (variant.linear.kind === 'matMulNBits' || variant.linear.kind === 'bnb4') b.useDomain(MICROSOFT_DOMAIN, 1);
  }

  /** `x @ W` for a projection stored [inFeatures, outFeatures]; float32 in and out. float16 variants multiply in float16. */
  linear(x: string, weight: string, inFeatures: number, outFeatures: number): string {
    const { b } = this;
    const input = this.half ? b.op('Cast', [x], { to: DataType.FLOAT16 }) : x;
    const output = this.linearOp(input, weight, inFeatures, outFeatures);
    return this.half ? b.op('Cast', [output], { to: DataType.FLOAT }) : output;
  }

  /** A norm weight as float32 (a Cast of the float16 initializer in float16 variants, added once per weight). */
  float32(weight: string): string {
    if (!this.half) return weight;
    let view = this.float32Views.get(weight);
    if (!view) {
      view = this.b.op('Cast', [weight], { to: DataType.FLOAT });
      this.float32Views.set(weight, view);
    }
    return view;
  }

  /** Token embeddings, float32. */
  embed(inputIds: string): string {
    const rows = this.b.op('Gather', [qwen3WeightNames.embedTokens, inputIds], { axis: 0 });
    return this.half ? this.b.op('Cast', [rows], { to: DataType.FLOAT }) : rows;
  }

  private linearOp(x: string, weight: string, k: number, n: number): string {
    const { b } = this;
    const format = this.variant.linear;
    const names = quantizedWeightNames(weight);
    switch (format.kind) {
      case 'float':
        return b.op('MatMul', [x, weight]);
      case 'matMulNBits': {
        const attributes = { K: k, N: n, bits: format.bits, block_size: format.blockSize };
        return b.opMulti('MatMulNBits', [x, names.q4, names.q4Scales], 1, attributes, undefined, MICROSOFT_DOMAIN)[0];
      }
      case 'bnb4': {
        const attributes = { K: k, N: n, block_size: format.blockSize, quant_type: 1 /* NF4 */ };
        return b.opMulti('MatMulBnb4', [x, names.bnb4, names.bnb4Absmax], 1, attributes, undefined, MICROSOFT_DOMAIN)[0];
      }
      case 'dynamic8': {
        // onnxruntime's IntegerOps quantization of a MatMul: the activation is quantized per tensor at run time.
        const [quantized, scale, zeroPoint] = b.opMulti('DynamicQuantizeLinear', [x], 3);
        const product = b.op('MatMulInteger', [quantized, names.int8, zeroPoint, names.int8ZeroPoint]);
        const scales = b.op('Mul', [scale, names.int8Scale]);
        return b.op('Mul', [b.op('Cast', [product], { to: DataType.FLOAT }), scales]);
      }
    }
  }
}
