import { NEG_INF, exp, maxLogit, partitionFunction } from './logitsMath';
import { sortByRank } from './topNSelection';

/** Reused candidate buffer (processing is synchronous, so one per process is enough). */
let candidateScratch = new Int32Array(0);

/**
 * Top-p / nucleus (HF `TopPLogitsWarper` semantics): keeps the smallest set of most likely tokens whose
 * cumulative probability reaches `topP` — a token is kept when the mass of the tokens ranked above it is
 * < topP — and always at least one. Ranking: probability descending, ties broken by lower token id (HF
 * leaves ties to an unstable sort; a fixed rule keeps results reproducible). Probabilities are the softmax
 * of the logits as they arrive here (after temperature and top-k).
 *
 * Complexity: the vocabulary is not sorted. Candidates are gathered with a threshold on the logit relative to
 * the maximum (l ≥ max − d, d = 4, 8, 16, …; one O(V) scan per try) until their mass reaches topP: the nucleus
 * then lies inside them, and only they are sorted. So O(V·tries + C log C), C = candidate count, small for
 * peaked LLM distributions; a flat distribution with topP near 1 degrades to O(V log V), which any exact
 * method needs there. After top-k the row passed here is the k-token support, so everything is O(k log k).
 */
export function applyTopP(logits: Float32Array, topP: number): void {
  if (topP >= 1) return;
  const max = maxLogit(logits);
  if (max === -Infinity) return;
  const partition = partitionFunction(logits, max);
  if (candidateScratch.length < logits.length) candidateScratch = new Int32Array(logits.length);

  let count = 0;
  for (let depth = 4; ; depth *= 2) {
    const floor = depth > 1e4 ? -Infinity : max - depth;
    count = 0;
    let mass = 0;
    for (let i = 0; i < logits.length; i++) {
      const x = logits[i];
      if (x >= floor && x !== NEG_INF) {
        candidateScratch[count++] = i;
        mass += exp(x - max);
      }
    }
    if (mass / partition >= topP || floor === -Infinity) break;
  }

  const ranked = candidateScratch.subarray(0, count);
  sortByRank(ranked, logits);
  let massAbove = 0;
  let kept = 0;
  while (kept < count && (kept === 0 || massAbove < topP)) {
    massAbove += exp(logits[ranked[kept]] - max) / partition;
    kept++;
  }

  // Kept = ranked up to (boundaryLogit, boundaryId) inclusive in (logit desc, id asc) order.
  const boundaryId = ranked[kept - 1];
  const boundaryLogit = logits[boundaryId];
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (x < boundaryLogit || (x === boundaryLogit && i > boundaryId)) logits[i] = NEG_INF;
  }
}
