/**
 * Session settings both runtimes apply, so that they run the same kernels and give the same tokens.
 * - Weight prepacking keeps a second, re-laid-out copy of every MatMul weight (+2.4 GB RSS on a 0.6B fp32 model) for no
 *   measurable gain in these memory-bound steps (prefill 22.2 s vs 21.3 s, decode equal, load 2 s faster without it).
 * - Denormals: see DENORMAL_AS_ZERO.
 */
export interface RuntimeSessionSettings {
  /** Intra-op threads; 0 lets onnxruntime choose (one per physical core). */
  threads: number;
  disablePrepacking: boolean;
  denormalAsZero: boolean;
}

/**
 * Flushing denormals to zero: softmax over long contexts produces denormal floats whose arithmetic is slow on x86.
 * Decided by measurement (README, Performance); `QWEN_GEN_DENORMAL_AS_ZERO=0` turns it off for such measurements.
 */
export function denormalAsZero(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.QWEN_GEN_DENORMAL_AS_ZERO !== '0';
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
