import { StepFeeds } from './stepFeeds';
import { RunnerInputs } from './stepRunner';

export function readRunnerInputs(names: Set<string>): RunnerInputs {
  return {
    hasAttentionMask: names.has('attention_mask'),
    hasPositionIds: names.has('position_ids'),
    hasLogitsToKeep: names.has('num_logits_to_keep'),
    hasLogitsIndex: names.has('logits_index'),
  };
}

/**
 * Only the positions whose logits are read need the vocabulary projection: gather one column per row (the derived
 * graph's `logits_index`), or ask for the last `keep` columns (`num_logits_to_keep`).
 */
export function logitsFeed(inputs: RunnerInputs, feeds: StepFeeds): { name: string; data: BigInt64Array; dims: number[] } | null {
  if (inputs.hasLogitsIndex) {
    return { name: 'logits_index', data: BigInt64Array.from(feeds.logitColumns, (c) => BigInt(c)), dims: [feeds.batch] };
  }
  if (inputs.hasLogitsToKeep) {
    const keep = feeds.seqLen - Math.min(...feeds.logitColumns);
    return { name: 'num_logits_to_keep', data: BigInt64Array.from([BigInt(keep)]), dims: [] };
  }
  return null;
}

/** Columns of logits the step returns per row. */
export function keptLogitColumns(inputs: RunnerInputs, feeds: StepFeeds): number {
  if (inputs.hasLogitsIndex) return 1;
  if (inputs.hasLogitsToKeep) return feeds.seqLen - Math.min(...feeds.logitColumns);
  return feeds.seqLen;
}
