/**
 * `--device cpu|cuda` → onnxruntime-node execution providers, with clear errors when a provider is missing.
 * onnxruntime-node lists CUDA as a backend on linux/x64 and win32/x64 even when its provider libraries were
 * never installed (its postinstall fetches them separately), so availability means: listed AND the provider
 * library sits next to the native binding.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors';

import { DeviceName } from '../deviceName';

export type { DeviceName } from '../deviceName';

/** Providers in priority order: nodes a GPU provider cannot run fall back to the CPU provider. */
export function executionProvidersFor(device: DeviceName): string[] {
  return device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
}

export interface BackendInfo {
  name: string;
  bundled: boolean;
}

export interface DeviceProbe {
  backends: BackendInfo[];
  /** The folder holding onnxruntime_binding.node (provider libraries must be beside it). */
  bindingDir: string;
  platform: NodeJS.Platform;
}

const CUDA_PROVIDER_LIBRARIES: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  win32: ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll'],
};

export function probeDevices(): DeviceProbe {
  const packageDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return {
    backends: ort.listSupportedBackends().map((backend) => ({ name: backend.name, bundled: backend.bundled })),
    bindingDir: path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch),
    platform: process.platform,
  };
}

/** Throws a UserError saying why `device` cannot be used here; returns quietly when it can be tried. */
export function assertDeviceAvailable(device: DeviceName, probe: DeviceProbe = probeDevices()): void {
  if (device === 'cpu') return;
  const names = probe.backends.map((backend) => backend.name);
  const listed = `onnxruntime-node here offers: ${names.join(', ') || 'nothing'}`;
  if (!names.includes(device)) {
    throw new UserError(
      `--device ${device} is not available: this onnxruntime-node build has no ${device.toUpperCase()} execution provider on ` +
        `${probe.platform}/${process.arch} (${listed}). Use --device cpu.`,
    );
  }
  const missing = (CUDA_PROVIDER_LIBRARIES[probe.platform] ?? []).filter((file) => !fs.existsSync(path.join(probe.bindingDir, file)));
  if (missing.length > 0) {
    throw new UserError(
      `--device cuda is not available: the CUDA execution provider libraries are not installed ` +
        `(missing ${missing.join(', ')} in ${probe.bindingDir}). onnxruntime-node downloads them at install time ` +
        `unless told to skip: reinstall with \`npm install onnxruntime-node --onnxruntime-node-install=cuda12\` ` +
        `on a machine with CUDA 12 and cuDNN 9, or use --device cpu.`,
    );
  }
}

/** Turns a failed session creation into a message naming the device and what to do. */
export function sessionCreationError(device: DeviceName, onnxPath: string, error: unknown): UserError {
  const detail = firstLine(error instanceof Error ? error.message : String(error));
  if (device === 'cpu') return new UserError(`onnxruntime could not load ${onnxPath}: ${detail}`);
  return new UserError(
    `onnxruntime could not create a ${device.toUpperCase()} session for ${onnxPath}: ${detail}. ` +
      `Check the GPU driver, CUDA 12 and cuDNN 9 libraries (LD_LIBRARY_PATH), or use --device cpu.`,
  );
}

/** Creates a session on `device` (providers from executionProvidersFor); any failure becomes a UserError. */
export async function createSessionOn(
  onnxPath: string,
  device: DeviceName,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  assertDeviceAvailable(device);
  try {
    return await ort.InferenceSession.create(onnxPath, { ...options, executionProviders: executionProvidersFor(device) });
  } catch (error) {
    throw sessionCreationError(device, onnxPath, error);
  }
}

function firstLine(text: string): string {
  // onnxruntime's native messages embed ANSI colour codes and multi-line log records
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split('\n').find((line) => line.trim() !== '')?.trim() ?? plain;
}
