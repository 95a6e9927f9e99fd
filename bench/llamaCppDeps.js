#!/usr/bin/env node
'use strict';
// node-llama-cpp, installed by the bench on demand into bench/.deps/ (git-ignored): never a dependency of the package,
// never installed by `npm ci`. Only the prebuilt CPU binary of this platform is installed (not the ~600 MB of optional
// CUDA/Vulkan packages), with install scripts blocked; `getLlama({ gpu: false, build: 'never' })` loads it and never
// compiles. Usage: node bench/llamaCppDeps.js install | status
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const NODE_LLAMA_CPP_VERSION = '3.22.1';
const DEPS_DIR = path.join(__dirname, '.deps');

/** The package holding this platform's prebuilt CPU binary (node-llama-cpp's optionalDependencies names). */
function prebuiltPackage(platform = process.platform, arch = process.arch) {
  const names = {
    'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'linux-arm': 'linux-armv7l',
    'darwin-arm64': 'mac-arm64-metal', 'darwin-x64': 'mac-x64', 'win32-x64': 'win-x64', 'win32-arm64': 'win-arm64',
  };
  const name = names[`${platform}-${arch}`];
  if (!name) throw new Error(`node-llama-cpp ships no prebuilt binary for ${platform}-${arch}`);
  return `@node-llama-cpp/${name}`;
}

/** Path of node-llama-cpp's entry file in bench/.deps, or null when it is not installed. */
function llamaCppModulePath(depsDir = DEPS_DIR) {
  const pkg = path.join(depsDir, 'node_modules', 'node-llama-cpp', 'package.json');
  if (!fs.existsSync(pkg)) return null;
  const entry = path.join(path.dirname(pkg), 'dist', 'index.js');
  return fs.existsSync(entry) ? entry : null;
}

function installedVersions(depsDir = DEPS_DIR) {
  const read = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(depsDir, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  let llamaCppRelease = null;
  try {
    llamaCppRelease = JSON.parse(fs.readFileSync(path.join(depsDir, 'node_modules', 'node-llama-cpp', 'llama', 'binariesGithubRelease.json'), 'utf8')).release;
  } catch {
    // older layouts: unknown
  }
  return { 'node-llama-cpp': read('node-llama-cpp'), [prebuiltPackage()]: read(prebuiltPackage()), 'llama.cpp release': llamaCppRelease };
}

/** Installs node-llama-cpp and this platform's prebuilt binary into `depsDir` (npm, scripts blocked, optional deps omitted). */
function installLlamaCpp({ depsDir = DEPS_DIR, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  fs.mkdirSync(depsDir, { recursive: true });
  const manifest = {
    name: 'qwen-gen-bench-deps',
    private: true,
    description: 'Bench-only tools, installed by bench/llamaCppDeps.js; not part of qwen-gen.',
    dependencies: { 'node-llama-cpp': NODE_LLAMA_CPP_VERSION, [prebuiltPackage()]: NODE_LLAMA_CPP_VERSION },
  };
  fs.writeFileSync(path.join(depsDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  log(`installing node-llama-cpp ${NODE_LLAMA_CPP_VERSION} and ${prebuiltPackage()} into ${depsDir} (no install scripts, no optional GPU packages)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: depsDir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (!llamaCppModulePath(depsDir)) throw new Error(`node-llama-cpp did not install into ${depsDir}`);
  return installedVersions(depsDir);
}

const INSTALL_HINT = 'node bench/llamaCppDeps.js install';

module.exports = { NODE_LLAMA_CPP_VERSION, DEPS_DIR, INSTALL_HINT, llamaCppModulePath, installLlamaCpp, installedVersions, prebuiltPackage };

if (require.main === module) {
  const command = process.argv[2] ?? 'status';
  if (command === 'install') {
    console.log(JSON.stringify(installLlamaCpp(), null, 2));
  } else if (command === 'status') {
    const entry = llamaCppModulePath();
    console.log(entry ? JSON.stringify(installedVersions(), null, 2) : `node-llama-cpp is not installed; run: ${INSTALL_HINT}`);
  } else {
    process.stderr.write(`usage: node bench/llamaCppDeps.js install|status\n`);
    process.exit(2);
  }
}
