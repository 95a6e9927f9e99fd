/** Tests run against the TypeScript sources through ts-jest; CLI tests spawn bin/qwen-gen.js, which runs dist/ (built by `npm test`). */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/jestEnvironment.js',
  // Removes the temp folders of killed test runs (test/helpers/staleTempDirs.ts).
  globalSetup: '<rootDir>/test/helpers/globalSetup.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 2,
  // A worker's event loop is empty when jest ends it (measured: its 'exit' event fires within 1 ms of jest's end message,
  // with no active handle and no 'message' listener), but the process teardown after that — unmapping the native memory
  // of the onnxruntime sessions its test files used, ~0.8–2.2 GB RSS by the end of a full run — took 330–390 ms at 800 MB
  // on this 2-core machine and longer at 2 GB, past jest's 500 ms default, which then reports "a worker process has failed
  // to exit gracefully". The time is spent after the worker has finished; nothing is left running.
  workerGracefulExitTimeout: 5000,
};
