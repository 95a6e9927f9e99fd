import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Koffi from 'koffi';

/**
 * Finds and loads the onnxruntime shared library that onnxruntime-node ships, through the FFI package koffi (prebuilt,
 * nothing compiled at install time), and obtains its `OrtApi` table with `OrtGetApiBase()->GetApi(version)`.
 *
 * Everything is loaded lazily and once per process; a failure is remembered and re-thrown with the same reason, so
 * the caller can fall back to onnxruntime-node's JS API (see `directRuntimeAvailable`).
 */

/**
 * The OrtApi version requested from the library. The OrtApi struct is append-only (slots never move), and GetApi(v)
 * returns the same struct for any supported v, so requesting an older version than the library's own (30 for
 * onnxruntime 1.30) only sets the floor: GetApi(17) succeeds on any onnxruntime ≥ 1.17, whose struct has every slot
 * used here (the highest is 238, API 14). Slot numbers: see ortApi.ts.
 */
export const ORT_API_VERSION_REQUESTED = 17;

export interface OrtLibrary {
  /** The koffi module itself (loaded lazily so that a platform without a koffi prebuild only loses this runtime). */
  readonly koffi: typeof Koffi;
  readonly lib: Koffi.IKoffiLib;
  /** Absolute path of the library that was loaded. */
  readonly path: string;
  /** `OrtGetApiBase()->GetVersionString()`, e.g. '1.30.0'. */
  readonly version: string;
  /** Pointer (koffi external) to the `OrtApi` struct. */
  readonly api: unknown;
  readonly apiVersion: number;
}

/** The file names onnxruntime-node 1.x ships its library under, per platform (first existing wins). */
export function ortLibraryFileNames(platform: NodeJS.Platform = process.platform): string[] {
  switch (platform) {
    case 'linux':
      return ['libonnxruntime.so.1'];
    case 'darwin':
      return ['libonnxruntime.1.dylib', 'libonnxruntime.dylib'];
    case 'win32':
      return ['onnxruntime.dll'];
    default:
      return [];
  }
}

/** The folder onnxruntime-node keeps its native binding and library in, for this platform and architecture. */
export function ortBinaryDir(): string {
  const pkg = require.resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Absolute path of onnxruntime-node's shared library; throws an Error saying why when there is none.
 * `QWEN_GEN_ORT_LIBRARY` names another file (it must be the same onnxruntime onnxruntime-node loads: two copies in one
 * process would not share their environment); tests use it to exercise the fallback.
 */
export function ortLibraryPath(): string {
  const override = process.env.QWEN_GEN_ORT_LIBRARY;
  if (override) return path.resolve(override);
  let dir: string;
  try {
    dir = ortBinaryDir();
  } catch (error) {
    throw new Error(`onnxruntime-node is not installed (${(error as Error).message})`);
  }
  const names = ortLibraryFileNames();
  if (names.length === 0) throw new Error(`no onnxruntime library is known for platform ${process.platform}`);
  for (const name of names) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  // macOS builds name the real file after the version (libonnxruntime.1.30.0.dylib).
  if (process.platform === 'darwin' && fs.existsSync(dir)) {
    const versioned = fs.readdirSync(dir).find((f) => /^libonnxruntime\.[\d.]+\.dylib$/.test(f));
    if (versioned) return path.join(dir, versioned);
  }
  throw new Error(`onnxruntime-node ships no onnxruntime library for ${process.platform}/${process.arch} (looked for ${names.join(', ')} in ${dir})`);
}

let cached: { ok: true; library: OrtLibrary } | { ok: false; error: Error } | undefined;

/** Loads (once) the library and its OrtApi table. Throws an Error whose message says why it cannot load. */
export function loadOrtLibrary(): OrtLibrary {
  if (!cached) {
    try {
      cached = { ok: true, library: loadUncached() };
    } catch (error) {
      cached = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
  if (!cached.ok) throw cached.error;
  return cached.library;
}

function loadUncached(): OrtLibrary {
  let koffi: typeof Koffi;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    koffi = require('koffi') as typeof Koffi;
  } catch (error) {
    throw new Error(`the FFI package koffi cannot load on ${process.platform}/${process.arch}: ${(error as Error).message}`);
  }
  const libPath = ortLibraryPath();
  let lib: Koffi.IKoffiLib;
  try {
    lib = koffi.load(libPath);
  } catch (error) {
    throw new Error(`cannot load ${libPath}: ${(error as Error).message}`);
  }
  let getApiBase: ReturnType<Koffi.IKoffiLib['func']>;
  try {
    getApiBase = lib.func('void *OrtGetApiBase(void)');
  } catch (error) {
    throw new Error(`${libPath} has no OrtGetApiBase symbol: ${(error as Error).message}`);
  }
  const base = getApiBase() as unknown;
  if (!base) throw new Error(`OrtGetApiBase() returned NULL in ${libPath}`);
  // struct OrtApiBase { const OrtApi *(*GetApi)(uint32_t version); const char *(*GetVersionString)(void); }
  const [getApiPtr, getVersionPtr] = koffi.decode(base, 'void *', 2) as unknown[];
  // Anonymous prototypes: koffi's type names are process-wide (see ortApi.ts).
  const GetApiProto = koffi.proto('const void *(uint32_t version)');
  const GetVersionStringProto = koffi.proto('const char *(void)');
  const version = String((koffi.decode(getVersionPtr, GetVersionStringProto) as () => string)());
  const major = Number(version.split('.')[0]);
  if (major !== 1) throw new Error(`onnxruntime ${version} at ${libPath} is not a 1.x release; its C API is not known here`);
  const api = (koffi.decode(getApiPtr, GetApiProto) as (v: number) => unknown)(ORT_API_VERSION_REQUESTED);
  if (!api) {
    throw new Error(`onnxruntime ${version} at ${libPath} does not provide OrtApi version ${ORT_API_VERSION_REQUESTED} (onnxruntime ≥ 1.${ORT_API_VERSION_REQUESTED} is needed)`);
  }
  return { koffi, lib, path: libPath, version, api, apiVersion: ORT_API_VERSION_REQUESTED };
}
