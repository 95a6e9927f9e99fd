import { canonicalRequestId, RequestId } from './requestId';
import { stableHash64 } from './stableHash';

/**
 * The shard (0..count-1) that owns a request: `stableHash64(canonicalRequestId(id)) mod count`.
 * It depends only on the id and the shard count, never on line position, so adding or reordering
 * lines does not move existing requests between shards (a request without an `id` is identified by its
 * line number, so inserting lines above it does move it).
 */
export function shardOf(id: RequestId, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be an integer >= 1, got ${count}`);
  if (count === 1) return 0;
  return Number(stableHash64(canonicalRequestId(id)) % BigInt(count));
}

export interface ShardSelection {
  index: number;
  count: number;
}

export function shardOwns(shard: ShardSelection, id: RequestId): boolean {
  return shardOf(id, shard.count) === shard.index;
}
