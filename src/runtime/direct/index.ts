/** The direct runtime's binding to onnxruntime's C API (koffi → the library onnxruntime-node ships). */
export { OrtDirectSession, directRuntimeAvailable } from './ortSession';
export type { DirectTensor, DirectTensorType, DirectSessionOptions, DirectRunControl, DirectTensorInfo } from './ortSession';
export { OrtStatusError } from './ortStatus';
export { ortLibraryPath, ORT_API_VERSION_REQUESTED } from './ortLibrary';
