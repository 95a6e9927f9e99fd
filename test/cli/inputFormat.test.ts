import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// A JSON array or a CSV/TSV file is not read line by line (a partial run of the lines that happen to parse): one
// file-level error names the format and the command that converts it, exit 2, nothing generated.
let modelDir: string;
let work: string;
const REQUESTS = [
  { id: 'a', prompt: 'Hello' },
  { id: 'b', prompt: 'Bonjour, le monde' },
];

beforeAll(async () => {
  modelDir = await buildTestModel('cli-input-format');
  work = tempDir('cli-input-format');
});

/** Runs the conversion command the message gives, in `work`; returns false when its tool is not installed. */
function runConversion(message: string, tool: string): boolean {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return false;
  const command = /e\.g\.: (.*)$|convert it with: (.*)$/m.exec(message)!;
  const result = spawnSync('sh', ['-c', (command[1] ?? command[2]).trim()], { cwd: work, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return true;
}

test('a pretty-printed JSON array: one error with the jq command, nothing generated; the converted file runs', () => {
  const file = path.join(work, 'requests.json');
  // The second element is on one line of its own: read line by line, it alone would have been generated.
  fs.writeFileSync(file, `[\n  {\n    "id": "a",\n    "prompt": "Hello"\n  },\n  ${JSON.stringify(REQUESTS[1])}\n]\n`);
  const result = runCli(['requests.json', '-m', modelDir, '--greedy', '--max-tokens', '2'], { cwd: work });
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(
    "qwen-gen: requests.json is a JSON array (it starts with \"[\" and spans several lines), not JSONL (one JSON object per line); convert it with: jq -c '.[]' requests.json > requests.jsonl\n",
  );
  if (runConversion(result.stderr, 'jq')) {
    const converted = runCli(['requests.jsonl', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { cwd: work });
    expect(converted.status).toBe(0);
    expect(parseJsonl(converted.stdout).map((r) => r.id).sort()).toEqual(['a', 'b']);
  }
});

test.each([
  ['CSV', 'requests.csv', 'id,prompt\na,Hello\nb,"Bonjour, le monde"\n'],
  ['TSV', 'requests.tsv', 'id\tprompt\na\tHello\nb\tBonjour, le monde\n'],
])('%s: one error with a conversion command, nothing generated; the converted file runs', (format, name, text) => {
  fs.writeFileSync(path.join(work, name), text);
  const result = runCli([name, '-m', modelDir, '--greedy', '--max-tokens', '2'], { cwd: work });
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`qwen-gen: ${name} looks like ${format} (a header line "${text.split('\n')[0]}"), not JSONL`);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  if (runConversion(result.stderr, 'python3')) {
    const converted = runCli(['requests.jsonl', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { cwd: work });
    expect(converted.status).toBe(0);
    expect(parseJsonl(converted.stdout).map((r) => r.id).sort()).toEqual(['a', 'b']);
  }
});

test('the same on stdin; a JSONL file whose first line is a one-line array keeps its per-line error (negative control)', () => {
  const piped = runCli(['-m', modelDir, '--greedy', '--max-tokens', '2'], { input: `[\n${JSON.stringify(REQUESTS[0])}\n]\n` });
  expect(piped.status).toBe(2);
  expect(piped.stderr).toContain('the input on stdin is a JSON array');

  const jsonl = runCli(['-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { input: `[1, 2]\n${REQUESTS.map((r) => JSON.stringify(r)).join('\n')}\n` });
  expect(jsonl.status).toBe(1);
  const records = parseJsonl(jsonl.stdout);
  expect(records.find((r) => r.index === 0)?.error).toMatchObject({ code: 'not_an_object', line: 1 });
  expect(records.filter((r) => typeof r.text === 'string').map((r) => r.id).sort()).toEqual(['a', 'b']);
  // A JSONL file of one request with commas in it is JSONL, not CSV.
  const one = runCli(['-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { input: `${JSON.stringify({ id: 'x', prompt: 'a, b, c' })}\n` });
  expect(one.status).toBe(0);
});
