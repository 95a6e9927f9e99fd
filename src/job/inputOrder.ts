import { OutputLineInfo } from '../output/outputLine';
import { JobInput } from './openJob';

/** A line's position in the input: its `index` (qwen-gen lines), or its OpenAI `custom_id`'s line. */
export function inputOrder(input: Pick<JobInput, 'requests' | 'inputErrors'>): (line: OutputLineInfo) => number | undefined {
  const byCustomId = new Map<unknown, number>([
    ...input.inputErrors.map((e) => [e.id, e.index] as const),
    ...input.requests.map((r) => [r.customId, r.index] as const),
  ]);
  return (line) => {
    if (line.index !== undefined) return line.index;
    return line.format === 'openai' && typeof line.id === 'string' ? byCustomId.get(line.id) : undefined;
  };
}
