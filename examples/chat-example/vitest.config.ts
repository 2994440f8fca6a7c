import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@fastkit/source'] },
  ssr: { resolve: { conditions: ['@fastkit/source'] } },
  test: {
    name: 'chat-example',
    include: ['test/**/*.test.ts'],
    passWithNoTests: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
