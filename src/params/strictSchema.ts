/**
 * JSON Schema keywords the constrained decoder (xgrammar 0.1.27, src json_schema_converter.cc) accepts but does not enforce:
 * it ignores them (or, for `oneOf`, enforces only `anyOf`), so an output may break them. With OpenAI's `"strict": true` a
 * schema using one is refused; without it they are ignored, as vLLM does.
 */
const IGNORED_KEYWORDS: Record<string, string> = {
  not: 'is the keyword "not"',
  if: 'is the keyword "if"',
  then: 'is the keyword "then"',
  else: 'is the keyword "else"',
  dependentRequired: 'is the keyword "dependentRequired"',
  dependentSchemas: 'is the keyword "dependentSchemas"',
  dependencies: 'is the keyword "dependencies"',
  multipleOf: 'is the keyword "multipleOf"',
  uniqueItems: 'is the keyword "uniqueItems"',
  contains: 'is the keyword "contains"',
  minContains: 'is the keyword "minContains"',
  maxContains: 'is the keyword "maxContains"',
  oneOf: 'is the keyword "oneOf" (enforced only as anyOf: exactly-one is not checked)',
};

/** String formats xgrammar turns into a grammar; any other `format` is ignored. */
export const ENFORCED_FORMATS = [
  'email', 'date', 'time', 'date-time', 'duration', 'ipv4', 'ipv6', 'hostname', 'uuid', 'uri', 'uri-reference',
  'uri-template', 'json-pointer', 'relative-json-pointer',
];

/** Keywords whose value is one subschema, a map of subschemas, or an array of subschemas. */
const SUBSCHEMA = ['additionalProperties', 'unevaluatedProperties', 'propertyNames', 'items', 'unevaluatedItems'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SUBSCHEMA_ARRAYS = ['prefixItems', 'anyOf', 'allOf'];

export interface UnenforcedKeyword {
  /** JSON path inside the schema, e.g. ".properties.age.multipleOf". */
  path: string;
  why: string;
  value: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The first keyword of `schema` (depth first, in key order) that xgrammar would not enforce, or null. */
export function unenforcedKeyword(schema: unknown, path = ''): UnenforcedKeyword | null {
  if (!isObject(schema)) return null;
  for (const [key, value] of Object.entries(schema)) {
    const here = `${path}.${key}`;
    if (Object.hasOwn(IGNORED_KEYWORDS, key)) return { path: here, why: IGNORED_KEYWORDS[key], value };
    if (key === 'allOf' && Array.isArray(value) && value.length > 1) return { path: here, why: 'combines several schemas with "allOf"', value };
    if (key === 'format' && typeof value === 'string' && !ENFORCED_FORMATS.includes(value)) {
      return { path: here, why: `names the string format "${value}" (enforced formats: ${ENFORCED_FORMATS.join(', ')})`, value };
    }
    if (key === '$ref' && typeof value === 'string' && value !== '#' && !value.startsWith('#/')) {
      return { path: here, why: 'is a reference outside this schema (only "#" and "#/…" are followed)', value };
    }
  }
  // A string schema enforces one of format > pattern > minLength/maxLength; the others next to it are ignored.
  const lengths = ['minLength', 'maxLength'].filter((key) => Object.hasOwn(schema, key));
  if (Object.hasOwn(schema, 'format') && Object.hasOwn(schema, 'pattern')) return { path: `${path}.pattern`, why: 'is combined with "format" (the format wins)', value: schema.pattern };
  if ((Object.hasOwn(schema, 'format') || Object.hasOwn(schema, 'pattern')) && lengths.length > 0) {
    const winner = Object.hasOwn(schema, 'format') ? 'format' : 'pattern';
    return { path: `${path}.${lengths[0]}`, why: `is combined with "${winner}" (which wins)`, value: schema[lengths[0]] };
  }
  for (const [key, value] of Object.entries(schema)) {
    const here = `${path}.${key}`;
    let found: UnenforcedKeyword | null = null;
    if (SUBSCHEMA.includes(key)) found = unenforcedKeyword(value, here);
    else if (SUBSCHEMA_MAPS.includes(key) && isObject(value)) {
      for (const [name, sub] of Object.entries(value)) if ((found = unenforcedKeyword(sub, `${here}.${name}`))) break;
    } else if (SUBSCHEMA_ARRAYS.includes(key) && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if ((found = unenforcedKeyword(value[i], `${here}[${i}]`))) break;
    }
    if (found) return found;
  }
  return null;
}
