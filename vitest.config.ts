import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: e2e tests spawn real gpg, sshd, nginx and whole releases.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
