import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@fastkit/source'] },
  ssr: { resolve: { conditions: ['@fastkit/source'] } },
  test: {
    name: 'fastkit',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
