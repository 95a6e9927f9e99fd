import { mergeReports, stableStringify } from '../../src/merge/mergeReports';

describe('mergeReports (generic, until the report schema is final)', () => {
  const shard = (n: number, findings: unknown[]): Record<string, unknown> => ({
    version: 1,
    model: 'tiny',
    figures: { requests: 10 * n, tokens: { prompt: 100 + n, completion: 7 }, batch_sizes: [1, n], label: `shard ${n}` },
    findings,
  });

  it('sums numeric figures, keeps other fields from the first report and counts shards', () => {
    const merged = mergeReports([shard(1, []), shard(2, []), { ...shard(3, []), model: 'other', extra: true }]);
    expect(merged).toEqual({
      version: 1,
      model: 'tiny',
      extra: true,
      figures: { requests: 60, tokens: { prompt: 306, completion: 21 }, batch_sizes: [3, 6], label: 'shard 1' },
      findings: [],
      shards: 3,
    });
  });

  it('deduplicates findings by code and evidence, concatenating request ids', () => {
    const padEos = (ids: string[]) => ({
      code: 'pad_is_eos',
      severity: 'warning',
      evidence: { pad_token_id: 151643, eos_token_id: [151645, 151643], request_ids: ids },
      count: ids.length,
    });
    const reorderedEvidence = { code: 'pad_is_eos', severity: 'warning', evidence: { eos_token_id: [151645, 151643], pad_token_id: 151643 }, ids: ['q9'] };
    const other = { code: 'pad_is_eos', evidence: { pad_token_id: 0 } };
    const merged = mergeReports([shard(1, [padEos(['q1', 'q2'])]), shard(2, [padEos(['q2', 'q3']), other, reorderedEvidence])]);
    expect(merged.findings).toEqual([
      {
        code: 'pad_is_eos',
        severity: 'warning',
        evidence: { pad_token_id: 151643, eos_token_id: [151645, 151643], request_ids: ['q1', 'q2', 'q3'] },
        count: 4,
        ids: ['q9'],
      },
      other,
    ]);
  });

  it('counts a report that is itself a merge by its own shards figure', () => {
    expect(mergeReports([{ shards: 3 }, { version: 1 }]).shards).toBe(4);
  });

  it('does not let a "__proto__" key change prototypes', () => {
    const merged = mergeReports([JSON.parse('{"__proto__": {"polluted": 1}, "figures": {"__proto__": {"x": 1}}}')]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a report that is not an object', () => {
    expect(() => mergeReports([[]])).toThrow(/report 1/);
  });

  it('stableStringify ignores key order', () => {
    expect(stableStringify({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
