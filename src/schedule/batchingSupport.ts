import { GraphInfo } from '../model/graphInfo';

export interface BatchingSupport {
  batchable: boolean;
  /** Why not, one sentence each. */
  reasons: string[];
}

type BatchingFacts = Pick<GraphInfo, 'hasAttentionMask' | 'hasPositionIds' | 'attention' | 'rotary'> & Partial<Pick<GraphInfo, 'opTypes'>>;

/**
 * Whether padded rows can share a batch on this graph. It needs an attention_mask to hide the pads, and positions that
 * count each row's own real tokens: either a position_ids input, or GroupQueryAttention's fused rotary (it derives
 * positions from the mask's row sums). A graph without position_ids numbers positions by cache width, so a shorter row's
 * tokens would sit at shifted positions.
 */
export function batchingSupport(graph: BatchingFacts): BatchingSupport {
  const reasons: string[] = [];
  const batchDependent = batchDependentOps(graph);
  if (batchDependent.length > 0) {
    reasons.push(`the graph quantizes activations with one scale per whole batch (${batchDependent.join(', ')}), so a row's output would depend on its batch mates`);
  }
  if (!graph.hasAttentionMask) reasons.push('the graph takes no attention_mask, so pads cannot be hidden');
  if (!graph.hasPositionIds && !positionsFromMask(graph)) {
    reasons.push('the graph takes no position_ids and numbers positions by cache width, so padded rows would get shifted positions');
  }
  return { batchable: reasons.length === 0, reasons };
}

/** The batch size a run uses: the requested one, or 1 on a graph whose rows cannot share a batch. */
export function effectiveBatchSize(graph: BatchingFacts, requested: number): number {
  return batchingSupport(graph).batchable ? requested : 1;
}

/**
 * Ops whose result for one row depends on the other rows of the batch. Dynamic quantization (the `model_quantized` /
 * int8 / uint8 exports: DynamicQuantizeLinear → MatMulInteger) computes one activation scale over the whole input tensor,
 * pads included, so batched rows differ from solo ones (measured on the builder's q8 graphs: 13 of 16 prompts changed).
 */
export function batchDependentOps(graph: Partial<Pick<GraphInfo, 'opTypes'>>): string[] {
  return Object.keys(graph.opTypes ?? {}).filter((op) => /(^|:)DynamicQuantize(Linear|MatMul)$/.test(op));
}

/** GroupQueryAttention with its rotary fused in derives each row's positions from the mask's row sums. */
export function positionsFromMask(graph: Pick<GraphInfo, 'attention' | 'rotary'>): boolean {
  return graph.attention === 'gqa' && graph.rotary === 'gqa-fused';
}
