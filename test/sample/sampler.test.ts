import { RequestSampler } from '../../src/sample/sampler';
import { GREEDY_PARAMS, SamplingParams } from '../../src/sample/samplingParams';
import { createSeededRng } from '../../src/sample/seededRng';

const NEG = -Infinity;
const params = (overrides: Partial<SamplingParams>): SamplingParams => ({ ...GREEDY_PARAMS, ...overrides });
const f32 = (values: number[]): Float32Array => Float32Array.from(values);

/** Independent reference pipeline in float64 on plain arrays: temperature, top-k, top-p (HF), min-p. */
function referenceDistribution(raw: number[], p: SamplingParams): number[] {
  const softmax = (values: number[]): number[] => {
    const max = Math.max(...values);
    const exps = values.map((x) => (x === NEG ? 0 : Math.exp(x - max)));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  };
  let logits = raw.map((x) => x / p.temperature);
  if (p.topK > 0 && p.topK < logits.length) {
    const kth = [...logits].sort((a, b) => b - a)[p.topK - 1];
    logits = logits.map((x) => (x >= kth ? x : NEG));
  }
  if (p.topP < 1) {
    const probs = softmax(logits);
    const ascending = probs.map((prob, i) => ({ prob, i })).sort((a, b) => a.prob - b.prob || b.i - a.i);
    let cumulative = 0;
    const removed = new Set<number>();
    ascending.forEach(({ prob, i }, rank) => {
      cumulative += prob;
      if (cumulative <= 1 - p.topP && rank < ascending.length - 1) removed.add(i);
    });
    logits = logits.map((x, i) => (removed.has(i) ? NEG : x));
  }
  if (p.minP > 0) {
    const probs = softmax(logits);
    const max = Math.max(...probs);
    logits = logits.map((x, i) => (probs[i] >= p.minP * max ? x : NEG));
  }
  return softmax(logits);
}

/** Pearson chi-square statistic over the categories with non-zero expected probability. */
function chiSquare(counts: number[], expected: number[], draws: number): number {
  return expected.reduce((sum, prob, i) => (prob > 0 ? sum + (counts[i] - draws * prob) ** 2 / (draws * prob) : sum), 0);
}

// Upper 0.1 % points of the chi-square distribution (scipy.stats.chi2.ppf(0.999, df)).
const CHI2_999: Record<number, number> = { 3: 16.266, 4: 18.467, 5: 20.515, 7: 24.322, 9: 27.877 };

function drawCounts(p: SamplingParams, raw: number[], draws: number): number[] {
  const sampler = new RequestSampler(p, []);
  const counts = new Array<number>(raw.length).fill(0);
  const logits = f32(raw);
  for (let i = 0; i < draws; i++) counts[sampler.next(logits).tokenId]++;
  return counts;
}

describe('RequestSampler: sampled frequencies follow the processed distribution (chi-square, 20k draws)', () => {
  const raw = [1.2, 0.3, -0.4, 2.1, 0.9, -1.5, 1.7, 0.0, -0.8, 1.0];
  const draws = 20000;
  const cases: Array<[string, Partial<SamplingParams>]> = [
    ['temperature only', { temperature: 0.8, seed: 11 }],
    ['Qwen3 defaults (T 0.6, top-k 20, top-p 0.95)', { temperature: 0.6, topK: 20, topP: 0.95, seed: 12 }],
    ['top-k 5', { temperature: 1, topK: 5, seed: 17 }],
    ['top-k 6 + top-p 0.9', { temperature: 1.3, topK: 6, topP: 0.9, seed: 13 }],
    ['top-p 0.8 without top-k', { temperature: 1.0, topP: 0.8, seed: 14 }],
    ['min-p 0.2', { temperature: 0.9, minP: 0.2, seed: 15 }],
  ];
  it.each(cases)('%s', (_name, overrides) => {
    const p = params(overrides);
    const expected = referenceDistribution(raw, p);
    const counts = drawCounts(p, raw, draws);
    const support = expected.filter((prob) => prob > 0).length;
    expect(support).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < raw.length; i++) if (expected[i] === 0) expect(counts[i]).toBe(0);
    expect(chiSquare(counts, expected, draws)).toBeLessThan(CHI2_999[support - 1]);
  });
  it('the test bites: the same draws do not fit a distribution without the temperature', () => {
    const p = params({ temperature: 0.6, seed: 16 });
    const counts = drawCounts(p, raw, draws);
    const wrong = referenceDistribution(raw, { ...p, temperature: 1 });
    expect(chiSquare(counts, wrong, draws)).toBeGreaterThan(CHI2_999[9]);
  });
});

describe('RequestSampler: draws', () => {
  it('one uniform number per token, inverse CDF in token-id order', () => {
    const raw = [0.5, 1.5, -0.5, 1.0, 0.0];
    const p = params({ temperature: 0.7, topK: 4, seed: 2024 });
    const expectedProbs = referenceDistribution(raw, p);
    const uniforms = createSeededRng(2024);
    const expected = Array.from({ length: 40 }, () => {
      const u = uniforms.random();
      let cumulative = 0;
      return expectedProbs.findIndex((prob) => (cumulative += prob) > u);
    });
    const sampler = new RequestSampler(p, []);
    expect(Array.from({ length: 40 }, () => sampler.next(f32(raw)).tokenId)).toEqual(expected);
  });

  function logitsForStep(step: number, vocab = 64): Float32Array {
    let state = (step + 1) * 2654435761;
    return Float32Array.from({ length: vocab }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return (state / 2 ** 32) * 4;
    });
  }
  const run = (p: SamplingParams, steps: number, sampler = new RequestSampler(p, [1, 2, 3])): number[] =>
    Array.from({ length: steps }, (_, step) => sampler.next(logitsForStep(step)).tokenId);

  it('same seed ⇒ same sequence; another seed ⇒ another sequence', () => {
    const p = params({ temperature: 1, topP: 0.95, repetitionPenalty: 1.1, frequencyPenalty: 0.2, seed: 5 });
    const first = run(p, 60);
    expect(run(p, 60)).toEqual(first);
    expect(run({ ...p, seed: 6 }, 60)).not.toEqual(first);
  });

  it('a sampler’s output does not depend on other samplers stepping in between (shared scratch is stateless)', () => {
    const a = params({ temperature: 0.9, topK: 10, seed: 1 });
    const b = params({ temperature: 1.2, topP: 0.8, presencePenalty: 0.5, seed: 2 });
    const aloneA = run(a, 30);
    const aloneB = run(b, 30);
    const samplerA = new RequestSampler(a, [1, 2, 3]);
    const samplerB = new RequestSampler(b, [1, 2, 3]);
    const interleavedA: number[] = [];
    const interleavedB: number[] = [];
    for (let step = 0; step < 30; step++) {
      interleavedB.push(samplerB.next(logitsForStep(step)).tokenId);
      interleavedA.push(samplerA.next(logitsForStep(step)).tokenId);
    }
    expect(interleavedA).toEqual(aloneA);
    expect(interleavedB).toEqual(aloneB);
  });

  it('never modifies the caller’s logits', () => {
    const logits = logitsForStep(0);
    const copy = Float32Array.from(logits);
    const sampler = new RequestSampler(params({ temperature: 0.5, topK: 5, topP: 0.9, repetitionPenalty: 2, seed: 1 }), [0, 1]);
    sampler.next(logits);
    expect(logits).toEqual(copy);
  });

  it('works on a full Qwen3-sized vocabulary quickly', () => {
    const vocab = 151936;
    const logits = Float32Array.from({ length: vocab }, (_, i) => Math.sin(i * 12.9898) * 8);
    const sampler = new RequestSampler(params({ temperature: 0.6, topK: 20, topP: 0.95, seed: 3 }), []);
    // HF applies top-k to the tempered float32 logits, where near-equal values may tie
    const tempered = logits.map((x) => x / 0.6);
    const twentiethLargest = [...tempered].sort((a, b) => b - a)[19];
    const start = Date.now();
    for (let i = 0; i < 50; i++) expect(tempered[sampler.next(logits).tokenId]).toBeGreaterThanOrEqual(twentiethLargest);
    expect(Date.now() - start).toBeLessThan(2000); // ~1 ms per token on this machine; generous bound
  });
});

describe('RequestSampler: greedy', () => {
  it('takes the first maximum and ignores the seed', () => {
    for (const seed of [undefined, 1, 2]) {
      const sampler = new RequestSampler(params({ temperature: 0, seed }), []);
      expect(sampler.next(f32([0.1, 3, -1, 3])).tokenId).toBe(1);
    }
    expect(new RequestSampler(params({ temperature: 0.7, topK: 1, seed: 9 }), []).next(f32([0, 2, 5, 5])).tokenId).toBe(2);
  });
  it('applies the repetition penalty to prompt tokens', () => {
    const sampler = new RequestSampler(params({ repetitionPenalty: 1.2 }), [0]);
    expect(sampler.next(f32([2, 1.9])).tokenId).toBe(1); // 2 / 1.2 ≈ 1.67 < 1.9
  });
  it('frequency penalty accumulates over generated tokens', () => {
    const sampler = new RequestSampler(params({ frequencyPenalty: 0.15 }), []);
    const logits = f32([1, 0.9, 0.8]);
    // by hand: 1→pick 0; (0.85, 0.9, 0.8)→1; (0.85, 0.75, 0.8)→0; (0.7, 0.75, 0.8)→2; (0.7, 0.75, 0.65)→1
    expect(Array.from({ length: 5 }, () => sampler.next(logits).tokenId)).toEqual([0, 1, 0, 2, 1]);
  });
  it('min_tokens blocks the eos ids until enough tokens were generated', () => {
    const sampler = new RequestSampler(params({}), [], { minTokens: 2, minTokensBlockedIds: [2, 3] });
    const logits = f32([0, 1, 5, 4]);
    expect(Array.from({ length: 3 }, () => sampler.next(logits).tokenId)).toEqual([1, 1, 2]);
    expect(sampler.generatedCount).toBe(3);
  });
  it('refuses a row where everything is masked', () => {
    expect(() => new RequestSampler(params({}), []).next(f32([NEG, NEG]))).toThrow(/masked/);
    expect(() => new RequestSampler(params({ temperature: 1, seed: 1 }), []).next(f32([NEG]))).toThrow(/masked/);
  });
});

describe('RequestSampler: logprobs', () => {
  it('reports the log-softmax of the raw logits (before temperature and penalties) with top-N alternatives', () => {
    const raw = [1, 3, 2, 3, -1];
    const logZ = Math.log(raw.reduce((sum, x) => sum + Math.exp(x), 0));
    const sampler = new RequestSampler(params({ temperature: 0.3, repetitionPenalty: 3, logprobs: 3, seed: 4 }), [1]);
    const result = sampler.next(f32(raw));
    expect(result.logprob).toBeCloseTo(raw[result.tokenId] - logZ, 6);
    expect(result.topLogprobs!.map((t) => t.tokenId)).toEqual([1, 3, 2]);
    result.topLogprobs!.forEach((t) => expect(t.logprob).toBeCloseTo(raw[t.tokenId] - logZ, 6));
  });
  it('omits them when logprobs is 0', () => {
    const result = new RequestSampler(params({}), []).next(f32([0, 1]));
    expect(result).toEqual({ tokenId: 1 });
  });
});

describe('RequestSampler: seeds', () => {
  it('refuses a non-integer seed at construction', () => {
    expect(() => new RequestSampler(params({ temperature: 1, seed: 0.5 }), [])).toThrow(RangeError);
  });
});

describe('greedy fast path and row constraints', () => {
  /** Rows with ties, -Infinity and NaN entries, drawn from a seeded generator. */
  function rows(count: number, size: number): Float32Array[] {
    const rng = createSeededRng(99);
    return Array.from({ length: count }, () => {
      const row = Float32Array.from({ length: size }, () => Math.round(rng.random() * 8) / 2 - 2);
      row[Math.floor(rng.random() * size)] = NEG;
      row[Math.floor(rng.random() * size)] = NaN;
      return row;
    });
  }
  /** The first largest entry, NaN skipped (an independent argmax). */
  const firstMax = (row: Float32Array) => {
    let best = -1;
    row.forEach((x, i) => {
      if (!Number.isNaN(x) && (best < 0 || x > row[best])) best = i;
    });
    return best;
  };

  test('a plain greedy row chooses the first largest logit, as the processed path does, and leaves the row unchanged', () => {
    const plain = new RequestSampler(GREEDY_PARAMS, []);
    // A penalty that changes nothing (frequency 0, repetition 1) vs one that forces the processed path.
    const processed = new RequestSampler(params({ frequencyPenalty: 1e-30 }), []);
    for (const row of rows(50, 37)) {
      const before = Float32Array.from(row);
      const choice = plain.next(row).tokenId;
      expect(choice).toBe(firstMax(row));
      expect(processed.next(row).tokenId).toBe(choice);
      expect(Array.from(row)).toEqual(Array.from(before));
    }
  });

  test('a constraint masks a working copy before the argmax and the penalties; the runner row is never written', () => {
    const row = f32([0, 5, 3, 4]);
    const forbid = (ids: number[]) => ({ mask: (logits: Float32Array) => ids.forEach((id) => (logits[id] = NEG)) });
    const greedy = new RequestSampler(GREEDY_PARAMS, []);
    expect(greedy.next(row, forbid([1])).tokenId).toBe(3);
    expect(greedy.next(row, forbid([1, 3])).tokenId).toBe(2);
    expect(Array.from(row)).toEqual([0, 5, 3, 4]);
    // With a penalty too, and sampled: the masked token is never drawn.
    const penalised = new RequestSampler(params({ repetitionPenalty: 2 }), [3]);
    expect(penalised.next(row, forbid([1])).tokenId).toBe(2); // 4 / 2 < 3
    const sampled = new RequestSampler(params({ temperature: 1, seed: 5 }), []);
    for (let i = 0; i < 200; i++) expect(sampled.next(row, forbid([1, 3])).tokenId).not.toBe(1);
    // Negative control: without the constraint (or with an inactive one) the same sampler chooses the forbidden token.
    expect(greedy.next(row).tokenId).toBe(1);
    expect(greedy.next(row, { ...forbid([1]), active: false }).tokenId).toBe(1);
  });
});
