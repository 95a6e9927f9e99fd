import { closeSync, openSync, readSync } from 'node:fs';
import { MergeResult } from './mergeResult';

const CHUNK_BYTES = 4 << 20;

/**
 * Copies the merged lines, in order, from the shard files into `sink` byte for byte, each followed by
 * `\n`, in chunks of about 4 MB. `sink` must be done with a chunk when its promise resolves or must not
 * reuse it; a fresh chunk is allocated after every call.
 */
export async function writeMergedOutput(result: MergeResult, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
  const descriptors = result.files.map(() => -1);
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    await sink(chunk.subarray(0, used));
    chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    used = 0;
  };
  try {
    for (const line of result.orderedLines) {
      if (descriptors[line.fileIndex] === -1) descriptors[line.fileIndex] = openSync(result.files[line.fileIndex], 'r');
      const needed = line.length + 1;
      if (used + needed > chunk.length) await flush();
      if (needed > chunk.length) chunk = Buffer.allocUnsafe(needed);
      readExactly(descriptors[line.fileIndex], chunk, used, line.length, line.offset, result.files[line.fileIndex]);
      chunk[used + line.length] = 0x0a;
      used += needed;
    }
    await flush();
  } finally {
    for (const descriptor of descriptors) if (descriptor !== -1) closeSync(descriptor);
  }
}

function readExactly(descriptor: number, target: Buffer, at: number, length: number, position: number, file: string): void {
  let done = 0;
  while (done < length) {
    const read = readSync(descriptor, target, at + done, length - done, position + done);
    if (read === 0) throw new Error(`${file} changed while merging (ended early at byte ${position + done})`);
    done += read;
  }
}
