/**
 * Rewrites of a quantized graph's weight kernels, for the derived graph (derivedGraph.ts). Pure: works on the decoded
 * small fields of a ModelLayout and returns a new field list (rewritten nodes and small constants are `synthesized`
 * fields); no weight is read or changed.
 *
 * - `matmulnbits_accuracy_level`: every com.microsoft MatMulNBits gets `accuracy_level = 4`, so onnxruntime's CPU
 *   kernel quantizes each row of the activation to int8 per block of K and multiplies in integers (MLAS's CompInt8 path)
 *   instead of dequantizing the weights to float32. Each row is quantized on its own, so a row's result does not depend
 *   on its batch mates (tested bit for bit); the logits move by about the activation's int8 rounding (tested against the
 *   file's own kernels and the float model).
 * - `row_wise_activation_quantization`: onnxruntime's dynamic quantization (DynamicQuantizeLinear → MatMulInteger →
 *   Cast → Mul by the two scales, as `quantize_dynamic` writes it for model_quantized / int8 / uint8 exports) computes
 *   ONE activation scale over the whole input tensor — every row of the batch, pads included — so a row's output depends
 *   on which rows share its batch. The rewrite quantizes each row of the activation with its own symmetric scale
 *   (max |x| / 127, zero point 128 on uint8) and scales each row of the integer product back by it. The integer product
 *   is exact, and every other op is elementwise or a per-row max, so a row's result is the same at any batch size: the
 *   graph can run batched. The weights, their scales and zero points are the file's own.
 *   (onnxruntime fuses MatMulInteger → Cast → Mul(Mul(a_scale, b_scale)) into MatMulIntegerToFloat, whose kernel takes
 *   one scalar activation scale; the rewrite multiplies by the weight scale first and by the row scale after, a shape the
 *   fusion does not match.)
 */
import { onnx } from 'onnx-proto';
import { GraphField, ModelLayout, opTypeKeyOf, toNumber } from './onnxModelLayout';

export type KernelRewriteName = 'matmulnbits_accuracy_level' | 'row_wise_activation_quantization';

export interface KernelRewrite {
  name: KernelRewriteName;
  /** Nodes of the source graph the rewrite changed (MatMulNBits nodes; DynamicQuantizeLinear nodes). */
  nodes: number;
  /** One sentence: what was rewritten. */
  detail: string;
}

export interface KernelRewriteOptions {
  /** The accuracy level written into MatMulNBits nodes; 0 leaves them as they are. */
  matMulNBitsAccuracyLevel: number;
  rowWiseActivationQuantization: boolean;
  /** In a graph with quantized linear layers, an 8-bit copy of a float vocabulary projection (quantizedLmHead.ts). */
  quantizedLmHead: boolean;
  /**
   * uint8 MatMulInteger weights stored as int8 (signedWeights.ts). It depends on the machine (exact only with VNNI), so
   * the default here is off and derivedGraphOptions turns it on where the CPU has VNNI.
   */
  signedWeights: boolean;
}

export const DEFAULT_KERNEL_REWRITES: KernelRewriteOptions = Object.freeze({
  matMulNBitsAccuracyLevel: 4,
  rowWiseActivationQuantization: true,
  quantizedLmHead: true,
  signedWeights: false,
});

/** Op types of quantized linear layers: a graph with any of them is a quantized file (q4, q8, int8, uint8, bnb4, …). */
export const QUANTIZED_LINEAR_OPS: readonly string[] = ['com.microsoft:MatMulNBits', 'MatMulInteger', 'com.microsoft:MatMulBnb4', 'com.microsoft:DynamicQuantizeMatMul'];

export interface KernelRewriteResult {
  /** The layout with the rewritten field list (the input layout when nothing applies). */
  layout: ModelLayout;
  rewrites: KernelRewrite[];
  /** Why a rewrite that could have applied was left out (e.g. a DynamicQuantizeLinear of an unknown shape). */
  skipped: string[];
}

const MICROSOFT_DOMAIN = 'com.microsoft';
const NAME_PREFIX = 'qwen_gen_rowq/';
/** Round exists from opset 11. */
const MIN_ROW_WISE_OPSET = 11;
/** ReduceMax takes `axes` as an input from opset 18. */
const REDUCE_AXES_INPUT_OPSET = 18;

export function rewriteQuantizedKernels(layout: ModelLayout, options: KernelRewriteOptions = DEFAULT_KERNEL_REWRITES): KernelRewriteResult {
  let fields = layout.graphFields;
  const rewrites: KernelRewrite[] = [];
  const skipped: string[] = [];
  if (options.matMulNBitsAccuracyLevel > 0) {
    const result = setAccuracyLevel(fields, options.matMulNBitsAccuracyLevel);
    if (result.changed > 0) {
      fields = result.fields;
      rewrites.push({
        name: 'matmulnbits_accuracy_level',
        nodes: result.changed,
        detail: `accuracy_level ${options.matMulNBitsAccuracyLevel} (int8 compute) on ${result.changed} MatMulNBits node(s) that had ${describeLevels(result.previous)}`,
      });
    }
  }
  if (options.rowWiseActivationQuantization) {
    const result = quantizeRowWise(fields, layout.defaultOpset);
    skipped.push(...result.skipped);
    if (result.changed > 0) {
      fields = result.fields;
      rewrites.push({
        name: 'row_wise_activation_quantization',
        nodes: result.changed,
        detail: `${result.changed} DynamicQuantizeLinear node(s) (one scale per batch) replaced by a per-row symmetric int8 quantization of ${result.inputs} distinct input(s), feeding the same MatMulInteger weights`,
      });
    }
  }
  return { layout: rewrites.length > 0 ? { ...layout, graphFields: fields } : layout, rewrites, skipped };
}

function describeLevels(previous: Map<number, number>): string {
  return [...previous.entries()].sort((a, b) => a[0] - b[0]).map(([level, count]) => `${count} at level ${level}`).join(', ');
}

function attributeInt(node: onnx.INodeProto, name: string): number | undefined {
  const attribute = (node.attribute ?? []).find((a) => a.name === name);
  return attribute ? toNumber(attribute.i as number) : undefined;
}

function setAccuracyLevel(fields: readonly GraphField[], level: number): { fields: GraphField[]; changed: number; previous: Map<number, number> } {
  let changed = 0;
  const previous = new Map<number, number>();
  const out = fields.map((field): GraphField => {
    if (field.kind !== 'node' || opTypeKeyOf(field.node) !== `${MICROSOFT_DOMAIN}:MatMulNBits`) return field;
    const current = attributeInt(field.node, 'accuracy_level') ?? 0;
    if (current >= level) return field;
    previous.set(current, (previous.get(current) ?? 0) + 1);
    changed++;
    const node = onnx.NodeProto.fromObject(onnx.NodeProto.toObject(field.node));
    node.attribute = node.attribute.filter((a) => a.name !== 'accuracy_level');
    node.attribute.push(onnx.AttributeProto.create({ name: 'accuracy_level', type: onnx.AttributeProto.AttributeType.INT, i: level }));
    return { kind: 'node', span: { start: 0, end: 0 }, node, synthesized: true };
  });
  return { fields: out, changed, previous };
}

interface Indexed {
  index: number;
  node: onnx.NodeProto;
}

/** One DynamicQuantizeLinear and the nodes that read its outputs, checked to be the dynamic-quantization pattern. */
interface DynamicQuantization {
  quantize: Indexed;
  /** Mul(a_scale, b_scale) nodes: removed. */
  scaleProducts: Indexed[];
  /** Mul(Cast(MatMulInteger), a_scale·b_scale) nodes: each becomes Mul(Cast, b_scale) then Mul(·, row scale). */
  rescales: { mul: Indexed; cast: string; weightScale: string }[];
}

function quantizeRowWise(fields: readonly GraphField[], defaultOpset: number): { fields: GraphField[]; changed: number; inputs: number; skipped: string[] } {
  const skipped: string[] = [];
  const nodes: Indexed[] = [];
  const producer = new Map<string, Indexed>();
  const consumers = new Map<string, Indexed[]>();
  const initializers = new Map<string, onnx.TensorProto>();
  const names = new Set<string>();
  const graphOutputs = new Set<string>();
  fields.forEach((field, index) => {
    if (field.kind === 'node') {
      const entry = { index, node: field.node };
      nodes.push(entry);
      for (const output of field.node.output) {
        producer.set(output, entry);
        names.add(output);
      }
      for (const input of field.node.input) {
        if (!input) continue;
        consumers.set(input, [...(consumers.get(input) ?? []), entry]);
      }
      if (field.node.name) names.add(field.node.name);
    } else if (field.kind === 'initializer') {
      initializers.set(field.tensor.name, field.tensor);
      names.add(field.tensor.name);
    } else if (field.kind === 'input' || field.kind === 'output' || field.kind === 'valueInfo') {
      names.add(field.info.name);
      if (field.kind === 'output') graphOutputs.add(field.info.name);
    }
  });
  const quantizers = nodes.filter((entry) => opTypeKeyOf(entry.node) === 'DynamicQuantizeLinear');
  if (quantizers.length === 0) return { fields: [...fields], changed: 0, inputs: 0, skipped };
  if (defaultOpset < MIN_ROW_WISE_OPSET) {
    return { fields: [...fields], changed: 0, inputs: 0, skipped: [`default opset ${defaultOpset} is older than ${MIN_ROW_WISE_OPSET}`] };
  }

  const isOp = (entry: Indexed | undefined, op: string): entry is Indexed => entry !== undefined && opTypeKeyOf(entry.node) === op;
  const isSmallConstant = (name: string) => {
    const tensor = initializers.get(name);
    return tensor !== undefined && tensor.dims.length <= 1 && tensor.dataType === onnx.TensorProto.DataType.FLOAT;
  };

  const matched: DynamicQuantization[] = [];
  for (const quantize of quantizers) {
    const [q, scale, zeroPoint] = quantize.node.output;
    const why = (reason: string) => skipped.push(`DynamicQuantizeLinear '${quantize.node.name || q}': ${reason}`);
    if (quantize.node.output.length !== 3 || [q, scale, zeroPoint].some((name) => !name || graphOutputs.has(name))) {
      why('its outputs are graph outputs or missing');
      continue;
    }
    const matMuls = consumers.get(q) ?? [];
    if (matMuls.length === 0 || !matMuls.every((m) => isOp(m, 'MatMulInteger') && m.node.input[0] === q && m.node.input[2] === zeroPoint)) {
      why('its quantized output feeds something other than MatMulInteger(q, B, zero point, …)');
      continue;
    }
    if (!(consumers.get(zeroPoint) ?? []).every((c) => matMuls.includes(c))) {
      why('its zero point feeds another node');
      continue;
    }
    const scaleProducts = consumers.get(scale) ?? [];
    const rescales: DynamicQuantization['rescales'] = [];
    let ok = scaleProducts.length > 0;
    for (const product of scaleProducts) {
      const other = product.node.input[0] === scale ? product.node.input[1] : product.node.input[0];
      const productOut = product.node.output[0];
      if (!isOp(product, 'Mul') || product.node.input.length !== 2 || !isSmallConstant(other) || graphOutputs.has(productOut)) {
        ok = false;
        break;
      }
      for (const mul of consumers.get(productOut) ?? []) {
        const castName = mul.node.input[0] === productOut ? mul.node.input[1] : mul.node.input[0];
        const cast = producer.get(castName);
        const castFrom = cast ? producer.get(cast.node.input[0]) : undefined;
        const castTo = cast ? attributeInt(cast.node, 'to') : undefined;
        if (!isOp(mul, 'Mul') || mul.node.input.length !== 2 || !isOp(cast, 'Cast') || castTo !== onnx.TensorProto.DataType.FLOAT ||
          !castFrom || !matMuls.includes(castFrom)) {
          ok = false;
          break;
        }
        rescales.push({ mul, cast: castName, weightScale: other });
      }
      if (!ok || (consumers.get(productOut) ?? []).length === 0) {
        ok = false;
        break;
      }
    }
    if (!ok) {
      why('its scale is not used as Mul(Cast(MatMulInteger), Mul(scale, constant weight scale))');
      continue;
    }
    matched.push({ quantize, scaleProducts, rescales });
  }
  if (matched.length === 0) return { fields: [...fields], changed: 0, inputs: 0, skipped };

  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const constants: onnx.TensorProto[] = [
    floatScalar(unique(`${NAME_PREFIX}levels`), 127),
    floatScalar(unique(`${NAME_PREFIX}smallest_scale`), 1e-30),
    floatScalar(unique(`${NAME_PREFIX}zero_point_f`), 128),
  ];
  const [levels, smallest, zeroF] = constants.map((c) => c.name);
  const axes = defaultOpset >= REDUCE_AXES_INPUT_OPSET ? int64Vector(unique(`${NAME_PREFIX}last_axis`), [-1]) : undefined;
  if (axes) constants.push(axes);

  // Quantizers of the same tensor (q, k and v of one input, gate and up) compute the same rows: the first one's outputs
  // serve all of them.
  const primaryOf = new Map<string, DynamicQuantization>();
  const rename = new Map<string, string>();
  for (const match of matched) {
    const x = match.quantize.node.input[0];
    const primary = primaryOf.get(x);
    if (!primary) primaryOf.set(x, match);
    else match.quantize.node.output.forEach((name, i) => rename.set(name, primary.quantize.node.output[i]));
  }

  const removed = new Set<number>();
  const replacements = new Map<number, onnx.NodeProto[]>();
  for (const { quantize, scaleProducts, rescales } of matched) {
    const [q, scale, zeroPoint] = quantize.node.output;
    const x = quantize.node.input[0];
    const base = `${NAME_PREFIX}${quantize.node.name || q}/`;
    const t = (suffix: string) => unique(`${base}${suffix}`);
    const node = (opType: string, input: string[], output: string, attribute: onnx.IAttributeProto[] = []) =>
      onnx.NodeProto.create({ name: unique(`${base}${opType}`), opType, input, output: [output], attribute });
    if (rename.has(q)) removed.add(quantize.index);
    else {
      const abs = t('abs');
      const rowMax = t('row_max');
      const nonZero = t('row_max_nonzero');
      const scaled = t('scaled');
      const rounded = t('rounded');
      const shifted = t('shifted');
      const reduce = axes
        ? node('ReduceMax', [abs, axes.name], rowMax, [intAttribute('keepdims', 1)])
        : node('ReduceMax', [abs], rowMax, [intAttribute('keepdims', 1), intsAttribute('axes', [-1])]);
      replacements.set(quantize.index, [
        node('Abs', [x], abs),
        reduce, // [.., 1]
        node('Max', [rowMax, smallest], nonZero),
        node('Div', [nonZero, levels], scale), // the row's scale, under the old scale's name: [.., 1]
        node('Div', [x, scale], scaled),
        node('Round', [scaled], rounded), // |x| / scale <= 127 (to the float rounding of scale): in [-127, 127]
        node('Add', [rounded, zeroF], shifted), // in [1, 255]: no clipping needed
        node('Cast', [shifted], q, [intAttribute('to', onnx.TensorProto.DataType.UINT8)]),
      ]);
      constants.push(uint8Scalar(zeroPoint, 128));
    }
    const rowScale = rename.get(scale) ?? scale;
    for (const product of scaleProducts) removed.add(product.index);
    for (const { mul, cast, weightScale } of rescales) {
      const weightScaled = t('weight_scaled');
      replacements.set(mul.index, [
        node('Mul', [cast, weightScale], weightScaled),
        node('Mul', [weightScaled, rowScale], mul.node.output[0]),
      ]);
    }
  }

  // Declared shapes of tensors whose shape changes (the scale: scalar → [.., 1]) or that are gone.
  const redeclared = new Set<string>();
  for (const { quantize, scaleProducts } of matched) {
    redeclared.add(quantize.node.output[1]).add(quantize.node.output[2]);
    for (const product of scaleProducts) redeclared.add(product.node.output[0]);
  }
  for (const name of rename.keys()) redeclared.add(name);
  const out: GraphField[] = [];
  const synthesized = (node: onnx.NodeProto): GraphField => ({ kind: 'node', span: { start: 0, end: 0 }, node, synthesized: true });
  fields.forEach((field, index) => {
    if (removed.has(index)) return;
    if (field.kind === 'valueInfo' && redeclared.has(field.info.name)) return;
    const replacement = replacements.get(index);
    if (replacement) out.push(...replacement.map(synthesized));
    else if (field.kind === 'node' && field.node.input.some((name) => rename.has(name))) {
      // A MatMulInteger of a merged quantizer reads the first quantizer's outputs.
      const node = onnx.NodeProto.fromObject(onnx.NodeProto.toObject(field.node));
      node.input = node.input.map((name) => rename.get(name) ?? name);
      out.push(synthesized(node));
    } else out.push(field);
  });
  for (const tensor of constants) {
    out.push({
      kind: 'initializer',
      span: { start: 0, end: 0 },
      tensor,
      slimBytes: Buffer.from(onnx.TensorProto.encode(tensor).finish()),
      droppedOtherLargeField: false,
      synthesized: true,
    });
  }
  return { fields: out, changed: matched.length, inputs: primaryOf.size, skipped };
}

function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function intsAttribute(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function floatScalar(name: string, value: number): onnx.TensorProto {
  const raw = Buffer.alloc(4);
  raw.writeFloatLE(value, 0);
  return onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

function uint8Scalar(name: string, value: number): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.UINT8, rawData: Buffer.from([value]) });
}

function int64Vector(name: string, values: number[]): onnx.TensorProto {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => raw.writeBigInt64LE(BigInt(value), i * 8));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
}
