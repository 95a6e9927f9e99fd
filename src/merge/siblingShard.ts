import { classifyOutputLine } from '../output/outputLine';
import { lineText, readLines } from '../output/readLines';
import { recordKey } from './recordKey';

/**
 * Whether `output` (an existing file merge was asked to replace) is one more shard of the same run: it holds output
 * records, none of them for a request the shards being merged hold. An earlier merged output holds the shards' requests;
 * a sibling shard holds others — the first match of an unquoted `shard-*.jsonl`, which the shell made the output.
 */
export async function isSiblingShard(output: string, shards: readonly string[]): Promise<boolean> {
  const outputKeys = await recordKeys(output);
  if (outputKeys.size === 0) return false;
  for (const shard of shards) {
    for (const key of await recordKeys(shard)) if (outputKeys.has(key)) return false;
  }
  return true;
}

async function recordKeys(file: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const line of readLines(file)) {
    const classified = classifyOutputLine(lineText(line.bytes));
    if (!classified.ok) continue;
    const key = recordKey(classified.info.id, classified.info.index);
    if (key !== undefined) keys.add(key);
  }
  return keys;
}
