'use strict';

/** Requests whose generated tokens are identical in two runs, keyed by request id; where the others first differ. */
function tokenAgreement(outputsA, outputsB) {
  const byId = new Map(outputsB.map((o) => [o.id, o.tokens]));
  let identical = 0;
  let compared = 0;
  const firstDifferences = [];
  for (const a of outputsA) {
    const b = byId.get(a.id);
    if (!b) continue;
    compared++;
    const length = Math.max(a.tokens.length, b.length);
    let i = 0;
    while (i < length && a.tokens[i] === b[i]) i++;
    if (i === length) identical++;
    else firstDifferences.push(i);
  }
  return { identical, compared, first_difference_positions: firstDifferences };
}

/** Why a run's outputs do not match its workload: a missing request, another prompt length, another token count. */
function outputProblems(requests, outputs) {
  const byId = new Map(outputs.map((o) => [o.id, o]));
  const problems = [];
  for (const request of requests) {
    const output = byId.get(request.id);
    if (!output) problems.push(`${request.id}: no output`);
    else if (output.promptTokens !== request.promptTokens) problems.push(`${request.id}: ${output.promptTokens} prompt tokens, the workload says ${request.promptTokens}`);
    else if (output.tokens.length !== request.maxTokens) problems.push(`${request.id}: ${output.tokens.length} tokens generated, max_tokens is ${request.maxTokens}`);
  }
  return problems;
}

/** Positions a request really needs: its prompt, then one per generated token except the last (never fed back). */
function realPositions(requests) {
  return requests.reduce((sum, r) => sum + r.promptTokens + r.maxTokens - 1, 0);
}

module.exports = { tokenAgreement, outputProblems, realPositions };
