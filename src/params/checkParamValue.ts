import type { CheckedValue } from './checkedValue';
import { checkChoices, checkJsonSchema, checkResponseFormat } from './constraintParams';
import { ParamSpec, ParamType } from './generationParams';

export type { CheckedValue } from './checkedValue';

/**
 * Checks one parameter value against its row of the table. Shared by JSONL lines, OpenAI Batch bodies and CLI flags, so
 * the three accept exactly the same values.
 */
export function checkParamValue(spec: ParamSpec, value: unknown): CheckedValue {
  const type = spec.type;
  switch (type.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false, requirement: 'must be true or false', value };
    case 'stop':
      return checkStop(value);
    case 'token_ids':
      return checkArray(value, 'must be an array of token ids (integers ≥ 0)', (id) =>
        Number.isSafeInteger(id) && (id as number) >= 0 ? null : 'must be a token id (an integer ≥ 0)',
      );
    case 'response_format':
      return checkResponseFormat(value);
    case 'json_schema':
      return checkJsonSchema(value);
    case 'choices':
      return checkChoices(value);
    case 'text':
      return typeof value === 'string' && value !== '' ? { ok: true, value } : { ok: false, requirement: `must be ${describeType(type)}`, value };
    default: {
      const isInteger = type.kind === 'integer';
      const valid =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (!isInteger || Number.isSafeInteger(value)) &&
        (type.min === undefined || (type.minExclusive ? value > type.min : value >= type.min)) &&
        (type.max === undefined || value <= type.max);
      return valid ? { ok: true, value } : { ok: false, requirement: `must be ${describeType(type)}`, value };
    }
  }
}

function checkStop(value: unknown): CheckedValue {
  const requirement = 'must be a non-empty string or an array of non-empty strings';
  if (typeof value === 'string') return value === '' ? { ok: false, requirement, value } : { ok: true, value: [value] };
  return checkArray(value, requirement, (stop) => (typeof stop === 'string' && stop !== '' ? null : 'must be a non-empty string'));
}

/** Checks an array element by element, so the message can point at the bad element ("stop[1]"). */
function checkArray(value: unknown, requirement: string, elementProblem: (element: unknown) => string | null): CheckedValue {
  if (!Array.isArray(value)) return { ok: false, requirement, value };
  for (let i = 0; i < value.length; i++) {
    const problem = elementProblem(value[i]);
    if (problem) return { ok: false, requirement: problem, value: value[i], at: `[${i}]` };
  }
  return { ok: true, value: [...value] };
}

/** "an integer ≥ 0", "a number > 0 and ≤ 1", … */
export function describeType(type: ParamType): string {
  switch (type.kind) {
    case 'boolean':
      return 'true or false';
    case 'stop':
      return 'a non-empty string';
    case 'token_ids':
      return 'token ids (integers ≥ 0)';
    case 'response_format':
      return 'an object {"type": "text" | "json_object" | "json_schema", …}';
    case 'json_schema':
      return 'a JSON Schema object';
    case 'choices':
      return 'a non-empty array of non-empty strings';
    case 'text':
      return 'a non-empty string';
    default: {
      const noun = type.kind === 'integer' ? 'an integer' : 'a number';
      let range = '';
      if (type.min !== undefined && type.max !== undefined) {
        range = type.minExclusive ? ` > ${type.min} and ≤ ${type.max}` : ` from ${type.min} to ${type.max}`;
      } else if (type.min !== undefined) {
        range = type.minExclusive ? ` > ${type.min}` : ` ≥ ${type.min}`;
      }
      return `${noun}${range}${type.note ? ` (${type.note})` : ''}`;
    }
  }
}
