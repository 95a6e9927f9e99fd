import { UserError } from '../errors';
import { DeviceName } from './device';
import { DirectRunner } from './direct/directRunner';
import { directRuntimeAvailable } from './direct/ortSession';
import { NodeRunner } from './nodeRunner';
import { describeSession, sessionSettings } from './sessionOptions';
import { ModelRunner, RuntimeDescription } from './stepRunner';
import { kvCopiesOf, kvHandlingOf } from './runtimeTraits';
import { OrtDirectSession } from './direct/ortSession';
import * as ort from 'onnxruntime-node';

export const RUNTIME_CHOICES = ['auto', 'direct', 'onnxruntime-node'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export interface RunnerOptions {
  threads?: number;
  device?: DeviceName;
  /** `auto` (default): the direct runtime where it loads, onnxruntime-node otherwise. */
  runtime?: RuntimeChoice;
  /** Told when the run falls back to onnxruntime-node because the direct runtime could not create the session. */
  onWarning?: (message: string) => void;
}

export interface GraphFacts {
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /** GroupQueryAttention: present may be written into the past buffer. */
  sharePastPresent: boolean;
}

/**
 * Chooses the runtime once, at load: the direct runtime (onnxruntime's C API, KV cache in place) on the CPU wherever its
 * library loads and creates the session; onnxruntime-node for CUDA, or when the direct runtime cannot load (another
 * platform, an unknown library version) or cannot create the session (under `auto`; a warning says so) — the reason is
 * kept in `runner.runtime.fallbackReason`. Under `--runtime direct` a session the direct runtime cannot create is an
 * error naming that runtime (the caller names the model file).
 */
export async function createRunner(onnxPath: string, graph: GraphFacts, options: RunnerOptions = {}): Promise<ModelRunner> {
  const settings = sessionSettings(options.threads);
  const chosen = chooseRuntime(options);
  const device = options.device ?? 'cpu';
  if (chosen.name === 'onnxruntime-node') return NodeRunner.create(onnxPath, graph, settings, device, chosen.fallbackReason);
  let directError: string;
  try {
    return await DirectRunner.create(onnxPath, graph, settings, { sharePastPresent: graph.sharePastPresent });
  } catch (error) {
    directError = messageOf(error);
  }
  const direct = `the direct runtime (onnxruntime ${OrtDirectSession.version()} C API) could not create a session`;
  if (options.runtime === 'direct') throw new Error(`${direct} (--runtime direct): ${directError}`);
  const fallbackReason = `${direct} for ${onnxPath}: ${directError}`;
  let runner: ModelRunner;
  try {
    runner = await NodeRunner.create(onnxPath, graph, settings, device, fallbackReason);
  } catch (error) {
    throw new Error(`neither runtime could create a session — onnxruntime-node: ${messageOf(error)}; ${direct}: ${directError}`);
  }
  options.onWarning?.(`${fallbackReason}; running on onnxruntime-node instead`);
  return runner;
}

/** The first non-empty line of an error's message, without the ANSI colour codes onnxruntime's native messages embed. */
function messageOf(error: unknown): string {
  const plain = (error instanceof Error ? error.message : String(error)).replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split('\n').find((line) => line.trim() !== '')?.trim() ?? plain;
}

/** Which runtime `createRunner` uses with these options (no session is created); throws when `direct` cannot be had. */
export function chooseRuntime(options: RunnerOptions): { name: 'direct' | 'onnxruntime-node'; fallbackReason?: string } {
  const device = options.device ?? 'cpu';
  const choice = options.runtime ?? 'auto';
  if (choice === 'onnxruntime-node') return { name: 'onnxruntime-node' };
  let reason: string;
  if (device !== 'cpu') {
    reason = `the direct runtime runs on the CPU only; --device ${device} uses onnxruntime-node`;
  } else {
    const available = directRuntimeAvailable();
    if (available.ok) return { name: 'direct' };
    reason = available.reason;
  }
  if (choice === 'direct') throw new UserError(`--runtime direct: the direct runtime cannot be used: ${reason}`);
  return { name: 'onnxruntime-node', fallbackReason: reason };
}

/** The description `createRunner` would give its runner, without creating a session (`--dry-run`). */
export function plannedRuntime(options: RunnerOptions, sharePastPresent: boolean): RuntimeDescription {
  const { name, fallbackReason } = chooseRuntime(options);
  return {
    name,
    version: name === 'direct' ? OrtDirectSession.version() : ort.env.versions.common,
    kvHandling: kvHandlingOf(name, sharePastPresent),
    kvCopies: kvCopiesOf(name),
    fallbackReason,
    session: describeSession(sessionSettings(options.threads)),
  };
}
