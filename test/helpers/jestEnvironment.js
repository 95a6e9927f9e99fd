// onnxruntime-node creates output tensors with the host realm's typed arrays, and onnxruntime-common (loaded inside jest's
// sandbox) checks them with `instanceof`: share the host's typed-array constructors with the sandbox so both agree.
//
// It also removes the temp folders a test file made (test/helpers/testModels.ts `tempDir`) when that file is done: left to
// the worker's exit, deleting hundreds of MB of test models outlasts jest's 500 ms grace period and jest reports "a
// worker process has failed to exit gracefully".
const fs = require('node:fs');
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

if (process.env.QG_EXIT_LOG && !globalThis.__qgExitHooks) {
  globalThis.__qgExitHooks = true;
  const log = (what) => fs.appendFileSync(process.env.QG_EXIT_LOG, `${process.pid} ${what} ${Date.now()}\n`);
  const remove = process.removeListener.bind(process);
  process.removeListener = (event, fn) => {
    const result = remove(event, fn);
    if (event === 'message') {
      log('END listeners=' + process.listenerCount('message') + ' rss=' + Math.round(process.memoryUsage().rss / 1e6) + 'MB external=' + Math.round(process.memoryUsage().arrayBuffers / 1e6) + 'MB');
      setTimeout(() => log('STILL-ALIVE handles=' + process._getActiveHandles().map((h) => h.constructor.name).join(',')), 300).unref();
    }
    return result;
  };
  process.on('exit', () => log('EXIT'));
}

class OnnxFriendlyEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
    this.tempDirs = [];
    this.global.__qwenGenTempDirs = this.tempDirs;
  }

  async teardown() {
    await Promise.all(this.tempDirs.map((dir) => fs.promises.rm(dir, { recursive: true, force: true })));
    await super.teardown();
  }
}

module.exports = OnnxFriendlyEnvironment;
