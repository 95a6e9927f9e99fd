import { canonicalRequestId, RequestId } from '../shard/requestId';

/**
 * The identity of one request across input and outputs: its canonical id, or — for an error record
 * whose line had no readable id (invalid JSON or UTF-8, `"id": null`) — its input index.
 */
export function recordKey(id: RequestId | null, index: number | undefined): string | undefined {
  if (id !== null) return canonicalRequestId(id);
  return index === undefined ? undefined : `#${index}`;
}
