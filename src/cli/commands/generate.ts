import { RuntimeChoice } from '../../runtime/createRunner';
import { runtimeOption } from '../runtimeOption';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GenerateJobResult, OutputFormat, runGenerateJob } from '../../job/generateJob';
import { watchInterruptions } from '../../job/interruption';
import { OutputWriteError } from '../../output/outputWriteError';
import { FailOn } from '../../diagnostics/gate';
import { printRunSummary, ReportFormat } from '../../job/runDiagnostics';
import { parseDtype } from '../../model/dtype';
import { createDownloadProgress } from '../../model/modelSource';
import { parseByteSize } from '../../schedule/memoryBudget';
import { parseShardSpec } from '../../shard/shardSpec';
import { ExitCode } from '../../errors';
import { createProgress } from '../progress';
import { resumeCommand } from '../resumeCommand';

export const DEFAULT_MODEL = 'onnx-community/Qwen3-0.6B-ONNX';

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${value}"`);
    return n;
  };
}

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

function byteSize(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === null) throw new InvalidArgumentError(`--max-memory must be a size such as 4GB or 512MB, got "${value}"`);
  return bytes;
}

interface GenerateCliOptions {
  quiet?: boolean;
  reportFormat: ReportFormat;
  failOn: FailOn;
  dtype: string;
  revision: string;
  offline?: boolean;
  hubUrl?: string;
  maxMemory?: number;
  derivedGraph: boolean;
  model: string;
  output?: string;
  overwrite: boolean;
  resume: boolean;
  force: boolean;
  batchSize: number;
  maxBatchTokens?: number;
  maxTokens?: number;
  greedy?: boolean;
  thinking: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  tokenIds: boolean;
  report?: string;
  threads?: number;
  device: 'cpu' | 'cuda';
  runtime: RuntimeChoice;
  paddingSide?: 'left' | 'right';
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  minTokens?: number;
  stop?: string[];
  ignoreEos?: boolean;
  escapeSpecialTokens?: boolean;
  echoParams: boolean;
  format: OutputFormat;
  strict: boolean;
  shard?: string;
}

export function registerGenerate(program: Command): void {
  program
    .argument('[input]', 'JSONL file of requests ("-" or omitted: read stdin)')
    .option('-m, --model <model>', `"tiny" (built-in offline model) or a model folder`, DEFAULT_MODEL)
    .option('--dtype <dtype>', 'graph variant: fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4|auto (onnx/model{suffix}.onnx)', 'auto')
    .option('--revision <rev>', 'hub revision (branch, tag or commit)', 'main')
    .option('--offline', 'use only the local hub cache (also HF_HUB_OFFLINE=1)')
    .option('--hub-url <url>', 'hub or mirror base URL (also QWEN_GEN_HUB_URL or HF_ENDPOINT)')
    .option('-o, --output <file>', 'write completions to this file instead of stdout')
    .option('--overwrite', 'replace an existing output file', false)
    .option('--resume', 'continue -o FILE: keep its complete lines, generate only the ids not done yet (error records are retried)', false)
    .option('--force', 'with --resume: accept existing lines generated with other settings', false)
    .option('-b, --batch-size <n>', 'rows decoded together at most', positiveInt('--batch-size'), 8)
    .option('--max-batch-tokens <n>', 'prompt tokens (pads included) per prefill step at most', positiveInt('--max-batch-tokens'))
    .option('--max-memory <size>', 'memory for KV cache, logits and activations, e.g. 4GB (default: half of free memory)', byteSize)
    .option('--no-derived-graph', 'run the original graph even when it computes logits for every prompt position')
    .option('--max-tokens <n>', 'default max_tokens per request (default 256)', positiveInt('--max-tokens'))
    .option('--greedy', 'greedy decoding by default (temperature 0)')
    .option('--no-thinking', "Qwen3 chat template with enable_thinking=false")
    .option('--temperature <t>', 'default temperature (0 = greedy; default from generation_config.json)', nonNegativeNumber('--temperature'))
    .option('--top-k <k>', 'default top_k (0 = off)', nonNegativeNumber('--top-k'))
    .option('--top-p <p>', 'default top_p', nonNegativeNumber('--top-p'))
    .option('--min-p <p>', 'default min_p (0 = off)', nonNegativeNumber('--min-p'))
    .option('--repetition-penalty <x>', 'default repetition_penalty (1 = off)', nonNegativeNumber('--repetition-penalty'))
    .option('--presence-penalty <x>', 'default presence_penalty', Number)
    .option('--frequency-penalty <x>', 'default frequency_penalty', Number)
    .option('--min-tokens <n>', 'default min_tokens', nonNegativeNumber('--min-tokens'))
    .option('--stop <text...>', 'default stop strings')
    .option('--ignore-eos', 'keep generating past eos tokens (benchmarks)')
    .option('--seed <n>', 'run seed, combined with each request id (default 0)', integer('--seed'))
    .option('--escape-special-tokens', 'tokenize special-token text typed inside user content as plain text')
    .option('--echo-params', 'add the effective parameters of each request to its output line', false)
    .addOption(new Option('--format <format>', 'output line format (auto: openai when the input is OpenAI Batch lines)').choices(['auto', 'qwen-gen', 'openai']).default('auto'))
    .option('--strict', 'validate the whole input first and stop before generating if any line is bad', false)
    .option('--shard <K/N>', 'process only shard K of N (0-based; auto/N reads the index from the environment)')
    .option('--token-ids', 'add completion_token_ids to each output line', false)
    .option('-q, --quiet', 'no end-of-run summary on stderr (warnings and errors are still printed)')
    .option('--report <file>', 'write the diagnostics report to this file (JSON; see --report-format)')
    .addOption(new Option('--report-format <format>', 'report file format').choices(['json', 'markdown']).default('json'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when findings at this severity exist').choices(['never', 'warning', 'error']).default('error'))
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', positiveInt('--threads'))
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .addOption(runtimeOption())
    .addOption(new Option('--padding-side <side>', 'override the padding protocol chosen from the graph (diagnostic use)').choices(['left', 'right']))
    .action(async (input: string | undefined, opts: GenerateCliOptions) => {
      if (input === undefined && process.stdin.isTTY) {
        program.help({ error: true });
      }
      const log = (message: string) => process.stderr.write(`qwen-gen: ${message}\n`);
      const interruption = watchInterruptions(log);
      const progress = createProgress();
      const downloads = createDownloadProgress();
      try {
        const result = await runGenerateJob({
          input,
          model: opts.model,
          output: opts.output,
          overwrite: opts.overwrite,
          resume: opts.resume,
          force: opts.force,
          signal: interruption.signal,
          batchSize: opts.batchSize,
          maxBatchTokens: opts.maxBatchTokens,
          maxMemory: opts.maxMemory,
          tokenIds: opts.tokenIds,
          echoParams: opts.echoParams,
          format: opts.format,
          strict: opts.strict,
          shard: opts.shard ? parseShardSpec(opts.shard, process.env) : undefined,
          reportFile: opts.report,
          reportFormat: opts.reportFormat,
          failOn: opts.failOn,
          flags: {
            maxTokens: opts.maxTokens,
            greedy: opts.greedy,
            enableThinking: opts.thinking === false ? false : undefined,
            temperature: opts.temperature,
            topK: opts.topK,
            topP: opts.topP,
            seed: opts.seed,
            minP: opts.minP,
            repetitionPenalty: opts.repetitionPenalty,
            presencePenalty: opts.presencePenalty,
            frequencyPenalty: opts.frequencyPenalty,
            minTokens: opts.minTokens,
            stop: opts.stop,
            ignoreEos: opts.ignoreEos,
            escapeSpecialTokens: opts.escapeSpecialTokens,
          },
          load: {
            threads: opts.threads,
            device: opts.device,
            runtime: opts.runtime,
            paddingSide: opts.paddingSide,
            gatherLogits: opts.derivedGraph,
            dtype: parseDtype(opts.dtype),
            revision: opts.revision,
            offline: opts.offline,
            hubUrl: opts.hubUrl,
            onProgress: downloads.onProgress,
            onWarning: (message) => log(`warning: ${message}`),
          },
          onProgress: (done, total, tokens) => progress.update(done, total, tokens),
          log,
        });
        progress.stop();
        if (result.report && !opts.quiet) printRunSummary(result.report);
        if (result.interrupted) log(interruptedMessage(result, opts.output, input));
        process.exitCode = result.exitCode;
      } catch (error) {
        // `qwen-gen ... | head -1`: the reader has all it wants; stopping quietly is the expected outcome, not a failure.
        if (error instanceof OutputWriteError && error.brokenPipe) {
          process.exitCode = ExitCode.ok;
          return;
        }
        throw error;
      } finally {
        downloads.stop();
        progress.stop();
        interruption.dispose();
      }
    });
}

function interruptedMessage(result: GenerateJobResult, output: string | undefined, input: string | undefined): string {
  const notDone = `interrupted: ${result.unfinished} request(s) not done (${result.written + result.failed} line(s) written by this run are complete)`;
  if (output === undefined) return `${notDone}; to be able to resume a run, write to a file with -o FILE`;
  const fromStdin = input === undefined || input === '-' ? ' (with the same input on stdin)' : '';
  return `${notDone}. To continue${fromStdin}, run:\n  ${resumeCommand(process.argv.slice(2))}`;
}
