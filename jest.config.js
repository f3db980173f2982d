// Tests are TypeScript run through swc as CommonJS, although the package is ES modules. Under
// jest's ESM mode (swc `module.type: 'es6'`, `extensionsToTreatAsEsm`, --experimental-vm-modules)
// the unit and integration projects pass too, but cost more CPU: 8.56 to 9.18 s (user + system) per
// `npx jest --selectProjects unit` against 5.84 to 6.13 s, five alternating runs each (+46 % on the
// means), and 47.2 s against 42.0 s for the integration project (+12 %), because jest compiles
// every module again for each test file and an ES module costs it more to compile and link.
// README "Tests" says how to repeat the measurement. middy ships ESM only, so its files go through
// the same transform instead of being ignored.
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
