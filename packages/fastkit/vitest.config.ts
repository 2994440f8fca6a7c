import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@fastkit/source'] },
  ssr: { resolve: { conditions: ['@fastkit/source'] } },
  test: {
    name: 'fastkit',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Files whose tests all need a server that is not configured register none (the run says so).
    passWithNoTests: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
