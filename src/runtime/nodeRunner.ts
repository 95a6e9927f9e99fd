import * as ort from 'onnxruntime-node';
import { executionProvidersFor, DeviceName } from './device';
import { GatherSource, gatherLayer, KvCache } from './kvCache';
import { allocateKv, declaredKvShape, KvArray, KvShape } from './kvShape';
import { LogitsView } from './logitsView';
import { describeSession, sessionConfigEntries, RuntimeSessionSettings } from './sessionOptions';
import { StepFeeds } from './stepFeeds';
import { countLogits, emptyRunnerStats, ModelRunner, RunnerInputs, RuntimeDescription, StepResult } from './stepRunner';
import { logitsFeed, readRunnerInputs } from './graphFeeds';
import { kvCopiesOf, kvHandlingOf } from './runtimeTraits';

/**
 * The onnxruntime-node runtime: the fallback wherever the direct runtime cannot load (and the one that runs CUDA).
 * Every `session.run` returns new JS copies of every output, the whole present cache included: a step's cost grows with
 * the cache, and every step allocates.
 */
export class NodeRunner implements ModelRunner {
  readonly stats = emptyRunnerStats();

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly kvShape: KvShape,
    readonly inputs: RunnerInputs,
    readonly runtime: RuntimeDescription,
  ) {}

  static async create(
    onnxPath: string,
    fallback: { kvHeads: number; headDim: number },
    settings: RuntimeSessionSettings,
    device: DeviceName,
    fallbackReason?: string,
  ): Promise<NodeRunner> {
    const session = await ort.InferenceSession.create(onnxPath, {
      executionProviders: executionProvidersFor(device),
      graphOptimizationLevel: 'all',
      intraOpNumThreads: settings.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // Flat keys: onnxruntime-node joins nested `extra` keys with dots (`{ session: { x } }` is `session.x`).
      extra: sessionConfigEntries(settings),
      ...(settings.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: settings.profileFilePrefix } : {}),
    });
    const keyMeta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    const kvShape = declaredKvShape(session.inputNames, keyMeta && keyMeta.isTensor ? { type: keyMeta.type, dims: keyMeta.shape } : undefined, fallback);
    const runtime: RuntimeDescription = {
      name: 'onnxruntime-node',
      version: ort.env.versions.common,
      kvHandling: kvHandlingOf('onnxruntime-node', false),
      kvCopies: kvCopiesOf('onnxruntime-node'),
      fallbackReason,
      session: describeSession(settings),
    };
    return new NodeRunner(session, kvShape, readRunnerInputs(new Set(session.inputNames)), runtime);
  }

  async step(feeds: StepFeeds): Promise<StepResult> {
    const { batch, seqLen } = feeds;
    const ortFeeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', feeds.inputIds, [batch, seqLen]),
    };
    if (this.inputs.hasAttentionMask) ortFeeds.attention_mask = new ort.Tensor('int64', feeds.attentionMask, [batch, feeds.maskWidth]);
    if (this.inputs.hasPositionIds) ortFeeds.position_ids = new ort.Tensor('int64', feeds.positionIds, [batch, seqLen]);
    const logitsInput = logitsFeed(this.inputs, feeds);
    if (logitsInput) ortFeeds[logitsInput.name] = new ort.Tensor('int64', logitsInput.data, logitsInput.dims);
    const { kvHeads, headDim, dtype, layers } = this.kvShape;
    for (let i = 0; i < layers; i++) {
      ortFeeds[`past_key_values.${i}.key`] = this.pastTensor(feeds, (c) => c.keys[i]);
      ortFeeds[`past_key_values.${i}.value`] = this.pastTensor(feeds, (c) => c.values[i]);
    }
    const runStarted = performance.now();
    const outputs = (await this.session.run(ortFeeds)) as Record<string, ort.Tensor>;
    this.stats.runMs += performance.now() - runStarted;
    const logitsTensor = outputs.logits;
    const [, kept, vocab] = logitsTensor.dims.map(Number);
    const logits = new LogitsView(
      logitsTensor.data as Float32Array | Uint16Array,
      batch, kept, vocab,
      seqLen - kept,
      this.inputs.hasLogitsIndex ? feeds.logitColumns : undefined,
    );
    countLogits(this.stats, logits);
    const length = Number(outputs['present.0.key'].dims[2]);
    const keys = Array.from({ length: layers }, (_, i) => outputs[`present.${i}.key`].data as KvArray);
    const values = Array.from({ length: layers }, (_, i) => outputs[`present.${i}.value`].data as KvArray);
    this.stats.kvBytesAllocated += 2 * layers * batch * kvHeads * length * headDim * (dtype === 'float16' ? 2 : 4);
    return { logits, present: new KvCache(this.kvShape, batch, length, length, keys, values) };
  }

  gather(length: number, sources: GatherSource[]): KvCache {
    const { layers, kvHeads, headDim, dtype } = this.kvShape;
    const elements = sources.length * kvHeads * length * headDim;
    const layer = (pick: (cache: KvCache) => KvArray) => {
      const out = allocateKv(dtype, elements);
      gatherLayer(out, this.kvShape, length, sources, pick);
      return out;
    };
    const keys = Array.from({ length: layers }, (_, i) => layer((c) => c.keys[i]));
    const values = Array.from({ length: layers }, (_, i) => layer((c) => c.values[i]));
    this.stats.kvBytesAllocated += 2 * layers * elements * (dtype === 'float16' ? 2 : 4);
    return new KvCache(this.kvShape, sources.length, length, length, keys, values);
  }

  private pastTensor(feeds: StepFeeds, pick: (cache: KvCache) => KvArray): ort.Tensor {
    const { kvHeads, headDim, dtype } = this.kvShape;
    const past = feeds.past;
    if (!past) return new ort.Tensor(dtype, allocateKv(dtype, 0), [feeds.batch, kvHeads, 0, headDim]);
    if (past.stride !== past.length) throw new Error('onnxruntime-node runner: past caches must be dense');
    const data = pick(past);
    const view = data.length === past.tensorElements ? data : data.subarray(0, past.tensorElements);
    return new ort.Tensor(dtype, view, [past.batch, kvHeads, past.length, headDim]);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
