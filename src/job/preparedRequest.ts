import { ContextFit, fitToContext } from '../schedule/contextFit';
import { SequenceSpec } from '../engine/sequence';
import { GenerationRequest } from '../input/request';
import { ModelFiles } from '../model/modelFiles';
import { SequenceOutput } from '../output/sequenceOutput';
import { RequestSampler } from '../sample/sampler';
import { resolveSampleSeed } from '../sample/seededRng';
import { encodePrompt } from '../tokenize/promptEncoder';
import { GENERATION_PARAMS } from '../params/generationParams';
import { settingKey } from '../params/settingKey';
import { GenerationDefaults, requestSettings, RequestSettings } from './generationDefaults';
import type { RowConstraint } from '../structured/rowConstraint';
import { PreparedConstraint, rowConstraintOf, RunConstraints } from './structuredOutputs';

/** A request after tokenization: what the engine runs (one sequence per sample). */
export interface PreparedRequest {
  request: GenerationRequest;
  settings: RequestSettings;
  promptIds: number[];
  /** max_tokens was lowered to fit the context (original value). */
  clampedFrom?: number;
  /** Structured outputs: the request's compiled constraint (job/structuredOutputs.ts). */
  constraint?: PreparedConstraint;
}

/** What the engine carries through for one sequence: its request and the output processor that cuts its text. */
export interface SampleSlot {
  prepared: PreparedRequest;
  output: SequenceOutput;
  /** This sample's own grammar state (structured outputs). */
  constraint?: RowConstraint;
}

export type Preparation =
  | { ok: true; prepared: PreparedRequest; fit: ContextFit }
  | { ok: false; code: string; message: string; fit?: ContextFit };

/** Tokenizes a request and checks it fits the model's context; prompt + max_tokens over it lowers max_tokens. */
export function prepareRequest(request: GenerationRequest, defaults: GenerationDefaults, model: ModelFiles): Preparation {
  const settings = requestSettings(defaults, request.params);
  const promptIds = encodePrompt(model.tokenizer, request, {
    enableThinking: settings.enableThinking,
    escapeSpecialTokens: settings.escapeSpecialTokens,
  } as Parameters<typeof encodePrompt>[2]);
  if (promptIds.length === 0) {
    return { ok: false, code: 'empty_prompt', message: `line ${request.line}: the prompt has no tokens` };
  }
  const fit = fitToContext(request.id, promptIds.length, settings.maxTokens, model.contextLength);
  if (fit.verdict === 'refused') {
    return {
      ok: false,
      code: 'prompt_over_context',
      message: `line ${request.line}: the prompt has ${promptIds.length} tokens; the model's context is ${model.contextLength} tokens`,
      fit,
    };
  }
  const clampedFrom = fit.verdict === 'clamped' ? settings.maxTokens : undefined;
  settings.maxTokens = fit.maxTokens;
  return { ok: true, fit, prepared: { request, settings, promptIds, clampedFrom } };
}

export function stopTokenIds(settings: RequestSettings, eosTokenIds: readonly number[]): number[] {
  return [...(settings.ignoreEos ? [] : eosTokenIds), ...settings.stopTokenIds];
}

/** One engine sequence per sample; each sample has its own sampler seeded from the request (never from batch position). */
export function sequenceSpecs(
  prepared: PreparedRequest,
  model: Pick<ModelFiles, 'tokenizer' | 'tokens'>,
  /** The run's structured-output state: each sample of a constrained request gets its own grammar state. */
  constraints: RunConstraints | null = null,
): SequenceSpec<SampleSlot>[] {
  const { settings, promptIds, request } = prepared;
  const stopIds = stopTokenIds(settings, model.tokens.eosTokenIds);
  const stopTokenIdSet = new Set(stopIds);
  return Array.from({ length: settings.n }, (_, sampleIndex) => {
    const output = new SequenceOutput(model.tokenizer, {
      minTokens: settings.minTokens,
      stopStrings: settings.stop,
      includeStopStrInOutput: settings.includeStopStrInOutput,
    });
    const constraint = rowConstraintOf(prepared, constraints);
    return {
      request: { prepared, output, constraint },
      sampleIndex,
      promptIds,
      maxTokens: settings.maxTokens,
      stopTokenIds: stopTokenIdSet,
      minTokens: settings.minTokens,
      textStop: output.textStop,
      constraint,
      sampler: new RequestSampler(
        {
          temperature: settings.temperature,
          topK: settings.topK,
          topP: settings.topP,
          minP: settings.minP,
          repetitionPenalty: settings.repetitionPenalty,
          presencePenalty: settings.presencePenalty,
          frequencyPenalty: settings.frequencyPenalty,
          logprobs: settings.logprobs,
          seed: resolveSampleSeed({ requestSeed: settings.requestSeed, globalSeed: settings.seed, requestId: request.id, sampleIndex }),
        },
        promptIds,
        { minTokens: settings.minTokens, minTokensBlockedIds: stopIds },
      ),
    };
  });
}

/**
 * A sequence made new for a retry after a failed model step: the same request and sample, with a fresh sampler, output
 * processor and grammar state (the failed attempt's grammar state is let go).
 */
export function restartedSpec(
  spec: SequenceSpec<SampleSlot>,
  model: Pick<ModelFiles, 'tokenizer' | 'tokens'>,
  constraints: RunConstraints | null,
): SequenceSpec<SampleSlot> {
  spec.request.constraint?.dispose();
  return sequenceSpecs(spec.request.prepared, model, constraints)[spec.sampleIndex];
}

/** The parameters that shaped a request's output, for --echo-params: every row of the parameter table, plus the run seed. */
export function echoedParams(settings: RequestSettings): Record<string, unknown> {
  const values = settings as unknown as Record<string, unknown>;
  const echoed: Record<string, unknown> = {};
  for (const spec of GENERATION_PARAMS) {
    echoed[spec.name] = spec.name === 'seed' ? settings.requestSeed ?? null : values[settingKey(spec.name)];
    if (spec.name === 'seed') echoed.run_seed = settings.seed;
  }
  return echoed;
}
