import { Command, InvalidArgumentError, Option } from 'commander';
import { runGenerateJob } from '../../job/generateJob';
import { createProgress } from '../progress';

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

interface GenerateCliOptions {
  model: string;
  output?: string;
  overwrite: boolean;
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
  paddingSide?: 'left' | 'right';
}

export function registerGenerate(program: Command): void {
  program
    .argument('[input]', 'JSONL file of requests ("-" or omitted: read stdin)')
    .option('-m, --model <model>', `"tiny" (built-in offline model) or a model folder`, DEFAULT_MODEL)
    .option('-o, --output <file>', 'write completions to this file instead of stdout')
    .option('--overwrite', 'replace an existing output file', false)
    .option('-b, --batch-size <n>', 'rows decoded together at most', positiveInt('--batch-size'), 8)
    .option('--max-batch-tokens <n>', 'prompt tokens (pads included) per prefill step at most', positiveInt('--max-batch-tokens'))
    .option('--max-tokens <n>', 'default max_tokens per request (default 256)', positiveInt('--max-tokens'))
    .option('--greedy', 'greedy decoding by default (temperature 0)')
    .option('--no-thinking', "Qwen3 chat template with enable_thinking=false")
    .option('--temperature <t>', 'default temperature (0 = greedy; default from generation_config.json)', nonNegativeNumber('--temperature'))
    .option('--top-k <k>', 'default top_k (0 = off)', nonNegativeNumber('--top-k'))
    .option('--top-p <p>', 'default top_p', nonNegativeNumber('--top-p'))
    .option('--seed <n>', 'run seed, combined with each request id (default 0)', integer('--seed'))
    .option('--token-ids', 'add completion_token_ids to each output line', false)
    .option('--report <file>', 'write the diagnostics report (JSON) to this file')
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', positiveInt('--threads'))
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .addOption(new Option('--padding-side <side>', 'override the padding protocol chosen from the graph (diagnostic use)').choices(['left', 'right']))
    .action(async (input: string | undefined, opts: GenerateCliOptions) => {
      if (input === undefined && process.stdin.isTTY) {
        program.help({ error: true });
      }
      const progress = createProgress();
      try {
        process.exitCode = await runGenerateJob({
          input,
          model: opts.model,
          output: opts.output,
          overwrite: opts.overwrite,
          batchSize: opts.batchSize,
          maxBatchTokens: opts.maxBatchTokens,
          tokenIds: opts.tokenIds,
          reportFile: opts.report,
          flags: {
            maxTokens: opts.maxTokens,
            greedy: opts.greedy,
            enableThinking: opts.thinking === false ? false : undefined,
            temperature: opts.temperature,
            topK: opts.topK,
            topP: opts.topP,
            seed: opts.seed,
          },
          load: { threads: opts.threads, device: opts.device, paddingSide: opts.paddingSide },
          onProgress: (done, total, tokens) => progress.update(done, total, tokens),
          log: (message) => process.stderr.write(`qwen-gen: ${message}\n`),
        });
      } finally {
        progress.stop();
      }
    });
}
