import { applyFrequencyPresencePenalty } from '../../src/sample/frequencyPresencePenalty';
import { applyMinP } from '../../src/sample/minP';
import { applyMinTokensMask } from '../../src/sample/minTokensMask';
import { processLogits, toVocabularyRow } from '../../src/sample/processLogits';
import { applyRepetitionPenalty } from '../../src/sample/repetitionPenalty';
import { GREEDY_PARAMS, SamplingParams, isGreedy } from '../../src/sample/samplingParams';
import { applyTemperature } from '../../src/sample/temperature';
import { applyTopK, topKSupport } from '../../src/sample/topK';
import { applyTopP } from '../../src/sample/topP';
import { sortByRank, topNIndices } from '../../src/sample/topNSelection';

const NEG = -Infinity;
const f32 = (values: number[]): Float32Array => Float32Array.from(values);
const logitsOfProbs = (probs: number[]): Float32Array => f32(probs.map(Math.log));
const keptIds = (row: Float32Array): number[] => [...row.keys()].filter((i) => row[i] !== NEG);

/** Independent reference: softmax in float64 over plain numbers. */
function softmax(values: ArrayLike<number>): number[] {
  const list = Array.from(values);
  const max = Math.max(...list);
  const exps = list.map((x) => (x === NEG ? 0 : Math.exp(x - max)));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** HF TopPLogitsWarper written literally: sort ascending, cumsum, remove where cumsum <= 1 - top_p, keep the last. */
function referenceTopPKept(values: ArrayLike<number>, topP: number): Set<number> {
  const probs = softmax(values);
  // ascending by prob; among equal probs the higher id comes first (so the lower id survives, like the code under test)
  const order = probs.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || b.i - a.i);
  const kept = new Set<number>();
  let cumulative = 0;
  order.forEach(({ p, i }, rank) => {
    cumulative += p;
    if (cumulative > 1 - topP || rank === order.length - 1) kept.add(i);
  });
  for (const i of [...kept]) if (Array.from(values)[i] === NEG) kept.delete(i);
  return kept;
}

/** Deterministic pseudo-random logits for the property checks (a plain LCG, independent of the code under test). */
function lcgLogits(length: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0;
  const row = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    row[i] = (state / 2 ** 32 - 0.5) * scale;
  }
  return row;
}

describe('isGreedy', () => {
  it('is true for temperature 0 or top_k 1 only', () => {
    expect(isGreedy({ temperature: 0, topK: 0 })).toBe(true);
    expect(isGreedy({ temperature: 0.6, topK: 1 })).toBe(true);
    expect(isGreedy({ temperature: 0.6, topK: 20 })).toBe(false);
  });
});

describe('repetition penalty (HF semantics)', () => {
  it('divides positive logits, multiplies negative ones, once per distinct seen token', () => {
    const row = f32([2, -1, 0.5, -3, 0]);
    applyRepetitionPenalty(row, new Set([0, 1, 4]), 2);
    expect(Array.from(row)).toEqual([1, -2, 0.5, -3, 0]);
  });
  it('is a no-op at 1 and ignores out-of-range ids', () => {
    const row = f32([2, -1]);
    applyRepetitionPenalty(row, [0, 1], 1);
    applyRepetitionPenalty(row, [7, -1], 3);
    expect(Array.from(row)).toEqual([2, -1]);
  });
});

describe('frequency and presence penalties (OpenAI/vLLM semantics)', () => {
  it('subtracts frequency × count + presence for each generated token', () => {
    const row = f32([1, 1, 1, 1]);
    applyFrequencyPresencePenalty(row, new Map([[1, 3], [2, 1]]), 0.5, 1);
    // token 1: 1 - (0.5·3 + 1) = -1.5 ; token 2: 1 - (0.5·1 + 1) = -0.5
    expect(Array.from(row)).toEqual([1, -1.5, -0.5, 1]);
  });
  it('negative penalties raise the logits', () => {
    const row = f32([0, 0]);
    applyFrequencyPresencePenalty(row, new Map([[0, 2]]), -0.25, -0.5);
    expect(Array.from(row)).toEqual([1, 0]);
  });
});

describe('temperature', () => {
  it('divides every logit by T', () => {
    const row = f32([1, 2, -3, NEG]);
    applyTemperature(row, 0.5);
    expect(Array.from(row)).toEqual([2, 4, -6, NEG]);
  });
  it('refuses T <= 0 (greedy is the sampler’s job)', () => {
    expect(() => applyTemperature(f32([1]), 0)).toThrow(RangeError);
  });
});

describe('top-k', () => {
  it('keeps the k largest', () => {
    const row = f32([1, 5, 3, 7, 2, 4]);
    applyTopK(row, 3);
    expect(keptIds(row)).toEqual([1, 3, 5]);
    expect(row[1]).toBe(5); // kept values are unchanged
  });
  it('keeps every token tied with the k-th (as HF/vLLM)', () => {
    const row = f32([1, 3, 3, 2]);
    applyTopK(row, 1);
    expect(keptIds(row)).toEqual([1, 2]);
  });
  it('is off at 0 and at k >= vocab', () => {
    const row = f32([1, 2, 3]);
    applyTopK(row, 0);
    applyTopK(row, 3);
    expect(keptIds(row)).toEqual([0, 1, 2]);
  });
  it('matches a full sort on a vocabulary-sized row', () => {
    const row = lcgLogits(151936, 11, 20);
    const reference = Array.from(row).sort((a, b) => b - a)[19];
    applyTopK(row, 20);
    const kept = keptIds(row);
    expect(kept.length).toBe(20);
    expect(Math.min(...kept.map((i) => row[i]))).toBe(reference);
  });
});

describe('topKSupport', () => {
  it('lists the ids applyTopK keeps, ascending, ties included, masked entries excluded', () => {
    const values = [1, 3, NEG, 3, 2, 0.5];
    const masked = f32(values);
    applyTopK(masked, 2);
    expect(Array.from(topKSupport(f32(values), 2))).toEqual(keptIds(masked));
    expect(Array.from(topKSupport(f32([NEG, 1, NEG]), 2))).toEqual([1]);
  });
});

describe('topNIndices', () => {
  it('returns the N largest, best first, ties by lower id, skipping masked entries', () => {
    expect(topNIndices(f32([0.5, 2, NEG, 2, 1]), 3)).toEqual([1, 3, 4]);
    expect(topNIndices(f32([NEG, 1]), 5)).toEqual([1]);
  });
});

describe('sortByRank', () => {
  it('orders by logit descending then id ascending, like a comparator sort', () => {
    const logits = f32([0.5, -2, 0, -0, 3, -2, 1e-30, -1e30, 0.5, 3]);
    const ids = Int32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    sortByRank(ids, logits);
    expect(Array.from(ids)).toEqual([4, 9, 0, 8, 6, 2, 3, 1, 5, 7]);
    const random = lcgLogits(5000, 21, 4).map((x) => Math.round(x * 8) / 8); // many ties
    const all = Int32Array.from(random.keys());
    sortByRank(all, random);
    expect(Array.from(all)).toEqual([...random.keys()].sort((a, b) => random[b] - random[a] || a - b));
  });
});

describe('top-p (HF semantics)', () => {
  const probs = [0.05, 0.5, 0.1, 0.2, 0.15];
  it('keeps the smallest most-likely set reaching top_p', () => {
    const cases: Array<[number, number[]]> = [
      [0.3, [1]], // 0.5 alone reaches 0.3
      [0.69, [1, 3]], // 0.5 + 0.2 = 0.7 ≥ 0.69
      [0.71, [1, 3, 4]], // needs 0.15 as well
      [0.9, [1, 2, 3, 4]],
      [0.99, [0, 1, 2, 3, 4]],
    ];
    for (const [topP, expected] of cases) {
      const row = logitsOfProbs(probs);
      applyTopP(row, topP);
      expect(keptIds(row)).toEqual(expected);
    }
  });
  it('cuts exactly at the boundary: with 4 equal tokens, top_p 0.5 keeps two (the lowest ids)', () => {
    const row = f32([0, 0, 0, 0]); // probabilities exactly 1/4: cumulative 0.25, 0.5 reaches 0.5
    applyTopP(row, 0.5);
    expect(keptIds(row)).toEqual([0, 1]);
  });
  it('reaches far below the maximum when the tail holds the mass (one likely token, 2000 unlikely ones)', () => {
    const values = [0, ...new Array<number>(2000).fill(-6)]; // the top token has prob 1/(1 + 2000·e^-6) ≈ 0.17
    const expected = referenceTopPKept(values, 0.9);
    const row = f32(values);
    applyTopP(row, 0.9);
    expect(new Set(keptIds(row))).toEqual(expected);
    expect(expected.size).toBeGreaterThan(1000);
    expect(keptIds(row).slice(0, 3)).toEqual([0, 1, 2]); // ties keep the lowest ids
  });
  it('always keeps at least the most likely token', () => {
    const row = logitsOfProbs(probs);
    applyTopP(row, 0);
    expect(keptIds(row)).toEqual([1]);
  });
  it('does not change kept logits and is off at 1', () => {
    const row = logitsOfProbs(probs);
    const before = Float32Array.from(row);
    applyTopP(row, 1);
    expect(row).toEqual(before);
    applyTopP(row, 0.71);
    for (const i of keptIds(row)) expect(row[i]).toBe(before[i]);
  });
  it('agrees with a literal HF implementation on random rows, peaked and flat, after top-k masking too', () => {
    for (const [length, scale, topP, seed] of [
      [1000, 30, 0.9, 1],
      [1000, 2, 0.95, 2],
      [1000, 0.2, 0.5, 3],
      [4096, 0.01, 0.999, 4], // nearly flat: the candidate threshold must widen several times
      [300, 12, 0.3, 5],
      [5000, 30, 0.995, 6], // mass beyond max−4 needed
    ]) {
      const row = lcgLogits(length, seed, scale);
      const expected = referenceTopPKept(row, topP);
      applyTopP(row, topP);
      expect(new Set(keptIds(row))).toEqual(expected);
    }
    const masked = lcgLogits(2000, 9, 8);
    applyTopK(masked, 25);
    const expected = referenceTopPKept(masked, 0.8);
    applyTopP(masked, 0.8);
    expect(new Set(keptIds(masked))).toEqual(expected);
  });
});

describe('min-p', () => {
  it('keeps tokens with prob >= min_p × max prob', () => {
    const probs = [0.06, 0.4, 0.2, 0.04, 0.3];
    const row = logitsOfProbs(probs);
    applyMinP(row, 0.2); // threshold 0.08
    expect(keptIds(row)).toEqual([1, 2, 4]);
    const row2 = lcgLogits(500, 3, 6);
    const ref2 = softmax(row2);
    const max2 = Math.max(...ref2);
    applyMinP(row2, 0.1);
    expect(keptIds(row2)).toEqual([...ref2.keys()].filter((i) => ref2[i] >= 0.1 * max2));
  });
  it('is off at 0', () => {
    const row = f32([0, -50]);
    applyMinP(row, 0);
    expect(keptIds(row)).toEqual([0, 1]);
  });
});

describe('min_tokens mask', () => {
  it('masks the blocked ids until enough tokens were generated', () => {
    const row = f32([1, 2, 3]);
    applyMinTokensMask(row, 1, 2, [2, 9]);
    expect(Array.from(row)).toEqual([1, 2, NEG]);
    const later = f32([1, 2, 3]);
    applyMinTokensMask(later, 2, 2, [2]);
    expect(Array.from(later)).toEqual([1, 2, 3]);
  });
});

describe('processLogits order', () => {
  const emptyHistory = { seenTokenIds: [], generatedCounts: new Map(), generatedCount: 0, minTokens: 0, minTokensBlockedIds: [] };
  const history = {
    seenTokenIds: new Set([0, 3]),
    generatedCounts: new Map([[3, 2]]),
    generatedCount: 2,
    minTokens: 3,
    minTokensBlockedIds: [5],
  };
  const params: SamplingParams = {
    ...GREEDY_PARAMS,
    temperature: 0.5,
    topK: 4,
    topP: 0.9,
    minP: 0.4,
    repetitionPenalty: 1.5,
    frequencyPenalty: 0.25,
    presencePenalty: 0.5,
    seed: 1,
  };
  // Chosen so that every stage removes or changes something: top-k keeps {0,2,3,6}, top-p drops 3, min-p drops 6.
  it('applies min_tokens, penalties, temperature, top-k, top-p, min-p in that order', () => {
    const raw = [3, 0.5, 2, 2.9, -1, 9, 1.5];
    // by hand: min_tokens masks 5; rep. penalty: 0 → 3/1.5 = 2, 3 → 2.9/1.5; freq+presence on 3: − (0.25·2 + 0.5)
    const penalised = [2, 0.5, 2, 2.9 / 1.5 - 1, -1, NEG, 1.5];
    const tempered = penalised.map((x) => x / 0.5);
    const top4 = [...tempered].sort((a, b) => b - a)[3];
    const afterTopK = tempered.map((x) => (x >= top4 ? x : NEG));
    const nucleus = referenceTopPKept(afterTopK, 0.9);
    const afterTopP = afterTopK.map((x, i) => (nucleus.has(i) ? x : NEG));
    const probs = softmax(afterTopP);
    const maxProb = Math.max(...probs);
    const expected = afterTopP.map((x, i) => (probs[i] >= 0.4 * maxProb ? x : NEG));
    expect(keptIds(f32(expected))).toEqual([0, 2]);

    const row = toVocabularyRow(processLogits(f32(raw), params, history), raw.length);
    expect(Array.from(row).map((x) => (x === NEG ? NEG : Number(x.toFixed(5))))).toEqual(
      expected.map((x) => (x === NEG ? NEG : Number(Math.fround(x).toFixed(5)))),
    );
  });
  it('top-p without top-k works on the whole row', () => {
    const processed = processLogits(f32([0, 1, 2, 3]), { ...params, topK: 0, topP: 0.5, minP: 0 }, emptyHistory);
    expect(processed.tokenIds).toBeNull();
    expect(keptIds(processed.logits)).toEqual([3]); // T = 0.5: probabilities ∝ e^0, e^2, e^4, e^6 → top one ≈ 0.87
  });
  it('greedy applies the masks and penalties but no warpers', () => {
    const processed = processLogits(f32([3, 0.5, 2, 2.9, -1, 9, 1.5]), { ...params, temperature: 0 }, history);
    expect(processed.tokenIds).toBeNull();
    const row = processed.logits;
    expect(row[5]).toBe(NEG);
    expect(row[0]).toBe(2);
    expect(row[1]).toBe(0.5);
    expect(keptIds(row).length).toBe(6);
  });
});
