import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

export type JsonObject = Record<string, unknown>;

/** A model folder laid out like the Hugging Face ONNX exports: configs and tokenizer at the top, graphs under onnx/. */
export interface ModelFolder {
  dir: string;
  onnxPath: string;
  config: JsonObject;
  generationConfig: JsonObject | null;
  tokenizerConfig: JsonObject | null;
}

export function readJsonIfExists(file: string): JsonObject | null {
  if (!fs.existsSync(file)) return null;
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as JsonObject;
  } catch (error) {
    throw new UserError(`model file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Opens a local model folder and checks the files the runner needs are there. */
export function openModelFolder(dir: string, onnxFile = 'onnx/model.onnx'): ModelFolder {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`model folder ${dir} does not exist`);
  const config = readJsonIfExists(path.join(dir, 'config.json'));
  if (!config) throw new UserError(`model folder ${dir} has no config.json (expected a Hugging Face model folder)`);
  const onnxPath = path.join(dir, onnxFile);
  if (!fs.existsSync(onnxPath)) throw new UserError(`model folder ${dir} has no ${onnxFile}`);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!fs.existsSync(path.join(dir, file))) throw new UserError(`model folder ${dir} has no ${file}`);
  }
  return {
    dir,
    onnxPath,
    config,
    generationConfig: readJsonIfExists(path.join(dir, 'generation_config.json')),
    tokenizerConfig: readJsonIfExists(path.join(dir, 'tokenizer_config.json')),
  };
}
