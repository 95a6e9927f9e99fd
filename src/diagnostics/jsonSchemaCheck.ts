/**
 * A small JSON Schema checker for the subset docs/report-schema.json uses (draft 2020-12 keywords: type, const, enum,
 * required, properties, additionalProperties, items, minimum, maximum, minLength, pattern, anyOf, local $ref). An
 * unsupported keyword is an error rather than silently passing, so the check cannot drift into checking nothing.
 */
export type JsonSchema = { [keyword: string]: unknown } | boolean;

const ANNOTATIONS = new Set(['$schema', '$id', '$defs', '$comment', 'title', 'description', 'examples', 'default']);
const CHECKED = new Set([
  'type', 'const', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'minimum', 'maximum', 'minLength',
  'pattern', 'anyOf', '$ref',
]);

/** Every violation as "path: problem"; empty when the value conforms. */
export function checkJsonSchema(value: unknown, schema: JsonSchema, root: JsonSchema = schema, at = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${at}: no value is allowed here`];
  const problems: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!ANNOTATIONS.has(keyword) && !CHECKED.has(keyword)) throw new Error(`${at}: unsupported schema keyword "${keyword}"`);
  }
  if (typeof schema.$ref === 'string') problems.push(...checkJsonSchema(value, resolveRef(root, schema.$ref), root, at));
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((type) => hasType(value, type))) return [...problems, `${at}: expected ${types.join(' or ')}, got ${typeName(value)}`];
  }
  if ('const' in schema && !deepEqual(value, schema.const)) problems.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => deepEqual(value, option))) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (Array.isArray(schema.anyOf)) {
    const branches = (schema.anyOf as JsonSchema[]).map((branch) => checkJsonSchema(value, branch, root, at));
    if (!branches.some((branch) => branch.length === 0)) problems.push(`${at}: matches no anyOf branch (${branches.map((b) => b[0]).join(' | ')})`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: ${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: ${value} > maximum ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${at}: does not match ${schema.pattern}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => problems.push(...checkJsonSchema(item, schema.items as JsonSchema, root, `${at}[${i}]`)));
  }
  if (isObject(value)) problems.push(...checkObject(value, schema, root, at));
  return problems;
}

function checkObject(value: Record<string, unknown>, schema: { [keyword: string]: unknown }, root: JsonSchema, at: string): string[] {
  const problems: string[] = [];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const key of (schema.required ?? []) as string[]) {
    if (!Object.hasOwn(value, key)) problems.push(`${at}: missing required "${key}"`);
  }
  for (const [key, item] of Object.entries(value)) {
    const path = `${at}.${key}`;
    if (Object.hasOwn(properties, key)) problems.push(...checkJsonSchema(item, properties[key], root, path));
    else if (schema.additionalProperties !== undefined) {
      problems.push(...checkJsonSchema(item, schema.additionalProperties as JsonSchema, root, path).map((p) => (p.endsWith('no value is allowed here') ? `${path}: unexpected property` : p)));
    }
  }
  return problems;
}

function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref is supported, got ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    node = isObject(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  if (node === undefined) throw new Error(`$ref ${ref} points nowhere`);
  return node as JsonSchema;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'array': return Array.isArray(value);
    case 'object': return isObject(value);
    default: throw new Error(`unknown schema type "${type}"`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
