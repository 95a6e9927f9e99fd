import { Report } from '../diagnostics/report';
import { openModel } from '../engine/loadModel';
import { GenerationPlan, planGeneration, PlannedGroup, PlannedSequence } from '../engine/planGeneration';
import { LogitsMode, MemoryPlan } from '../schedule/memoryBudget';
import { resolveDefaults } from './generationDefaults';
import { GenerateJobOptions } from './jobOptions';
import { graphMemory, memoryPlan } from './memoryPlan';
import { checkMemoryFloor } from './memoryFloor';
import { diagnosticsOptions } from './loadCheckedModel';
import { openJob } from './openJob';
import { prepareRequest } from './preparedRequest';
import { RunDiagnostics } from './runDiagnostics';
import { engineLimits } from './runEngine';
import { settingsFingerprint } from './settingsFingerprint';
import { StageTimer } from './stageTimer';
import { compileRunConstraints } from './structuredOutputs';
import { StructuredStats } from '../structured/structuredStats';
import { PreparedRequest } from './preparedRequest';

/** What prefix caching saves in the plan, from the engine's own counters (its KV manager, evictions included). */
export interface PrefixPlan {
  /** Distinct prompts started from a cached prefix (those that computed one included). */
  sharing: number;
  /** Prompt tokens of the distinct prompts: computed + reused. */
  promptTokens: number;
  computed: number;
  reused: number;
  /** Cached prefixes evicted to make room. */
  evictions: number;
}

export interface DryRunResult {
  exitCode: number;
  report: Report;
  requests: number;
  refused: number;
  promptTokens: number;
  /** Completion tokens if every request ran to its max_tokens. */
  maxCompletionTokens: number;
  memory: MemoryPlan;
  logits: LogitsMode;
  batchSize: number;
  /** The groups the scheduler admits, in order, with the prefill steps that start each. */
  groups: PlannedGroup[];
  /** Null with --no-prefix-cache. */
  prefix: PrefixPlan | null;
  /** Structured outputs: the constraints compiled against the model's tokenizer, as the run would. */
  structured: StructuredStats;
}

/**
 * `--dry-run`: everything a run does before its first model step, and nothing after. Reads and validates the input,
 * checks the output path, opens the model's files (graph structure, tokenizer, configs: no weights, no session),
 * tokenizes every request and fits it to the context, runs the diagnostics, plans memory, then drives the engine itself
 * — the same scheduler and KV manager — with a runner that computes nothing (engine/planGeneration.ts). Emits one
 * record per input line (its token counts, or why it would be refused); generates nothing, writes no output file.
 */
export async function runDryRun(options: GenerateJobOptions, emit: (record: object) => void): Promise<DryRunResult> {
  const started = performance.now();
  const timer = new StageTimer();
  const { input, todo } = await openJob(options, timer);
  // No session: the report names the runtime a real run would use.
  const model = await timer.time('load', () => openModel(options.model, options.load));
  const diagnostics = new RunDiagnostics(model, diagnosticsOptions(options));
  const defaults = resolveDefaults(model.folder.generationConfig, options.flags);
  const settings = settingsFingerprint(model, defaults);

  let refused = input.inputErrors.length;
  for (const error of input.inputErrors) {
    emit({ id: error.id ?? null, index: error.index, line: error.line, error: { code: error.code, message: error.message } });
  }
  const sequences: PlannedSequence[] = [];
  let promptTokens = 0;
  let maxCompletionTokens = 0;
  const tokenized: PreparedRequest[] = [];
  timer.timeSync('tokenize', () => {
    for (const request of todo) {
      const preparation = prepareRequest(request, defaults, model);
      const { id, index, line } = request;
      diagnostics.addPrepared(preparation.fit);
      if (!preparation.ok) {
        refused++;
        emit({ id, index, line, error: { code: preparation.code, message: preparation.message } });
        continue;
      }
      tokenized.push(preparation.prepared);
    }
  });
  // Structured outputs: every constraint is compiled against the model's tokenizer, as the run would (no session needed).
  const { kept, run: constraints } = await timer.time('compile', () =>
    compileRunConstraints(tokenized, model, (failed, message) => {
      refused++;
      const { id, index, line } = failed.request;
      emit({ id, index, line, error: { code: 'invalid_field', message } });
    }),
  );
  for (const { request, promptIds, settings: s, clampedFrom } of kept) {
    const { id, index, line } = request;
    promptTokens += promptIds.length;
    maxCompletionTokens += s.maxTokens * s.n;
    // The samples of a request share its prompt array, as in a run (one prefill, one entry of the prefix index).
    for (let sample = 0; sample < s.n; sample++) sequences.push({ id, promptIds, maxTokens: s.maxTokens });
    emit({ id, index, line, prompt_tokens: promptIds.length, max_tokens: s.maxTokens, ...(clampedFrom !== undefined ? { max_tokens_requested: clampedFrom } : {}), n: s.n });
  }

  const source = graphMemory(model, options.load);
  const memory = memoryPlan(model, source, options);
  if (options.maxMemory !== undefined) {
    const longest = Math.max(0, ...sequences.map((s) => s.promptIds.length + s.maxTokens));
    checkMemoryFloor(memory, longest, (budgetBytes) => memoryPlan(model, source, { ...options, maxMemory: budgetBytes }));
  }
  const limits = engineLimits(model.graph, memory, options);
  const inputs = {
    hasAttentionMask: model.graph.hasAttentionMask,
    hasPositionIds: model.graph.hasPositionIds,
    hasLogitsToKeep: model.graph.hasLogitsToKeep,
    hasLogitsIndex: source.logits === 'one-per-row' && !model.graph.hasLogitsToKeep,
  };
  const plan = await timer.time('plan', () => planGeneration(sequences, model.protocol, inputs, limits));

  const report = diagnostics.finish({
    settings,
    requests: input.requests,
    inputErrors: input.inputErrors,
    stats: null,
    stages: timer.stages,
    written: 0,
    failed: refused,
    totalMs: performance.now() - started,
    inputLines: input.inputLines,
  });
  const exitCode = report.exit.code;
  return {
    exitCode, report, requests: todo.length, refused, promptTokens, maxCompletionTokens, memory, logits: source.logits,
    batchSize: limits.batchSize, groups: plan.groups, prefix: options.prefixCache === false ? null : prefixPlan(plan),
    structured: constraints.stats,
  };
}

function prefixPlan({ stats }: GenerationPlan): PrefixPlan {
  const computed = stats.prefillRealTokens;
  const reused = stats.prefixTokensReused;
  return { sharing: stats.prefixHits + stats.prefixComputations, promptTokens: computed + reused, computed, reused, evictions: stats.prefixEvictions };
}
