import * as fs from 'node:fs';
import { ExitCode, UserError } from '../errors';
import { plural } from '../plural';
import { InputFileError } from '../input/errors';
import { readRequests } from '../input/readRequests';
import { GenerationRequest, InputError, InputFormat } from '../input/request';
import { shardOwns } from '../shard/assignShard';
import { GenerateJobOptions } from './jobOptions';
import { OutputTarget } from '../output/outputTarget';
import { StageTimer } from './stageTimer';
import { checkJobPaths } from './jobPaths';
import { unlessAborted } from './interruption';
import { checkRequestConstraints } from './structuredOutputs';

/** This run's share of the input: its requests, the lines that were not requests, and the output format. */
export interface JobInput {
  requests: GenerationRequest[];
  inputErrors: InputError[];
  format: InputFormat;
  /** Non-blank lines of the whole input, before sharding (0: the `empty_input` finding). */
  inputLines: number;
}

export interface OpenedJob {
  input: JobInput;
  target: OutputTarget;
  /** The requests still to generate (a resumed output already has the others). */
  todo: GenerationRequest[];
}

type OpenOptions = Pick<
  GenerateJobOptions,
  'input' | 'strict' | 'shard' | 'format' | 'output' | 'reportFile' | 'overwrite' | 'resume' | 'force' | 'keepFields' | 'log' | 'signal'
>;

/** Step 1: checks the output paths, reads the input and prepares the output, before the model loads: a bad path fails at once. */
export async function openJob(options: OpenOptions, timer: StageTimer): Promise<OpenedJob> {
  checkJobPaths(options);
  const input = await openInput(options, timer);
  const target = await OutputTarget.prepare(
    { file: options.output, overwrite: options.overwrite, resume: options.resume ?? false, force: options.force ?? false, log: options.log },
    input.format,
  );
  return { input, target, todo: input.requests.filter((request) => !target.alreadyDone(request.id)) };
}

/** Every line becomes a request or an error record: nothing is lost for one bad line. */
export async function openInput(
  options: Pick<OpenOptions, 'input' | 'strict' | 'shard' | 'format' | 'keepFields' | 'log' | 'signal'>,
  timer: StageTimer,
): Promise<JobInput> {
  const source = options.input === undefined || options.input === '-' ? process.stdin : options.input;
  const parsed = await timer.time('read', async () => {
    const read = await readInput(source, options.keepFields ?? false, options.signal);
    // Structured outputs: a schema, regex or grammar xgrammar refuses makes its line an input error like any other.
    const checked = await checkRequestConstraints(read.requests);
    return { ...read, requests: checked.valid, errors: [...read.errors, ...checked.errors].sort((a, b) => a.index - b.index) };
  });
  if (options.strict && parsed.errors.length > 0) {
    for (const error of parsed.errors) options.log(error.message);
    throw new UserError(`--strict: ${plural(parsed.errors.length, 'input line is', 'input lines are')} invalid; nothing was generated`, ExitCode.someFailed);
  }
  const owned = <T extends { id?: string | number; line: number }>(item: T) => !options.shard || shardOwns(options.shard, item.id ?? item.line);
  return {
    requests: parsed.requests.filter(owned),
    inputErrors: parsed.errors.filter(owned),
    format: options.format === 'auto' ? parsed.format : options.format,
    inputLines: parsed.inputCount,
  };
}

async function readInput(source: string | Uint8Array | NodeJS.ReadStream, keepFields: boolean, signal: AbortSignal | undefined) {
  if (typeof source === 'string' && !fs.existsSync(source)) throw new UserError(`input file ${source} does not exist`);
  try {
    const sourceName = typeof source === 'string' ? source : source instanceof Uint8Array ? '<requests>' : '<stdin>';
    // A signal while reading (a terminal, or a pipe whose writer is still open) ends the run at once: nothing ran yet.
    const stop = () => {
      if (typeof source === 'object' && !(source instanceof Uint8Array)) source.destroy();
    };
    return await unlessAborted(readRequests(source, { sourceName, keepFields }), signal, stop);
  } catch (error) {
    if (error instanceof InputFileError) throw new UserError(error.message);
    throw error;
  }
}
