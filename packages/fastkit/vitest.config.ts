import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@fastkit/source'] },
  ssr: { resolve: { conditions: ['@fastkit/source'] } },
  test: {
    name: 'fastkit',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Type tests: every `@ts-expect-error` in test/**/*.test-d.ts must be an error, every positive case
    // must compile, and every expectTypeOf must hold, or the run fails.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Files whose tests all need a server that is not configured register none (the run says so).
    passWithNoTests: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
