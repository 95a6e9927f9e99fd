import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ProtobufFormatError } from './protobufScanner';

const LFS_POINTER = 'version https://git-lfs.github.com/spec/';

/** What a file that should hold ONNX bytes holds instead, judged from its first bytes; null when it may be ONNX. */
export function sniffNonOnnx(file: string): string | null {
  const size = fs.statSync(file).size;
  if (size === 0) return 'it is empty (0 bytes): an interrupted download or copy?';
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(Math.min(size, 512));
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const text = head.toString('latin1');
  if (text.startsWith(LFS_POINTER)) {
    const declared = /\nsize (\d+)/.exec(text)?.[1];
    return (
      `it is a Git LFS pointer file (${size} bytes${declared ? ` standing for ${declared} bytes` : ''}), not the model: ` +
      'run `git lfs pull` in the clone (or download the file itself)'
    );
  }
  if (/^\s*<(!doctype|html|\?xml)/i.test(text)) return 'it is an HTML/XML page, not an ONNX model: a failed download (an error or login page)?';
  if (/^\s*[{[]/.test(text)) return 'it is a JSON text, not an ONNX model';
  return null;
}

/**
 * A clear message for a graph file (or its external data) that cannot be an ONNX model: a Git LFS pointer, an empty,
 * truncated or non-ONNX file. `error` is what reading the protobuf threw, when it did.
 */
export function onnxFileError(onnxPath: string, error?: unknown): UserError | null {
  const shown = path.join(path.basename(path.dirname(onnxPath)), path.basename(onnxPath));
  for (const file of [onnxPath, `${onnxPath}_data`, `${onnxPath}.data`]) {
    if (!fs.existsSync(file)) continue;
    const problem = sniffNonOnnx(file);
    if (problem) return new UserError(`model file ${file === onnxPath ? shown : path.basename(file)} cannot be read: ${problem}`);
  }
  if (!(error instanceof ProtobufFormatError)) return null;
  if (/past the end|end of file|truncated|could not read/.test(error.message)) {
    return new UserError(
      `model file ${shown} is truncated (${fs.statSync(onnxPath).size} bytes; the protobuf stops inside a field: ${error.message}): ` +
        'an interrupted download or copy? Fetch the file again',
    );
  }
  return new UserError(`model file ${shown} is not an ONNX model (it does not decode as an ONNX protobuf: ${error.message})`);
}
