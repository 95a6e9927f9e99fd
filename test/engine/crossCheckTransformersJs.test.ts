import * as path from 'node:path';
import { AutoModelForCausalLM, env, Tensor } from '@huggingface/transformers';
import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens } from '../helpers/greedyRun';
import { VARIED_MESSAGES } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';

// Independent cross-check: transformers.js's own generate() (its own session handling, masks and positions) on the same
// model folder must produce the same greedy tokens as qwen-gen for prompts run one at a time.
let dir: string;
let model: LoadedModel;

beforeAll(async () => {
  dir = await buildTestModel('crosscheck');
  model = await loadModel(dir);
});

afterAll(async () => {
  await model?.runner.release();
});

test('qwen-gen greedy tokens equal transformers.js generate({ do_sample: false }) for single prompts', async () => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(dir) + path.sep;
  const reference = await AutoModelForCausalLM.from_pretrained(path.basename(dir), { dtype: 'fp32' });
  const maxNewTokens = 16;
  const prompts = [1, 2, 3, 5, 8].map((i) => encodePrompt(model.tokenizer, { messages: VARIED_MESSAGES[i] }, { enableThinking: true }));
  const ours = await greedyTokens(model, prompts, { batchSize: 1, maxTokens: maxNewTokens });
  for (let i = 0; i < prompts.length; i++) {
    const ids = prompts[i];
    const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    const output = (await reference.generate({ input_ids, attention_mask, max_new_tokens: maxNewTokens, do_sample: false })) as Tensor;
    const theirs = Array.from(output.data as BigInt64Array, Number).slice(ids.length);
    expect(ours[i]).toEqual(theirs);
  }
  await reference.dispose();
});
