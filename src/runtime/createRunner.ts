import { DeviceName } from './device';
import { DirectRunner } from './direct/directRunner';
import { directRuntimeAvailable } from './direct/ortSession';
import { NodeRunner } from './nodeRunner';
import { sessionSettings } from './sessionOptions';
import { ModelRunner } from './stepRunner';

export const RUNTIME_CHOICES = ['auto', 'direct', 'onnxruntime-node'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

export interface RunnerOptions {
  threads?: number;
  device?: DeviceName;
  /** `auto` (default): the direct runtime where it loads, onnxruntime-node otherwise. */
  runtime?: RuntimeChoice;
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
 * library loads; onnxruntime-node for CUDA, or when the direct runtime cannot load (another platform, an unknown
 * library version) — the reason is kept in `runner.runtime.fallbackReason`.
 */
export async function createRunner(onnxPath: string, graph: GraphFacts, options: RunnerOptions = {}): Promise<ModelRunner> {
  const device = options.device ?? 'cpu';
  const choice = options.runtime ?? 'auto';
  const settings = sessionSettings(options.threads);
  if (choice === 'onnxruntime-node') return NodeRunner.create(onnxPath, graph, settings, device);
  let reason: string;
  if (device !== 'cpu') {
    reason = `the direct runtime runs on the CPU only; --device ${device} uses onnxruntime-node`;
  } else {
    const available = directRuntimeAvailable();
    if (available.ok) return DirectRunner.create(onnxPath, graph, settings, { sharePastPresent: graph.sharePastPresent });
    reason = available.reason;
  }
  if (choice === 'direct') throw new Error(`the direct runtime cannot be used: ${reason}`);
  return NodeRunner.create(onnxPath, graph, settings, device, reason);
}
