import { UserError } from '../errors';

export interface ShardSpec {
  /** 0-based shard index, 0 <= index < count. */
  index: number;
  count: number;
  /** Where the index came from, for messages: `explicit`, or the variable(s) read, e.g. `JOB_COMPLETION_INDEX=2`. */
  source: string;
}

/**
 * Variables read by `--shard auto/N`, first set (non-empty) wins:
 * - `QWEN_GEN_SHARD_INDEX`: 0-based; qwen-gen's own, for any other scheduler (e.g. a GitHub Actions matrix).
 * - `JOB_COMPLETION_INDEX`: 0-based; Kubernetes Indexed Job.
 * - `SLURM_ARRAY_TASK_ID`: Slurm job array; `SLURM_ARRAY_TASK_MIN` is subtracted so `--array=1-3` works
 *   like `--array=0-2`. The array must be contiguous (no `:step`, no lists with gaps). When set,
 *   `SLURM_ARRAY_TASK_COUNT` must equal N.
 * - `CI_NODE_INDEX`: 1-based; GitLab CI `parallel: N`. When set, `CI_NODE_TOTAL` must equal N.
 */
export const SHARD_INDEX_VARIABLES = [
  'QWEN_GEN_SHARD_INDEX',
  'JOB_COMPLETION_INDEX',
  'SLURM_ARRAY_TASK_ID',
  'CI_NODE_INDEX',
] as const;

const SPEC_PATTERN = /^(\d+|auto)\/(\d+)$/i;
const USAGE_HINT = `expected K/N with 0 <= K < N (e.g. --shard 0/3), or auto/N to read K from ${SHARD_INDEX_VARIABLES.join(', ')}`;

export function parseShardSpec(text: string, env: NodeJS.ProcessEnv): ShardSpec {
  const match = SPEC_PATTERN.exec(text.trim());
  if (!match) throw new UserError(`invalid --shard "${text}": ${USAGE_HINT}`);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new UserError(`invalid --shard "${text}": the shard count N must be at least 1`);
  }
  if (match[1].toLowerCase() === 'auto') return shardFromEnvironment(count, env);
  const index = Number(match[1]);
  checkIndexInRange(index, count, `--shard ${text}`);
  return { index, count, source: 'explicit' };
}

function shardFromEnvironment(count: number, env: NodeJS.ProcessEnv): ShardSpec {
  const read = (name: string): number | undefined => readNonNegativeInteger(env, name);
  const found = (index: number, source: string): ShardSpec => {
    checkIndexInRange(index, count, source);
    return { index, count, source };
  };

  const own = read('QWEN_GEN_SHARD_INDEX');
  if (own !== undefined) return found(own, `QWEN_GEN_SHARD_INDEX=${own}`);

  const kubernetes = read('JOB_COMPLETION_INDEX');
  if (kubernetes !== undefined) return found(kubernetes, `JOB_COMPLETION_INDEX=${kubernetes}`);

  const slurm = read('SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) {
    const min = read('SLURM_ARRAY_TASK_MIN') ?? 0;
    checkTotal(env, 'SLURM_ARRAY_TASK_COUNT', count);
    const source = min === 0 ? `SLURM_ARRAY_TASK_ID=${slurm}` : `SLURM_ARRAY_TASK_ID=${slurm} - SLURM_ARRAY_TASK_MIN=${min}`;
    if (slurm < min) throw new UserError(`${source}: the task id is below the array minimum`);
    return found(slurm - min, source);
  }

  const gitlab = read('CI_NODE_INDEX');
  if (gitlab !== undefined) {
    checkTotal(env, 'CI_NODE_TOTAL', count);
    if (gitlab < 1) throw new UserError(`CI_NODE_INDEX=${gitlab}: GitLab node indexes start at 1`);
    return found(gitlab - 1, `CI_NODE_INDEX=${gitlab} (1-based)`);
  }

  throw new UserError(
    `--shard auto/${count}: no shard index found in the environment; set one of ${SHARD_INDEX_VARIABLES.join(', ')}` +
      ` (or pass --shard K/${count} explicitly)`,
  );
}

function readNonNegativeInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new UserError(`${name}="${raw}" is not a non-negative integer`);
  }
  return value;
}

function checkTotal(env: NodeJS.ProcessEnv, name: string, count: number): void {
  const total = readNonNegativeInteger(env, name);
  if (total !== undefined && total !== count) {
    throw new UserError(`${name}=${total} but --shard auto/${count} asks for ${count} shards; they must match`);
  }
}

function checkIndexInRange(index: number, count: number, source: string): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new UserError(`${source}: shard index ${index} is out of range for ${count} shard(s) (valid: 0..${count - 1})`);
  }
}
