import { Finding } from './finding';
import { graphFindings, GraphFindingOptions } from './graphFindings';
import { ModelFacts } from './modelFacts';
import { tokenFindings } from './tokenFindings';

export type ModelFindingOptions = GraphFindingOptions;

/** Findings about the model alone (configs, tokenizer, graph), known before any request is read. */
export function modelFindings(model: ModelFacts, options: ModelFindingOptions = {}): Finding[] {
  return [...tokenFindings(model), ...graphFindings(model, options)];
}
