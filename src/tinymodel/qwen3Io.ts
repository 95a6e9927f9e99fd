/** Input/output names of Qwen3 decoder graphs, as in onnx-community / transformers.js exports. */
export const qwen3Io = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  numLogitsToKeep: 'num_logits_to_keep',
  logits: 'logits',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
};

/** Symbolic dimension names (dim_param) used in the graph's declared shapes. */
export const qwen3Dims = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  past: 'past_sequence_length',
  total: 'total_sequence_length',
  keptLogits: 'num_logits_to_keep',
};
