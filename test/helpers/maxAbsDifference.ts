/** Largest |a[i] - b[i]|; written without Math.* lookups, which are slow inside jest's sandbox in hot loops. */
export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    if (d > max) max = d;
    else if (-d > max) max = -d;
  }
  return max;
}
