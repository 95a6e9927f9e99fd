import { checkWrittenPaths, ReadPath, WrittenPath } from '../output/outputPaths';
import { GenerateJobOptions } from './jobOptions';

type PathOptions = Pick<GenerateJobOptions, 'input' | 'output' | 'reportFile' | 'overwrite' | 'resume'>;

/**
 * The files a run writes (`-o`, `--report`) against what it reads (the input file, or the file stdin is redirected
 * from), checked before the input is read and the model loads. `--resume` continues `-o` and rewrites the report of the
 * run it continues; otherwise an existing file needs `--overwrite`.
 */
export function checkJobPaths(options: PathOptions): void {
  const mayReplace = options.overwrite || options.resume === true;
  const outputs: WrittenPath[] = [];
  if (options.output !== undefined) {
    outputs.push({
      path: options.output,
      label: `-o ${options.output}`,
      kind: 'file',
      mayReplace,
      existsHint: 'add --overwrite to replace it or --resume to continue it',
    });
  }
  if (options.reportFile !== undefined) {
    outputs.push({ path: options.reportFile, label: `--report ${options.reportFile}`, kind: 'file', mayReplace });
  }
  checkWrittenPaths(outputs, inputReads(options.input));
}

function inputReads(input: PathOptions['input']): ReadPath[] {
  if (input instanceof Uint8Array) return [];
  if (input === undefined || input === '-') return [{ path: 0, role: 'the file stdin is redirected from (the input)' }];
  return [{ path: input, role: 'the input file' }];
}
