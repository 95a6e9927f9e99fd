import { fieldProblem, LineProblem } from './errors';
import type { RequestParams } from './request';
import { checkParamValue } from '../params/checkParamValue';
import { CONSTRAINT_PARAMS } from '../params/constraintParams';
import { ParamName, paramSpec } from '../params/generationParams';

export { isParamName, PARAM_NAMES } from '../params/generationParams';

/**
 * Validates `value` for parameter `name` (rules from the parameter table) and stores the normalized value in `params`.
 * `field` is the path shown to users (e.g. "body.temperature").
 */
export function setParam(params: RequestParams, name: ParamName, value: unknown, field: string): void {
  const checked = checkParamValue(paramSpec(name), value);
  if (!checked.ok) throw fieldProblem(`${field}${checked.at ?? ''}`, checked.requirement, checked.value);
  (params as Record<ParamName, unknown>)[name] = checked.value;
}

/** Checks that span several parameters; run after all of them are set. */
export function checkParamCombination(params: RequestParams, fieldPrefix: string): void {
  const { min_tokens: minTokens, max_tokens: maxTokens } = params;
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens) {
    throw new LineProblem(
      'conflicting_fields',
      `field "${fieldPrefix}min_tokens" (${minTokens}) must not exceed "${fieldPrefix}max_tokens" (${maxTokens})`,
      `${fieldPrefix}min_tokens`,
    );
  }
  // One constraint per request: two would have to hold at once, which no decoder can promise.
  const constraints = CONSTRAINT_PARAMS.filter((name) => params[name] !== undefined);
  if (constraints.length > 1) {
    const [first, second] = constraints.map((name) => `${fieldPrefix}${name}`);
    throw new LineProblem('conflicting_fields', `fields "${first}" and "${second}" are both given; a request takes one output constraint`, second);
  }
}
