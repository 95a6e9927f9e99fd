import { GenerationRequest, InputError } from '../input/request';
import { ModelFiles, tokenIdOf } from '../model/modelFiles';
import { Constraint, constraintKey, constraintOf, ConstraintParam, RequestConstraint } from '../params/constraintParams';
import { CompiledConstraint, ConstraintChecker, ConstraintCompiler } from '../structured/constraintCompiler';
import { readGrammarVocabulary } from '../structured/grammarVocabulary';
import { RowConstraint } from '../structured/rowConstraint';
import { emptyStructuredStats, StructuredStats } from '../structured/structuredStats';
import { XgrammarError } from '../structured/xgrammarLoader';
import { SequenceSpec } from '../engine/sequence';
import { constraintOfSettings, GenerationFlags, RequestSettings, resolveDefaults } from './generationDefaults';

/** What compiling needs of a prepared request (job/preparedRequest.ts's PreparedRequest has it): its line and settings. */
export interface ConstrainableRequest {
  request: Pick<GenerationRequest, 'kind' | 'line' | 'customId'>;
  settings: RequestSettings;
  /** Set by compileRunConstraints when the request is constrained. */
  constraint?: PreparedConstraint;
}

/** What xgrammar's refusal says about the field, by kind. */
function refusal(constraint: Constraint, message: string): string {
  const what =
    constraint.kind === 'regex' ? 'a regular expression' : constraint.kind === 'grammar' ? 'an EBNF grammar (xgrammar syntax, rule "root")' : constraint.kind === 'choice' ? 'a choice list' : 'a JSON Schema';
  return `is not ${what} the constrained decoder (xgrammar) can compile: ${message}`;
}

/** The field of a request that carries its constraint, as the user wrote it ("body.response_format.json_schema.schema"). */
function fieldOf(request: Pick<GenerationRequest, 'customId'>, found: RequestConstraint): string {
  return `${request.customId !== undefined ? 'body.' : ''}${found.param}${found.at}`;
}

/**
 * Part of input validation, before the model loads: a request whose own constraint xgrammar cannot compile (an invalid
 * schema, regex or grammar) becomes an error record naming its line and field; the run goes on with the others.
 */
export async function checkRequestConstraints(requests: readonly GenerationRequest[]): Promise<{ valid: GenerationRequest[]; errors: InputError[] }> {
  const checker = new ConstraintChecker();
  const valid: GenerationRequest[] = [];
  const errors: InputError[] = [];
  for (const request of requests) {
    const found = constraintOf(request.params, request.params.json_any_whitespace ?? false);
    const message = found ? await checker.check(found.constraint) : null;
    if (message === null) {
      valid.push(request);
      continue;
    }
    const field = fieldOf(request, found!);
    errors.push({ line: request.line, index: request.index, id: request.id, code: 'invalid_field', field, message: `line ${request.line}: field "${field}" ${refusal(found!.constraint, message)}` });
  }
  return { valid, errors };
}

/** The run-wide constraint (CLI flags, the API's defaults) when xgrammar cannot compile it: which parameter, and why. */
export async function defaultConstraintProblem(flags: GenerationFlags): Promise<{ param: ConstraintParam; message: string } | null> {
  const found = constraintOfSettings(resolveDefaults(null, flags));
  if (!found) return null;
  const message = await new ConstraintChecker().check(found.constraint);
  return message === null ? null : { param: found.param, message: refusal(found.constraint, message) };
}

/** A run's compiled constraints and what rows need to make their own. */
export interface RunConstraints {
  stats: StructuredStats;
  /** `<think>` / `</think>` ids when the tokenizer has them (the thinking gate of chat requests). */
  thinking: { startTokenId: number; endTokenId: number } | null;
  stopTokenIds: readonly number[];
}

/** A request's compiled constraint. */
export interface PreparedConstraint {
  compiled: CompiledConstraint;
  /** Chat with enable_thinking: the grammar applies to the answer after `</think>`. */
  thinking: boolean;
}

/**
 * Compiles the constraints of the prepared requests against the model's tokenizer (once per distinct constraint) and
 * attaches each to its request. A request whose constraint fails to compile is handed to `onFailure` and left out.
 */
export async function compileRunConstraints<P extends ConstrainableRequest>(
  prepared: readonly P[],
  model: Pick<ModelFiles, 'folder' | 'tokenizer' | 'tokens' | 'vocabSize'>,
  onFailure: (request: P, message: string) => void,
): Promise<{ kept: P[]; run: RunConstraints }> {
  const stats = emptyStructuredStats();
  const startId = tokenIdOf(model.tokenizer, '<think>');
  const endId = tokenIdOf(model.tokenizer, '</think>');
  const run: RunConstraints = {
    stats,
    thinking: startId !== undefined && endId !== undefined ? { startTokenId: startId, endTokenId: endId } : null,
    stopTokenIds: model.tokens.eosTokenIds,
  };
  const constrained = prepared.map((request) => ({ request, found: constraintOfSettings(request.settings) }));
  if (!constrained.some((c) => c.found)) return { kept: [...prepared], run };
  const compiler = await ConstraintCompiler.create(readGrammarVocabulary(model.folder.dir), model.vocabSize, model.tokens.eosTokenIds, stats);
  const compiled = await compiler.compileAll(constrained.flatMap((c) => (c.found ? [c.found.constraint] : [])));
  const kept: P[] = [];
  for (const { request, found } of constrained) {
    if (!found) {
      kept.push(request);
      continue;
    }
    const result = compiled.get(constraintKey(found.constraint))!;
    if (result instanceof XgrammarError) {
      onFailure(request, `line ${request.request.line}: field "${fieldOf(request.request, found)}" ${refusal(found.constraint, result.message)}`);
      continue;
    }
    stats.requests[found.constraint.kind]++;
    request.constraint = { compiled: result, thinking: request.request.kind === 'messages' && request.settings.enableThinking && run.thinking !== null };
    kept.push(request);
  }
  return { kept, run };
}

/** One row's constraint (each sample of a request has its own). */
export function rowConstraintOf(prepared: ConstrainableRequest, run: RunConstraints | null): RowConstraint | undefined {
  if (!prepared.constraint || !run) return undefined;
  return new RowConstraint(prepared.constraint.compiled, {
    thinking: prepared.constraint.thinking ? run.thinking : null,
    stopTokenIds: run.stopTokenIds,
    stats: run.stats,
  });
}

/**
 * The engine's hook before a step's tokens are chosen: every constrained row's bitmask, ready. Each was started when the
 * row's previous token was accepted, so it mostly ran while the step ran; what is left is counted as a wait.
 */
export function maskHook(stats: StructuredStats): (specs: readonly SequenceSpec<unknown>[]) => Promise<void> {
  return async (specs) => {
    const started = performance.now();
    await Promise.all(specs.map((spec) => (spec.constraint instanceof RowConstraint ? spec.constraint.prepare() : undefined)));
    stats.waitMs += performance.now() - started;
  };
}
