/**
 * The derived graph: a copy of the user's decoder graph with qwen-gen's rewrites applied, written once beside the model.
 *
 * Rewrites (each one optional, each one named in `inspect` and the report):
 * - `gathered_logits` (gatheredLogitsPlan.ts): logits computed only at the one position per row that is read;
 * - `matmulnbits_accuracy_level` and `row_wise_activation_quantization` (quantizedKernelRewrites.ts): the quantized
 *   weight kernels run in int8 compute, and dynamically quantized graphs quantize each row on its own, so they can run
 *   batched;
 * - `quantized_lm_head` (quantizedLmHead.ts): an 8-bit copy of a float vocabulary projection in a quantized graph;
 * - `signed_8bit_weights` (signedWeights.ts): uint8 MatMulInteger weights as int8 (exact), on CPUs with VNNI.
 *
 * The derived file `<name>.qwen-gen.onnx` sits in the model's own folder, so relative external-data locations resolve
 * the same (onnxruntime refuses external data reached through a path that leaves the model's folder); it holds no
 * weights: embedded weights become external references into the user's file, which is only read. It is keyed on the
 * source's size and mtime and on the rewrites asked for (stored in the derived model's metadata_props) and written
 * atomically (temp file + rename), so concurrent processes may race safely.
 */
import * as path from 'path';
import * as crypto from 'crypto';
import { promises as fsp } from 'fs';
import { ProtobufFormatError } from './protobufScanner';
import { ModelLayout, opTypeCounts, readModelMetadata, scanModelLayout } from './onnxModelLayout';
import { GatheredLogitsPlan, planGatheredLogits } from './gatheredLogitsPlan';
import { writeGatheredLogitsModel } from './gatheredLogitsWriter';
import { DEFAULT_KERNEL_REWRITES, KernelRewrite, KernelRewriteOptions, QUANTIZED_LINEAR_OPS, rewriteQuantizedKernels } from './quantizedKernelRewrites';
import { LmHeadPlan, planQuantizedLmHead, withQuantizedLmHead, writeQuantizedLmHead } from './quantizedLmHead';
import { planSignedWeights, SignedWeightsPlan, writeSignedWeights } from './signedWeights';
import { cpuHasVnni } from '../cpuFeatures';

export const DERIVED_GRAPH_SUFFIX = '.qwen-gen.onnx';
/** The derived graph's own weights (the quantized lm_head, the int8 copies of uint8 weights), beside it. */
export const DERIVED_DATA_SUFFIX = '.qwen-gen.onnx_data';
/** Files written by earlier versions under another name; never read. */
const OLD_DERIVED_SUFFIXES = ['.qwen-gen-gather.onnx'];
/** metadata_props key of the derived model; its value identifies the source version and the rewrites. */
export const DERIVED_GRAPH_METADATA_KEY = 'qwen-gen.derived-graph';
/** Bump when a rewrite changes, so files written by older code are derived again. */
const REWRITE_VERSION = 4;

export interface DerivedGraphOptions {
  /** Gather the hidden state at one position per row before the vocabulary projection. */
  gatherLogits: boolean;
  /** The quantized-kernel rewrites; null for none. */
  kernels: KernelRewriteOptions | null;
}

export const DEFAULT_DERIVED_GRAPH: DerivedGraphOptions = Object.freeze({ gatherLogits: true, kernels: DEFAULT_KERNEL_REWRITES });

/**
 * The rewrites qwen-gen applies to a graph: logits gathering unless the graph keeps only the last logits itself
 * (num_logits_to_keep), and the kernel rewrites. For measurements, `QWEN_GEN_ACCURACY_LEVEL=0` leaves MatMulNBits as the
 * file has it, `QWEN_GEN_ROW_QUANT=0` leaves dynamic quantization per batch (the graph then runs at batch size 1),
 * `QWEN_GEN_QUANTIZED_LM_HEAD=0` keeps the float vocabulary projection and `QWEN_GEN_SIGNED_WEIGHTS=0` keeps uint8
 * weights (which stay anyway on a CPU without VNNI).
 */
export function derivedGraphOptions(graph: { hasLogitsToKeep: boolean }, env: NodeJS.ProcessEnv = process.env): DerivedGraphOptions {
  const level = env.QWEN_GEN_ACCURACY_LEVEL === undefined ? DEFAULT_KERNEL_REWRITES.matMulNBitsAccuracyLevel : Number(env.QWEN_GEN_ACCURACY_LEVEL);
  return {
    gatherLogits: !graph.hasLogitsToKeep,
    kernels: {
      matMulNBitsAccuracyLevel: Number.isInteger(level) && level >= 0 && level <= 4 ? level : DEFAULT_KERNEL_REWRITES.matMulNBitsAccuracyLevel,
      rowWiseActivationQuantization: env.QWEN_GEN_ROW_QUANT !== '0',
      quantizedLmHead: env.QWEN_GEN_QUANTIZED_LM_HEAD !== '0',
      signedWeights: env.QWEN_GEN_SIGNED_WEIGHTS !== '0' && cpuHasVnni(),
    },
  };
}

export type DerivedRewriteName = 'gathered_logits' | 'quantized_lm_head' | 'signed_8bit_weights' | KernelRewrite['name'];

export interface DerivedRewrite {
  name: DerivedRewriteName;
  nodes: number;
  detail: string;
}

/** What a derived graph of this model does, without writing it (dry run, inspect, batching decisions). */
export interface DerivedGraphPlan {
  /** Where the derived file goes (or is). */
  path: string;
  rewrites: DerivedRewrite[];
  /** Node count per op type of the derived graph (GraphInfo.opTypes keys). */
  opTypes: Record<string, number>;
  /** Why the logits-gathering rewrite does not apply, when it was asked for and does not. */
  gatherReason?: string;
  /** Rewrites that could not be applied to some nodes, and why. */
  skipped: string[];
}

export type DerivedGraph =
  | { path: string; created: boolean; rewrites: DerivedRewrite[] }
  | { path: null; reason: string; rewrites: [] };

/** `<dir>/<name>.qwen-gen.onnx` for `<dir>/<name>.onnx`. */
export function derivedGraphPath(onnxPath: string): string {
  const base = path.basename(onnxPath).replace(/\.onnx$/i, '');
  return path.join(path.dirname(onnxPath), `${base}${DERIVED_GRAPH_SUFFIX}`);
}

/** `<dir>/<name>.qwen-gen.onnx_data` for `<dir>/<name>.onnx`. */
export function derivedDataPath(onnxPath: string): string {
  const base = path.basename(onnxPath).replace(/\.onnx$/i, '');
  return path.join(path.dirname(onnxPath), `${base}${DERIVED_DATA_SUFFIX}`);
}

function isDerivedFile(onnxPath: string): boolean {
  return [DERIVED_GRAPH_SUFFIX, ...OLD_DERIVED_SUFFIXES].some((suffix) => onnxPath.endsWith(suffix));
}

interface Planned {
  layout: ModelLayout;
  gather: GatheredLogitsPlan | null;
  /** The quantized lm_head, whose weights go to the derived data file. */
  lmHead: LmHeadPlan | null;
  /** The int8 copies of uint8 weights, after the lm_head in the derived data file. */
  signed: SignedWeightsPlan | null;
  plan: DerivedGraphPlan;
}

async function planFrom(onnxPath: string, options: DerivedGraphOptions): Promise<Planned | { reason: string }> {
  if (isDerivedFile(onnxPath)) return { reason: 'the model is itself a derived graph' };
  let layout: ModelLayout;
  try {
    layout = await scanModelLayout(onnxPath);
  } catch (error) {
    if (error instanceof ProtobufFormatError) return { reason: `not a readable ONNX model: ${error.message}` };
    throw error;
  }
  const rewrites: DerivedRewrite[] = [];
  const skipped: string[] = [];
  if (options.kernels) {
    const kernels = rewriteQuantizedKernels(layout, options.kernels);
    layout = kernels.layout;
    rewrites.push(...kernels.rewrites);
    skipped.push(...kernels.skipped);
  }
  let gather: GatheredLogitsPlan | null = null;
  let gatherReason: string | undefined;
  let lmHead: LmHeadPlan | null = null;
  if (options.gatherLogits) {
    const planned = planGatheredLogits(layout);
    if ('plan' in planned) {
      gather = planned.plan;
      rewrites.unshift({
        name: 'gathered_logits',
        nodes: planned.plan.removedNodeFields.size,
        detail: 'the hidden state is gathered at the one position per row that is read, before the vocabulary projection',
      });
      const quantizedFile = Object.keys(opTypeCounts(layout.graphFields)).some((op) => QUANTIZED_LINEAR_OPS.includes(op));
      if (options.kernels?.quantizedLmHead && quantizedFile) {
        const head = planQuantizedLmHead(layout, gather, onnxPath, path.basename(derivedDataPath(onnxPath)));
        if ('reason' in head) skipped.push(`quantized_lm_head: ${head.reason}`);
        else {
          lmHead = head;
          gather = withQuantizedLmHead(gather, head);
          rewrites.push({
            name: 'quantized_lm_head',
            nodes: 1,
            detail: `the float vocabulary projection (${head.vocab} × ${head.hidden}) runs as an 8-bit MatMulNBits (blocks of 32, accuracy level 4) over a copy of its weight in ${path.basename(derivedDataPath(onnxPath))}`,
          });
        }
      }
    } else gatherReason = planned.reason;
  }
  // After the head is planned: this rewrite replaces fields in place and appends, so the gather plan's indices hold.
  let signed: SignedWeightsPlan | null = null;
  if (options.kernels?.signedWeights) {
    const dataFile = path.basename(derivedDataPath(onnxPath));
    const result = await planSignedWeights(layout, onnxPath, dataFile, lmHead?.dataBytes ?? 0);
    skipped.push(...result.skipped.map((reason) => `signed_8bit_weights: ${reason}`));
    if (result.plan) {
      signed = result.plan;
      layout = result.plan.layout;
      rewrites.push({
        name: 'signed_8bit_weights',
        nodes: result.plan.nodes,
        detail: `${result.plan.copies.length} uint8 MatMulInteger weight(s) stored as int8 (w − 128, zero point − 128: the same integer products) in ${dataFile}, for onnxruntime's uint8 × int8 (VNNI) kernel`,
      });
    }
  }
  const opTypes = opTypeCounts(layout.graphFields.filter((_, index) => !gather?.removedNodeFields.has(index)));
  for (const node of gather?.newNodes ?? []) {
    const key = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}:${node.opType}` : String(node.opType);
    opTypes[key] = (opTypes[key] ?? 0) + 1;
  }
  return { layout, gather, lmHead, signed, plan: { path: derivedGraphPath(onnxPath), rewrites, opTypes, gatherReason, skipped } };
}

/** The rewrites a derived graph of `onnxPath` would get with these options (reads the graph's small fields only). */
export async function planDerivedGraph(onnxPath: string, options: DerivedGraphOptions = DEFAULT_DERIVED_GRAPH): Promise<DerivedGraphPlan | { reason: string }> {
  const planned = await planFrom(onnxPath, options);
  return 'reason' in planned ? planned : planned.plan;
}

/**
 * Returns the derived graph for `onnxPath`, writing it first when it is missing or stale. No applicable rewrite, an
 * unreadable graph or an unwritable folder gives `{ path: null, reason }`: callers then run the source graph. Errors
 * reading the source file itself (e.g. it does not exist) are thrown.
 */
export async function ensureDerivedGraph(onnxPath: string, options: DerivedGraphOptions = DEFAULT_DERIVED_GRAPH): Promise<DerivedGraph> {
  if (isDerivedFile(onnxPath)) return { path: null, reason: 'the model is itself a derived graph', rewrites: [] };
  const source = await fsp.stat(onnxPath);
  const targetPath = derivedGraphPath(onnxPath);
  const key = JSON.stringify({ version: REWRITE_VERSION, size: source.size, mtimeMs: source.mtimeMs, options });
  const existing = await derivedMetadata(targetPath);
  if (existing?.key === key && (await dataFileReady(onnxPath, existing.rewrites))) return { path: targetPath, created: false, rewrites: existing.rewrites };

  const planned = await planFrom(onnxPath, options);
  if ('reason' in planned) return { path: null, reason: planned.reason, rewrites: [] };
  const { rewrites } = planned.plan;
  if (rewrites.length === 0) {
    return { path: null, reason: planned.plan.gatherReason ?? 'no rewrite applies to this graph', rewrites: [] };
  }
  const suffix = `.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  const tempPath = `${targetPath}${suffix}`;
  const dataPath = derivedDataPath(onnxPath);
  const tempDataPath = `${dataPath}${suffix}`;
  try {
    // The data first: a graph is never renamed into place before the weights it references.
    if (planned.lmHead || planned.signed) {
      if (planned.lmHead) await writeQuantizedLmHead(planned.lmHead, tempDataPath);
      if (planned.signed) await writeSignedWeights(planned.signed, tempDataPath, !planned.lmHead);
      await fsp.rename(tempDataPath, dataPath);
    }
    const metadata = { [DERIVED_GRAPH_METADATA_KEY]: key, [REWRITES_METADATA_KEY]: JSON.stringify(rewrites) };
    await writeGatheredLogitsModel(onnxPath, planned.layout, planned.gather, tempPath, metadata);
    await fsp.rename(tempPath, targetPath);
  } catch (error) {
    await fsp.rm(tempPath, { force: true });
    await fsp.rm(tempDataPath, { force: true });
    return { path: null, reason: `could not write ${targetPath}: ${(error as Error).message}`, rewrites: [] };
  }
  return { path: targetPath, created: true, rewrites };
}

const REWRITES_METADATA_KEY = 'qwen-gen.derived-rewrites';

/** The derived data file exists when a rewrite needs it (a deleted data file makes the graph derive again). */
async function dataFileReady(onnxPath: string, rewrites: DerivedRewrite[]): Promise<boolean> {
  if (!rewrites.some((r) => r.name === 'quantized_lm_head' || r.name === 'signed_8bit_weights')) return true;
  return fsp.stat(derivedDataPath(onnxPath)).then((s) => s.size > 0, () => false);
}

/** The key and rewrites stored in an existing derived file, or undefined when there is none or it is unreadable. */
async function derivedMetadata(targetPath: string): Promise<{ key: string; rewrites: DerivedRewrite[] } | undefined> {
  try {
    const metadata = await readModelMetadata(targetPath);
    const key = metadata.get(DERIVED_GRAPH_METADATA_KEY);
    if (key === undefined) return undefined;
    return { key, rewrites: JSON.parse(metadata.get(REWRITES_METADATA_KEY) ?? '[]') as DerivedRewrite[] };
  } catch {
    return undefined;
  }
}
