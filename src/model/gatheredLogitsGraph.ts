/**
 * A derived copy of a decoder graph that computes logits only at one position per row, cached beside the model.
 *
 * Prefill otherwise returns logits [B, S, vocab] for every prompt position (~600 KB per position for Qwen3's
 * 151936-token vocabulary) although generation reads one column per row. The derived graph takes an extra int64
 * input `logits_index` [batch] (row b's column, 0..S-1; with right padding len_b - 1) and returns `logits`
 * [batch, 1, vocab]; the hidden state is gathered before the vocabulary projection, so the projection runs on B rows.
 * Everything else — inputs, present.* outputs, attention — is the source graph, untouched (see gatheredLogitsPlan.ts).
 *
 * The derived file `<name>.qwen-gen-gather.onnx` sits in the model's own folder, so relative external-data locations
 * resolve the same; the user's file is only read. It is keyed on the source's size and mtime (stored in the derived
 * model's metadata_props) and written atomically (temp file + rename), so concurrent processes may race safely.
 */
import * as path from 'path';
import * as crypto from 'crypto';
import { promises as fsp } from 'fs';
import { ProtobufFormatError } from './protobufScanner';
import { readModelMetadata, scanModelLayout } from './onnxModelLayout';
import { planGatheredLogits } from './gatheredLogitsPlan';
import { writeGatheredLogitsModel } from './gatheredLogitsWriter';

export { LOGITS_INDEX_INPUT } from './gatheredLogitsPlan';

export type GatheredLogitsGraph = { path: string; created: boolean } | { path: null; reason: string };

export const GATHERED_LOGITS_SUFFIX = '.qwen-gen-gather.onnx';
/** metadata_props key of the derived model; its value identifies the source version it was derived from. */
export const GATHERED_LOGITS_METADATA_KEY = 'qwen-gen.gathered-logits';
/** Bump when the rewrite changes, so files written by older code are derived again. */
const REWRITE_VERSION = 1;

/** `<dir>/<name>.qwen-gen-gather.onnx` for `<dir>/<name>.onnx`. */
export function gatheredLogitsPath(onnxPath: string): string {
  const base = path.basename(onnxPath).replace(/\.onnx$/i, '');
  return path.join(path.dirname(onnxPath), `${base}${GATHERED_LOGITS_SUFFIX}`);
}

/**
 * Returns the derived graph for `onnxPath`, writing it first when it is missing or stale. An unrecognised graph
 * head or an unwritable folder gives `{ path: null, reason }`: callers then run the source graph with full logits.
 * Errors reading the source file itself (e.g. it does not exist) are thrown.
 */
export async function ensureGatheredLogitsGraph(onnxPath: string): Promise<GatheredLogitsGraph> {
  if (onnxPath.endsWith(GATHERED_LOGITS_SUFFIX)) return { path: null, reason: 'the model is itself a derived gathered-logits graph' };
  const source = await fsp.stat(onnxPath);
  const targetPath = gatheredLogitsPath(onnxPath);
  const key = JSON.stringify({ version: REWRITE_VERSION, size: source.size, mtimeMs: source.mtimeMs });
  if ((await derivedKey(targetPath)) === key) return { path: targetPath, created: false };

  let layout;
  try {
    layout = await scanModelLayout(onnxPath);
  } catch (error) {
    if (error instanceof ProtobufFormatError) return { path: null, reason: `not a readable ONNX model: ${error.message}` };
    throw error;
  }
  const planned = planGatheredLogits(layout);
  if ('reason' in planned) return { path: null, reason: planned.reason };

  const tempPath = `${targetPath}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeGatheredLogitsModel(onnxPath, layout, planned.plan, tempPath, { [GATHERED_LOGITS_METADATA_KEY]: key });
    await fsp.rename(tempPath, targetPath);
  } catch (error) {
    await fsp.rm(tempPath, { force: true });
    return { path: null, reason: `could not write ${targetPath}: ${(error as Error).message}` };
  }
  return { path: targetPath, created: true };
}

/** The source key stored in an existing derived file, or undefined when there is none or it is unreadable. */
async function derivedKey(targetPath: string): Promise<string | undefined> {
  try {
    return (await readModelMetadata(targetPath)).get(GATHERED_LOGITS_METADATA_KEY);
  } catch {
    return undefined;
  }
}
