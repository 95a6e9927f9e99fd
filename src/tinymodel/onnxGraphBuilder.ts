import { onnx } from 'onnx-proto';
import { DataType, float32Tensor, int64Tensor } from './onnxTensors';

/** A tensor dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

/** Node attribute: a number is INT, a number[] is INTS; floats, strings and tensors are tagged. */
export type AttributeValue = number | number[] | { float: number } | { string: string } | { tensor: onnx.ITensorProto };

export const IR_VERSION = 8;
export const DEFAULT_OPSET = 17;

/**
 * Small helper over onnx-proto for building a graph node by node. Node outputs get unique
 * generated names unless given; constant int64/float tensors are deduplicated initializers.
 */
export class OnnxGraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly opsets = new Map<string, number>([['', DEFAULT_OPSET]]);
  private readonly constants = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  private counter = 0;
  private scope = '';

  constructor(private readonly graphName: string) {}

  /** Declares an extra operator domain (e.g. 'com.microsoft') for contrib ops. */
  useDomain(domain: string, version: number): void {
    this.opsets.set(domain, version);
  }

  /** Runs `build` with generated node names prefixed by `scope` (readable graphs, e.g. `layers.3/...`). */
  withScope<T>(scope: string, build: () => T): T {
    const outer = this.scope;
    this.scope = `${outer}${scope}/`;
    try {
      return build();
    } finally {
      this.scope = outer;
    }
  }

  addInput(name: string, elemType: number, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return this.claim(name);
  }

  addOutput(name: string, elemType: number, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  addInitializer(tensor: onnx.ITensorProto): string {
    this.initializers.push(tensor);
    return this.claim(tensor.name ?? '');
  }

  /** Adds one node with a single output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    return this.opMulti(opType, inputs, 1, attributes, outputName ? [outputName] : undefined)[0];
  }

  /** Adds one node with `outputCount` outputs and returns their names. */
  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    outputNames?: readonly string[],
    domain = '',
  ): string[] {
    const nodeName = this.uniqueName(opType);
    const outputs = outputNames
      ? outputNames.map((name) => this.claim(name))
      : Array.from({ length: outputCount }, (_, i) => this.claim(`${nodeName}/out${i}`));
    this.nodes.push({
      name: nodeName,
      opType,
      domain,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** An int64 constant initializer (deduplicated). A scalar when `dims` is []. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(`i64[${dims}]:${values}`, (name) => int64Tensor(name, values, dims));
  }

  /** A float32 constant initializer (deduplicated). A scalar when `dims` is []. */
  float(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(`f32[${dims}]:${values}`, (name) => float32Tensor(name, Float32Array.from(values), dims));
  }

  toModel(producerName: string, docString = ''): onnx.IModelProto {
    return {
      irVersion: IR_VERSION,
      producerName,
      docString,
      opsetImport: [...this.opsets].map(([domain, version]) => ({ domain, version })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  encode(producerName: string, docString = ''): Uint8Array {
    return onnx.ModelProto.encode(this.toModel(producerName, docString)).finish();
  }

  private constant(key: string, make: (name: string) => onnx.ITensorProto): string {
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = this.addInitializer(make(this.uniqueName('const')));
    this.constants.set(key, name);
    return name;
  }

  private uniqueName(prefix: string): string {
    let name: string;
    do name = `${this.scope}${prefix}_${this.counter++}`;
    while (this.usedNames.has(name));
    return name;
  }

  private claim(name: string): string {
    if (!name) throw new Error('ONNX value names must not be empty');
    if (this.usedNames.has(name)) throw new Error(`duplicate ONNX value name: ${name}`);
    this.usedNames.add(name);
    return name;
  }
}

/** A typed tensor declaration (graph input or output) with fixed and symbolic dimensions. */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') return { name, type: Type.INT, i: value };
  if (Array.isArray(value)) return { name, type: Type.INTS, ints: value };
  if ('float' in value) return { name, type: Type.FLOAT, f: value.float };
  if ('string' in value) return { name, type: Type.STRING, s: Buffer.from(value.string, 'utf8') };
  return { name, type: Type.TENSOR, t: value.tensor };
}

export { DataType };
