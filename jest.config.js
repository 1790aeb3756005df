// Four tiers, each runnable alone (`npm run test:unit|test:http|test:e2e|test:node`); `npm test`
// runs all. unit: pure, nothing listening. http: a real HTTPS server on a free port. e2e: a real
// kube-apiserver built from Go modules (test/e2e/controlplane). node: a real single-node cluster
// (kubelet, containerd) with pod-hardener installed, whose containers the tests look into.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'http', testMatch: ['<rootDir>/test/http/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
    },
    {
      // The one real node of this machine (`npm run cluster -- up`): started by the global setup
      // unless one runs already, removed by the global teardown if the setup started it.
      ...common,
      displayName: 'node',
      testMatch: ['<rootDir>/test/node/**/*.node.test.ts'],
      globalSetup: '<rootDir>/test/node/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/node/support/global-teardown.ts',
    },
  ],
  // Global, not per project (jest ignores it there). The e2e tier drives real processes; the
  // control plane's first build has its own, longer, timeout in beforeAll.
  testTimeout: 120000,
};
