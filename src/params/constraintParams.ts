import type { CheckedValue } from './checkedValue';
import type { JsonSchema } from './requestParams';
import { unenforcedKeyword } from './strictSchema';

/**
 * Structured outputs: the request fields that constrain decoding. A request carries at most one of them (two are a
 * `conflicting_fields` error naming both); a request that gives one replaces the run-wide default constraint (CLI flags)
 * whatever its kind, and `response_format: {"type": "text"}` opts a request out of the default.
 */
export const CONSTRAINT_PARAMS = ['response_format', 'guided_json', 'guided_regex', 'guided_choice', 'guided_grammar'] as const;
export type ConstraintParam = (typeof CONSTRAINT_PARAMS)[number];

export const CONSTRAINT_KINDS = ['json_schema', 'json_object', 'regex', 'choice', 'grammar'] as const;
export type ConstraintKind = (typeof CONSTRAINT_KINDS)[number];

/** What xgrammar compiles, normalized from whichever field gave it. */
export type Constraint =
  | { kind: 'json_schema'; schema: JsonSchema; anyWhitespace: boolean }
  | { kind: 'json_object'; anyWhitespace: boolean }
  | { kind: 'regex'; pattern: string }
  | { kind: 'choice'; choices: string[] }
  | { kind: 'grammar'; grammar: string };

/** A request's constraint, with the field that gave it (`at`: the path inside that field xgrammar reads). */
export interface RequestConstraint {
  constraint: Constraint;
  param: ConstraintParam;
  at: string;
}

export function isConstraintParam(name: string): name is ConstraintParam {
  return (CONSTRAINT_PARAMS as readonly string[]).includes(name);
}

/** The constraint the values give (null: none, or `response_format` type "text"). Values are already checked. */
export function constraintOf(values: Partial<Record<ConstraintParam, unknown>>, anyWhitespace: boolean): RequestConstraint | null {
  const format = values.response_format as { type: string; json_schema?: { schema: JsonSchema } } | null | undefined;
  if (format?.type === 'json_object') return { param: 'response_format', at: '', constraint: { kind: 'json_object', anyWhitespace } };
  if (format?.type === 'json_schema') {
    return { param: 'response_format', at: '.json_schema.schema', constraint: { kind: 'json_schema', schema: format.json_schema!.schema, anyWhitespace } };
  }
  if (values.guided_json != null) return { param: 'guided_json', at: '', constraint: { kind: 'json_schema', schema: values.guided_json as JsonSchema, anyWhitespace } };
  if (values.guided_regex != null) return { param: 'guided_regex', at: '', constraint: { kind: 'regex', pattern: values.guided_regex as string } };
  if (values.guided_choice != null) return { param: 'guided_choice', at: '', constraint: { kind: 'choice', choices: values.guided_choice as string[] } };
  if (values.guided_grammar != null) return { param: 'guided_grammar', at: '', constraint: { kind: 'grammar', grammar: values.guided_grammar as string } };
  return null;
}

/** The cache key of a constraint: its canonical JSON (object keys sorted), so equal schemas written differently share one grammar. */
export function constraintKey(constraint: Constraint): string {
  return canonicalJson(constraint);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `guided_json`: a JSON Schema object, or (as vLLM accepts) a string holding one. */
export function checkJsonSchema(value: unknown): CheckedValue {
  const requirement = 'must be a JSON Schema (an object, or a string holding one)';
  let schema = value;
  if (typeof value === 'string') {
    try {
      schema = JSON.parse(value);
    } catch {
      return { ok: false, requirement, value };
    }
  }
  return isObject(schema) ? { ok: true, value: schema } : { ok: false, requirement, value };
}

const FORMAT_TYPES = '"text", "json_object" or "json_schema"';
const JSON_SCHEMA_KEYS = ['name', 'schema', 'strict', 'description'];

/**
 * OpenAI's `response_format`: `{"type": "text"}`, `{"type": "json_object"}` or `{"type": "json_schema", "json_schema":
 * {"name", "schema", "strict"?, "description"?}}`. With `strict: true`, a schema keyword xgrammar does not enforce is
 * refused (see strictSchema.ts) rather than silently ignored.
 */
export function checkResponseFormat(value: unknown): CheckedValue {
  if (!isObject(value)) return { ok: false, requirement: `must be an object with "type" ${FORMAT_TYPES}`, value };
  const type = value.type;
  const extra = Object.keys(value).find((key) => key !== 'type' && !(type === 'json_schema' && key === 'json_schema'));
  if (type !== 'text' && type !== 'json_object' && type !== 'json_schema') {
    return { ok: false, requirement: `must be ${FORMAT_TYPES}`, value: type, at: '.type' };
  }
  if (extra !== undefined) return { ok: false, requirement: `is not a field of a "${type}" response_format`, value: value[extra], at: `.${extra}` };
  if (type !== 'json_schema') return { ok: true, value: { type } };
  const spec = value.json_schema;
  if (!isObject(spec)) return { ok: false, requirement: 'must be an object with "name" and "schema"', value: spec, at: '.json_schema' };
  const unknown = Object.keys(spec).find((key) => !JSON_SCHEMA_KEYS.includes(key));
  if (unknown !== undefined) return { ok: false, requirement: `is not a field of json_schema (${JSON_SCHEMA_KEYS.join(', ')})`, value: spec[unknown], at: `.json_schema.${unknown}` };
  if (typeof spec.name !== 'string' || spec.name === '') return { ok: false, requirement: 'must be a non-empty string', value: spec.name, at: '.json_schema.name' };
  if (!isObject(spec.schema)) return { ok: false, requirement: 'must be a JSON Schema object', value: spec.schema, at: '.json_schema.schema' };
  if (spec.strict != null && typeof spec.strict !== 'boolean') return { ok: false, requirement: 'must be true or false', value: spec.strict, at: '.json_schema.strict' };
  if (spec.description != null && typeof spec.description !== 'string') {
    return { ok: false, requirement: 'must be a string', value: spec.description, at: '.json_schema.description' };
  }
  if (spec.strict === true) {
    const problem = unenforcedKeyword(spec.schema);
    if (problem) {
      return {
        ok: false,
        requirement: `${problem.why}, which the constrained decoder (xgrammar) does not enforce; with "strict": true it is refused (remove it, or set strict to false to have it ignored)`,
        value: problem.value,
        at: `.json_schema.schema${problem.path}`,
      };
    }
  }
  const checked: Record<string, unknown> = { name: spec.name, schema: spec.schema };
  if (spec.strict != null) checked.strict = spec.strict;
  if (spec.description != null) checked.description = spec.description;
  return { ok: true, value: { type, json_schema: checked } };
}

/** `guided_choice`: the output is exactly one of these strings. */
export function checkChoices(value: unknown): CheckedValue {
  const requirement = 'must be a non-empty array of non-empty strings';
  if (!Array.isArray(value) || value.length === 0) return { ok: false, requirement, value };
  const bad = value.findIndex((choice) => typeof choice !== 'string' || choice === '');
  if (bad >= 0) return { ok: false, requirement: 'must be a non-empty string', value: value[bad], at: `[${bad}]` };
  return { ok: true, value: [...value] };
}
