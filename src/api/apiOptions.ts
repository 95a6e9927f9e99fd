import { closestName } from '../closestName';
import { FINDING_CODES } from '../diagnostics/findingCatalog';
import { UserError } from '../errors';
import { GenerationFlags } from '../job/generationDefaults';
import { checkParamValue } from '../params/checkParamValue';
import { flagName, GENERATION_PARAMS, ParamSpec } from '../params/generationParams';
import { settingKey } from '../params/settingKey';

/** The options `generate()` takes besides the generation parameters (kept in step with GenerateOptions by a test). */
export const GENERATE_OPTION_NAMES = [
  'model', 'dtype', 'revision', 'offline', 'hubUrl', 'batchSize', 'maxBatchTokens', 'maxMemory', 'prefixCache', 'defaults',
  'greedy', 'escapeSpecialTokens', 'tokenIds', 'echoParams', 'format', 'ordered', 'keepFields', 'threads', 'device',
  'runtime', 'signal', 'onLog', 'onReport', 'failOn', 'ignoreFindings',
] as const;

/** Generation parameters that have a run-wide value (a CLI flag): given in `defaults` or at the top level of the options. */
export const RUN_WIDE_PARAMS: readonly ParamSpec[] = GENERATION_PARAMS.filter((spec) => spec.cli !== undefined);

const PARAM_NAMES = GENERATION_PARAMS.map((spec) => spec.name as string);

function apiError(message: string): Error {
  return new Error(`generate(): ${message}`);
}

/**
 * Checks the option names the way the CLI checks its flags: an unknown one is an error naming it and the closest known
 * one (a generation parameter at the top level, `max_tokens: 64`, is a run-wide parameter like `defaults.max_tokens`).
 */
export function checkOptionNames(options: object): void {
  const known = [...GENERATE_OPTION_NAMES, ...RUN_WIDE_PARAMS.map((spec) => spec.name)] as string[];
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    if (PARAM_NAMES.includes(name)) throw perRequestOnly(name, name);
    const meant = closestName(name, known);
    throw apiError(`unknown option "${name}"${meant !== undefined ? `; did you mean "${meant}"?` : ` (options: ${known.join(', ')})`}`);
  }
}

function perRequestOnly(name: string, shown: string): Error {
  return apiError(`${shown} has no run-wide value (as on the CLI): give "${name}" in each request that needs it`);
}

/**
 * Run-wide generation parameters, from `defaults` and the top level of the options (by their JSONL names), each checked
 * with the table's rule — the same parameters and checks as the CLI's flags — as the job's flags.
 */
export function runWideFlags(options: Record<string, unknown>): GenerationFlags {
  const defaults = (options.defaults ?? {}) as Record<string, unknown>;
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) throw apiError('defaults must be an object of generation parameters');
  const flags: Record<string, unknown> = { greedy: options.greedy, escapeSpecialTokens: options.escapeSpecialTokens };
  for (const [name, value] of Object.entries(defaults)) {
    const spec = RUN_WIDE_PARAMS.find((s) => s.name === name);
    if (!spec) {
      if (PARAM_NAMES.includes(name)) throw perRequestOnly(name, `defaults.${name}`);
      const meant = closestName(name, RUN_WIDE_PARAMS.map((s) => s.name));
      throw apiError(`defaults.${name} is not a generation parameter${meant !== undefined ? `; did you mean "${meant}"?` : ` (run-wide parameters: ${RUN_WIDE_PARAMS.map((s) => s.name).join(', ')})`}`);
    }
    flags[settingKey(spec.name)] = checked(spec, value, `defaults.${name}`);
  }
  for (const spec of RUN_WIDE_PARAMS) {
    if (options[spec.name] === undefined) continue;
    if (defaults[spec.name] !== undefined) throw apiError(`${spec.name} is given twice, at the top level and in defaults; keep one`);
    flags[settingKey(spec.name)] = checked(spec, options[spec.name], spec.name);
  }
  const temperature = defaults.temperature ?? options.temperature;
  if (options.greedy && temperature !== undefined) throw apiError('greedy and temperature conflict; use one');
  return flags as GenerationFlags;
}

function checked(spec: ParamSpec, value: unknown, shown: string): unknown {
  const result = checkParamValue(spec, value);
  if (!result.ok) throw apiError(`${shown}${result.at ?? ''} ${result.requirement}, got ${JSON.stringify(result.value)}`);
  return result.value;
}

/** The other options' values, checked like the CLI checks its flags (a positive integer where the CLI wants one, …). */
export function checkOptionValues(options: Record<string, unknown>): void {
  for (const name of ['batchSize', 'maxBatchTokens', 'threads'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) throw apiError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  if (options.maxMemory !== undefined && (typeof options.maxMemory !== 'number' || !(options.maxMemory > 0))) {
    throw apiError(`maxMemory must be a number of bytes > 0, got ${JSON.stringify(options.maxMemory)}`);
  }
  const choices: Record<string, readonly unknown[]> = {
    device: ['cpu', 'cuda'],
    format: ['auto', 'qwen-gen', 'openai'],
    failOn: ['never', 'warning', 'error'],
    runtime: ['auto', 'direct', 'onnxruntime-node'],
  };
  for (const [name, allowed] of Object.entries(choices)) {
    if (options[name] !== undefined && !allowed.includes(options[name])) {
      throw apiError(`${name} must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}, got ${JSON.stringify(options[name])}`);
    }
  }
  const codes = options.ignoreFindings;
  if (codes !== undefined) {
    if (!Array.isArray(codes)) throw apiError(`ignoreFindings must be an array of finding codes, got ${JSON.stringify(codes)}`);
    for (const code of codes) {
      if ((FINDING_CODES as string[]).includes(code)) continue;
      const meant = closestName(String(code), FINDING_CODES);
      throw apiError(`ignoreFindings: unknown finding code ${JSON.stringify(code)}${meant !== undefined ? `; did you mean "${meant}"?` : ''}`);
    }
  }
  if (options.model !== undefined && (typeof options.model !== 'string' || options.model === '')) {
    throw apiError(`model must be "tiny", a model folder or a hub id, got ${JSON.stringify(options.model)}`);
  }
}

/** CLI words in a message from the shared pipeline, in the API's terms: `--dtype` → `dtype`, `--max-tokens` → `max_tokens`. */
export function inApiTerms(error: unknown): unknown {
  if (!(error instanceof UserError)) return error;
  const words: [RegExp, string][] = [
    ...RUN_WIDE_PARAMS.map((spec): [RegExp, string] => [new RegExp(`${flagName(spec.cli!)}\\b`, 'g'), spec.name]),
    [/--hub-url\b/g, 'hubUrl'],
    [/--max-memory\b/g, 'maxMemory'],
    [/--max-batch-tokens\b/g, 'maxBatchTokens'],
    [/--batch-size\b/g, 'batchSize'],
    [/--keep-fields\b/g, 'keepFields'],
    [/--escape-special-tokens\b/g, 'escapeSpecialTokens'],
    [/--(dtype|revision|offline|runtime|device|threads|format|greedy|ordered)\b/g, '$1'],
  ];
  return new Error(words.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), error.message));
}
