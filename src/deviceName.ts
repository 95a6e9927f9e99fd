/** The devices `--device` names (onnxruntime execution providers qwen-gen can ask for). */
export const DEVICE_NAMES = ['cpu', 'cuda'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];
