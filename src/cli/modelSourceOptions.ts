import { Command } from 'commander';

/** Where a model's files come from: shared by `generate` and `inspect`, declared by each (options are per command). */
export interface ModelSourceCliOptions {
  dtype: string;
  revision: string;
  offline?: boolean;
  hubUrl?: string;
}

export function addModelSourceOptions(command: Command): Command {
  return command
    .option('--dtype <dtype>', 'graph variant: fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4|auto (onnx/model{suffix}.onnx)', 'auto')
    .option('--revision <rev>', 'hub revision (branch, tag or commit)', 'main')
    .option('--offline', 'use only the local hub cache (also HF_HUB_OFFLINE=1)')
    .option('--hub-url <url>', 'hub or mirror base URL (also QWEN_GEN_HUB_URL or HF_ENDPOINT)');
}
