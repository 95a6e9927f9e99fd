import { JobInput } from './openJob';

/** A record's position in the input: its `index` (qwen-gen lines), or its OpenAI `custom_id`'s line. */
export function inputOrder(input: Pick<JobInput, 'requests' | 'inputErrors'>): (record: Record<string, unknown>) => number | undefined {
  const byCustomId = new Map<unknown, number>([
    ...input.inputErrors.map((e) => [e.id, e.index] as const),
    ...input.requests.map((r) => [r.customId, r.index] as const),
  ]);
  return (record) => {
    if (typeof record.index === 'number') return record.index;
    return typeof record.custom_id === 'string' ? byCustomId.get(record.custom_id) : undefined;
  };
}
