import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/testModels';

// The README's "Programmatic use" snippet, taken from the README itself and run as pasted with node, against the
// package as `require('qwen-gen')` finds it (this checkout, linked into a fresh folder's node_modules; dist/ is built by
// `npm test`) and the built-in tiny model (built into a temporary cache).
const ROOT = path.resolve(__dirname, '../..');

function readmeSnippet(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Programmatic use'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md: no js block under "## Programmatic use"');
  return match[1];
}

test('the README snippet runs as pasted: records of both requests, the report, the model report', () => {
  const work = tempDir('api-readme');
  fs.mkdirSync(path.join(work, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(work, 'node_modules', 'qwen-gen'), 'dir');
  fs.writeFileSync(path.join(work, 'snippet.js'), readmeSnippet());
  const result = spawnSync(process.execPath, ['snippet.js'], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', QWEN_GEN_TINY_DIR: path.join(work, 'tiny') },
  });
  expect(result.stderr).not.toMatch(/Error|error:/);
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines.filter((line) => /^q[12] /.test(line)).map((line) => line.slice(0, 2)).sort()).toEqual(['q1', 'q2']);
  expect(lines[lines.length - 1]).toBe('plain'); // inspect('tiny'): the tiny model's attention kind
  expect(result.stderr).toMatch(/reason: 'completed'/); // onReport printed the run's exit
});
