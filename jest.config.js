// Tests are TypeScript run through swc as CommonJS; middy ships ESM only, so its
// files go through the same transform instead of being ignored.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
    module: { type: 'commonjs' },
  },
];

const common = {
  transform: { '^.+\\.(t|j)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  // middy's package exports only an `import` condition, which jest's CommonJS resolver skips.
  moduleNameMapper: {
    '^@middy/(core|util)$': '<rootDir>/node_modules/@middy/$1/index.js',
  },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/support/quiet-telemetry.ts'],
};

// The projects that talk to AWS start the emulator when none is running, and stop what they started,
// and evaluate every AWS call a function made against its role in the packaged template.
const withEmulator = {
  ...common,
  globalSetup: '<rootDir>/test/support/emulator-setup.ts',
  globalTeardown: '<rootDir>/test/support/emulator-teardown.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/iam/call-log-setup.ts'],
};

export default {
  // Jest reads the time limit from the top level only. The emulator is one shared process: under
  // load a round trip can take seconds, so a test gets 30 s unless it sets its own.
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...withEmulator, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...withEmulator, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // Randomized schedules, the bad-input corpus and the emulator restart (see docs/reliability.md).
    { ...withEmulator, displayName: 'reliability', testMatch: ['<rootDir>/test/reliability/**/*.test.ts'] },
    // The package as a user installs it: packed, installed from the npm cache into fresh projects,
    // type-checked, bundled, and a service made with `datasync init` (see docs/scaffold.md).
    { ...withEmulator, displayName: 'package', testMatch: ['<rootDir>/test/package/**/*.test.ts'] },
  ],
};
