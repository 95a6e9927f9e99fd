import {
  NativeFunction,
  ONNX_ELEMENT_TYPES,
  ONNX_TYPE_TENSOR,
  ORT_DEVICE_ALLOCATOR,
  ORT_ENABLE_ALL,
  ORT_LOGGING_LEVEL_WARNING,
  ORT_MEM_TYPE_DEFAULT,
  ORT_SEQUENTIAL,
  OrtApi,
  ortApi,
} from './ortApi';
import { loadOrtLibrary } from './ortLibrary';
import { checkStatus, statusToError } from './ortStatus';

/**
 * A session on onnxruntime's C API (through koffi, on the library onnxruntime-node ships) whose `run` writes every
 * output straight into buffers the caller owns: no copy after the run, no new memory per step, and the step runs off
 * the JS thread.
 *
 * Memory rules for `DirectTensor.data` (the integrator must keep them):
 * - onnxruntime reads and writes the typed array's own memory (its ArrayBuffer's backing store at `byteOffset`); koffi
 *   passes that address without copying. V8 never moves an ArrayBuffer's backing store once it has one (koffi asks for
 *   it, which moves a small on-heap typed array off the heap first, for good), so the address stays valid as long as
 *   the ArrayBuffer is alive and not detached. `run` keeps every typed array referenced until its promise settles.
 * - Do not detach (`postMessage` transfer, `ArrayBuffer.prototype.transfer`, `structuredClone` with transfer) or
 *   resize a buffer while a run that uses it is in flight, and do not read or write an output buffer before the run's
 *   promise settles (onnxruntime writes it from a worker thread). SharedArrayBuffer-backed views work the same way.
 * - `data.length` must equal the product of `dims` exactly (use `subarray` for a view over a larger buffer).
 * - The same DirectTensor object may appear as an input and as an output (GroupQueryAttention past/present in place):
 *   one OrtValue is created for it and passed to both sides.
 * - A `DirectValue` (an OrtValue kept across runs, see `bindTensor`) may be passed wherever a DirectTensor is: `run` uses
 *   it as it is and leaves it alive. Its typed array must stay valid (not detached) until the value is released.
 */

export type DirectTensorType = 'float32' | 'float16' | 'int64' | 'int32';

export interface DirectTensor {
  type: DirectTensorType;
  /** float16 data is carried as Uint16Array (Node 20 has no Float16Array). */
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array;
  dims: readonly number[];
}

export interface DirectSessionOptions {
  /** Intra-op threads; 0 (or absent) = onnxruntime's default (one per physical core). */
  threads?: number;
  /** session.set_denormal_as_zero=1 */
  denormalAsZero?: boolean;
  /** session.disable_prepacking=1 */
  disablePrepacking?: boolean;
  /** Further session config entries (AddSessionConfigEntry), e.g. `session.intra_op.allow_spinning`. */
  configEntries?: Readonly<Record<string, string>>;
  /**
   * onnxruntime's profiler (EnableProfiling): a JSON trace of every node's time, written to
   * `<prefix>_<date>.json` when the session is released.
   */
  profileFilePrefix?: string;
}

export interface DirectRunControl {
  /**
   * Aborting sets onnxruntime's terminate flag on this run (RunOptionsSetTerminate): onnxruntime checks it before each
   * node, so the run stops at the next node and rejects with "Exiting due to terminate flag being set to true." (the
   * outputs are then partly written). A run that completes before the flag is seen resolves normally, with complete
   * outputs. An already aborted signal rejects with the signal's reason before anything runs.
   */
  signal?: AbortSignal;
}

export interface DirectTensorInfo {
  /** Element type ('float32', 'float16', 'int64', …), or `onnx type N` for a non-tensor value. */
  type: string;
  /** -1 for a symbolic or unknown dimension. */
  dims: number[];
}

/**
 * An OrtValue over a DirectTensor's memory that outlives a run: for tensors whose memory and shape stay the same from
 * step to step (a KV buffer written in place, the logits buffer, small reused inputs), so a step does not create and
 * release it again. Owned by the caller: `release()` it when the tensor changes or is dropped.
 */
export class DirectValue {
  private handle: unknown;

  constructor(
    private readonly api: OrtApi,
    readonly tensor: DirectTensor,
    handle: unknown,
  ) {
    this.handle = handle;
  }

  /** Whether this value wraps exactly `tensor`'s memory, element type and shape (so it can stand for it in a run). */
  matches(tensor: DirectTensor): boolean {
    const mine = this.tensor;
    if (mine === tensor) return true;
    if (mine.type !== tensor.type || mine.dims.length !== tensor.dims.length) return false;
    for (let i = 0; i < mine.dims.length; i++) if (mine.dims[i] !== tensor.dims[i]) return false;
    return mine.data.buffer === tensor.data.buffer && mine.data.byteOffset === tensor.data.byteOffset && mine.data.length === tensor.data.length;
  }

  /** The OrtValue handle; throws once released. */
  get ortValue(): unknown {
    if (this.handle === null) throw new Error('this DirectValue has been released');
    return this.handle;
  }

  get released(): boolean {
    return this.handle === null;
  }

  /** Releases the OrtValue (idempotent). The memory stays the caller's. */
  release(): void {
    if (this.handle === null) return;
    this.api.ReleaseValue(this.handle);
    this.handle = null;
  }
}

/** Wraps a tensor in an OrtValue kept across runs (see DirectValue); checks it as `run` checks its tensors. */
export function bindTensor(name: string, tensor: DirectTensor): DirectValue {
  const api = ortApi();
  const { cpuMemoryInfo } = sharedObjects(api);
  return new DirectValue(api, tensor, createTensorValue(api, cpuMemoryInfo, name, tensor, []));
}

interface ElementInfo {
  /** ONNXTensorElementDataType */
  onnx: number;
  /** The typed array class carrying it (checked by Symbol.toStringTag, so arrays from another realm also pass). */
  array: string;
}

const ELEMENTS: Readonly<Record<DirectTensorType, ElementInfo>> = Object.freeze({
  float32: { onnx: 1, array: 'Float32Array' },
  float16: { onnx: 10, array: 'Uint16Array' },
  int64: { onnx: 7, array: 'BigInt64Array' },
  int32: { onnx: 6, array: 'Int32Array' },
});

/** Process-wide onnxruntime objects: the OrtEnv (a singleton inside onnxruntime, shared with onnxruntime-node) and one CPU OrtMemoryInfo. Never released. */
let shared: { env: unknown; cpuMemoryInfo: unknown; allocator: unknown } | undefined;

function sharedObjects(api: OrtApi): { env: unknown; cpuMemoryInfo: unknown; allocator: unknown } {
  if (shared) return shared;
  const envOut: unknown[] = [null];
  checkStatus(api, api.CreateEnv(ORT_LOGGING_LEVEL_WARNING, 'qwen-gen', envOut), 'CreateEnv');
  const infoOut: unknown[] = [null];
  checkStatus(api, api.CreateCpuMemoryInfo(ORT_DEVICE_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, infoOut), 'CreateCpuMemoryInfo');
  const allocatorOut: unknown[] = [null];
  checkStatus(api, api.GetAllocatorWithDefaultOptions(allocatorOut), 'GetAllocatorWithDefaultOptions');
  shared = { env: envOut[0], cpuMemoryInfo: infoOut[0], allocator: allocatorOut[0] };
  return shared;
}

/** Calls a C function on a koffi worker thread; resolves with its return value. */
function callAsync(fn: NativeFunction, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: unknown) => (err ? reject(err) : resolve(result)));
  });
}

/** Where onnxruntime read each input and wrote each output in a run: the data address of each OrtValue, by name. */
export interface RunAddresses {
  inputs: Record<string, bigint>;
  outputs: Record<string, bigint>;
}

export class OrtDirectSession {
  private handle: unknown;
  private inflight = 0;
  private releasePending = false;
  /**
   * For tests: when set, every run records in `lastRunAddresses` the memory onnxruntime was given for each input and
   * output (GetTensorMutableData of its OrtValue) — e.g. to show that a GroupQueryAttention step reads its past and
   * writes its present in the same memory.
   */
  recordAddresses = false;
  lastRunAddresses: RunAddresses | null = null;
  /** Time of the last run's native `Run` call alone (ms): from the call to its completion callback on the JS thread. */
  lastRunMs = 0;

  private constructor(
    private readonly api: OrtApi,
    handle: unknown,
    readonly inputNames: string[],
    readonly outputNames: string[],
    private readonly inputInfos: Map<string, DirectTensorInfo>,
    private readonly outputInfos: Map<string, DirectTensorInfo>,
    /** Path of the onnxruntime library the session runs on. */
    readonly libraryPath: string,
  ) {
    this.handle = handle;
  }

  /**
   * Loads a graph: graph optimization level all (ORT_ENABLE_ALL), sequential execution, inter-op threads 1, intra-op
   * threads `options.threads` (0 = onnxruntime's default), and the session config entries asked for. The session is
   * created on a worker thread (a 0.6B graph takes seconds). Rejects with the load error when the direct runtime is
   * unavailable, or with onnxruntime's message when the graph cannot load.
   */
  static async create(onnxPath: string, options: DirectSessionOptions = {}): Promise<OrtDirectSession> {
    const api = ortApi();
    const { env, allocator } = sharedObjects(api);
    const threads = options.threads ?? 0;
    if (!Number.isSafeInteger(threads) || threads < 0) throw new Error(`threads must be a non-negative integer (got ${threads})`);

    const optionsOut: unknown[] = [null];
    checkStatus(api, api.CreateSessionOptions(optionsOut), 'CreateSessionOptions');
    const sessionOptions = optionsOut[0];
    let handle: unknown = null;
    try {
      checkStatus(api, api.SetSessionGraphOptimizationLevel(sessionOptions, ORT_ENABLE_ALL), 'SetSessionGraphOptimizationLevel');
      checkStatus(api, api.SetSessionExecutionMode(sessionOptions, ORT_SEQUENTIAL), 'SetSessionExecutionMode');
      checkStatus(api, api.SetIntraOpNumThreads(sessionOptions, threads), 'SetIntraOpNumThreads');
      checkStatus(api, api.SetInterOpNumThreads(sessionOptions, 1), 'SetInterOpNumThreads');
      const entries: [string, string][] = [];
      if (options.disablePrepacking) entries.push(['session.disable_prepacking', '1']);
      if (options.denormalAsZero) entries.push(['session.set_denormal_as_zero', '1']);
      for (const [key, value] of Object.entries(options.configEntries ?? {})) {
        if (!entries.some(([k]) => k === key)) entries.push([key, value]);
      }
      if (options.profileFilePrefix) checkStatus(api, api.EnableProfiling(sessionOptions, options.profileFilePrefix), 'EnableProfiling');
      for (const [key, value] of entries) {
        checkStatus(api, api.AddSessionConfigEntry(sessionOptions, key, value), 'AddSessionConfigEntry');
      }
      const sessionOut: unknown[] = [null];
      const status = await callAsync(api.CreateSession, env, onnxPath, sessionOptions, sessionOut);
      checkStatus(api, status, 'CreateSession');
      handle = sessionOut[0];
      if (!handle) throw new Error(`CreateSession returned no session for ${onnxPath}`);

      const inputNames = readNames(api, handle, allocator, 'input');
      const outputNames = readNames(api, handle, allocator, 'output');
      const inputInfos = new Map(inputNames.map((name, i) => [name, readTypeInfo(api, api.SessionGetInputTypeInfo, handle, i)]));
      const outputInfos = new Map(outputNames.map((name, i) => [name, readTypeInfo(api, api.SessionGetOutputTypeInfo, handle, i)]));
      const session = new OrtDirectSession(api, handle, inputNames, outputNames, inputInfos, outputInfos, api.library.path);
      handle = null; // owned by the session now
      return session;
    } finally {
      api.ReleaseSessionOptions(sessionOptions);
      if (handle) api.ReleaseSession(handle);
    }
  }

  /** Element type and dims (-1 for symbolic) of an input, from SessionGetInputTypeInfo. */
  inputInfo(name: string): { type: string; dims: number[] } {
    const info = this.inputInfos.get(name);
    if (!info) throw new Error(`the graph has no input named ${name} (inputs: ${this.inputNames.join(', ')})`);
    return { type: info.type, dims: [...info.dims] };
  }

  /** Element type and dims (-1 for symbolic) of an output, from SessionGetOutputTypeInfo. */
  outputInfo(name: string): { type: string; dims: number[] } {
    const info = this.outputInfos.get(name);
    if (!info) throw new Error(`the graph has no output named ${name} (outputs: ${this.outputNames.join(', ')})`);
    return { type: info.type, dims: [...info.dims] };
  }

  /** Runs currently in flight on this session. */
  get runsInFlight(): number {
    return this.inflight;
  }

  get released(): boolean {
    return this.handle === null || this.releasePending;
  }

  /**
   * Runs the graph off the JS thread (koffi `.async`) with every output pre-allocated by the caller: onnxruntime writes
   * straight into `outputs[name].data`. Every OrtValue (and the status) is released on every path. An onnxruntime
   * error rejects with an OrtStatusError carrying onnxruntime's message.
   */
  async run(
    inputs: Record<string, DirectTensor | DirectValue>,
    outputs: Record<string, DirectTensor | DirectValue>,
    control: DirectRunControl = {},
  ): Promise<void> {
    if (this.released) throw new Error('the direct onnxruntime session has been released');
    const { api } = this;
    const { cpuMemoryInfo } = sharedObjects(api);
    const inputNames = Object.keys(inputs);
    const outputNames = Object.keys(outputs);
    if (outputNames.length === 0) throw new Error('run needs at least one output');

    // One OrtValue per distinct DirectTensor object (an object used as input and output shares its OrtValue).
    const values = new Map<DirectTensor, unknown>();
    // Keeps every typed array (and shape array) referenced until the native run has finished with them.
    const keepAlive: unknown[] = [];
    let runOptions: unknown = null;
    let onAbort: (() => void) | undefined;
    const valueOf = (name: string, tensor: DirectTensor | DirectValue): unknown => {
      if (tensor instanceof DirectValue) return tensor.ortValue;
      let value = values.get(tensor);
      if (value === undefined) {
        value = createTensorValue(api, cpuMemoryInfo, name, tensor, keepAlive);
        values.set(tensor, value);
      }
      return value;
    };
    this.inflight++;
    try {
      const inputValues = inputNames.map((name) => valueOf(name, inputs[name]));
      const outputValues = outputNames.map((name) => valueOf(name, outputs[name]));
      if (this.recordAddresses) {
        const addresses = (names: string[], values: unknown[]) => Object.fromEntries(names.map((name, i) => [name, dataAddress(api, values[i])]));
        this.lastRunAddresses = { inputs: addresses(inputNames, inputValues), outputs: addresses(outputNames, outputValues) };
      }
      if (control.signal) {
        control.signal.throwIfAborted();
        const runOptionsOut: unknown[] = [null];
        checkStatus(api, api.CreateRunOptions(runOptionsOut), 'CreateRunOptions');
        runOptions = runOptionsOut[0];
        const options = runOptions;
        // (An event listener must not throw; RunOptionsSetTerminate only sets a flag and returns NULL.)
        onAbort = () => void statusToError(api, api.RunOptionsSetTerminate(options), 'RunOptionsSetTerminate');
        control.signal.addEventListener('abort', onAbort, { once: true });
      }
      const runStarted = performance.now();
      const status = await callAsync(
        api.Run, this.handle, runOptions,
        inputNames, inputValues, inputNames.length,
        outputNames, outputNames.length, outputValues,
      );
      this.lastRunMs = performance.now() - runStarted;
      const error = statusToError(api, status, 'Run');
      if (error) throw error;
    } finally {
      if (onAbort) control.signal?.removeEventListener('abort', onAbort);
      for (const value of values.values()) api.ReleaseValue(value);
      if (runOptions) api.ReleaseRunOptions(runOptions);
      keepAlive.length = 0;
      this.inflight--;
      if (this.releasePending && this.inflight === 0) this.releaseNow();
    }
  }

  /** Releases the session (deferred until runs in flight settle). Idempotent. */
  release(): void {
    if (this.handle === null) return;
    if (this.inflight > 0) {
      this.releasePending = true;
      return;
    }
    this.releaseNow();
  }

  private releaseNow(): void {
    const handle = this.handle;
    this.handle = null;
    this.releasePending = false;
    if (handle) this.api.ReleaseSession(handle);
  }

  /** `OrtGetApiBase()->GetVersionString()` of the library the direct runtime uses, e.g. '1.30.0'; throws when it cannot load. */
  static version(): string {
    return loadOrtLibrary().version;
  }
}

/** Whether the direct runtime can run here (koffi loads, the library loads, its OrtApi and OrtEnv can be created), and why not. */
export function directRuntimeAvailable(): { ok: true; version: string } | { ok: false; reason: string } {
  try {
    const api = ortApi();
    sharedObjects(api);
    return { ok: true, version: api.library.version };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

function describe(name: string, tensor: DirectTensor): string {
  return `tensor ${name} (${String(tensor?.type)} [${Array.isArray(tensor?.dims) ? tensor.dims.join(', ') : String(tensor?.dims)}])`;
}

/** Checks a DirectTensor and wraps its memory in an OrtValue (CreateTensorWithDataAsOrtValue; no copy). */
function createTensorValue(api: OrtApi, cpuMemoryInfo: unknown, name: string, tensor: DirectTensor, keepAlive: unknown[]): unknown {
  const element = tensor && Object.prototype.hasOwnProperty.call(ELEMENTS, tensor.type) ? ELEMENTS[tensor.type] : undefined;
  if (!element) throw new Error(`${describe(name, tensor)}: type must be one of ${Object.keys(ELEMENTS).join(', ')}`);
  const { data, dims } = tensor;
  const tag = ArrayBuffer.isView(data) ? (data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : undefined;
  if (tag !== element.array) {
    throw new Error(`${describe(name, tensor)}: data must be a ${element.array} (got ${tag ?? typeof data})`);
  }
  if (!Array.isArray(dims)) throw new Error(`${describe(name, tensor)}: dims must be an array of numbers`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`${describe(name, tensor)}: dims must be non-negative integers`);
    count *= d;
  }
  if (data.length !== count) {
    throw new Error(`${describe(name, tensor)}: data has ${data.length} elements, dims need ${count}`);
  }
  const shape = BigInt64Array.from(dims, (d) => BigInt(d));
  keepAlive.push(data, shape);
  const out: unknown[] = [null];
  checkStatus(
    api,
    api.CreateTensorWithDataAsOrtValue(cpuMemoryInfo, data, data.byteLength, shape, shape.length, element.onnx, out),
    'CreateTensorWithDataAsOrtValue',
  );
  return out[0];
}

/** The address of an OrtValue's tensor data (0n for an empty tensor). */
function dataAddress(api: OrtApi, value: unknown): bigint {
  const out: unknown[] = [null];
  checkStatus(api, api.GetTensorMutableData(value, out), 'GetTensorMutableData');
  return out[0] === null ? 0n : BigInt(api.library.koffi.address(out[0]));
}

function readNames(api: OrtApi, session: unknown, allocator: unknown, kind: 'input' | 'output'): string[] {
  const countOut: unknown[] = [0];
  const getCount = kind === 'input' ? api.SessionGetInputCount : api.SessionGetOutputCount;
  const getName = kind === 'input' ? api.SessionGetInputName : api.SessionGetOutputName;
  checkStatus(api, getCount(session, countOut), kind === 'input' ? 'SessionGetInputCount' : 'SessionGetOutputCount');
  const names: string[] = [];
  for (let i = 0; i < Number(countOut[0]); i++) {
    const nameOut: unknown[] = [null];
    checkStatus(api, getName(session, i, allocator, nameOut), kind === 'input' ? 'SessionGetInputName' : 'SessionGetOutputName');
    const pointer = nameOut[0];
    try {
      names.push(api.library.koffi.decode(pointer, 'char', -1) as string);
    } finally {
      checkStatus(api, api.AllocatorFree(allocator, pointer), 'AllocatorFree');
    }
  }
  return names;
}

function readTypeInfo(api: OrtApi, getTypeInfo: NativeFunction, session: unknown, index: number): DirectTensorInfo {
  const typeInfoOut: unknown[] = [null];
  checkStatus(api, getTypeInfo(session, index, typeInfoOut), 'SessionGetInputTypeInfo/SessionGetOutputTypeInfo');
  const typeInfo = typeInfoOut[0];
  try {
    const onnxTypeOut: unknown[] = [0];
    checkStatus(api, api.GetOnnxTypeFromTypeInfo(typeInfo, onnxTypeOut), 'GetOnnxTypeFromTypeInfo');
    if (Number(onnxTypeOut[0]) !== ONNX_TYPE_TENSOR) return { type: `onnx type ${Number(onnxTypeOut[0])}`, dims: [] };
    // The tensor info belongs to the type info: not released separately.
    const tensorInfoOut: unknown[] = [null];
    checkStatus(api, api.CastTypeInfoToTensorInfo(typeInfo, tensorInfoOut), 'CastTypeInfoToTensorInfo');
    const tensorInfo = tensorInfoOut[0];
    const elementOut: unknown[] = [0];
    checkStatus(api, api.GetTensorElementType(tensorInfo, elementOut), 'GetTensorElementType');
    const rankOut: unknown[] = [0];
    checkStatus(api, api.GetDimensionsCount(tensorInfo, rankOut), 'GetDimensionsCount');
    const dims = new BigInt64Array(Number(rankOut[0]));
    if (dims.length > 0) checkStatus(api, api.GetDimensions(tensorInfo, dims, dims.length), 'GetDimensions');
    const element = Number(elementOut[0]);
    return { type: ONNX_ELEMENT_TYPES[element] ?? `onnx element type ${element}`, dims: Array.from(dims, (d) => Number(d)) };
  } finally {
    api.ReleaseTypeInfo(typeInfo);
  }
}
