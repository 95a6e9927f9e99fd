import { UserError } from '../../src/errors';
import { parseShardSpec } from '../../src/shard/shardSpec';

function errorOf(action: () => unknown): UserError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('parseShardSpec', () => {
  it('parses explicit K/N', () => {
    expect(parseShardSpec('0/3', {})).toEqual({ index: 0, count: 3, source: 'explicit' });
    expect(parseShardSpec(' 2/3 ', {})).toEqual({ index: 2, count: 3, source: 'explicit' });
    expect(parseShardSpec('0/1', {})).toEqual({ index: 0, count: 1, source: 'explicit' });
  });

  it('explicit K/N ignores the environment', () => {
    expect(parseShardSpec('1/3', { JOB_COMPLETION_INDEX: '2' }).index).toBe(1);
  });

  it.each(['', '3', '1/', '/3', '-1/3', '1/-3', 'a/3', '1/3/5', '1.5/3', 'auto', 'auto/', 'auto/x', '1 /3'])(
    'rejects malformed %j with an example',
    (text) => {
      const error = errorOf(() => parseShardSpec(text, {}));
      expect(error.message).toContain('K/N');
      expect(error.exitCode).toBe(2);
    },
  );

  it('rejects N = 0 and K >= N', () => {
    expect(errorOf(() => parseShardSpec('0/0', {})).message).toMatch(/at least 1/);
    expect(errorOf(() => parseShardSpec('3/3', {})).message).toMatch(/out of range.*0\.\.2/);
    expect(errorOf(() => parseShardSpec('auto/0', { JOB_COMPLETION_INDEX: '0' })).message).toMatch(/at least 1/);
  });

  it('auto/N reads QWEN_GEN_SHARD_INDEX (0-based)', () => {
    expect(parseShardSpec('auto/4', { QWEN_GEN_SHARD_INDEX: '3' })).toEqual({ index: 3, count: 4, source: 'QWEN_GEN_SHARD_INDEX=3' });
  });

  it('auto/N reads JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based)', () => {
    expect(parseShardSpec('AUTO/3', { JOB_COMPLETION_INDEX: '0' })).toMatchObject({ index: 0, count: 3 });
    expect(parseShardSpec('auto/3', { JOB_COMPLETION_INDEX: '2' }).source).toBe('JOB_COMPLETION_INDEX=2');
  });

  it('auto/N reads SLURM_ARRAY_TASK_ID, offset by SLURM_ARRAY_TASK_MIN', () => {
    expect(parseShardSpec('auto/3', { SLURM_ARRAY_TASK_ID: '2' }).index).toBe(2);
    expect(parseShardSpec('auto/3', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' }).index).toBe(2);
    expect(parseShardSpec('auto/3', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1' }).index).toBe(0);
    expect(errorOf(() => parseShardSpec('auto/3', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1' })).message).toMatch(/out of range/);
    expect(errorOf(() => parseShardSpec('auto/3', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' })).message).toMatch(
      /SLURM_ARRAY_TASK_COUNT=4.*3/,
    );
  });

  it('auto/N reads CI_NODE_INDEX (GitLab parallel, 1-based) and checks CI_NODE_TOTAL', () => {
    expect(parseShardSpec('auto/3', { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3' }).index).toBe(0);
    expect(parseShardSpec('auto/3', { CI_NODE_INDEX: '3' }).index).toBe(2);
    expect(errorOf(() => parseShardSpec('auto/3', { CI_NODE_INDEX: '0' })).message).toMatch(/start at 1/);
    expect(errorOf(() => parseShardSpec('auto/3', { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '5' })).message).toMatch(/CI_NODE_TOTAL=5/);
    expect(errorOf(() => parseShardSpec('auto/3', { CI_NODE_INDEX: '4' })).message).toMatch(/out of range/);
  });

  it('takes the variables in the documented order and treats empty values as unset', () => {
    const all = { QWEN_GEN_SHARD_INDEX: '1', JOB_COMPLETION_INDEX: '2', SLURM_ARRAY_TASK_ID: '0', CI_NODE_INDEX: '1' };
    expect(parseShardSpec('auto/3', all).index).toBe(1);
    expect(parseShardSpec('auto/3', { ...all, QWEN_GEN_SHARD_INDEX: '' }).index).toBe(2);
    expect(parseShardSpec('auto/3', { ...all, QWEN_GEN_SHARD_INDEX: undefined, JOB_COMPLETION_INDEX: ' ' }).index).toBe(0);
    expect(parseShardSpec('auto/3', { CI_NODE_INDEX: '2', SLURM_ARRAY_TASK_ID: '' }).index).toBe(1);
  });

  it('auto/N without any variable names all of them', () => {
    const error = errorOf(() => parseShardSpec('auto/3', { PATH: '/bin' }));
    for (const name of ['QWEN_GEN_SHARD_INDEX', 'JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'CI_NODE_INDEX']) {
      expect(error.message).toContain(name);
    }
  });

  it('rejects a non-integer or out-of-range variable, naming it', () => {
    expect(errorOf(() => parseShardSpec('auto/3', { JOB_COMPLETION_INDEX: 'two' })).message).toMatch(/JOB_COMPLETION_INDEX="two"/);
    expect(errorOf(() => parseShardSpec('auto/3', { QWEN_GEN_SHARD_INDEX: '-1' })).message).toMatch(/QWEN_GEN_SHARD_INDEX/);
    expect(errorOf(() => parseShardSpec('auto/3', { JOB_COMPLETION_INDEX: '3' })).message).toMatch(/JOB_COMPLETION_INDEX=3.*out of range/);
  });
});
