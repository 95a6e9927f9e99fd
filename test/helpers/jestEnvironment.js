// onnxruntime-node creates output tensors with the host realm's typed arrays, and onnxruntime-common (loaded inside jest's
// sandbox) checks them with `instanceof`: share the host's typed-array constructors with the sandbox so both agree.
//
// Tests that measure memory call `global.gc()`: jest's sandbox has no `gc` even when node runs with --expose-gc (the flag
// defines it on the host's global only), so the environment gives the sandbox one — the host's when node was started with
// --expose-gc, otherwise one obtained through the flag set at run time (a new context created after
// `v8.setFlagsFromString('--expose-gc')` has `gc`) — however jest is started (`npm test`, `npx jest FILE`).
//
// It also removes the temp folders a test file made (test/helpers/testModels.ts `tempDir`) when that file is done: left to
// the worker's exit, deleting hundreds of MB of test models outlasts jest's 500 ms grace period and jest reports "a
// worker process has failed to exit gracefully".
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

function exposedGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}

class OnnxFriendlyEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    this.global.gc = exposedGc();
    this.tempDirs = [];
    this.global.__qwenGenTempDirs = this.tempDirs;
  }

  async teardown() {
    await Promise.all(this.tempDirs.map((dir) => fs.promises.rm(dir, { recursive: true, force: true })));
    await super.teardown();
  }
}

module.exports = OnnxFriendlyEnvironment;
