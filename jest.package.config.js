/** `npm run test:package`: the packed tarball, installed into an empty project (test/package/). */
/** @type {import('jest').Config} */
module.exports = {
  ...require('./jest.config'),
  roots: ['<rootDir>/test/package'],
  testPathIgnorePatterns: ['/node_modules/'],
};
