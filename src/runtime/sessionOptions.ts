/**
 * Session settings both runtimes apply, so that they run the same kernels and give the same tokens.
 * - Weight prepacking keeps a second, re-laid-out copy of every MatMul weight (+2.4 GB RSS on a 0.6B fp32 model) for no
 *   measurable gain in these memory-bound steps (prefill 22.2 s vs 21.3 s, decode equal, load 2 s faster without it).
 * - Denormals: see denormalAsZero.
 */
export interface RuntimeSessionSettings {
  /** Intra-op threads; 0 lets onnxruntime choose (one per physical core). */
  threads: number;
  disablePrepacking: boolean;
  denormalAsZero: boolean;
}

/**
 * Flushing denormals to zero (`session.set_denormal_as_zero`) is off: measured on the 0.6B GroupQueryAttention shape,
 * batch 8 with 512 cached tokens, the direct runtime's decode step took 245 ms with it and 214 ms without (no gain once
 * the per-step copies are gone), and without it the numerics are those of onnxruntime's defaults, which transformers.js
 * uses. `QWEN_GEN_DENORMAL_AS_ZERO=1` turns it on, for measurements.
 */
export function denormalAsZero(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.QWEN_GEN_DENORMAL_AS_ZERO === '1';
}

export function sessionSettings(threads: number | undefined): RuntimeSessionSettings {
  return { threads: threads ?? 0, disablePrepacking: true, denormalAsZero: denormalAsZero() };
}

/** The same settings as onnxruntime session config entries. */
export function sessionConfigEntries(settings: RuntimeSessionSettings): Record<string, string> {
  const entries: Record<string, string> = {};
  if (settings.disablePrepacking) entries['session.disable_prepacking'] = '1';
  if (settings.denormalAsZero) entries['session.set_denormal_as_zero'] = '1';
  return entries;
}
