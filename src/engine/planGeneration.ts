import { BatchRunner } from '../padding/batchRunner';
import { PaddingProtocol } from '../padding/paddingProtocol';
import { PlanningRunner } from '../runtime/planningRunner';
import { RunnerInputs } from '../runtime/stepRunner';
import { EngineStats } from './engineStats';
import { EngineOptions, runGeneration } from './generationEngine';
import { SequenceSpec, TokenSampler } from './sequence';

/** One sequence to plan: its request id, its prompt (one array shared by the samples of a request) and its max_tokens. */
export interface PlannedSequence {
  id: string | number;
  promptIds: number[];
  maxTokens: number;
}

/** One group the scheduler admits, and the prefill work that starts it. */
export interface PlannedGroup {
  /** Request ids of the group, in admission order (a request with n samples appears n times). */
  ids: (string | number)[];
  /** Prefill steps that start it (chunks of a long prompt, a prefix computed before its rest). */
  steps: number;
  /** Prefill positions computed (pads included). */
  positions: number;
  /** Real prompt tokens computed among them (a cached prefix's tokens are not). */
  promptTokens: number;
}

export interface GenerationPlan {
  groups: PlannedGroup[];
  /** The run's counters as the plan reaches them (prefill steps, prompt tokens computed and reused, prefix cache). */
  stats: EngineStats;
}

/** Every planned row takes token 0 (a runner that computes nothing has no other) and runs to its max_tokens. */
const FIRST_TOKEN: TokenSampler = { next: () => ({ tokenId: 0 }) };

/**
 * What a run would do, without a model: the real engine loop — its scheduler, KV manager (cache budget, prefix cache and
 * evictions), batch runner and padding protocol — driven by a runner that computes nothing. Every sequence runs to its
 * max_tokens (an eos would end a row earlier and free its row sooner), and a graph's prefix-reuse exactness check, which
 * needs the model, is taken as passed (the run measures it and turns prefix caching off where it fails).
 */
export async function planGeneration(
  sequences: readonly PlannedSequence[],
  protocol: PaddingProtocol,
  inputs: RunnerInputs,
  options: Omit<EngineOptions, 'onAdmitted'>,
): Promise<GenerationPlan> {
  const specs: SequenceSpec<string | number>[] = sequences.map(({ id, promptIds, maxTokens }) => ({
    request: id, sampleIndex: 0, promptIds, maxTokens, stopTokenIds: new Set(), minTokens: 0, sampler: FIRST_TOKEN,
  }));
  const groups: PlannedGroup[] = [];
  let counted = { steps: 0, positions: 0, promptTokens: 0 };
  const { stats } = await runGeneration(new BatchRunner(new PlanningRunner(inputs), protocol), specs, {
    ...options,
    onAdmitted: (admitted, so) => {
      const now = { steps: so.prefillSteps, positions: so.prefillPositions, promptTokens: so.prefillRealTokens };
      groups.push({
        ids: admitted.map((spec) => spec.request as string | number),
        steps: now.steps - counted.steps,
        positions: now.positions - counted.positions,
        promptTokens: now.promptTokens - counted.promptTokens,
      });
      counted = now;
    },
  }, () => undefined);
  return { groups, stats };
}
