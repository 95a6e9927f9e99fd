import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// The checkout's npm configuration: onnxruntime-node's CUDA download is skipped through package.json's allowScripts
// (npm 11 skips a dependency marked false, silently), not through an .npmrc key npm 11 does not know, which made every
// npm and npx command print "Unknown project config onnxruntime-node-install".
const ROOT = path.resolve(__dirname, '../..');

test('package.json denies the install scripts qwen-gen does not need; no npm command here warns about the project config', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.allowScripts).toEqual({ 'onnxruntime-node': false, koffi: false, protobufjs: false, '@parcel/watcher': false });
  // Every dependency with an install script in the lockfile is covered (a new one would run with a notice).
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([location]) => location.replace(/^.*node_modules\//, ''));
  for (const name of withScripts) expect(Object.keys(pkg.allowScripts)).toContain(name);
  const npm = spawnSync('npm', ['config', 'get', 'audit'], { cwd: ROOT, encoding: 'utf8' });
  expect(npm.status).toBe(0);
  expect(npm.stderr).not.toMatch(/Unknown project config/);
});
