import { UserError } from '../errors';
import { derivedGraphOptions, ensureDerivedGraph } from '../model/derivedGraph';
import { modelDimensions } from '../model/modelDimensions';
import { ModelFiles, ModelFilesOptions, openModelFiles, withRunOpTypes } from '../model/modelFiles';
import { BatchRunner } from '../padding/batchRunner';
import { choosePaddingProtocol, PaddingProtocol, PaddingSide } from '../padding/paddingProtocol';
import { createRunner, plannedRuntime, RunnerOptions } from '../runtime/createRunner';
import { assertDeviceAvailable, sessionCreationError } from '../runtime/device';
import { ModelRunner, RuntimeDescription } from '../runtime/stepRunner';

export interface LoadModelOptions extends RunnerOptions, ModelFilesOptions {
  /** Force a padding side; by default the protocol is chosen from the graph. */
  paddingSide?: PaddingSide;
}

/** The model as a run would use it, without a session (`--dry-run`): its files, its padding protocol, the runtime that would run it. */
export interface ModelPlan extends ModelFiles {
  protocol: PaddingProtocol;
  /** What runs (or would run) the graph. */
  runtime: RuntimeDescription;
}

/** Everything a generation run needs from the model, loaded once. */
export interface LoadedModel extends ModelPlan {
  runner: ModelRunner;
  /** The protocol and the runner behind one interface: what the engine drives. */
  batchRunner: BatchRunner;
  /** Why the derived logits-gathering graph is not used, when it is not. */
  logitsPlan: string;
  loadMs: number;
}

/** The model's files and what a run would do with them; no session (see `openModelFiles`). */
export async function openModel(spec: string, options: LoadModelOptions = {}): Promise<ModelPlan> {
  assertDeviceAvailable(options.device ?? 'cpu');
  const files = await openModelFiles(spec, options);
  return { ...files, protocol: protocolOf(files, options), runtime: plannedRuntime(options, files.graph.presentFromAttentionOp) };
}

/** The model's files, then the onnxruntime session (on the derived graph when it applies) and its batch runner. */
export async function loadModel(spec: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const started = Date.now();
  const device = options.device ?? 'cpu';
  assertDeviceAvailable(device);
  const planned = await openModelFiles(spec, options);
  const { folder } = planned;
  // The plan said what would run; the file decides what does (a folder that cannot be written runs the source graph).
  let derived = planned.derived;
  if (derived && derived.path !== null) {
    const ensured = await ensureDerivedGraph(folder.onnxPath, derivedGraphOptions(planned.graph));
    derived =
      ensured.path === null
        ? { ...derived, path: null, rewrites: [], opTypes: derived.sourceOpTypes, reason: ensured.reason }
        : { ...derived, rewrites: ensured.rewrites };
  }
  const graph = withRunOpTypes(planned.graph, derived);
  const files: ModelFiles = { ...planned, graph, derived };
  const { kvHeads, headDim, vocabSize } = modelDimensions(folder.config);
  const runner = await createRunner(derived?.path ?? folder.onnxPath, { kvHeads, headDim, vocabSize, sharePastPresent: graph.presentFromAttentionOp }, options)
    .catch((error: unknown) => {
      throw error instanceof UserError ? error : sessionCreationError(device, folder.onnxPath, error);
    });
  const protocol = protocolOf(files, options);
  return {
    ...files,
    protocol,
    runner,
    batchRunner: new BatchRunner(runner, protocol),
    runtime: runner.runtime,
    logitsPlan: runner.inputs.hasLogitsIndex
      ? 'derived graph: logits computed only at the position each row reads'
      : graph.hasLogitsToKeep
        ? 'num_logits_to_keep: logits computed for the last positions only'
        : `logits for every position (${derived ? (derived.reason ?? 'the derived graph does not gather them') : 'derived graph disabled'}); prefill is bounded by --max-batch-tokens`,
    loadMs: Date.now() - started,
  };
}

function protocolOf(files: ModelFiles, options: LoadModelOptions): PaddingProtocol {
  return choosePaddingProtocol(files.graph.attention, files.fillTokenId, options.paddingSide);
}
