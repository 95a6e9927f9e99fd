import * as path from 'node:path';
import { AutoTokenizer, env, PreTrainedTokenizer } from '@huggingface/transformers';

export type Tokenizer = PreTrainedTokenizer;

/** Loads the model folder's tokenizer.json/tokenizer_config.json with transformers.js, strictly from disk. */
export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  const absolute = path.resolve(modelDir);
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(absolute) + path.sep;
  return AutoTokenizer.from_pretrained(path.basename(absolute));
}
