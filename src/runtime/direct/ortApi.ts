import { loadOrtLibrary, OrtLibrary } from './ortLibrary';

/**
 * The part of onnxruntime's C API (`struct OrtApi` in include/onnxruntime/core/session/onnxruntime_c_api.h) that the
 * direct runtime calls, decoded from the struct's function-pointer slots.
 *
 * `OrtApi` is a struct of function pointers that is append-only across releases: a function's slot (its index, in
 * pointer-sized units) never changes. The slot numbers below were counted by a script from copies of the official
 * header (every `ORT_API2_STATUS(...)`, `ORT_CLASS_RELEASE(...)`, `ORT_API_T(...)` and raw `(ORT_API_CALL* Name)`
 * member of `struct OrtApi`, in order, comments and preprocessor lines stripped): the ORT_API_VERSION 29 header vendored
 * by yalue/onnxruntime_go (425 slots), the ORT_API_VERSION 23 header of the Microsoft.ML.OnnxRuntime NuGet package
 * (390 slots, identical to the first 390 of the former) and an ORT_API_VERSION 1 header (102 slots, identical too).
 * They agree with the throwaway prototype in NOTES.md, and each one is exercised by a real call with a checked
 * result in test/runtime/ortDirectSession.test.ts.
 *
 * Handles (OrtEnv*, OrtSession*, OrtValue*, OrtStatus*, …) are koffi externals typed `void *`; `null` is NULL.
 * Functions returning `OrtStatus *` return NULL on success; see ortStatus.ts. Out-parameters are declared `_Out_ T *`
 * and passed as a one-element JS array (`[null]`, `[0]`) that koffi fills in after the call.
 */

// Calling convention: ORT_API_CALL is __stdcall on Windows, which only differs from the default on 32-bit x86, a
// platform onnxruntime-node ships no binary for; the default convention is right everywhere it ships.
/** `ORTCHAR_T`: wchar_t (UTF-16) on Windows, char (UTF-8) elsewhere. Used only for model paths. */
const ORTCHAR = process.platform === 'win32' ? 'const char16_t *' : 'const char *';

/**
 * name → [slot, C prototype]. The prototypes are declared to koffi anonymously (the name is stripped): koffi's type
 * names are process-wide, shared even across module registries (jest test files, re-required modules), so a named
 * prototype would fail with "Duplicate type name" the second time this module is evaluated in a process.
 */
export const ORT_API_SLOTS = {
  GetErrorCode: [1, 'int GetErrorCode(void *status)'],
  GetErrorMessage: [2, 'const char *GetErrorMessage(void *status)'],
  CreateEnv: [3, 'void *CreateEnv(int logging_level, const char *logid, _Out_ void **out)'],
  CreateSession: [7, `void *CreateSession(void *env, ${ORTCHAR}model_path, void *options, _Out_ void **out)`],
  Run: [
    9,
    'void *Run(void *session, void *run_options, const char **input_names, void **inputs, size_t input_len,' +
      ' const char **output_names, size_t output_names_len, void **outputs)',
  ],
  CreateSessionOptions: [10, 'void *CreateSessionOptions(_Out_ void **options)'],
  SetSessionExecutionMode: [13, 'void *SetSessionExecutionMode(void *options, int execution_mode)'],
  EnableProfiling: [14, `void *EnableProfiling(void *options, ${ORTCHAR}profile_file_prefix)`],
  SetSessionGraphOptimizationLevel: [23, 'void *SetSessionGraphOptimizationLevel(void *options, int graph_optimization_level)'],
  SetIntraOpNumThreads: [24, 'void *SetIntraOpNumThreads(void *options, int intra_op_num_threads)'],
  SetInterOpNumThreads: [25, 'void *SetInterOpNumThreads(void *options, int inter_op_num_threads)'],
  SessionGetInputCount: [30, 'void *SessionGetInputCount(void *session, _Out_ size_t *out)'],
  SessionGetOutputCount: [31, 'void *SessionGetOutputCount(void *session, _Out_ size_t *out)'],
  SessionGetInputTypeInfo: [33, 'void *SessionGetInputTypeInfo(void *session, size_t index, _Out_ void **type_info)'],
  SessionGetOutputTypeInfo: [34, 'void *SessionGetOutputTypeInfo(void *session, size_t index, _Out_ void **type_info)'],
  SessionGetInputName: [36, 'void *SessionGetInputName(void *session, size_t index, void *allocator, _Out_ void **value)'],
  SessionGetOutputName: [37, 'void *SessionGetOutputName(void *session, size_t index, void *allocator, _Out_ void **value)'],
  CreateRunOptions: [39, 'void *CreateRunOptions(_Out_ void **out)'],
  RunOptionsSetTerminate: [46, 'void *RunOptionsSetTerminate(void *options)'],
  CreateTensorWithDataAsOrtValue: [
    49,
    'void *CreateTensorWithDataAsOrtValue(void *info, void *p_data, size_t p_data_len, const int64_t *shape,' +
      ' size_t shape_len, int type, _Out_ void **out)',
  ],
  GetTensorMutableData: [51, 'void *GetTensorMutableData(void *value, _Out_ void **out)'],
  CastTypeInfoToTensorInfo: [55, 'void *CastTypeInfoToTensorInfo(void *type_info, _Out_ void **out)'],
  GetOnnxTypeFromTypeInfo: [56, 'void *GetOnnxTypeFromTypeInfo(void *type_info, _Out_ int *out)'],
  GetTensorElementType: [60, 'void *GetTensorElementType(void *info, _Out_ int *out)'],
  GetDimensionsCount: [61, 'void *GetDimensionsCount(void *info, _Out_ size_t *out)'],
  GetDimensions: [62, 'void *GetDimensions(void *info, int64_t *dim_values, size_t dim_values_length)'],
  GetTensorShapeElementCount: [64, 'void *GetTensorShapeElementCount(void *info, _Out_ size_t *out)'],
  GetTensorTypeAndShape: [65, 'void *GetTensorTypeAndShape(void *value, _Out_ void **out)'],
  CreateCpuMemoryInfo: [69, 'void *CreateCpuMemoryInfo(int allocator_type, int mem_type, _Out_ void **out)'],
  AllocatorFree: [76, 'void *AllocatorFree(void *allocator, void *p)'],
  GetAllocatorWithDefaultOptions: [78, 'void *GetAllocatorWithDefaultOptions(_Out_ void **out)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void *input)'],
  ReleaseMemoryInfo: [94, 'void ReleaseMemoryInfo(void *input)'],
  ReleaseSession: [95, 'void ReleaseSession(void *input)'],
  ReleaseValue: [96, 'void ReleaseValue(void *input)'],
  ReleaseRunOptions: [97, 'void ReleaseRunOptions(void *input)'],
  ReleaseTypeInfo: [98, 'void ReleaseTypeInfo(void *input)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void ReleaseTensorTypeAndShapeInfo(void *input)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void *input)'],
  AddSessionConfigEntry: [130, 'void *AddSessionConfigEntry(void *options, const char *config_key, const char *config_value)'],
  HasSessionConfigEntry: [237, 'void *HasSessionConfigEntry(void *options, const char *config_key, _Out_ int *out)'],
} as const;

export type OrtApiName = keyof typeof ORT_API_SLOTS;

/** A decoded C function: call it synchronously, or with `.async(...args, (err, result) => …)` on a worker thread. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeFunction = ((...args: any[]) => any) & { async: (...args: any[]) => void };

export type OrtApi = { readonly [K in OrtApiName]: NativeFunction } & {
  readonly library: OrtLibrary;
  /** slot index → name, of every function decoded (for reports and tests). */
  readonly slots: ReadonlyArray<{ slot: number; name: OrtApiName }>;
};

/** ONNXTensorElementDataType values. */
export const ONNX_ELEMENT_TYPES: Readonly<Record<number, string>> = Object.freeze({
  0: 'undefined', 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
});
export const ORT_LOGGING_LEVEL_WARNING = 2;
export const ORT_SEQUENTIAL = 0;
export const ORT_ENABLE_ALL = 99;
export const ORT_DEVICE_ALLOCATOR = 0;
export const ORT_MEM_TYPE_DEFAULT = 0;
/** ONNXType value of a tensor (GetOnnxTypeFromTypeInfo). */
export const ONNX_TYPE_TENSOR = 1;

let api: OrtApi | undefined;

/** The decoded OrtApi (loads the library on first use; throws the library's load error). */
export function ortApi(): OrtApi {
  if (api) return api;
  const library = loadOrtLibrary();
  const { koffi } = library;
  const pointerSize = koffi.sizeof('void *');
  const table: Record<string, unknown> = { library };
  const slots: { slot: number; name: OrtApiName }[] = [];
  for (const name of Object.keys(ORT_API_SLOTS) as OrtApiName[]) {
    const [slot, prototype] = ORT_API_SLOTS[name];
    const proto = koffi.proto(prototype.replace(`${name}(`, '('));
    const pointer = koffi.decode(library.api, slot * pointerSize, 'void *') as unknown;
    if (!pointer) throw new Error(`OrtApi slot ${slot} (${name}) is NULL in onnxruntime ${library.version}`);
    table[name] = koffi.decode(pointer, proto) as NativeFunction;
    slots.push({ slot, name });
  }
  table.slots = slots;
  api = table as OrtApi;
  return api;
}
