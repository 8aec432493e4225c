import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run, naming the packages, when a Debian package the tests use is missing.
    globalSetup: ['test/support/test-deps.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: e2e tests spawn real gpg, sshd, nginx and whole releases.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
