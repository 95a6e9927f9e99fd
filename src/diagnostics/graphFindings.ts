import { GQA_NEEDS_RIGHT_PADDING } from '../attentionKind';
import { batchDependentOps, effectiveBatchSize, positionsFromMask } from '../schedule/batchingSupport';
import { Finding } from './finding';
import { ModelFacts } from './modelFacts';

export interface GraphFindingOptions {
  /** The --batch-size the user asked for, to say when it is overridden. */
  requestedBatchSize?: number;
}

/** What the tokenizer config says about padding: its `padding_side`, or null when absent (tokenizers then pad right). */
export function tokenizerPaddingSide(model: Pick<ModelFacts, 'folder'>): 'left' | 'right' | null {
  const side = model.folder.tokenizerConfig?.padding_side;
  return side === 'left' || side === 'right' ? side : null;
}

/** Findings about the graph's attention kind, its inputs, and padding. */
export function graphFindings(model: ModelFacts, options: GraphFindingOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const { graph, protocol } = model;
  const gqa = graph.attention === 'gqa';
  const qwenGenPads = `qwen-gen uses ${protocol.description}`;

  const declaredSide = tokenizerPaddingSide(model);
  const tokenizerSide = declaredSide ?? 'right';
  const sideEvidence = {
    file: 'tokenizer_config.json',
    key: 'padding_side',
    value: declaredSide,
    effective_side: tokenizerSide,
    attention: graph.attention,
    qwen_gen_side: protocol.side,
  };
  const sideSaid = declaredSide ? `tokenizer_config.json sets padding_side "${declaredSide}"` : 'tokenizer_config.json has no padding_side (tokenizers default to right)';
  if (gqa && tokenizerSide === 'left') {
    findings.push({
      code: 'padding_side_mismatch',
      severity: 'warning',
      message: `${sideSaid}, but ${GQA_NEEDS_RIGHT_PADDING}: tools that follow the tokenizer config get wrong padded rows.`,
      evidence: { ...sideEvidence, needed_side: 'right' },
      action: `${qwenGenPads}, whatever the tokenizer config says`,
    });
  } else if (!gqa && tokenizerSide === 'right') {
    // Plain attention is correct on either side with explicit positions; the mismatch is with generate-style tools,
    // which read the last column's logits and so need left padding (Hugging Face's convention for decoder-only models).
    findings.push({
      code: 'padding_side_mismatch',
      severity: 'info',
      message:
        `${sideSaid}; this plain-attention graph is correct on either side with explicit position ids, but generate-style tools ` +
        'read the last column and need left padding ("A decoder-only architecture is being used, but right-padding was detected!").',
      evidence: { ...sideEvidence, needed_side: 'either (left for generate-style tools)' },
      action: `${qwenGenPads} and reads each row's logits at its own last real token`,
    });
  }

  if (gqa) {
    findings.push({
      code: 'gqa_left_padding_unsafe',
      severity: 'info',
      message:
        `this graph uses ${GQA_NEEDS_RIGHT_PADDING}: left-padded batching ` +
        "(e.g. transformers.js's text-generation pipeline) gives silently wrong results for every padded row on this model.",
      evidence: { attention: 'gqa', op: 'com.microsoft:GroupQueryAttention', nodes: graph.opTypes['com.microsoft:GroupQueryAttention'] ?? null, rotary: graph.rotary },
      action: qwenGenPads,
    });
    if (protocol.side === 'left') {
      findings.push({
        code: 'left_padding_on_gqa',
        severity: 'error',
        message: 'left padding was forced (--padding-side left) on a GroupQueryAttention graph: every padded row of this run is wrong.',
        evidence: { attention: 'gqa', qwen_gen_side: 'left' },
        action: 'none: drop --padding-side left (right padding is the default for this graph)',
      });
    }
  }

  // Reports the scheduling decision (schedule/batchingSupport.ts); used only on graphs that decision keeps at batch size 1.
  const requested = options.requestedBatchSize ?? 1;
  const runsAt = effectiveBatchSize(graph, requested);
  const batchOne = `qwen-gen runs this model at batch size ${runsAt}` + (requested > runsAt ? ` (--batch-size ${requested} is not used)` : '');
  const inputNames = graph.inputs.map((input) => input.name);
  if (!graph.hasAttentionMask) {
    findings.push({
      code: 'no_attention_mask',
      severity: 'warning',
      message: 'the graph takes no attention_mask input: pads cannot be hidden, so batching is impossible.',
      evidence: { inputs: inputNames },
      action: batchOne,
    });
  }
  // `graph.opTypes` are those of the graph that runs (the derived one when it applies); the file's own are kept apart.
  const batchDependent = batchDependentOps(graph);
  const sourceOpTypes = model.derived?.sourceOpTypes ?? graph.opTypes;
  const inFile = batchDependentOps({ opTypes: sourceOpTypes });
  if (batchDependent.length > 0) {
    findings.push({
      code: 'batch_dependent_quantization',
      severity: 'warning',
      message:
        `the graph quantizes activations dynamically with one scale per batch (${batchDependent.join(', ')}): a row's output ` +
        'would depend on which rows share its batch.',
      evidence: { ops: Object.fromEntries(batchDependent.map((op) => [op, graph.opTypes[op]])), derived_graph: model.derived?.path ?? null },
      action: batchOne + (model.derived === null ? '; without --no-derived-graph qwen-gen quantizes each row on its own and batches' : ''),
    });
  } else if (inFile.length > 0) {
    findings.push({
      code: 'batch_dependent_quantization',
      severity: 'info',
      message:
        `the model file quantizes activations dynamically with one scale per batch (${inFile.join(', ')}): run as it is, a row's ` +
        "output would depend on which rows share its batch (other tools batching this file get batch-dependent rows).",
      evidence: { ops: Object.fromEntries(inFile.map((op) => [op, sourceOpTypes[op]])), derived_graph: model.derived?.path ?? null },
      action: `qwen-gen runs a derived graph that quantizes each row with its own scale (row_wise_activation_quantization), so a row's output does not depend on its batch mates; ${batchOne.replace('qwen-gen runs', 'it runs')}`,
    });
  }
  if (!graph.hasPositionIds) {
    const safe = positionsFromMask(graph);
    findings.push({
      code: 'no_position_ids',
      severity: safe ? 'info' : 'warning',
      message: safe
        ? "the graph takes no position_ids: GroupQueryAttention's fused rotary derives positions from the mask, which is right-padding safe."
        : 'the graph takes no position_ids: it numbers positions by cache width, so padded rows would get shifted positions.',
      evidence: { inputs: inputNames, attention: graph.attention, rotary: graph.rotary },
      action: safe ? qwenGenPads : batchOne,
    });
  }
  return findings;
}
