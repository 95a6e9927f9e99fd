/** Levenshtein distance (insert, delete, substitute). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Case, `-` and `_` do not tell two names apart for a suggestion: `batchsize`, `batch_size` and `batchSize` are one name. */
function folded(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The known name a mistyped `name` most likely meant, for a "did you mean" hint: equal up to case, `-` and `_`, or within
 * a small edit distance (a third of the name's length, at least 1, at most 3). Undefined when nothing is close.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = folded(name);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(wanted, folded(candidate));
    const allowed = Math.min(3, Math.max(1, Math.floor(candidate.length / 3)));
    if (distance <= allowed && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** `; did you mean "x"?` (empty when nothing is close), for the end of an "unknown …" message. */
export function didYouMean(name: string, known: readonly string[], quote = (text: string) => `"${text}"`): string {
  const match = closestName(name, known);
  return match === undefined ? '' : `; did you mean ${quote(match)}?`;
}
