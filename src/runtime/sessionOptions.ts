/**
 * Session settings both runtimes apply, so that they run the same kernels and give the same tokens. Measured per dtype
 * (fp32, q8, q4: docs/quantized-options.md), the same settings came out best for every graph; what differs per graph is
 * the derived graph (model/derivedGraph.ts).
 *
 * - Prepacking (onnxruntime's default) re-lays out every constant MatMul weight once, at load, into the layout its
 *   kernel reads. The quantized kernels need it: without it MatMulNBits and MatMulInteger dequantize or repack their
 *   weights on every call. It is on for every graph; what it keeps beyond the file's weights is
 *   `prepackedWeightBytes`, which the dry run's memory plan counts.
 * - Intra-op spinning: off (see allowSpinning).
 * - Denormals: see denormalAsZero.
 */
export interface RuntimeSessionSettings {
  /** Intra-op threads; 0 lets onnxruntime choose (one per physical core). */
  threads: number;
  disablePrepacking: boolean;
  /** `session.intra_op.allow_spinning`; undefined keeps onnxruntime's default (spinning on). qwen-gen sets it off. */
  allowSpinning?: boolean;
  denormalAsZero: boolean;
  /** onnxruntime's profiler: a per-node JSON trace written when the session is released (`QWEN_GEN_PROFILE=PREFIX`). */
  profileFilePrefix?: string;
  /** Further config entries, for measurements only (`QWEN_GEN_SESSION_CONFIG=key=value,key=value`). */
  extraEntries?: Record<string, string>;
}

/**
 * Flushing denormals to zero (`session.set_denormal_as_zero`) is off: the numerics are those of onnxruntime's defaults,
 * which transformers.js uses. The decision's measurement is `node bench/run.js denormals` (README, Denormals: a table
 * generated from its results file). `QWEN_GEN_DENORMAL_AS_ZERO=1` turns it on, for measurements.
 */
export function denormalAsZero(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.QWEN_GEN_DENORMAL_AS_ZERO === '1';
}

/**
 * Prepacking: on for every graph (see the module comment). `QWEN_GEN_PREPACKING=0` turns it off, for measurements and
 * for a machine where the extra copy of the tied embedding does not fit.
 */
export function prepackingFor(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.QWEN_GEN_PREPACKING !== '0';
}

/**
 * Spinning (`session.intra_op.allow_spinning`) is off. onnxruntime's intra-op worker threads spin after each parallel
 * section before they sleep (its default); a decode step has hundreds of sections, and on a machine where anything else
 * runs the spinning thread takes the core the working one needs. On a quiet machine spinning gains a little:
 * `node bench/run.js options` measures it (README, Quantized models: a generated table); the runs under load that
 * decided it are in docs/quantized-options.md. `QWEN_GEN_SPINNING=1` turns it on; `QWEN_GEN_SPINNING=0` is the default.
 */
export function allowSpinning(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.QWEN_GEN_SPINNING === '1';
}

export function sessionSettings(threads: number | undefined, env: NodeJS.ProcessEnv = process.env): RuntimeSessionSettings {
  return {
    threads: threads ?? 0,
    disablePrepacking: !prepackingFor(env),
    allowSpinning: allowSpinning(env),
    denormalAsZero: denormalAsZero(env),
    profileFilePrefix: env.QWEN_GEN_PROFILE || undefined,
    ...(env.QWEN_GEN_SESSION_CONFIG ? { extraEntries: parseEntries(env.QWEN_GEN_SESSION_CONFIG) } : {}),
  };
}

function parseEntries(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) entries[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return entries;
}

/**
 * Memory prepacking keeps once the session is loaded, for the memory plan of a run that has not loaded the model yet
 * (`--dry-run`; a loaded run plans from what is left). Without prepacking onnxruntime maps the weight file and reads it in
 * place (~0.14 GB of RSS after load on the 0.6B shape); with it every prepacked weight is a re-laid-out anonymous copy,
 * and a float lm_head tied to the embedding keeps the embedding twice more. Measured over the same load without
 * prepacking on the 0.6B GQA shape (docs/quantized-options.md): fp32 +3.01 GB, q8 +1.70 GB, q4 +1.64 GB with the float
 * lm_head (this estimate: 3.01, 1.69, 1.52 GB); q8 +0.61–0.63 GB, q4 +0.57 GB with the 8-bit one (estimate: 1.07, 0.90).
 */
export function prepackedWeightBytes(weights: { fileBytes: number; tiedEmbeddingBytes: number }, settings: Pick<RuntimeSessionSettings, 'disablePrepacking'>): number {
  return settings.disablePrepacking ? 0 : weights.fileBytes + weights.tiedEmbeddingBytes;
}

/** The session settings as the report and `inspect` show them. */
export interface SessionDescription {
  /** Intra-op threads asked for; 0 = onnxruntime's default (one per physical core). */
  threads: number;
  /** Weights re-laid out once at load (onnxruntime's default); false with `session.disable_prepacking=1`. */
  prepacking: boolean;
  /** `session.intra_op.allow_spinning`; null = onnxruntime's default (on). */
  intraOpSpinning: boolean | null;
  /** Every session config entry qwen-gen sets. */
  configEntries: Record<string, string>;
}

export function describeSession(settings: RuntimeSessionSettings): SessionDescription {
  return {
    threads: settings.threads,
    prepacking: !settings.disablePrepacking,
    intraOpSpinning: settings.allowSpinning ?? null,
    configEntries: sessionConfigEntries(settings),
  };
}

/** The same settings as onnxruntime session config entries. */
export function sessionConfigEntries(settings: RuntimeSessionSettings): Record<string, string> {
  const entries: Record<string, string> = {};
  if (settings.disablePrepacking) entries['session.disable_prepacking'] = '1';
  if (settings.allowSpinning !== undefined) entries['session.intra_op.allow_spinning'] = settings.allowSpinning ? '1' : '0';
  if (settings.denormalAsZero) entries['session.set_denormal_as_zero'] = '1';
  return { ...entries, ...settings.extraEntries };
}
