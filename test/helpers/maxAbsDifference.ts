/**
 * Largest |a[i] - b[i]|; NaN when any difference is NaN (so a `toBeLessThan` check fails on it). Written without Math.*
 * lookups, which are slow inside jest's sandbox in hot loops.
 */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (d !== d) return NaN;
    if (d > max) max = d;
    else if (-d > max) max = -d;
  }
  return max;
}
