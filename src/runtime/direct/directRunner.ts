import { GatherSource, gatherLayer, KvCache } from '../kvCache';
import { allocateKv, declaredKvShape, KvArray, KvDtype, KvShape } from '../kvShape';
import { LogitsView } from '../logitsView';
import { describeSession, RuntimeSessionSettings, sessionConfigEntries } from '../sessionOptions';
import { StepFeeds } from '../stepFeeds';
import { countLogits, emptyRunnerStats, ModelRunner, RunnerInputs, RuntimeDescription, StepResult } from '../stepRunner';
import { keptLogitColumns, logitsFeed, readRunnerInputs } from '../graphFeeds';
import { kvCopiesOf, kvHandlingOf } from '../runtimeTraits';
import { growableStride, KvMemoryPool } from './kvMemoryPool';
import { DirectTensor, DirectValue, OrtDirectSession } from './ortSession';
import { StepBindings } from './stepBindings';

export interface DirectRunnerOptions {
  /**
   * The graph's attention op writes `present` into the `past` buffer when both are the same memory (GroupQueryAttention):
   * the cache then lives in one capacity buffer and a step moves only the new tokens. Otherwise two buffers alternate and
   * the graph's own concat is the only copy.
   */
  sharePastPresent: boolean;
}

/** Logits buffers up to this size are kept and reused across steps; larger ones (full-prompt logits) are transient. */
const REUSED_LOGITS_ELEMENTS = 16 * 1024 * 1024;

/**
 * The direct runtime: onnxruntime's C API (through the library onnxruntime-node ships), with every output written by
 * onnxruntime straight into buffers this runner owns and reuses — logits, and the KV cache — and the step run off the
 * JS thread. No new memory per decode step.
 */
export class DirectRunner implements ModelRunner {
  readonly stats = emptyRunnerStats();
  private readonly pool: KvMemoryPool;
  private logitsBuffer: Float32Array | Uint16Array | null = null;
  private reservedRows = 1;
  private stepInFlight = false;
  /** The OrtValues kept from step to step (per-step state: recreated only when a tensor's memory or shape changes). */
  private readonly bindings = new StepBindings();
  private readonly emptyPast: KvArray;
  private inFlight: Promise<void> | null = null;
  /** Tensor descriptors of KV memory, by layer array (kept while the memory is). */
  private readonly kvTensors = new WeakMap<KvArray, DirectTensor>();

  private constructor(
    private readonly session: OrtDirectSession,
    readonly kvShape: KvShape,
    readonly inputs: RunnerInputs,
    readonly runtime: RuntimeDescription,
    private readonly logitsType: KvDtype,
    private readonly vocab: number,
    private readonly options: DirectRunnerOptions,
  ) {
    // In place: spares for the next prefill (or a prefix copy) and a capacity growth; alternating: the other buffer and a
    // prefill buffer.
    this.pool = new KvMemoryPool(kvShape, 4);
    this.emptyPast = allocateKv(kvShape.dtype, 0);
  }

  static async create(
    onnxPath: string,
    fallback: { kvHeads: number; headDim: number; vocabSize: number },
    settings: RuntimeSessionSettings,
    options: DirectRunnerOptions,
  ): Promise<DirectRunner> {
    const session = await OrtDirectSession.create(onnxPath, {
      threads: settings.threads,
      configEntries: sessionConfigEntries(settings),
      profileFilePrefix: settings.profileFilePrefix,
    });
    try {
      const firstKey = session.inputNames.includes('past_key_values.0.key') ? session.inputInfo('past_key_values.0.key') : undefined;
      const kvShape = declaredKvShape(session.inputNames, firstKey, fallback);
      const logitsInfo = session.outputInfo('logits');
      const logitsType: KvDtype = logitsInfo.type === 'float16' ? 'float16' : 'float32';
      const vocab = logitsInfo.dims[2] > 0 ? logitsInfo.dims[2] : fallback.vocabSize;
      const runtime: RuntimeDescription = {
        name: 'direct',
        version: OrtDirectSession.version(),
        kvHandling: kvHandlingOf('direct', options.sharePastPresent),
        kvCopies: kvCopiesOf('direct'),
        session: describeSession(settings),
      };
      return new DirectRunner(session, kvShape, readRunnerInputs(new Set(session.inputNames)), runtime, logitsType, vocab, options);
    } catch (error) {
      session.release();
      throw error;
    }
  }

  /** The onnxruntime session the runner steps (tests read where its runs put each tensor: OrtDirectSession.recordAddresses). */
  get directSession(): OrtDirectSession {
    return this.session;
  }

  /** One step at a time: steps share the logits buffer and the KV memory pool, so a second call while one runs is refused. */
  async step(feeds: StepFeeds): Promise<StepResult> {
    if (this.stepInFlight) throw new Error('DirectRunner.step: a step is already in flight (steps share one logits buffer); await it before the next');
    this.stepInFlight = true;
    try {
      return await this.runStep(feeds);
    } finally {
      this.stepInFlight = false;
    }
  }

  private async runStep(feeds: StepFeeds): Promise<StepResult> {
    const { batch, seqLen } = feeds;
    const bindings = this.bindings;
    const inputs: Record<string, DirectValue> = { input_ids: bindings.stage('input_ids', feeds.inputIds, [batch, seqLen]) };
    if (this.inputs.hasAttentionMask) {
      inputs.attention_mask = bindings.bind('attention_mask', { type: 'int64', data: feeds.attentionMask, dims: [batch, feeds.maskWidth] });
    }
    if (this.inputs.hasPositionIds) inputs.position_ids = bindings.stage('position_ids', feeds.positionIds, [batch, seqLen]);
    const logitsInput = logitsFeed(this.inputs, feeds);
    if (logitsInput) inputs[logitsInput.name] = bindings.stage(logitsInput.name, logitsInput.data, logitsInput.dims);

    const kept = keptLogitColumns(this.inputs, feeds);
    const vocab = this.vocab;
    const logitsData = this.logitsOutput(batch * kept * vocab);
    const outputs: Record<string, DirectValue> = {
      logits: bindings.bind('logits', { type: this.logitsType, data: logitsData, dims: [batch, kept, vocab] }),
    };

    const inPlace = this.options.sharePastPresent && feeds.past !== null;
    const past = inPlace ? this.withCapacity(feeds.past!, feeds.maskWidth) : feeds.past;
    const length = inPlace ? feeds.maskWidth : (past?.length ?? 0) + seqLen;
    const present = inPlace ? new KvCache(this.kvShape, batch, length, past!.stride, past!.keys, past!.values) : this.newCache(batch, length, length);
    for (let i = 0; i < this.kvShape.layers; i++) {
      for (const kind of ['key', 'value'] as const) {
        const pastName = `past_key_values.${i}.${kind}`;
        const presentName = `present.${i}.${kind}`;
        if (inPlace) {
          // One buffer, one OrtValue on both sides: GroupQueryAttention writes the new slots into the past.
          inputs[pastName] = outputs[presentName] = bindings.bind(pastName, this.kvTensor(present, kind, i));
        } else {
          inputs[pastName] = bindings.bind(pastName, past ? this.kvTensor(past, kind, i) : this.emptyPastTensor(batch));
          outputs[presentName] = bindings.bind(presentName, this.kvTensor(present, kind, i));
        }
      }
    }
    const run = this.session.run(inputs, outputs);
    this.inFlight = run;
    try {
      await run;
      this.stats.runMs += this.session.lastRunMs;
    } catch (error) {
      if (!inPlace) this.pool.give(this.pool.memoryOf(present.keys));
      throw error;
    } finally {
      this.inFlight = null;
    }
    if (past && !inPlace) this.pool.give(this.pool.memoryOf(past.keys));
    const logits = new LogitsView(logitsData, batch, kept, vocab, seqLen - kept, this.inputs.hasLogitsIndex ? feeds.logitColumns : undefined);
    countLogits(this.stats, logits);
    this.stats.kvBytesAllocated = this.pool.bytesAllocated;
    return { logits, present };
  }

  /** OrtValues created by this runner's steps so far: a decode step whose shapes hold creates only the mask's. */
  get valuesCreated(): number {
    return this.bindings.created;
  }

  reserveRows(rows: number): void {
    this.reservedRows = Math.max(1, rows);
  }

  recycle(cache: KvCache): void {
    this.pool.give(this.pool.memoryOf(cache.keys));
  }

  gather(length: number, sources: GatherSource[], retained?: ReadonlySet<KvCache>): KvCache {
    const target = this.inPlaceTarget(length, sources, retained);
    const cache = target
      ? new KvCache(this.kvShape, sources.length, length, target.stride, target.keys, target.values)
      : this.newCache(sources.length, length, this.options.sharePastPresent ? growableStride(length) : length);
    for (let i = 0; i < this.kvShape.layers; i++) {
      gatherLayer(cache.keys[i], this.kvShape, cache.stride, sources, (c) => c.keys[i]);
      gatherLayer(cache.values[i], this.kvShape, cache.stride, sources, (c) => c.values[i]);
    }
    for (const source of new Set(sources.map((s) => s.cache))) if (source !== target && !retained?.has(source)) this.pool.give(this.pool.memoryOf(source.keys));
    this.stats.kvBytesAllocated = this.pool.bytesAllocated;
    return cache;
  }

  async release(): Promise<void> {
    // The kept OrtValues are released once no run uses them (the session itself defers its release the same way).
    await this.inFlight?.catch(() => undefined);
    this.bindings.releaseAll();
    this.pool.clear();
    this.logitsBuffer = null;
    this.session.release();
  }

  /**
   * The cache whose memory a gather may write in place: the leading sources all come from it, in increasing row order,
   * each moving to a row at or before its own with slots in place (the compacted layout) — so every copy moves data
   * towards the start and never overwrites what is still to be read — and its memory holds the result.
   */
  private inPlaceTarget(length: number, sources: GatherSource[], retained?: ReadonlySet<KvCache>): KvCache | null {
    if (!this.options.sharePastPresent || sources.length === 0) return null;
    const target = sources[0].cache;
    if (retained?.has(target)) return null;
    const memory = this.pool.memoryOf(target.keys);
    if (!memory || target.stride < length) return null;
    if (memory.elements < sources.length * this.kvShape.kvHeads * target.stride * this.kvShape.headDim) return null;
    let previous = -1;
    for (let b = 0; b < sources.length; b++) {
      const { cache, row, slots } = sources[b];
      if (cache !== target) {
        if (sources.slice(b).some((s) => s.cache === target)) return null;
        break;
      }
      if (row <= previous || row < b) return null;
      if (slots.some((slot, j) => slot !== j && slot !== -1)) return null;
      previous = row;
    }
    return target;
  }

  /** The past cache with room for `width` slots per row: itself, or a copy into larger memory (a capacity growth). */
  private withCapacity(past: KvCache, width: number): KvCache {
    if (past.stride >= width && this.pool.memoryOf(past.keys)) return past;
    const grown = this.newCache(past.batch, past.length, growableStride(width));
    const slots = Array.from({ length: past.length }, (_, j) => j);
    const sources = Array.from({ length: past.batch }, (_, row) => ({ cache: past, row, slots }));
    for (let i = 0; i < this.kvShape.layers; i++) {
      gatherLayer(grown.keys[i], this.kvShape, grown.stride, sources, (c) => c.keys[i]);
      gatherLayer(grown.values[i], this.kvShape, grown.stride, sources, (c) => c.values[i]);
    }
    this.pool.give(this.pool.memoryOf(past.keys));
    return grown;
  }

  /**
   * A cache of `length` slots per row at `stride` in pooled memory. Memory is allocated with room for a quarter more
   * tokens, so that it can be reused for many steps (alternating buffers, capacity growth) before it is too small, and a
   * batch's memory with room for the reserved rows, so admissions copy rows into it in place. New memory is expensive:
   * the kernel maps and zeroes it page by page on first touch (4 s per GB measured on this project's CI machine, against
   * 43 ms to rewrite memory already mapped).
   */
  private newCache(batch: number, length: number, stride: number): KvCache {
    const { kvHeads, headDim } = this.kvShape;
    const rows = batch > 1 ? Math.max(batch, this.reservedRows) : 1;
    const memory = this.pool.take(batch * kvHeads * stride * headDim, rows * kvHeads * growableStride(stride) * headDim);
    return new KvCache(this.kvShape, batch, length, stride, memory.keys, memory.values);
  }

  /** A layer's key or value tensor of a cache: the descriptor made for its memory is kept while its shape holds. */
  private kvTensor(cache: KvCache, kind: 'key' | 'value', layer: number): DirectTensor {
    const data = kind === 'key' ? cache.keys[layer] : cache.values[layer];
    const kept = this.kvTensors.get(data);
    if (kept && kept.dims[0] === cache.batch && kept.dims[2] === cache.stride) return kept;
    const elements = cache.tensorElements;
    const tensor: DirectTensor = {
      type: this.kvShape.dtype,
      data: data.length === elements ? data : data.subarray(0, elements),
      dims: [cache.batch, this.kvShape.kvHeads, cache.stride, this.kvShape.headDim],
    };
    this.kvTensors.set(data, tensor);
    return tensor;
  }

  /** The empty past of a prefill: one kept array, so its OrtValues are reused while the batch size holds. */
  private emptyPastTensor(batch: number): DirectTensor {
    return { type: this.kvShape.dtype, data: this.emptyPast, dims: [batch, this.kvShape.kvHeads, 0, this.kvShape.headDim] };
  }

  private logitsOutput(elements: number): Float32Array | Uint16Array {
    const make = (n: number) => (this.logitsType === 'float16' ? new Uint16Array(n) : new Float32Array(n));
    if (elements > REUSED_LOGITS_ELEMENTS) return make(elements);
    if (!this.logitsBuffer || this.logitsBuffer.length < elements) this.logitsBuffer = make(elements);
    return this.logitsBuffer.subarray(0, elements);
  }
}
