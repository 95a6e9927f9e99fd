import { GatherSource, KvCache } from './kvCache';
import { KvShape } from './kvShape';
import { LogitsView } from './logitsView';
import { StepFeeds } from './stepFeeds';
import { RunnerInputs, StepResult, StepRunner } from './stepRunner';

/** No layers: caches of any length hold no memory. */
const NO_LAYERS: KvShape = { layers: 0, kvHeads: 1, headDim: 1, dtype: 'float32' };

/**
 * A runner without a model: a step computes nothing and returns one zero logit per row and an empty cache of the length
 * the graph's would have (no layers, so no memory); a gather returns an empty cache of the requested size. The dry run
 * drives the real engine with it — the same scheduler, KV manager, batch runner and padding protocol — to plan what a
 * run would do without loading a session.
 */
export class PlanningRunner implements StepRunner {
  readonly kvShape = NO_LAYERS;

  constructor(readonly inputs: RunnerInputs) {}

  async step(feeds: StepFeeds): Promise<StepResult> {
    const logits = new LogitsView(new Float32Array(feeds.batch), feeds.batch, 1, 1, 0, feeds.logitColumns);
    return { logits, present: this.empty(feeds.batch, feeds.maskWidth) };
  }

  gather(length: number, sources: GatherSource[]): KvCache {
    return this.empty(sources.length, length);
  }

  private empty(batch: number, length: number): KvCache {
    return new KvCache(this.kvShape, batch, length, length, [], []);
  }
}
