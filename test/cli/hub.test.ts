import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, CliResult, parseJsonl } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';
import { HubServer } from '../helpers/hubServer';

// `-m org/name` through the real CLI against a loopback server speaking the hub's URL layout: first run downloads and
// caches, a second run with --offline uses the cache alone, and both give the output of the same model as a local folder.
let hub: HubServer;
let modelDir: string;
let cache: string;
const PROMPTS = path.resolve(__dirname, '../../fixtures/prompts.jsonl');

/** The CLI in a child process, without blocking this process's event loop (the server must answer meanwhile). */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  modelDir = await buildTestModel('hub-cli', { variants: ['fp32', 'q4'] });
  cache = tempDir('hub-cli-cache');
  hub = await HubServer.start();
  hub.serve('qwen-test/tiny-qwen3', modelDir);
});

afterAll(async () => {
  await hub?.stop();
});

test('-m org/name --dtype q4 downloads through the hub layout, caches, and --offline then reads only the cache', async () => {
  const env = { QWEN_GEN_CACHE: cache, HF_HUB_OFFLINE: '' };
  const args = [PROMPTS, '--greedy', '--max-tokens', '5', '--token-ids'];
  const online = await runCliAsync([...args, '-m', 'qwen-test/tiny-qwen3', '--hub-url', hub.url, '--dtype', 'q4'], env);
  expect(online.status).toBe(0);
  expect(hub.downloads('qwen-test/tiny-qwen3')).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/model_q4.onnx']));
  expect(hub.downloads('qwen-test/tiny-qwen3')).not.toContain('onnx/model.onnx');
  const requestsAfterFirst = hub.requests.length;

  const offline = await runCliAsync([...args, '-m', 'qwen-test/tiny-qwen3', '--offline', '--dtype', 'q4'], env);
  expect(offline.status).toBe(0);
  expect(hub.requests.length).toBe(requestsAfterFirst);

  const local = await runCliAsync([...args, '-m', modelDir, '--dtype', 'q4'], env);
  const tokens = (text: string) => Object.fromEntries(parseJsonl(text).map((r) => [String(r.id), r.completion_token_ids]));
  expect(tokens(online.stdout)).toEqual(tokens(local.stdout));
  expect(tokens(offline.stdout)).toEqual(tokens(local.stdout));
});

test('a model missing on the hub gives a clear error and exit 2, and nothing half-written in the cache', async () => {
  const env = { QWEN_GEN_CACHE: cache };
  const result = await runCliAsync([PROMPTS, '-m', 'qwen-test/absent', '--hub-url', hub.url], env);
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/qwen-test\/absent/);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const leftovers = fs.existsSync(path.join(cache, 'hub')) ? fs.readdirSync(path.join(cache, 'hub'), { recursive: true }).map(String) : [];
  expect(leftovers.filter((f) => /\.(tmp|partial)|incomplete/.test(f))).toEqual([]);
});
