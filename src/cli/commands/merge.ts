import { Command } from 'commander';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomically } from '../../output/atomicWrite';
import { expandFileArguments } from '../../merge/expandFileArguments';
import { mergeReports } from '../../merge/mergeReports';
import { mergeShardOutputs } from '../../merge/mergeOutputs';
import { formatMergeSummary } from '../../merge/mergeSummary';
import { writeMergedOutput } from '../../merge/writeMerged';
import { InputFileError } from '../../input/errors';
import { ExitCode, UserError } from '../../errors';

interface MergeCommandOptions {
  input?: string;
  allowIncomplete?: boolean;
  reports?: string[];
  reportOut?: string;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description(
      'Combine shard outputs (from --shard runs) into one JSONL ordered by input index, and check it: ' +
        'missing ids (with --input), duplicate ids, error records, mismatched settings. ' +
        'Exit 0 when complete, 1 when not (unless --allow-incomplete), 2 on usage errors.',
    )
    .argument('<out>', 'merged JSONL to write ("-" for stdout); written atomically')
    .argument('<shards...>', 'shard output files; * and ? patterns are expanded by qwen-gen (quote them)')
    .option('--input <file>', 'the input JSONL the shards ran on: lists missing ids and ids not in the input')
    .option('--allow-incomplete', 'exit 0 even when problems are found (they are still reported)')
    .option('--reports <files...>', 'shard report JSON files to merge (put this option after the positional arguments)')
    .option('--report-out <file>', 'where to write the merged report (required with --reports)')
    .action(async (out: string, shards: string[], options: MergeCommandOptions) => {
      process.exitCode = await runMerge(out, shards, options);
    });
}

async function runMerge(out: string, shardArguments: string[], options: MergeCommandOptions): Promise<number> {
  if ((options.reports === undefined) !== (options.reportOut === undefined)) {
    throw new UserError('--reports and --report-out go together: give both or neither');
  }
  const files = shardFiles(out, shardArguments);
  if (options.input !== undefined && !isFile(options.input)) throw new UserError(`input file not found: ${options.input}`);

  // Reports are read first so that a bad report fails before anything is written.
  const reportFiles = options.reports === undefined ? [] : expandFileArguments(options.reports).map((file) => file.path);
  const mergedReport = reportFiles.length > 0 ? mergeReports(await Promise.all(reportFiles.map(readReport))) : null;

  const result = await mergeShardOutputs(files, { inputFile: options.input }).catch((error: unknown) => {
    throw error instanceof InputFileError ? new UserError(error.message) : error;
  });
  if (out === '-') await writeMergedOutput(result, writeToStdout);
  else {
    await writeOrExplain(out, () =>
      writeFileAtomically(out, (handle) => writeMergedOutput(result, async (chunk) => void (await handle.write(chunk)))),
    );
  }
  const reportOut = options.reportOut;
  if (mergedReport !== null && reportOut !== undefined) {
    await writeOrExplain(reportOut, () =>
      writeFileAtomically(reportOut, async (handle) => void (await handle.write(`${JSON.stringify(mergedReport, null, 2)}\n`))),
    );
  }

  process.stderr.write(formatMergeSummary(result, out === '-' ? 'stdout' : out, options.allowIncomplete === true));
  return result.complete || options.allowIncomplete ? ExitCode.ok : ExitCode.someFailed;
}

/** Expanded shard paths, without the output file (a pattern such as `*.jsonl` may match it). */
function shardFiles(out: string, shardArguments: string[]): string[] {
  const outPath = out === '-' ? null : resolve(out);
  const files = expandFileArguments(shardArguments).filter((file) => {
    if (resolve(file.path) !== outPath) return true;
    if (!file.fromPattern) throw new UserError(`the output file ${out} is also named as a shard file`);
    return false;
  });
  if (files.length === 0) throw new UserError('no shard files to merge');
  return files.map((file) => file.path);
}

async function writeOrExplain(target: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOSPC' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new UserError(`cannot write ${target}: ${(error as Error).message}`);
    }
    throw error;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

async function readReport(file: string): Promise<unknown> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed;
  } catch (error) {
    throw new UserError(`cannot read report ${file}: ${(error as Error).message}`);
  }
}

function writeToStdout(chunk: Buffer): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    process.stdout.write(chunk, (error) => (error ? reject(error) : resolvePromise()));
  });
}
