import { RuntimeChoice } from '../../runtime/createRunner';
import { runtimeOption } from '../runtimeOption';
import { startMaxTimeDeadline } from '../maxTimeDeadline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GenerateJobOptions, GenerateJobResult, OutputFormat, runGenerateJob } from '../../job/generateJob';
import { InputInterrupted, STOP_AFTER_STEP, StopReason, watchInterruptions } from '../../job/interruption';
import { StepActivity } from '../../job/stepActivity';
import { DEFAULT_BATCH_SIZE } from '../../job/jobOptions';
import { closestName } from '../../closestName';
import { COMMAND_NAMES } from '../commandNames';
import * as fs from 'node:fs';
import { OutputWriteError } from '../../output/outputWriteError';
import { FailOn } from '../../diagnostics/gate';
import { printRunSummary, ReportFormat } from '../../job/runDiagnostics';
import { parseDtype } from '../../model/dtype';
import { createDownloadProgress } from '../../model/modelSource';
import { parseByteSize } from '../../schedule/memoryBudget';
import { parseShardSpec } from '../../shard/shardSpec';
import { ExitCode, UserError } from '../../errors';
import { addModelSourceOptions, ModelSourceCliOptions } from '../modelSourceOptions';
import { addGenerationParamOptions, constraintFlag, generationFlagsOf } from '../paramOptions';
import { defaultConstraintProblem } from '../../job/structuredOutputs';
import { FINDING_CODES } from '../../diagnostics/findingCatalog';
import { createProgress } from '../progress';
import { describeDuration, durationOption } from '../duration';
import { renderDryRun } from '../dryRunSummary';
import { runDryRun } from '../../job/dryRun';
import { resumeCommand } from '../resumeCommand';

export const DEFAULT_MODEL = 'onnx-community/Qwen3-0.6B-ONNX';

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function byteSize(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === null) throw new InvalidArgumentError(`--max-memory must be a size such as 4GB or 512MB, got "${value}"`);
  return bytes;
}

interface GenerateCliOptions extends ModelSourceCliOptions, Record<string, unknown> {
  dryRun: boolean;
  ordered: boolean;
  keepFields: boolean;
  maxTime?: number;
  ignoreFinding: string[];
  quiet?: boolean;
  reportFormat?: ReportFormat;
  failOn: FailOn;
  maxMemory?: number;
  derivedGraph: boolean;
  prefixCache: boolean;
  model: string;
  output?: string;
  overwrite: boolean;
  resume: boolean;
  force: boolean;
  batchSize: number;
  maxBatchTokens?: number;
  tokenIds: boolean;
  report?: string;
  threads?: number;
  device: 'cpu' | 'cuda';
  runtime: RuntimeChoice;
  paddingSide?: 'left' | 'right';
  escapeSpecialTokens?: boolean;
  echoParams: boolean;
  format: OutputFormat;
  strict: boolean;
  shard?: string;
}

export function registerGenerate(program: Command): void {
  const command = program
    .command('generate', { isDefault: true })
    .description('Generate a completion for every line of a JSONL file (the default command: `qwen-gen FILE` is `qwen-gen generate FILE`).')
    .argument('[input]', 'JSONL file of requests ("-" or omitted: read stdin)')
    .option('-m, --model <model>', `"tiny" (built-in offline model), a model folder or a hub id`, DEFAULT_MODEL);
  addModelSourceOptions(command)
    .option('-o, --output <file>', 'write completions to this file instead of stdout')
    .option('--overwrite', 'replace an existing output file', false)
    .option('--resume', 'continue -o FILE: keep its complete lines, generate only the ids not done yet (error records are retried)', false)
    .option('--force', 'with --resume: accept existing lines generated with other settings', false)
    .option('-b, --batch-size <n>', 'rows decoded together at most', positiveInt('--batch-size'), DEFAULT_BATCH_SIZE)
    .option('--max-batch-tokens <n>', 'prompt tokens (pads included) per prefill step at most', positiveInt('--max-batch-tokens'))
    .option('--max-memory <size>', 'memory for KV cache, logits and activations, e.g. 4GB (default: half of the free memory, within the cgroup limit)', byteSize)
    .option('--no-prefix-cache', 'prefill every prompt whole, even the parts shared with other prompts (prefix caching is on by default)')
    .option('--no-derived-graph', 'run the model file as it is: no derived graph (logits gathering; in quantized files int8 compute, per-row activation quantization, an 8-bit lm_head)');
  addGenerationParamOptions(command)
    .option('--escape-special-tokens', 'tokenize special-token text typed inside user content as plain text')
    .option('--echo-params', 'add the effective parameters of each request to its output line', false)
    .addOption(new Option('--format <format>', 'output line format (auto: openai when the input is OpenAI Batch lines)').choices(['auto', 'qwen-gen', 'openai']).default('auto'))
    .option('--strict', 'validate the whole input first and stop before generating if any line is bad', false)
    .option('--keep-fields', 'copy unknown top-level input fields (answer, label, …) to the output record instead of refusing the line', false)
    .option('--ordered', 'write output lines in input order (default: as requests finish; with -o the file is rewritten in order at the end)', false)
    .option('--dry-run', 'read, validate and tokenize everything, run the diagnostics, print token counts and the planned batches; load no weights, generate nothing', false)
    .option('--max-time <duration>', 'stop admitting work after this long (e.g. 50m, 1h30m), keep complete lines, exit 3 with the --resume command', durationOption('--max-time'))
    .option('--shard <K/N>', 'process only shard K of N (0-based; auto/N reads the index from the environment)')
    .option('--token-ids', 'add completion_token_ids to each output line', false)
    .option('-q, --quiet', 'print only errors and the final one-line result on stderr')
    .option('--report <file>', 'write the diagnostics report to this file (Markdown when it ends in .md, else JSON)')
    .addOption(new Option('--report-format <format>', 'report file format (default: from the --report extension)').choices(['json', 'markdown']))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when findings at this severity exist').choices(['never', 'warning', 'error']).default('error'))
    .option('--ignore-finding <code>', 'leave this finding code out of the gate and the messages (repeatable)', collectFindingCode, [])
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', positiveInt('--threads'))
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .addOption(runtimeOption())
    .addOption(new Option('--padding-side <side>', 'override the padding protocol chosen from the graph (diagnostic use)').choices(['left', 'right']));
  command
    .allowExcessArguments(true)
    .action(async (input: string | undefined, opts: GenerateCliOptions) => {
      checkOperands(command.args);
      const report = reportOptions(opts);
      const progress = createProgress();
      // Messages go around the progress bar (never onto it). -q: errors and the final result only (warnings are in the
      // report and behind --fail-on warning).
      const log = (message: string) => {
        if (opts.quiet && (message.startsWith('warning:') || message.startsWith('resuming '))) return;
        progress.log(`qwen-gen: ${message}`);
      };
      let generating = false;
      const steps = new StepActivity();
      const interruption = watchInterruptions(log, {
        steps,
        firstStopMessage: () => (generating ? STOP_AFTER_STEP : 'stopping (nothing has been generated yet)'),
      });
      // Said once the signal handlers are in place: a Ctrl-C from here on stops the run with 130.
      const fromStdin = input === undefined || input === '-';
      if (fromStdin && process.stdin.isTTY) {
        log('reading requests from stdin (the terminal): one JSON object per line, then Ctrl-D; or name a file: qwen-gen FILE (qwen-gen --help)');
      } else if (process.env.QWEN_GEN_DEBUG) {
        log(`debug: reading requests from ${fromStdin ? 'stdin' : input}`);
      }
      const downloads = createDownloadProgress();
      // --max-time: from the start of the run (model loading included), the same graceful stop as a first Ctrl-C.
      const deadline = new AbortController();
      const maxTimeStop: StopReason = { reason: 'max_time', by: `--max-time ${describeDuration(opts.maxTime ?? 0)}` };
      const timer = startMaxTimeDeadline(opts.maxTime, () => deadline.abort(maxTimeStop));
      try {
        const jobOptions: GenerateJobOptions = {
          input,
          model: opts.model,
          output: opts.output,
          overwrite: opts.overwrite,
          resume: opts.resume,
          force: opts.force,
          signal: AbortSignal.any([interruption.signal, deadline.signal]),
          steps,
          batchSize: opts.batchSize,
          maxBatchTokens: opts.maxBatchTokens,
          maxMemory: opts.maxMemory,
          prefixCache: opts.prefixCache,
          tokenIds: opts.tokenIds,
          echoParams: opts.echoParams,
          format: opts.format,
          strict: opts.strict,
          ordered: opts.ordered,
          keepFields: opts.keepFields,
          shard: opts.shard ? parseShardSpec(opts.shard, process.env) : undefined,
          reportFile: report.file,
          reportFormat: report.format,
          ignoreFindings: opts.ignoreFinding,
          failOn: opts.failOn,
          flags: { ...generationFlagsOf(opts), escapeSpecialTokens: opts.escapeSpecialTokens },
          load: {
            threads: opts.threads,
            device: opts.device,
            runtime: opts.runtime,
            paddingSide: opts.paddingSide,
            derivedGraph: opts.derivedGraph,
            dtype: parseDtype(opts.dtype),
            revision: opts.revision,
            offline: opts.offline,
            hubUrl: opts.hubUrl,
            onProgress: downloads.onProgress,
            onWarning: (message) => log(`warning: ${message}`),
          },
          onProgress: (done, total) => {
            progress.update(done, total);
            timer.requestsDone(done);
          },
          onStart: (total) => {
            generating = true;
            progress.start(total);
          },
          onToken: () => progress.token(),
          beforeStdoutWrite: process.stdout.isTTY ? () => progress.clear() : undefined,
          log,
        };
        // A run-wide constraint xgrammar cannot compile is a usage error naming its flag, before the model loads.
        const constraintProblem = await defaultConstraintProblem(jobOptions.flags);
        if (constraintProblem) throw new UserError(`${constraintFlag(constraintProblem.param)} ${constraintProblem.message}`);
        if (opts.dryRun) {
          const dry = await runDryRun(jobOptions, (record) => process.stdout.write(`${JSON.stringify(record)}\n`));
          if (!opts.quiet) process.stderr.write(renderDryRun(dry));
          printRunSummary(dry.report, { quiet: opts.quiet, reportFile: report.file });
          process.exitCode = dry.exitCode;
          return;
        }
        const result = await runGenerateJob(jobOptions);
        progress.stop();
        if (result.report) printRunSummary(result.report, { quiet: opts.quiet, reportFile: report.file });
        if (result.interrupted) log(interruptedMessage(result, opts.output, input));
        process.exitCode = result.exitCode;
      } catch (error) {
        // `qwen-gen ... | head -1`: the reader has all it wants; stopping quietly is the expected outcome, not a failure.
        if (error instanceof OutputWriteError && error.brokenPipe) {
          process.exitCode = ExitCode.ok;
          return;
        }
        // Stopped before generating (a signal or --max-time while the input was still being read): nothing was written.
        if (error instanceof InputInterrupted && interruption.received === null && deadline.signal.aborted) {
          throw new UserError(`stopped by ${maxTimeStop.by} while reading the input: nothing was generated`, ExitCode.maxTime);
        }
        throw error;
      } finally {
        timer.clear();
        downloads.stop();
        progress.stop();
        // The handlers stay until the process exits (they do not keep it alive): a Ctrl-C during the wind-down then
        // exits 130 through our handler, never by the default signal action.
        void interruption;
      }
    });
}

/**
 * `generate` takes one input file. A first word that is not a file but close to a command name is a mistyped command
 * (`qwen-gen inpsect tiny`); more words than one are a usage error naming them.
 */
function checkOperands(operands: string[]): void {
  const [first, ...rest] = operands;
  if (first !== undefined && first !== '-' && !fs.existsSync(first)) {
    const command = closestName(first, COMMAND_NAMES);
    if (command !== undefined) throw new UserError(`unknown command '${first}'; did you mean '${command}'? (there is no input file ${first} either)`);
  }
  if (rest.length > 0) {
    throw new UserError(`too many arguments: generate takes one input file, got ${operands.map((operand) => `'${operand}'`).join(', ')} (commands: ${COMMAND_NAMES.join(', ')})`);
  }
}

function interruptedMessage(result: GenerateJobResult, output: string | undefined, input: string | undefined): string {
  const exit = result.report?.exit;
  const why = exit?.reason === 'max_time' ? `stopped by ${exit.stopped_by}` : 'interrupted';
  const notDone = `${why}: ${result.unfinished} request(s) not done (${result.written + result.failed} line(s) written by this run are complete)`;
  if (output === undefined) return `${notDone}; to be able to resume a run, write to a file with -o FILE`;
  const fromStdin = input === undefined || input === '-' ? ' (with the same input on stdin)' : '';
  return `${notDone}. To continue${fromStdin}, run:\n  ${resumeCommand(process.argv.slice(2))}`;
}

function collectFindingCode(code: string, previous: string[]): string[] {
  if (!(FINDING_CODES as string[]).includes(code)) {
    const meant = closestName(code, FINDING_CODES);
    const hint = meant !== undefined ? `; did you mean "${meant}"?` : ` (codes: ${FINDING_CODES.join(', ')})`;
    throw new InvalidArgumentError(`--ignore-finding: unknown finding code "${code}"${hint}`);
  }
  return [...previous, code];
}

/** --report FILE picks its format from the extension unless --report-format says; --report-format alone is a usage error. */
function reportOptions(opts: GenerateCliOptions): { file?: string; format: ReportFormat } {
  if (opts.reportFormat !== undefined && opts.report === undefined) {
    throw new UserError('--report-format needs --report FILE (the summary on stderr has no format option)');
  }
  const format = opts.reportFormat ?? (opts.report !== undefined && /\.(md|markdown)$/i.test(opts.report) ? 'markdown' : 'json');
  return { file: opts.report, format };
}
