/**
 * Weight dtypes of ONNX exports and the file each one lives in, named the way transformers.js names them
 * (its DEFAULT_DTYPE_SUFFIX_MAPPING): `onnx/model{suffix}.onnx`, external data in `onnx/model{suffix}.onnx_data`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import type { DeviceName } from '../deviceName';
import { DTYPE_NAMES, DtypeName, isDtypeName, onnxFileForDtype } from '../dtypeFiles';

export type DtypeRequest = DtypeName | 'auto';

/**
 * What `auto` tries, best first.
 * cpu: fp32 is the reference numerics and every op has a CPU kernel; 8-bit weights keep fp32 activations
 * (q8 = transformers.js's default quantized export); q4 (MatMulNBits) is fast on CPU; bnb4 after it; fp16 and
 * q4f16 last, since onnxruntime's CPU provider lacks fp16 kernels for many ops and inserts casts.
 * cuda: fp16 graphs are what the CUDA provider is built for; q4f16 next; fp32 always works; the integer
 * (dynamic-quantization) graphs mostly fall back to CPU kernels, so they come last.
 */
export const DTYPE_PREFERENCE: Readonly<Record<DeviceName, readonly DtypeName[]>> = Object.freeze({
  cpu: ['fp32', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'fp16', 'q4f16'],
  cuda: ['fp16', 'q4f16', 'fp32', 'q4', 'bnb4', 'q8', 'int8', 'uint8'],
});

/** Parses `--dtype`; the error lists the accepted names. */
export function parseDtype(text: string): DtypeRequest {
  const value = text.trim().toLowerCase();
  if (value === 'auto' || isDtypeName(value)) return value;
  throw new UserError(`--dtype "${text}" is not a known dtype; expected one of: auto, ${DTYPE_NAMES.join(', ')}`);
}

/** The graph file of a dtype, relative to the model folder (always with '/'). */
export interface DtypeVariant {
  dtype: DtypeName;
  onnxFile: string;
}

/** The dtype variants whose graph file exists in a local model folder, in DTYPE_NAMES order. */
export function listDtypeVariants(dir: string): DtypeVariant[] {
  return DTYPE_NAMES.map((dtype) => ({ dtype, onnxFile: onnxFileForDtype(dtype) })).filter((variant) =>
    isFile(path.join(dir, variant.onnxFile)),
  );
}

/** .onnx files under onnx/ that match no known dtype name (listed in errors so a user sees what is there). */
export function unknownOnnxFiles(dir: string): string[] {
  const known = new Set(DTYPE_NAMES.map(onnxFileForDtype));
  const onnxDir = path.join(dir, 'onnx');
  if (!fs.existsSync(onnxDir)) return [];
  return fs
    .readdirSync(onnxDir)
    .filter((name) => name.endsWith('.onnx'))
    .map((name) => `onnx/${name}`)
    .filter((file) => !known.has(file))
    .sort();
}

export interface DtypeChoice extends DtypeVariant {
  /** One sentence saying which variant was taken and why. */
  reason: string;
}

/**
 * The dtype `transformers.js_config.dtype` in config.json recommends, when it names one (transformers.js
 * honours it for `auto` too). Per-file objects are read for the `model` entry.
 */
export function configRecommendedDtype(config: Record<string, unknown> | null | undefined): DtypeName | undefined {
  const jsConfig = config?.['transformers.js_config'];
  if (!jsConfig || typeof jsConfig !== 'object') return undefined;
  const dtype = (jsConfig as Record<string, unknown>).dtype;
  if (isDtypeName(dtype)) return dtype;
  if (dtype && typeof dtype === 'object') {
    const forModel = (dtype as Record<string, unknown>).model;
    if (isDtypeName(forModel)) return forModel;
  }
  return undefined;
}

/** The order `auto` tries for a device: the config's recommendation first, then the device's preference. */
export function autoDtypeCandidates(device: DeviceName, recommended?: DtypeName): DtypeName[] {
  const order = [...DTYPE_PREFERENCE[device]];
  return recommended ? [recommended, ...order.filter((dtype) => dtype !== recommended)] : order;
}

/** Why `auto` took `dtype`, given the candidates that were tried before it. */
export function autoReason(dtype: DtypeName, device: DeviceName, recommended: DtypeName | undefined, skipped: DtypeName[], skippedBecause: string): string {
  const order = autoDtypeCandidates(device, recommended).join(' > ');
  const why = dtype === recommended ? "config.json's transformers.js_config.dtype recommends it" : `first available in the ${device} order ${order}`;
  const skippedText = skipped.length ? `; ${skipped.map(onnxFileForDtype).join(', ')} ${skippedBecause}` : '';
  return `--dtype auto picked ${dtype} (${onnxFileForDtype(dtype)}): ${why}${skippedText}`;
}

/** Picks the graph file of a local model folder for a requested dtype; a missing variant lists those present. */
export function selectLocalDtype(
  dir: string,
  requested: DtypeRequest,
  device: DeviceName,
  config: Record<string, unknown> | null = readConfigLeniently(dir),
): DtypeChoice {
  const present = listDtypeVariants(dir);
  if (requested !== 'auto') {
    const onnxFile = onnxFileForDtype(requested);
    if (present.some((variant) => variant.dtype === requested)) {
      return { dtype: requested, onnxFile, reason: `--dtype ${requested} (${onnxFile})` };
    }
    throw new UserError(`model folder ${dir} has no ${onnxFile} for --dtype ${requested}; ${describeVariants(dir, present)}`);
  }
  const recommended = configRecommendedDtype(config);
  const candidates = autoDtypeCandidates(device, recommended);
  const presentSet = new Set(present.map((variant) => variant.dtype));
  const chosen = candidates.find((dtype) => presentSet.has(dtype));
  if (!chosen) throw new UserError(`model folder ${dir} has no ONNX graph for --dtype auto; ${describeVariants(dir, present)}`);
  const skipped = candidates.slice(0, candidates.indexOf(chosen));
  const onlyOne = present.length === 1 ? ' (the only variant in the folder)' : '';
  return {
    dtype: chosen,
    onnxFile: onnxFileForDtype(chosen),
    reason: autoReason(chosen, device, recommended, skipped, skipped.length === 1 ? 'is not in the folder' : 'are not in the folder') + onlyOne,
  };
}

/** "variants present: fp32 (onnx/model.onnx), q4 (…)" plus any unrecognised .onnx files. */
export function describeVariants(dir: string, present: DtypeVariant[] = listDtypeVariants(dir)): string {
  const listed = present.length
    ? `variants present: ${present.map((variant) => `${variant.dtype} (${variant.onnxFile})`).join(', ')}`
    : `no onnx/model{suffix}.onnx file is present (expected one of ${DTYPE_NAMES.map(onnxFileForDtype).join(', ')})`;
  const others = unknownOnnxFiles(dir);
  const withOthers = others.length ? `${listed}; other .onnx files (not a known dtype name): ${others.join(', ')}` : listed;
  const atRoot = rootOnnxFiles(dir);
  return atRoot.length ? `${withOthers}; ${describeRootLayout(atRoot)}` : withOthers;
}

/** .onnx files at the folder's top level: the layout of optimum and onnxruntime-genai exports (`model.onnx` at the root). */
export function rootOnnxFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((name) => name.endsWith('.onnx') && isFile(path.join(dir, name))).sort();
  } catch {
    return [];
  }
}

function describeRootLayout(files: string[]): string {
  const movable = files.filter((name) => new Set(DTYPE_NAMES.map((dtype) => path.basename(onnxFileForDtype(dtype)))).has(name));
  const found = `found ${files.join(', ')} at the folder's top level (the layout of optimum and onnxruntime-genai exports), where qwen-gen does not look`;
  if (movable.length === 0) return found;
  return `${found}: move ${movable.length === 1 ? 'it' : 'them'} with ${movable.length === 1 ? 'its' : 'their'} external data into onnx/ (mkdir onnx && mv ${movable.map((name) => `${name}*`).join(' ')} onnx/)`;
}

/** Only for the dtype hint: a missing or broken config.json is validateModelFolder's to report. */
function readConfigLeniently(dir: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
