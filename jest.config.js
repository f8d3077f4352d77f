// jest runs in ESM mode (node --experimental-vm-modules): @kubernetes/client-node is ESM-only
// (kubernetes-client/javascript#2600). Unit tests of the cluster client import it; command tests run the built binary.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {'^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: 'tsconfig.json'}]},
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  modulePathIgnorePatterns: ['<rootDir>/release/'],
  testTimeout: 60_000,
  verbose: true,
  maxWorkers: 2,
}
