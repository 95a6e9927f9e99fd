import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { addGenerationParamOptions } from '../../src/cli/paramOptions';
import { parseRequestLine } from '../../src/input/parseRequest';
import { echoedParams } from '../../src/job/preparedRequest';
import { requestSettings, resolveDefaults } from '../../src/job/generationDefaults';
import { GENERATION_PARAMS, flagName } from '../../src/params/generationParams';
import { paramTableMarkdown, withParamTable } from '../../src/params/paramTableMarkdown';

const README = path.resolve(__dirname, '../../README.md');

test('README.md holds the generation-parameter table exactly as the code renders it (npm run docs:params)', () => {
  const readme = fs.readFileSync(README, 'utf8');
  expect(readme).toContain(paramTableMarkdown());
  expect(withParamTable(readme)).toBe(readme);
});

test('every parameter with a CLI flag is a commander option of generate, and nothing else is', () => {
  const command = addGenerationParamOptions(new Command());
  const longs = command.options.map((o) => o.long);
  for (const spec of GENERATION_PARAMS) if (spec.cli) expect(longs).toContain(flagName(spec.cli));
  expect(longs.sort()).toEqual([...GENERATION_PARAMS.filter((s) => s.cli).map((s) => flagName(s.cli!)), '--greedy'].sort());
});

test('--echo-params names every parameter of the table (plus the run seed)', () => {
  const settings = requestSettings(resolveDefaults(null, {}), {});
  expect(Object.keys(echoedParams(settings)).sort()).toEqual([...GENERATION_PARAMS.map((s) => s.name), 'run_seed'].sort());
});

test('every parameter is accepted in a JSONL line and in an OpenAI Batch body under the fields the table names', () => {
  const base: Record<string, unknown> = {
    max_tokens: 5, min_tokens: 1, temperature: 0.5, top_k: 3, top_p: 0.9, min_p: 0.1, repetition_penalty: 1.1,
    presence_penalty: 0.5, frequency_penalty: -0.5, seed: 3, stop: ['x'], stop_token_ids: [1], ignore_eos: true,
    logprobs: 2, n: 2, enable_thinking: false, include_stop_str_in_output: true, json_any_whitespace: true,
  };
  // A request takes one output constraint: each goes on a line of its own.
  const constraints: Record<string, unknown>[] = [
    { response_format: { type: 'json_schema', json_schema: { name: 'p', schema: { type: 'object' }, strict: true } } },
    { guided_json: { type: 'array' } },
    { guided_regex: '[a-z]+' },
    { guided_choice: ['a', 'b'] },
    { guided_grammar: 'root ::= "a"' },
  ];
  const covered = [...Object.keys(base), ...constraints.flatMap((c) => Object.keys(c))];
  expect(covered.sort()).toEqual(GENERATION_PARAMS.map((s) => s.name).sort());
  for (const constraint of constraints) {
    const sample = { ...base, ...constraint };
    const line = parseRequestLine(JSON.stringify({ id: 1, prompt: 'p', ...sample }), 1, 0);
    expect(line.ok && line.request.params).toEqual(sample);
    const body: Record<string, unknown> = { messages: [{ role: 'user', content: 'x' }], ...sample, logprobs: true, top_logprobs: 2 };
    const openai = parseRequestLine(JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body }), 1, 0);
    expect(openai.ok && openai.request.params).toEqual(sample);
  }
});
