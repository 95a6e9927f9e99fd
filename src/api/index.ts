/**
 * qwen-gen's programmatic API (`require('qwen-gen')`): the same pipeline as the CLI, records as objects instead of
 * JSONL lines. Documented in the README ("Programmatic use").
 */
export { generate } from './generate';
export type { GenerateDefaults, GenerateOptions, GenerateRequest, GenerationRecord } from './generate';
export { inspect } from './inspect';
export type { InspectOptions } from './inspect';
export { GENERATION_PARAMS } from '../params/generationParams';
export type { ParamSpec } from '../params/generationParams';
export type { JsonSchema, ResponseFormat } from '../params/requestParams';
export type { Report } from '../diagnostics/report';
export type { Finding, Severity } from '../diagnostics/finding';
