/**
 * Plans the "gathered logits" rewrite of a decoder graph's head: the hidden state is gathered at one column per row
 * (input `logits_index` [batch]) BEFORE the vocabulary projection, so the projection runs on B rows instead of B·S
 * and `logits` becomes [batch, 1, vocab]. Pure: works on the decoded small fields of a ModelLayout, touches no weight.
 *
 * Recognised head (walking back from the `logits` output):
 *   logits ← (Reshape | Cast | Identity)* ← MatMul | Gemm | com.microsoft:MatMulNBits   (weight: an initializer with
 *   the vocab dimension, possibly behind Transpose/Cast/DequantizeLinear/Identity)
 *   projection input ← [Reshape flattening to [B·S, H]] ← [Slice/Gather driven by num_logits_to_keep] ← hidden [B,S,H]
 * Rewritten head:
 *   GatherND(hidden, Unsqueeze(logits_index, -1), batch_dims=1) [B,H] → projection [B,V] → the same Casts → Unsqueeze 1.
 */
import { onnx } from 'onnx-proto';
import { GraphField, ModelLayout, toNumber } from './onnxModelLayout';

export const LOGITS_OUTPUT = 'logits';
export const LOGITS_INDEX_INPUT = 'logits_index';
const LOGITS_TO_KEEP_INPUT = 'num_logits_to_keep';
const NEW_NAME_PREFIX = 'qwen_gen_gather/';

export interface GatheredLogitsPlan {
  /** Graph field indices of the nodes that are dropped (the old head and whatever only fed it). */
  removedNodeFields: Set<number>;
  /** The new head's nodes go where the old projection was, which keeps the node list topologically sorted. */
  insertAtField: number;
  newNodes: onnx.INodeProto[];
  newInitializers: onnx.ITensorProto[];
  removedInitializers: Set<string>;
  /** Graph inputs dropped: num_logits_to_keep once nothing reads it, and inputs that named removed initializers. */
  removedInputs: Set<string>;
  addedInput: onnx.IValueInfoProto;
  replacedOutput: onnx.IValueInfoProto;
  removedValueInfos: Set<string>;
}

export type PlanResult = { plan: GatheredLogitsPlan } | { reason: string };

const TAIL_OPS = new Set(['Reshape', 'Cast', 'Identity']);
const WEIGHT_PATH_OPS = new Set(['Transpose', 'Cast', 'DequantizeLinear', 'Identity']);
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);
/** GatherND with batch_dims (opset 12) and Unsqueeze with axes as an input (opset 13). */
const MIN_DEFAULT_OPSET = 13;

interface NodeEntry {
  field: number;
  node: onnx.NodeProto;
}

class GraphView {
  readonly nodes: NodeEntry[] = [];
  readonly producer = new Map<string, NodeEntry>();
  readonly consumers = new Map<string, NodeEntry[]>();
  readonly initializers = new Map<string, onnx.TensorProto>();
  readonly inputs = new Map<string, onnx.ValueInfoProto>();
  readonly outputs = new Map<string, onnx.ValueInfoProto>();
  /** Declared shapes of graph inputs, outputs and value_info entries. */
  readonly declared = new Map<string, onnx.ValueInfoProto>();
  /** Tensor names (node outputs, initializers, graph inputs). */
  readonly names = new Set<string>();
  readonly nodeNames = new Set<string>();

  constructor(fields: readonly GraphField[]) {
    fields.forEach((field, index) => {
      if (field.kind === 'node') {
        const entry = { field: index, node: field.node };
        this.nodes.push(entry);
        this.nodeNames.add(field.node.name);
        for (const output of field.node.output) {
          this.producer.set(output, entry);
          this.names.add(output);
        }
        for (const input of field.node.input) {
          if (!input) continue;
          const list = this.consumers.get(input) ?? [];
          list.push(entry);
          this.consumers.set(input, list);
        }
      } else if (field.kind === 'initializer') {
        this.initializers.set(field.tensor.name, field.tensor);
        this.names.add(field.tensor.name);
      } else if (field.kind === 'input') {
        this.inputs.set(field.info.name, field.info);
        this.names.add(field.info.name);
      } else if (field.kind === 'output') {
        this.outputs.set(field.info.name, field.info);
      }
      if (field.kind === 'input' || field.kind === 'output' || field.kind === 'valueInfo') this.declared.set(field.info.name, field.info);
    });
  }

  /** The only consumer of `tensor`, if it has exactly one and is not a graph output. */
  soleConsumer(tensor: string): NodeEntry | undefined {
    const list = this.consumers.get(tensor) ?? [];
    return list.length === 1 && !this.outputs.has(tensor) ? list[0] : undefined;
  }

  declaredRank(tensor: string): number | undefined {
    const shape = this.declared.get(tensor)?.type?.tensorType?.shape;
    return shape?.dim ? shape.dim.length : undefined;
  }

  /** A Reshape to a constant rank-2 shape (e.g. [-1, H]): the [B,S,H] → [B·S,H] flattening before a projection. */
  isFlattening(reshape: onnx.NodeProto): boolean {
    const shape = this.initializers.get(reshape.input[1]);
    return shape !== undefined && shape.dims.length === 1 && toNumber(shape.dims[0]) === 2;
  }

  /** Whether `tensor` is computed from the graph input `inputName` (bounded walk over producers). */
  dependsOnInput(tensor: string, inputName: string, maxNodes = 64): boolean {
    const pending = [tensor];
    const seen = new Set<string>();
    while (pending.length > 0 && seen.size < maxNodes) {
      const name = pending.pop()!;
      if (name === inputName) return true;
      if (seen.has(name)) continue;
      seen.add(name);
      const entry = this.producer.get(name);
      if (entry) pending.push(...entry.node.input.filter(Boolean));
    }
    return false;
  }
}

export function planGatheredLogits(layout: ModelLayout): PlanResult {
  if (layout.defaultOpset < MIN_DEFAULT_OPSET) {
    return { reason: `default opset ${layout.defaultOpset} is older than ${MIN_DEFAULT_OPSET}` };
  }
  const graph = new GraphView(layout.graphFields);
  const logitsInfo = graph.outputs.get(LOGITS_OUTPUT);
  if (!logitsInfo) return { reason: `the graph has no '${LOGITS_OUTPUT}' output` };
  if (graph.inputs.has(LOGITS_INDEX_INPUT)) return { reason: `the graph already has a '${LOGITS_INDEX_INPUT}' input` };
  const logitsDims = logitsInfo.type?.tensorType?.shape?.dim ?? [];
  if (logitsDims.length !== 3) return { reason: `'${LOGITS_OUTPUT}' is not declared as [batch, sequence, vocab]` };
  const vocab = logitsDims[2].dimValue !== null && logitsDims[2].dimValue !== undefined ? toNumber(logitsDims[2].dimValue) : 0;

  // logits ← (Reshape | Cast | Identity)* ← projection
  const tail: NodeEntry[] = [];
  let tensor = LOGITS_OUTPUT;
  let entry = graph.producer.get(tensor);
  while (entry && TAIL_OPS.has(entry.node.opType) && isDefaultDomain(entry.node) && tail.length < 16) {
    tail.push(entry);
    tensor = entry.node.input[0];
    if (!graph.soleConsumer(tensor)) return { reason: `'${tensor}' (on the way to logits) has other consumers` };
    entry = graph.producer.get(tensor);
  }
  if (!entry) return { reason: `'${tensor}' is not produced by a node` };
  if (graph.consumers.has(LOGITS_OUTPUT)) return { reason: `other nodes read '${LOGITS_OUTPUT}'` };
  const projection = entry;
  const projectionProblem = checkProjection(graph, projection.node, vocab);
  if (projectionProblem) return { reason: projectionProblem };

  // projection input ← [flattening Reshape] ← [num_logits_to_keep Slice/Gather] ← hidden [B,S,H]. Those two are not
  // removed explicitly (other nodes may read them, e.g. a Shape for the old output shape): they go if nothing reads them.
  let hidden = projection.node.input[0];
  let hiddenProducer = graph.producer.get(hidden);
  if (hiddenProducer?.node.opType === 'Reshape' && (projection.node.opType === 'Gemm' || graph.isFlattening(hiddenProducer.node))) {
    hidden = hiddenProducer.node.input[0];
    hiddenProducer = graph.producer.get(hidden);
  } else if (projection.node.opType === 'Gemm') {
    return { reason: 'the Gemm projection does not read a Reshape of the hidden state' };
  }
  const keepsLastLogits =
    (hiddenProducer?.node.opType === 'Slice' || hiddenProducer?.node.opType === 'Gather') &&
    hiddenProducer.node.input.slice(1).some((input) => graph.dependsOnInput(input, LOGITS_TO_KEEP_INPUT));
  if (hiddenProducer && keepsLastLogits) hidden = hiddenProducer.node.input[0];
  const hiddenRank = graph.declaredRank(hidden);
  if (hiddenRank !== undefined && hiddenRank !== 3) return { reason: `the hidden state '${hidden}' has rank ${hiddenRank}, not 3` };

  const head = newHead(graph, hidden, projection.node, tail.map((t) => t.node).reverse());
  if ('reason' in head) return head;
  const removedNodes = removedNodeSet(graph, [projection, ...tail], head.nodes);
  return {
    plan: {
      removedNodeFields: new Set([...removedNodes].map((e) => e.field)),
      insertAtField: projection.field,
      newNodes: head.nodes,
      newInitializers: head.initializers,
      ...orphanedValues(graph, layout.graphFields, removedNodes, head.nodes),
      addedInput: {
        name: LOGITS_INDEX_INPUT,
        type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [copyDim(logitsDims[0])] } } },
      },
      replacedOutput: {
        name: LOGITS_OUTPUT,
        type: {
          tensorType: {
            elemType: logitsInfo.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT,
            shape: { dim: [copyDim(logitsDims[0]), { dimValue: 1 }, copyDim(logitsDims[2])] },
          },
        },
      },
    },
  };
}

/** Why `node` is not a vocabulary projection we can move, or undefined when it is one. */
function checkProjection(graph: GraphView, node: onnx.NodeProto, vocab: number): string | undefined {
  const op = `${node.domain ? `${node.domain}:` : ''}${node.opType}`;
  if (op === 'com.microsoft:MatMulNBits') {
    const n = attributeInt(node, 'N');
    if (vocab && n !== vocab) return `MatMulNBits has N=${n}, not the vocabulary size ${vocab}`;
    return graph.initializers.has(node.input[1]) ? undefined : 'the MatMulNBits weight is not an initializer';
  }
  if (!isDefaultDomain(node) || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) {
    return `logits come from ${op}, not from a MatMul, Gemm or MatMulNBits projection`;
  }
  if (node.opType === 'Gemm' && attributeInt(node, 'transA') !== 0) return 'the Gemm projection transposes its input';
  const weight = traceToInitializer(graph, node.input[1]);
  if (!weight) return `the ${node.opType} weight '${node.input[1]}' is not an initializer`;
  const dims = weight.dims.map(toNumber);
  if (dims.length !== 2) return `the ${node.opType} weight '${weight.name}' has rank ${dims.length}, not 2`;
  if (vocab && !dims.includes(vocab)) return `the ${node.opType} weight '${weight.name}' [${dims}] lacks the vocabulary size ${vocab}`;
  return undefined;
}

function traceToInitializer(graph: GraphView, tensor: string): onnx.TensorProto | undefined {
  let name = tensor;
  for (let hops = 0; hops < 8; hops++) {
    const initializer = graph.initializers.get(name);
    if (initializer) return initializer;
    const producer = graph.producer.get(name);
    if (!producer || !WEIGHT_PATH_OPS.has(producer.node.opType)) return undefined;
    name = producer.node.input[0];
  }
  return undefined;
}

interface NewHead {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
}

function newHead(
  graph: GraphView,
  hidden: string,
  projection: onnx.NodeProto,
  tailInOrder: onnx.NodeProto[],
): NewHead | { reason: string } {
  const name = (suffix: string) => `${NEW_NAME_PREFIX}${suffix}`;
  const initializers = [int64Vector(name('axes_last'), [-1]), int64Vector(name('axes_sequence'), [1])];
  const nodes: onnx.INodeProto[] = [
    node('Unsqueeze', [LOGITS_INDEX_INPUT, name('axes_last')], [name('index_column')]), // [B,1]
    node('GatherND', [hidden, name('index_column')], [name('hidden_at_index')], [intAttribute('batch_dims', 1)]), // [B,H]
    {
      ...projection,
      name: name(projection.name || projection.opType),
      input: [name('hidden_at_index'), ...projection.input.slice(1)],
      output: [name('projected')], // [B,V]
    },
  ];
  let current = name('projected');
  tailInOrder
    .filter((t) => t.opType === 'Cast')
    .forEach((cast, i) => {
      const output = name(`cast_${i}`);
      nodes.push({ ...cast, name: name(cast.name || `Cast_${i}`), input: [current], output: [output] });
      current = output;
    });
  nodes.push(node('Unsqueeze', [current, name('axes_sequence')], [LOGITS_OUTPUT])); // [B,1,V]

  const tensors = [...initializers.map((t) => t.name!), ...nodes.flatMap((n) => n.output ?? [])];
  const clash =
    tensors.find((n) => n !== LOGITS_OUTPUT && graph.names.has(n)) ?? nodes.map((n) => n.name!).find((n) => graph.nodeNames.has(n));
  if (clash) return { reason: `the graph already uses the name '${clash}'` };
  return { nodes, initializers };
}

/**
 * The detached head plus every node that only fed it (e.g. the Shape/Concat computing the old output shape).
 * Graphs with control-flow subgraphs may read outer values implicitly, so there only the head itself goes.
 */
function removedNodeSet(graph: GraphView, detached: NodeEntry[], newNodes: onnx.INodeProto[]): Set<NodeEntry> {
  const removed = new Set(detached);
  if (graph.nodes.some((entry) => SUBGRAPH_OPS.has(entry.node.opType))) return removed;
  const liveBefore = liveNodes(graph, graph.nodes, []);
  const liveAfter = liveNodes(graph, graph.nodes.filter((entry) => !removed.has(entry)), newNodes);
  for (const entry of liveBefore) if (!liveAfter.has(entry)) removed.add(entry);
  return removed;
}

function liveNodes(graph: GraphView, kept: NodeEntry[], extra: onnx.INodeProto[]): Set<NodeEntry> {
  const producer = new Map<string, NodeEntry | null>();
  for (const entry of kept) for (const output of entry.node.output) producer.set(output, entry);
  for (const n of extra) for (const output of n.output ?? []) producer.set(output, null);
  const live = new Set<NodeEntry>();
  const pending = [...graph.outputs.keys(), ...extra.flatMap((n) => n.input ?? [])];
  while (pending.length > 0) {
    const entry = producer.get(pending.pop()!);
    if (!entry || live.has(entry)) continue;
    live.add(entry);
    pending.push(...entry.node.input.filter(Boolean));
  }
  return live;
}

/** Initializers, graph inputs and value_info entries that only the removed nodes used. */
function orphanedValues(
  graph: GraphView,
  fields: readonly GraphField[],
  removed: Set<NodeEntry>,
  newNodes: onnx.INodeProto[],
): Pick<GatheredLogitsPlan, 'removedInitializers' | 'removedInputs' | 'removedValueInfos'> {
  const stillRead = new Set<string>(graph.outputs.keys());
  for (const entry of graph.nodes) if (!removed.has(entry)) entry.node.input.forEach((input) => stillRead.add(input));
  for (const n of newNodes) (n.input ?? []).forEach((input) => stillRead.add(input));

  const hasSubgraphs = graph.nodes.some((entry) => SUBGRAPH_OPS.has(entry.node.opType));
  const readByRemoved = new Set([...removed].flatMap((entry) => entry.node.input));
  const removedInitializers = new Set(
    hasSubgraphs ? [] : [...readByRemoved].filter((name) => graph.initializers.has(name) && !stillRead.has(name)),
  );
  const removedInputs = new Set([...removedInitializers].filter((name) => graph.inputs.has(name)));
  if (graph.inputs.has(LOGITS_TO_KEEP_INPUT) && !stillRead.has(LOGITS_TO_KEEP_INPUT) && !hasSubgraphs) {
    removedInputs.add(LOGITS_TO_KEEP_INPUT);
  }
  const removedOutputs = new Set([...removed].flatMap((entry) => entry.node.output));
  const removedValueInfos = new Set<string>();
  for (const field of fields) {
    if (field.kind === 'valueInfo' && removedOutputs.has(field.info.name)) removedValueInfos.add(field.info.name);
  }
  return { removedInitializers, removedInputs, removedValueInfos };
}

function isDefaultDomain(n: onnx.NodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

function attributeInt(n: onnx.NodeProto, attributeName: string): number {
  const attribute = n.attribute.find((a) => a.name === attributeName);
  return attribute ? toNumber(attribute.i) : 0;
}

function copyDim(dim: onnx.TensorShapeProto.IDimension): onnx.TensorShapeProto.IDimension {
  if (dim.dimParam) return { dimParam: dim.dimParam };
  if (dim.dimValue !== null && dim.dimValue !== undefined) return { dimValue: dim.dimValue };
  return {};
}

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { name: output[0] === LOGITS_OUTPUT ? `${NEW_NAME_PREFIX}logits` : `${output[0]}_node`, opType, input, output, attribute };
}

function intAttribute(name: string, value: number): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function int64Vector(name: string, values: number[]): onnx.ITensorProto {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((value, i) => raw.writeBigInt64LE(BigInt(value), i * 8));
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw };
}
