// Tests are TypeScript run through swc as CommonJS; middy ships ESM only, so its
// files go through the same transform instead of being ignored.
const swc = ['@swc/jest', {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
  module: { type: 'commonjs' },
}];

const common = {
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  // middy's package exports only an `import` condition, which jest's CommonJS resolver skips.
  moduleNameMapper: {
    '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js',
  },
  testEnvironment: 'node',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // The emulator is one shared process: under load a round trip can take seconds, so tests
    // that talk to it get a wider default time limit than pure unit tests.
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], testTimeout: 30_000 },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], testTimeout: 120_000 },
    // Randomized schedules, the bad-input corpus and the emulator restart (see docs/reliability.md).
    { ...common, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.test.ts'], testTimeout: 300_000 },
  ],
};
