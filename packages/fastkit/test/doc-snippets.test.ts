// Every TypeScript snippet users read compiles: the ```ts blocks of the READMEs and of every JSDoc
// @example in src/, typechecked under the package's strict settings, in one compiler program.
//
// The conventions, for whoever writes documentation:
// - Only ```ts / ```typescript blocks are checked; ```sh, ```json and the rest are text.
// - Each block is a module of its own. `fastkit`, `fastkit/testing` and `fastkit/client` are the package
//   sources; other imports resolve as in the package (zod, fastify, kysely, ws, vitest, …). Blocks sit
//   in the src/ folder of the README's example project, so `./migrations/index.js` is that project's.
// - A block may use, without importing them, the public names of fastkit's entry points (every
//   `exports` entry of package.json: fastkit, fastkit/testing, fastkit/client, …; an @example need
//   not import what it documents), and the names of test/fixtures/doc-snippets/prelude.ts: `app`,
//   `db`, `request`, `reply`, `uow`, `user`, `auth`, `url`, `session` (a browser's login), the
//   README's `DB`, `TaskRepository`, `TaskService` (with the README's operations), `TaskRouter`,
//   `TaskCreate`/`TaskUpdate`/`TaskRead`, `Task`, `MessageRepository`/`Message`, a request's repositories
//   `tasks`/`users`/`messages`, a chat's `chatId` and `lastSeenId`, `Config`, `Fastify`, `Kysely`, `sql`,
//   `z`, vitest's `describe`/`test`/`expect`…. Anything else a block uses, it declares or imports
//   (`declare const since: Date` is fine where the value comes from elsewhere). Add to the prelude
//   only what many examples share and a reader takes for granted.
//   Never write `*/` in a JSDoc example (it ends the comment): `// …` for elided code.
// - A block that is a README project file (its paragraph starts with `` `src/app.ts`: ``) is compiled
//   at that path next to the other project files, with nothing from the prelude.
// - Prefer an example that is whole statements. Where a fragment reads best, mark the fence:
//     ```ts class-body=Base      the block is the body of `class DocSnippet extends Base { … }`
//     ```ts method-body=Base     the body of `async docSnippet(): Promise<void> { … }` in such a class
//   `Base` is a prelude class or one the block imports. The marker is after the language, so Markdown
//   renderers and editors still highlight the block as TypeScript.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { packageDir, workspaceDir } from './install/tools.js'
import { checkSnippets, jsdocSnippets, markdownSnippets, type Snippet, type SnippetError } from './support/doc-snippets.js'

/**
 * Documentation of the CRUD spine (BaseRouter, BaseService, BaseRepository) being redesigned on the
 * spine-core branch (issue #12 items 1-5): its snippets are compiled but their errors do not fail the
 * run. An entry is a path prefix (`packages/fastkit/src/router/`) or a Markdown section
 * (`README.md#What a resource looks like`). Empty this list after merging spine-core; an entry whose
 * snippets all compile fails the run, so it cannot linger.
 */
const PENDING_SPINE_REDESIGN: readonly string[] = []

const MARKDOWN = ['README.md', 'packages/fastkit/README.md', 'examples/chat-example/README.md']
const PRELUDE = path.join(packageDir, 'test/fixtures/doc-snippets/prelude.ts')
/** The extractor's own fixtures: one good and one broken block of each kind. */
const SAMPLES = ['packages/fastkit/test/fixtures/doc-snippets/sample.md', 'packages/fastkit/test/fixtures/doc-snippets/sample-jsdoc.ts']

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  )
}

function snippetsOf(file: string): Snippet[] {
  const text = readFileSync(path.join(workspaceDir, file), 'utf8')
  return file.endsWith('.md') ? markdownSnippets(file, text) : jsdocSnippets(file, text)
}

function pendingEntryOf(snippet: Snippet): string | undefined {
  return PENDING_SPINE_REDESIGN.find((entry) => {
    const [file, section] = entry.split('#') as [string, string | undefined]
    return section === undefined ? snippet.file.startsWith(file) : snippet.file === file && snippet.section === section
  })
}

const describeError = (e: SnippetError) => `${e.at} TS${e.code}: ${e.message}`

let documented: Snippet[]
let samples: Snippet[]
let errors: SnippetError[]
let millis: number

beforeAll(() => {
  const sources = sourceFiles(path.join(packageDir, 'src')).map((f) => path.relative(workspaceDir, f))
  documented = [...MARKDOWN, ...sources].flatMap(snippetsOf)
  samples = SAMPLES.flatMap(snippetsOf)
  ;({ errors, millis } = checkSnippets([...documented, ...samples], PRELUDE))
  console.info(`doc snippets: ${documented.length} typechecked in ${Math.round(millis)} ms (one program)`)
}, 300_000) // one program: about 18 s of CPU, longer on a loaded machine

describe('documentation snippets', () => {
  test('every ts block of the READMEs and every JSDoc @example compiles', () => {
    expect(documented.length).toBeGreaterThan(150)
    const failing = errors.filter((e) => !SAMPLES.includes(e.snippet.file) && !pendingEntryOf(e.snippet)).map(describeError)
    expect(failing).toEqual([])
  })

  test('every PENDING_SPINE_REDESIGN entry still names snippets that fail (else remove it)', () => {
    const stale = PENDING_SPINE_REDESIGN.filter(
      (entry) => !errors.some((e) => pendingEntryOf(e.snippet) === entry) && documented.some((s) => pendingEntryOf(s) === entry),
    )
    expect(stale).toEqual([])
  })
})

describe('the snippet extractor', () => {
  test('finds the ts blocks of Markdown (not sh or json), with their lines, sections and markers', () => {
    const md = samples.filter((s) => s.file.endsWith('.md'))
    expect(md.map((s) => [s.where, s.section, s.wrap?.kind ?? null])).toEqual([
      ['packages/fastkit/test/fixtures/doc-snippets/sample.md:6', 'Good', null],
      ['packages/fastkit/test/fixtures/doc-snippets/sample.md:16', 'Good', 'method-body'],
      ['packages/fastkit/test/fixtures/doc-snippets/sample.md:20', 'Good', 'class-body'],
      ['packages/fastkit/test/fixtures/doc-snippets/sample.md:28', 'Broken', null],
    ])
  })

  test('finds the @example blocks of JSDoc', () => {
    const jsdoc = samples.filter((s) => s.file.endsWith('.ts'))
    expect(jsdoc.map((s) => s.where)).toEqual([
      'packages/fastkit/test/fixtures/doc-snippets/sample-jsdoc.ts:6',
      'packages/fastkit/test/fixtures/doc-snippets/sample-jsdoc.ts:15',
    ])
    expect(jsdoc[0]!.code).toBe("const { drained } = await closeGracefully(app, { deadlineMs: 5_000 })\nif (!drained) app.log.warn('requests were cut')")
  })

  test('reports exactly the broken blocks, at the line of the error in the documentation file', () => {
    const found = errors.filter((e) => SAMPLES.includes(e.snippet.file)).map((e) => `${e.at} TS${e.code}`)
    expect(found).toEqual([
      'packages/fastkit/test/fixtures/doc-snippets/sample.md:29 TS2322',
      'packages/fastkit/test/fixtures/doc-snippets/sample-jsdoc.ts:15 TS2561',
    ])
  })

  test('an unknown fence marker is an error, not a silently unchecked block', () => {
    expect(() => markdownSnippets('x.md', '```ts no-check\nconst a: number = "a"\n```\n')).toThrow(/unknown snippet marker/)
  })
})
