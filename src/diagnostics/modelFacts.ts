import { ModelPlan } from '../engine/loadModel';

/** The parts of a loaded model the model-level findings read (a LoadedModel is one; tests may craft variants). */
export type ModelFacts = Pick<ModelPlan, 'folder' | 'graph' | 'tokens' | 'protocol' | 'fillTokenId' | 'tokenizer'> & Partial<Pick<ModelPlan, 'derived'>>;

/** The token's text as the tokenizer prints it, or undefined for an id outside the vocabulary. */
export function tokenText(model: Pick<ModelPlan, 'tokenizer'>, id: number): string | undefined {
  try {
    return model.tokenizer.decode([id], { skip_special_tokens: false });
  } catch {
    return undefined;
  }
}

/** `151643 "<|endoftext|>"`: an id with its text, for messages. */
export function describeToken(model: Pick<ModelPlan, 'tokenizer'>, id: number): string {
  const text = tokenText(model, id);
  return text === undefined ? String(id) : `${id} ${JSON.stringify(text)}`;
}
