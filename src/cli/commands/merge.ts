import { Command } from 'commander';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { checkWrittenPaths, identityOf, ReadPath, WrittenPath } from '../../output/outputPaths';
import { writeFileAtomically } from '../../output/atomicWrite';
import { expandFileArguments } from '../../merge/expandFileArguments';
import { mergeReports } from '../../merge/mergeReports';
import { mergeShardOutputs } from '../../merge/mergeOutputs';
import { formatMergeSummary } from '../../merge/mergeSummary';
import { writeMergedOutput } from '../../merge/writeMerged';
import { isSiblingShard } from '../../merge/siblingShard';
import { InputFileError } from '../../input/errors';
import { ExitCode, UserError } from '../../errors';

interface MergeCommandOptions {
  input?: string;
  allowIncomplete?: boolean;
  reports?: string[];
  reportOut?: string;
  overwrite?: boolean;
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
    .option('--report-out <file>', 'where to write the merged report, JSON (required with --reports)')
    .option('--overwrite', 'replace an existing merged output or --report-out file')
    .action(async (out: string, shards: string[], options: MergeCommandOptions) => {
      process.exitCode = await runMerge(out, shards, options);
    });
}

async function runMerge(out: string, shardArguments: string[], options: MergeCommandOptions): Promise<number> {
  if ((options.reports === undefined) !== (options.reportOut === undefined)) {
    throw new UserError('--reports and --report-out go together: give both or neither');
  }
  if (options.reportOut !== undefined && /\.(md|markdown)$/i.test(options.reportOut)) {
    throw new UserError(
      `--report-out ${options.reportOut}: merged reports are written as JSON only (their figures are per-shard sums, not one run's report); name it .json`,
    );
  }
  const files = shardFiles(out, shardArguments);
  if (options.input !== undefined && !isFile(options.input)) throw new UserError(`input file not found: ${options.input}`);
  const reportFiles = options.reports === undefined ? [] : expandFileArguments(options.reports).map((file) => file.path);
  checkWrittenPaths(mergeOutputs(out, shardArguments, files, options), [
    ...files.map((file): ReadPath => ({ path: file, role: 'a shard being merged' })),
    ...(options.input === undefined ? [] : [{ path: options.input, role: 'the --input file' }]),
    ...reportFiles.map((file): ReadPath => ({ path: file, role: 'a report being merged' })),
  ]);
  if (out !== '-' && isFile(out) && (await isSiblingShard(out, files))) {
    throw new UserError(
      `merge output ${out} holds output records of other requests than the shards being merged: it looks like one more ` +
        `shard, which replacing it would destroy (refused even with --overwrite). ${globHint(out, files)}`,
    );
  }

  // Reports are read first so that a bad report fails before anything is written.
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

/** The files merge writes, under the rule every qwen-gen output follows (an existing one needs --overwrite). */
function mergeOutputs(out: string, shardArguments: string[], shards: string[], options: MergeCommandOptions): WrittenPath[] {
  const outputs: WrittenPath[] = [];
  const mayReplace = options.overwrite === true;
  if (out !== '-') {
    outputs.push({ path: out, label: `merge output ${out}`, kind: 'file', mayReplace, existsHint: existingOutputHint(out, shardArguments, shards) });
  }
  if (options.reportOut !== undefined) outputs.push({ path: options.reportOut, label: `--report-out ${options.reportOut}`, kind: 'file', mayReplace });
  return outputs;
}

/**
 * An unquoted pattern (`qwen-gen merge shard-*.jsonl --input p.jsonl`) is expanded by the shell, and its first match
 * becomes the output argument: say so when the existing output looks like one of the shards.
 */
function existingOutputHint(out: string, shardArguments: string[], shards: string[]): string {
  const plain = 'add --overwrite to replace it';
  const expandedByShell = shardArguments.every((argument) => !/[*?]/.test(argument));
  const looksLikeShard = shards.some((shard) => dirname(resolve(shard)) === dirname(resolve(out)) && extname(shard) === extname(out) && commonStart(basename(shard), basename(out)) >= 3);
  if (!expandedByShell || !looksLikeShard) return plain;
  return `${plain}. ${globHint(out, shards)}`;
}

function globHint(out: string, shards: readonly string[]): string {
  return (
    'If the shell expanded an unquoted pattern, its first match became the output: ' +
    `name the merged file first and quote the pattern, e.g. qwen-gen merge merged.jsonl '${patternOf([out, ...shards])}'`
  );
}

function commonStart(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** A `*` pattern covering the names (their common start and end), for the hint above. */
function patternOf(files: string[]): string {
  const names = files.map((file) => basename(file));
  let start = names[0];
  let end = names[0];
  for (const name of names) {
    start = start.slice(0, commonStart(start, name));
    while (!name.endsWith(end)) end = end.slice(1);
  }
  const directory = dirname(files[0]);
  const pattern = `${start}*${end.length > names[0].length - start.length ? '' : end}`;
  return directory === '.' ? pattern : `${directory}/${pattern}`;
}

/** Expanded shard paths, without the output file (a pattern such as `*.jsonl` may match it). */
function shardFiles(out: string, shardArguments: string[]): string[] {
  const outIdentity = out === '-' ? null : identityOf(out);
  // A pattern that matches the output (a merge run again) leaves it out; a literal one is refused with the output rule.
  const files = expandFileArguments(shardArguments).filter((file) => !file.fromPattern || identityOf(file.path) !== outIdentity);
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
