/** Tests run against the TypeScript sources through ts-jest; CLI tests spawn bin/qwen-gen.js, which runs dist/ (built by `npm test`). */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/jestEnvironment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 2,
};
