import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { unescapeFlagText } from '../../src/cli/paramOptions';
import { BIN, parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel } from '../helpers/testModels';

// `--stop "\n\n"` as typed in bash reaches qwen-gen as a backslash and an n, twice: the flag reads \n, \t and \\ as a
// newline, a tab and one backslash, so the README's example stops where the user meant.
const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-stop-escapes');
});

/** The CLI through bash, with the flags written as a user types them in a shell script. */
function inBash(flags: string) {
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${JSON.stringify(FIXTURE)} -m ${JSON.stringify(modelDir)} --max-tokens 32 --echo-params -q ${flags}`;
  const result = spawnSync('bash', ['-c', command], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  expect(result.status).toBe(0);
  return parseJsonl(result.stdout);
}

test('unescapeFlagText: \\n, \\t, \\\\ read left to right; any other backslash stays as typed', () => {
  expect(unescapeFlagText('\\n\\n')).toBe('\n\n');
  expect(unescapeFlagText('a\\tb')).toBe('a\tb');
  expect(unescapeFlagText('\\\\n')).toBe('\\n'); // a backslash, then the letter n
  expect(unescapeFlagText('\\\\\\n')).toBe('\\\n');
  expect(unescapeFlagText('C:\\path\\x')).toBe('C:\\path\\x');
  expect(unescapeFlagText('END')).toBe('END');
});

test('--stop "\\n\\n" in bash stops at a blank line, cut exactly there; \'\\\\n\\\\n\' is a literal backslash-n', () => {
  // The same seeded run without a stop string: which outputs hold a blank line, and the text before it.
  const plain = parseJsonl(runCli([FIXTURE, '-m', modelDir, '--max-tokens', '32', '-q']).stdout);
  const withBlankLine = plain.filter((record) => typeof record.text === 'string' && record.text.includes('\n\n'));
  expect(withBlankLine.length).toBeGreaterThan(0); // else this test would prove nothing

  const stopped = inBash('--stop "\\n\\n"');
  for (const record of stopped) expect((record.params as { stop: string[] }).stop).toEqual(['\n\n']);
  for (const expected of withBlankLine) {
    const record = stopped.find((r) => r.id === expected.id)!;
    expect(record.finish_reason).toBe('stop');
    expect(record.stop).toBe('\n\n');
    expect(record.text).toBe((expected.text as string).slice(0, (expected.text as string).indexOf('\n\n')));
  }

  // Negative control: a literal backslash-n (single quotes keep both backslashes) matches no output.
  const literal = inBash("--stop '\\\\n\\\\n'");
  for (const record of literal) expect((record.params as { stop: string[] }).stop).toEqual(['\\n\\n']);
  for (const expected of withBlankLine) expect(literal.find((r) => r.id === expected.id)!.text).toBe(expected.text);
});
