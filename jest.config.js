/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // The packed-package test builds, packs and installs from the registry: `npm run test:package`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/package/'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 60000,
};
