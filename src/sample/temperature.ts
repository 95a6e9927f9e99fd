/** Temperature (HF `TemperatureLogitsWarper`): logits / T. T = 0 means greedy and is handled by the sampler. O(V). */
export function applyTemperature(logits: Float32Array, temperature: number): void {
  if (temperature === 1) return;
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0 here (0 = greedy), got ${temperature}`);
  for (let i = 0; i < logits.length; i++) logits[i] /= temperature;
}
