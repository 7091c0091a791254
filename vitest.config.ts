import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration suites start real influxd/broker processes; their hooks and outage tests need room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Child processes (influxd) and native modules are safer in forked workers than in threads.
    pool: 'forks',
    fileParallelism: true,
    // Two files at a time even on two cores: most suites wait on sockets, child processes and timers, not the
    // CPU (a whole run: 6 minutes against 10 with vitest's one worker here, every test passing).
    maxWorkers: 2,
  },
});
