// fastkit as a stranger gets it: the packed tarball passes the package linters, and the project the
// README describes (its package.json, tsconfig.json and every source and test file, read from the
// README itself) installs with plain npm into a fresh folder outside this workspace, compiles under
// `strict`, runs under plain node and under tsx, serves its routes over real HTTP, and passes its own
// vitest suite.
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTestDatabase, dialectsUnderTest, testServerUrl } from '../src/testing/index.js'
import {
  cleanEnv,
  describeRun,
  packageDir,
  packFastkit,
  rangeAllows,
  readmeFiles,
  README_PROJECT_FILES,
  readmePath,
  run,
  startServer,
  workspaceVersion,
  type PackedPackage,
  type RunResult,
} from './install/tools.js'

const MINUTE = 60_000
/** fastkit's peers: the README's project must list each of them. */
const PEERS = ['fastify', 'kysely', 'pg', 'zod', '@electric-sql/pglite'] as const

let packed: PackedPackage
let project: string
let files: Map<string, string>
let readmeManifest: Json
let publint: RunResult
let attw: RunResult
let typecheckTests: RunResult
const timings: Record<string, number> = {}

beforeAll(async () => {
  files = readmeFiles(await fs.readFile(readmePath, 'utf8'))
  for (const file of README_PROJECT_FILES) if (!files.has(file)) throw new Error(`README.md shows no ${file}`)
  packed = await packFastkit()
  timings.pack = packed.millis
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'fastkit-install-'))

  // The README's files, as written. Only the dependency versions are pinned to the exact ones this
  // workspace tests with (a test asserts the README's ranges allow them), so npm can install offline.
  readmeManifest = JSON.parse(files.get('package.json')!) as Json
  const manifest = structuredClone(readmeManifest)
  for (const group of ['dependencies', 'devDependencies'] as const) {
    for (const name of Object.keys(manifest[group] ?? {})) {
      if (name !== 'fastkit') manifest[group][name] = await workspaceVersion(name)
    }
  }
  for (const [file, text] of files) {
    await fs.mkdir(path.dirname(path.join(project, file)), { recursive: true })
    await fs.writeFile(path.join(project, file), file === 'package.json' ? JSON.stringify(manifest, null, 2) : text)
  }
  // The tarball where the README's `"fastkit": "file:fastkit-<version>.tgz"` expects it.
  await fs.copyFile(packed.tarball, path.join(project, `fastkit-${(packed.manifest as Json).version}.tgz`))

  // The linters read only the tarball, so they run while npm installs.
  const bin = (name: string) => path.join(packageDir, 'node_modules', '.bin', name)
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: project,
    timeoutMs: 4 * MINUTE,
  })
  ;[publint, attw] = await Promise.all([
    run(bin('publint'), [packed.tarball, '--strict'], { cwd: packageDir, timeoutMs: 2 * MINUTE }),
    run(bin('attw'), [packed.tarball, '--profile', 'esm-only', '--format', 'json'], { cwd: packageDir, timeoutMs: 2 * MINUTE }),
  ])
  const installed = await install
  timings.npmInstall = installed.millis
  if (installed.code !== 0) throw new Error(describeRun(`npm install in ${project}`, installed))

  // The app as `npm run build` compiles it, and the tests under the same strict settings (vitest does
  // not typecheck): a config of the test's own that adds test/ and emits nothing.
  await fs.writeFile(
    path.join(project, 'tsconfig.typecheck.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: ['src', 'test'] }),
  )
  const tsc = path.join(project, 'node_modules/typescript/bin/tsc')
  const started = Date.now()
  const [compiled, checked] = await Promise.all([
    run('npm', ['run', 'build', '--silent'], { cwd: project, timeoutMs: 3 * MINUTE }),
    run(process.execPath, [tsc, '-p', 'tsconfig.typecheck.json'], { cwd: project, timeoutMs: 3 * MINUTE }),
  ])
  timings.tsc = Date.now() - started
  typecheckTests = checked
  if (compiled.code !== 0) throw new Error(describeRun('npm run build (tsc, strict) in the installed project', compiled))
}, 10 * MINUTE)

afterAll(async () => {
  console.log(`[package-tarball] timings (ms): ${JSON.stringify(timings)}`)
  await packed?.cleanup()
  if (project) await fs.rm(project, { recursive: true, force: true })
})

describe('the packed tarball', () => {
  test('holds the built ESM and declarations, the sources they map to, and the docs; nothing else', () => {
    const outside = packed.files.filter((f) => !/^(dist|src)\//.test(f) && !['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(f))
    expect(outside).toEqual([])
    for (const entry of ['dist/index.js', 'dist/index.d.ts', 'dist/extend.js', 'dist/extend.d.ts', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'dist/client/index.js', 'dist/client/index.d.ts']) {
      expect(packed.files).toContain(entry)
    }
    for (const doc of ['README.md', 'CHANGELOG.md', 'LICENSE']) expect(packed.files).toContain(doc)
    // Every compiled module comes with its declarations.
    const js = packed.files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
    expect(js.filter((f) => !packed.files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([])
    expect(packed.files.filter((f) => /\.test\.|\/test\//.test(f))).toEqual([])
  })

  test('its manifest is a publishable 0.1.0 with no workspace links', () => {
    const m = packed.manifest as Record<string, any>
    expect(m).toMatchObject({ name: 'fastkit', version: '0.1.0', type: 'module', license: 'MIT' })
    expect(JSON.stringify(m)).not.toMatch(/workspace:|link:|file:/)
    expect(m.engines.node).toMatch(/^>=\s*20/)
    // Types first after the in-repo source condition, for both public entry points.
    for (const entry of ['.', './extend', './testing', './client']) {
      expect(Object.keys(m.exports[entry])).toEqual(['@fastkit/source', 'types', 'import'])
    }
    for (const peer of PEERS) expect(m.peerDependencies[peer], peer).toBeDefined()
    for (const peer of PEERS) expect(m.dependencies?.[peer], `${peer} is a peer, not a dependency`).toBeUndefined()
  })

  test('publint (strict) finds nothing to fix', () => {
    expect(publint.code, describeRun('publint', publint)).toBe(0)
    expect(publint.stdout).toMatch(/All good/)
  })

  test('are-the-types-wrong: every entry point resolves to its declarations for ESM consumers', () => {
    expect(attw.code, describeRun('attw', attw)).toBe(0)
    const { analysis } = JSON.parse(attw.stdout) as { analysis: Json }
    // fastkit is ESM-only: require() and node10 resolution are out of scope (the esm-only profile).
    const outOfScope = ['node10', 'node16-cjs']
    const problems = (analysis.problems as Json[]).filter((p) => !outOfScope.includes(p.resolutionKind))
    expect(problems).toEqual([])
    for (const [entry, file] of [['.', 'dist/index.d.ts'], ['./extend', 'dist/extend.d.ts'], ['./testing', 'dist/testing/index.d.ts'], ['./client', 'dist/client/index.d.ts']] as const) {
      for (const kind of ['node16-esm', 'bundler']) {
        const resolution = analysis.entrypoints[entry].resolutions[kind]
        expect(resolution.resolution.fileName, `${entry} under ${kind}`).toBe(`/node_modules/fastkit/${file}`)
        expect(resolution.implementationResolution.fileName).toBe(`/node_modules/fastkit/${file.replace(/\.d\.ts$/, '.js')}`)
      }
    }
  })
})

type Json = Record<string, any>

/** Drives the README's tasks API the way a client would: every generated route, a custom one, and a login. */
async function exerciseTasksApi(base: string): Promise<string[]> {
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (text ? JSON.parse(text) : null) as Json }
  }

  const created = await call('POST', '/tasks', { title: '  write the docs ', sneaky: 'dropped' })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  expect(Object.keys(created.body).sort()).toEqual(['createdAt', 'done', 'id', 'title'])
  expect(created.body).toMatchObject({ title: 'write the docs', done: false })
  const id = created.body.id as string
  const second = await call('POST', '/tasks', { title: 'ship it', done: true })
  expect(second.status).toBe(201)

  const invalid = await call('POST', '/tasks', { title: '' })
  expect(invalid.status).toBe(400)
  expect(invalid.type).toMatch(/application\/problem\+json/)
  expect(invalid.body).toMatchObject({ code: 'VALIDATION_FAILED' })
  expect(invalid.body.errors.map((e: Json) => e.path)).toEqual(['body.title'])

  const duplicate = await call('POST', '/tasks', { title: 'write the docs' })
  expect(duplicate.status).toBe(409)
  expect(duplicate.body).toMatchObject({ code: 'CONFLICT' })

  expect(await call('GET', `/tasks/${id}`)).toMatchObject({ status: 200, body: created.body })
  expect((await call('GET', '/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404)
  expect((await call('GET', '/tasks/not-a-uuid')).status).toBe(400)

  const open = await call('GET', '/tasks?done=false&count=true')
  expect(open.status).toBe(200)
  expect(open.body).toMatchObject({ items: [{ id }], nextCursor: null, total: 1 })
  const firstPage = await call('GET', '/tasks?sort=title&limit=1')
  expect(firstPage.body.items.map((t: Json) => t.title)).toEqual(['ship it'])
  const nextPage = await call('GET', `/tasks?sort=title&limit=1&cursor=${encodeURIComponent(firstPage.body.nextCursor)}`)
  expect(nextPage.body).toMatchObject({ items: [{ title: 'write the docs' }], nextCursor: null })
  expect((await call('GET', '/tasks?owner=me')).status).toBe(400)

  expect(await call('GET', '/tasks/stats')).toMatchObject({ status: 200, body: { open: 1 } })

  const finished = await call('PATCH', `/tasks/${id}`, { done: true })
  expect(finished).toMatchObject({ status: 200, body: { id, title: 'write the docs', done: true } })
  // The service's business rule, raised as a ConflictError from an overridden hook.
  const renamed = await call('PATCH', `/tasks/${id}`, { title: 'something else' })
  expect(renamed).toMatchObject({ status: 409, body: { detail: 'A finished task cannot be renamed' } })
  expect(await call('PUT', `/tasks/${second.body.id}`, { title: 'ship it', done: false })).toMatchObject({ status: 200, body: { done: false } })

  const removed = await call('DELETE', `/tasks/${second.body.id}`)
  expect(removed.status).toBe(204)
  expect((await call('GET', `/tasks/${second.body.id}`)).status).toBe(404)

  const openapi = await call('GET', '/openapi.json')
  expect(openapi.status).toBe(200)
  expect(Object.keys(openapi.body.paths).sort()).toEqual([
    '/auth/login',
    '/auth/logout',
    '/auth/me',
    '/auth/refresh',
    '/auth/register',
    '/tasks',
    '/tasks/stats',
    '/tasks/{id}',
  ])
  expect(openapi.body.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe('/auth/login')

  // An account, logged in through the form Swagger UI's Authorize sends, over real HTTP.
  expect((await call('POST', '/auth/register', { username: 'alice', password: 'correct horse' })).status).toBe(201)
  const form = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=password&username=alice&password=correct+horse',
  })
  expect(form.status).toBe(200)
  const { access_token: token } = (await form.json()) as Json
  const me = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${token}` } })
  expect(await me.json()).toMatchObject({ username: 'alice' })
  return [id]
}

describe("the README's project", () => {
  test('is the files the README shows, with the package.json and tsconfig.json a stranger needs', () => {
    expect([...files.keys()].sort()).toEqual([...README_PROJECT_FILES].sort())
    expect(readmeManifest.type).toBe('module')
    expect(readmeManifest.dependencies.fastkit).toBe(`file:fastkit-${(packed.manifest as Json).version}.tgz`)
    for (const peer of PEERS) expect(readmeManifest.dependencies[peer], peer).toBeDefined()
    const tsconfig = JSON.parse(files.get('tsconfig.json')!) as Json
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, module: 'NodeNext', skipLibCheck: true })
    expect(tsconfig.compilerOptions).not.toHaveProperty('experimentalDecorators')
  })

  test('asks for the versions fastkit is tested with', async () => {
    for (const group of ['dependencies', 'devDependencies'] as const) {
      for (const [name, range] of Object.entries(readmeManifest[group] as Record<string, string>)) {
        if (name === 'fastkit') continue
        const tested = await workspaceVersion(name)
        expect(rangeAllows(range, tested), `${name}: the README asks for ${range}, fastkit is tested with ${tested}`).toBe(true)
      }
    }
  })

  test('its tests compile under strict too', () => {
    expect(typecheckTests.code, describeRun('tsc -p tsconfig.typecheck.json', typecheckTests)).toBe(0)
  })

  test(
    'its own vitest suite passes, as `npm test` runs it',
    async () => {
      const result = await run('npm', ['test', '--silent'], {
        cwd: project,
        // Both halves of the matrix when this run has a PostgreSQL server, as the README describes.
        env: cleanEnv({ ...(testServerUrl() ? { TEST_DATABASE_URL: testServerUrl()! } : {}), DIALECTS: dialectsUnderTest().join(','), CI: '1' }),
        timeoutMs: 4 * MINUTE,
      })
      timings.vitest = result.millis
      expect(result.code, describeRun('npm test', result)).toBe(0)
      const output = (result.stdout + result.stderr).replace(/\x1b\[[0-9;]*m/g, '')
      const halves = dialectsUnderTest().length
      expect(output).toMatch(new RegExp(`Tests\\s+\\D*${3 * halves} passed`))
    },
    5 * MINUTE,
  )
})

describe('installed with npm into a fresh project', () => {
  test('the app compiled by tsc under strict ships one JS file per source file', async () => {
    const built = (await fs.readdir(path.join(project, 'dist'), { recursive: true })).map(String).sort()
    expect(built).toEqual([
      'app.js',
      'auth.js',
      'main.js',
      'migrations',
      'migrations/001-tasks.js',
      'migrations/002-users.js',
      'migrations/index.js',
      'schema.js',
      'tasks.js',
    ])
    // No decorators anywhere, so nothing may depend on emitted design-type metadata.
    expect(await fs.readFile(path.join(project, 'dist/tasks.js'), 'utf8')).not.toMatch(/__metadata|design:paramtypes|__decorate/)
  })

  test.each(dialectsUnderTest())(
    'runs under plain node on %s and serves its CRUD routes over HTTP',
    async (kind) => {
      const database = kind === 'postgres' ? await createTestDatabase<any>('postgres') : undefined
      const url = database?.url ?? `pglite://${path.join(project, 'data')}`
      const server = await startServer(['dist/main.js'], {
        cwd: project,
        env: cleanEnv({ PORT: '0', DATABASE_URL: url }),
        timeoutMs: 2 * MINUTE,
      })
      try {
        const [id] = await exerciseTasksApi(server.url)
        expect(await server.stop(), server.output()).toBe(0)
        if (database) {
          // Committed by the request's unit of work, visible to anyone after the app is gone.
          const rows = await database.db.selectFrom('tasks').select(['id', 'done']).execute()
          expect(rows).toEqual([{ id, done: true }])
        }
      } finally {
        await server.stop()
        await database?.destroy()
      }
    },
    3 * MINUTE,
  )

  test(
    'runs from its TypeScript sources under tsx, where no decorator metadata exists',
    async () => {
      const server = await startServer(['--import', 'tsx', 'src/main.ts'], {
        cwd: project,
        env: cleanEnv({ PORT: '0', DATABASE_URL: 'memory://' }),
        timeoutMs: 2 * MINUTE,
      })
      try {
        await exerciseTasksApi(server.url)
      } finally {
        expect(await server.stop(), server.output()).toBe(0)
      }
    },
    3 * MINUTE,
  )

  test('its declarations leave out the members marked @internal (stripInternal)', async () => {
    const dist = path.join(project, 'node_modules/fastkit/dist')
    const declarations = (await fs.readdir(dist, { recursive: true })).map(String).filter((f) => f.endsWith('.d.ts'))
    const marked: string[] = []
    for (const file of declarations) if ((await fs.readFile(path.join(dist, file), 'utf8')).includes('@internal')) marked.push(file)
    expect(marked).toEqual([])
    // MemoryHub's join() and broadcast() are for MemoryTransport only: the class ships, they do not.
    const hub = await fs.readFile(path.join(dist, 'events/memory-transport.d.ts'), 'utf8')
    expect(hub).toMatch(/export declare class MemoryHub/)
    expect(hub).not.toMatch(/\bjoin\(|\bbroadcast\(/)
  })

  test('fastkit/extend loads from the installed package, apart from the app barrel', async () => {
    const script = `import * as extend from 'fastkit/extend'; import * as app from 'fastkit'; console.log(JSON.stringify({ bus: typeof extend.EventBus, inApp: 'EventBus' in app }))`
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env: cleanEnv({}), timeoutMs: MINUTE })
    expect(result.code, describeRun('node -e', result)).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ bus: 'function', inApp: false })
  })

  test('fastkit/testing loads from the installed package', async () => {
    const script = `import { dialectsUnderTest } from 'fastkit/testing'; console.log(JSON.stringify(dialectsUnderTest()))`
    const result = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      env: cleanEnv({ DIALECTS: 'pglite' }),
      timeoutMs: MINUTE,
    })
    expect(result.code, describeRun('node -e', result)).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual(['pglite'])
  })
})
