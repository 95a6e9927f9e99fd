import * as fs from 'node:fs';

let cached: boolean | undefined;

/**
 * Whether this CPU multiplies unsigned by signed bytes with VNNI (AVX512-VNNI or AVX-VNNI), where onnxruntime's
 * uint8 × int8 kernels sum exactly; without it they sum byte pairs into saturating 16-bit integers. Read from
 * /proc/cpuinfo on x64 Linux; false elsewhere (the rewrites that need it are then left out, never guessed).
 */
export function cpuHasVnni(): boolean {
  if (cached === undefined) cached = process.arch === 'x64' && process.platform === 'linux' && vnniInCpuinfo(readCpuinfo());
  return cached;
}

/** True when the first `flags` line of a /proc/cpuinfo text lists avx512_vnni or avx_vnni. */
export function vnniInCpuinfo(cpuinfo: string): boolean {
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1].split(/\s+/) ?? [];
  return flags.includes('avx512_vnni') || flags.includes('avx_vnni');
}

function readCpuinfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}
