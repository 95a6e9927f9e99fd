import * as ort from 'onnxruntime-node';
import { StepFeeds } from '../padding/batchRows';
import { executionProvidersFor } from './device';
import { KvCache, KvDtype, KvShape } from './kvCache';
import { LogitsView } from './logitsView';

export interface RunnerOptions {
  threads?: number;
  device?: 'cpu' | 'cuda';
}

/** What the runner needs to know about the graph's inputs; read from the session's own metadata. */
export interface RunnerInputs {
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  hasLogitsToKeep: boolean;
  /** The derived graph's `logits_index` input: logits are computed at one column per row only. */
  hasLogitsIndex: boolean;
}

export interface StepResult {
  logits: LogitsView;
  present: KvCache;
}

/** Counters a caller (report, tests) can read: they measure work, not time. */
export interface RunnerStats {
  steps: number;
  logitsElements: number;
  peakLogitsElements: number;
}

/** What the generation loop needs from a runner: one step, tensors in, logits and cache out. */
export interface StepRunner {
  readonly kvShape: KvShape;
  step(feeds: StepFeeds): Promise<StepResult>;
}

/** The model runner: tensors in, logits and the new KV cache out. Knows nothing of requests, padding or sampling. */
export class ModelRunner implements StepRunner {
  readonly stats: RunnerStats = { steps: 0, logitsElements: 0, peakLogitsElements: 0 };

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly kvShape: KvShape,
    readonly inputs: RunnerInputs,
    private readonly presentNames: { key: string; value: string }[],
  ) {}

  static async create(onnxPath: string, fallback: { kvHeads: number; headDim: number }, options: RunnerOptions = {}): Promise<ModelRunner> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: executionProvidersFor(options.device ?? 'cpu'),
      graphOptimizationLevel: 'all',
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // Prepacking keeps a second, re-laid-out copy of every MatMul weight (+2.4 GB RSS on a 0.6B fp32 model) for no
      // measurable gain in these memory-bound steps (prefill 22.2 s vs 21.3 s, decode equal, load 2 s faster without it).
      extra: { session: { disable_prepacking: '1' } },
    };
    const session = await ort.InferenceSession.create(onnxPath, sessionOptions);
    const names = new Set(session.inputNames);
    const layers = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
    const keyMeta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    const dtype: KvDtype = keyMeta && keyMeta.isTensor && keyMeta.type === 'float16' ? 'float16' : 'float32';
    const dims = keyMeta && keyMeta.isTensor ? keyMeta.shape : [];
    const numeric = (value: unknown, otherwise: number) => (typeof value === 'number' && value > 0 ? value : otherwise);
    const kvShape: KvShape = { layers, dtype, kvHeads: numeric(dims[1], fallback.kvHeads), headDim: numeric(dims[3], fallback.headDim) };
    const presentNames = Array.from({ length: layers }, (_, i) => ({ key: `present.${i}.key`, value: `present.${i}.value` }));
    const inputs: RunnerInputs = {
      hasAttentionMask: names.has('attention_mask'),
      hasPositionIds: names.has('position_ids'),
      hasLogitsToKeep: names.has('num_logits_to_keep'),
      hasLogitsIndex: names.has('logits_index'),
    };
    return new ModelRunner(session, kvShape, inputs, presentNames);
  }

  async step(feeds: StepFeeds): Promise<StepResult> {
    const { batch, seqLen } = feeds;
    const ortFeeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', feeds.inputIds, [batch, seqLen]),
    };
    if (this.inputs.hasAttentionMask) ortFeeds.attention_mask = new ort.Tensor('int64', feeds.attentionMask, [batch, feeds.maskWidth]);
    if (this.inputs.hasPositionIds) ortFeeds.position_ids = new ort.Tensor('int64', feeds.positionIds, [batch, seqLen]);
    // Only the positions whose logits are read need the vocabulary projection: gather one column per row (derived
    // graph), or ask for the last `keep` columns (num_logits_to_keep).
    if (this.inputs.hasLogitsIndex) {
      ortFeeds.logits_index = new ort.Tensor('int64', BigInt64Array.from(feeds.logitColumns, (c) => BigInt(c)), [batch]);
    } else if (this.inputs.hasLogitsToKeep) {
      const keep = seqLen - Math.min(...feeds.logitColumns);
      ortFeeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([BigInt(keep)]), []);
    }
    feeds.past.keys.forEach((tensor, i) => {
      ortFeeds[`past_key_values.${i}.key`] = tensor;
      ortFeeds[`past_key_values.${i}.value`] = feeds.past.values[i];
    });
    const outputs = (await this.session.run(ortFeeds)) as Record<string, ort.Tensor>;
    const logitsTensor = outputs.logits;
    const logits = new LogitsView(
      logitsTensor,
      seqLen - Number(logitsTensor.dims[1]),
      this.inputs.hasLogitsIndex ? feeds.logitColumns : undefined,
    );
    this.stats.steps++;
    this.stats.logitsElements += logits.elements;
    this.stats.peakLogitsElements = Math.max(this.stats.peakLogitsElements, logits.elements);
    return { logits, present: KvCache.fromPresent(this.kvShape, outputs, this.presentNames) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
