import { defineConfig } from 'vitest/config'

/**
 * The root test config. vitest 4 no longer discovers workspace files by itself, so this file *is* the
 * config: `pnpm test` runs `vitest run --config vitest.workspace.ts`.
 *
 * `DIALECTS=postgres,pglite` (default: both) narrows the database matrix; see README.md.
 */
export default defineConfig({
  test: {
    projects: ['packages/fastkit', 'examples/chat-example'],
  },
})
