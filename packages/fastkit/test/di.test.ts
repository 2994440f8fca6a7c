import { describe, expect, expectTypeOf, test } from 'vitest'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Kysely } from 'kysely'
import { fastkit, provide, resolve, token, UnitOfWork, type Dependencies } from '../src/index.js'
// after fastkit, which loads the reflect-metadata polyfill tsyringe insists on
import { container as globalContainer } from 'tsyringe'
import { dialectsUnderTest } from '../src/testing/index.js'
import { useTestDatabase } from './support/harness.js'
import type { TestDB } from './support/schema.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await sleep(10)
  }
}

let built = 0

/** A request-scoped repository: it runs every statement through the request's unit of work. */
class ItemRepository {
  static readonly inject = [UnitOfWork] as const
  readonly instance = ++built
  constructor(readonly uow: UnitOfWork<TestDB>) {}
  add(name: string) {
    return this.uow.db.insertInto('items').values({ name }).execute()
  }
  async names() {
    return (await this.uow.db.selectFrom('items').select('name').orderBy('name').execute()).map((r) => r.name)
  }
}

const Prefix = token<string>('Prefix')

class ItemService {
  static readonly inject = [ItemRepository, Prefix] as const
  readonly instance = ++built
  constructor(
    readonly items: ItemRepository,
    readonly prefix: string,
  ) {}
}

/** Every disposal, in order: `Class:instance`. */
const disposals: string[] = []

/** A stand-in for anything holding a per-request resource (no `inject`: tsyringe builds it). */
class Tracker {
  readonly instance = ++built
  dispose() {
    disposals.push(`Tracker:${this.instance}`)
  }
}

class TrackedService {
  static readonly inject = [Tracker, ItemRepository] as const
  readonly instance = ++built
  constructor(
    readonly tracker: Tracker,
    readonly items: ItemRepository,
  ) {}
  async dispose() {
    disposals.push(`TrackedService:${this.instance}`)
  }
}

async function buildApp(db: Kysely<TestDB>, routes: (app: FastifyInstance) => void) {
  const app = Fastify()
  await app.register(fastkit, { db })
  app.container.register(Prefix, { useValue: 'p' })
  provide(app.container, ItemService)
  provide(app.container, TrackedService)
  routes(app)
  await app.ready()
  return app
}

describe.each(dialectsUnderTest())('request-scoped DI on %s', (kind) => {
  const t = useTestDatabase(kind)

  test('two concurrent requests each get their own unit and services and never see each other’s writes', async () => {
    const results: Record<string, { seen: string[]; service: number; repository: number; ownUnit: boolean; sameWithin: boolean }> = {}
    const app = await buildApp(t.db, (app) => {
      app.post('/flow/:name', async (request) => {
        const { name } = request.params as { name: string }
        const service = request.container.resolve(ItemService)
        await service.items.add(name)
        // On PostgreSQL the two requests overlap here; on PGlite (one session) the second waits.
        await sleep(50)
        results[name] = {
          seen: await service.items.names(),
          service: service.instance,
          repository: service.items.instance,
          ownUnit: service.items.uow === request.uow,
          sameWithin: request.container.resolve(ItemService) === service && request.container.resolve(ItemRepository) === service.items,
        }
        if (name === 'a') throw new Error('rolled back on purpose')
        return { ok: true }
      })
    })
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: '/flow/a' }),
      app.inject({ method: 'POST', url: '/flow/b' }),
    ])
    expect(a.statusCode).toBe(500)
    expect(b.statusCode).toBe(200)
    expect(results.a!.seen).toEqual(['a'])
    expect(results.b!.seen).toEqual(['b'])
    expect(results.a!.ownUnit && results.b!.ownUnit).toBe(true)
    expect(results.a!.sameWithin && results.b!.sameWithin).toBe(true)
    expect(results.a!.service).not.toBe(results.b!.service)
    expect(results.a!.repository).not.toBe(results.b!.repository)
    expect((await t.db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['b'])
    await app.close()
  })

  test('the request container is disposed on success, on error and on client abort', async () => {
    let entered = 0
    const app = await buildApp(t.db, (app) => {
      const handler = async (request: FastifyRequest) => {
        const { how } = request.params as { how: string }
        const service = request.container.resolve(TrackedService)
        entered++
        if (how === 'error') throw new Error('boom')
        if (how === 'abort') await sleep(300)
        return { service: service.instance, tracker: service.tracker.instance }
      }
      app.get('/scoped/:how', handler)
      app.post('/scoped/:how', handler)
    })
    disposals.length = 0
    const ok = await app.inject('/scoped/ok')
    expect(ok.statusCode).toBe(200)
    const { service, tracker } = ok.json() as { service: number; tracker: number }
    // The service goes first, then the tracker it was built with.
    expect(disposals).toEqual([`TrackedService:${service}`, `Tracker:${tracker}`])
    expect((await app.inject('/scoped/error')).statusCode).toBe(500)
    expect(disposals).toHaveLength(4)

    // Client aborts need a real socket; GET and POST are noticed differently by Fastify.
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    for (const method of ['GET', 'POST']) {
      const before = disposals.length
      const enteredBefore = entered
      const req = http.request({ host: '127.0.0.1', port, method, path: '/scoped/abort', agent: false })
      req.on('error', () => {})
      req.end()
      await eventually(() => entered > enteredBefore)
      req.destroy()
      await eventually(() => disposals.length === before + 2)
    }
    expect(disposals).toHaveLength(8)
    await sleep(400) // the aborted handlers run to their end; nothing is disposed twice
    expect(disposals).toHaveLength(8)
    expect(new Set(disposals).size).toBe(8)
    await app.close()
  })

  test('after its request the request container is disposed: using it throws, and what tsyringe itself built there is disposed', async () => {
    class BuiltByTsyringe {
      disposed = false
      dispose() {
        this.disposed = true
      }
    }
    const kept: Record<string, { container: FastifyRequest['container']; built?: BuiltByTsyringe }> = {}
    const app = await buildApp(t.db, (app) => {
      // Nothing of tsyringe's to dispose (the usual request), and an instance tsyringe built and tracks.
      app.get('/plain', async (request) => {
        kept.plain = { container: request.container }
        return { ok: true }
      })
      app.get('/tsyringe', async (request) => {
        kept.tsyringe = { container: request.container, built: request.container.resolve(BuiltByTsyringe) }
        return { ok: true }
      })
    })
    for (const path of ['plain', 'tsyringe']) {
      expect((await app.inject(`/${path}`)).statusCode).toBe(200)
      await eventually(() => {
        try {
          kept[path]!.container.resolve(BuiltByTsyringe)
          return false
        } catch (error) {
          return /disposed/.test((error as Error).message)
        }
      })
    }
    await eventually(() => kept.tsyringe!.built!.disposed)
    await app.close()
  })

  test('singletons are built from the root container and never capture a request’s unit', async () => {
    class Counter {
      static readonly inject = [Prefix] as const
      readonly instance = ++built
      disposed = 0
      constructor(readonly prefix: string) {}
      dispose() {
        this.disposed++
      }
    }
    class Captive {
      static readonly inject = [ItemRepository] as const
      constructor(readonly items: ItemRepository) {}
    }
    const app = await buildApp(t.db, (app) => {
      provide(app.container, Counter, { lifetime: 'singleton' })
      provide(app.container, Captive, { lifetime: 'singleton' })
      app.get('/counter', async (request) => ({ instance: request.container.resolve(Counter).instance }))
      app.get('/captive', async (request) => {
        request.container.resolve(Captive)
        return { ok: true }
      })
    })
    const first = (await app.inject('/counter')).json()
    const second = (await app.inject('/counter')).json()
    expect(first).toEqual(second)
    expect(app.container.resolve(Counter).disposed).toBe(0)
    // A singleton that needs the request's unit is an error, not a silent leak of the first request's.
    const captive = await app.inject('/captive')
    expect(captive.statusCode).toBe(500)
    expect(() => app.container.resolve(Captive)).toThrow(/Cannot build Captive: .*ItemRepository.*Cannot build ItemRepository: .*UnitOfWork/s)
    await app.close()
  })
  test('under tsx (no decorator metadata), a script builds request-scoped services and repositories from `static inject`', async () => {
    const packageDir = fileURLToPath(new URL('..', import.meta.url))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=@fastkit/source', 'test/fixtures/di-tsx-app.ts', t.url],
      { cwd: packageDir, timeout: 110_000 },
    )
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(result).toEqual({
      responses: [
        { status: 201, body: { note: { id: 1, body: 'hello one' }, n: 1, sameUnit: true, sameService: true } },
        { status: 201, body: { note: { id: 2, body: 'hello two' }, n: 2, sameUnit: true, sameService: true } },
      ],
      repositoriesBuilt: 2, // one per request
      metadata: null, // nothing emitted: tsyringe alone could not have built these classes
    })
  }, 120_000)
})

describe('provide()', () => {
  class A {
    a = 1
  }
  class B {
    b = 2
  }
  class Service {
    static readonly inject = [A, B] as const
    constructor(
      readonly a: A,
      readonly b: B,
    ) {}
  }

  test('checks `static inject` against the constructor at compile time', () => {
    const BToken = token<B>('B')
    expectTypeOf<readonly [typeof A, typeof B]>().toExtend<Dependencies<typeof Service>>()
    expectTypeOf<readonly [typeof A, typeof BToken]>().toExtend<Dependencies<typeof Service>>()
    expectTypeOf<readonly [typeof B, typeof A]>().not.toExtend<Dependencies<typeof Service>>()
    expectTypeOf<readonly [typeof A]>().not.toExtend<Dependencies<typeof Service>>()
    expectTypeOf<readonly [typeof A, typeof B, typeof A]>().not.toExtend<Dependencies<typeof Service>>()
    expectTypeOf<readonly [typeof A, ReturnType<typeof token<string>>]>().not.toExtend<Dependencies<typeof Service>>()

    const container = globalContainer.createChildContainer()
    class WrongOrder {
      static readonly inject = [B, A] as const
      constructor(
        readonly a: A,
        readonly b: B,
      ) {}
    }
    class NoArguments {
      x = 1
    }
    provide(container, Service)
    provide(container, NoArguments)
    // @ts-expect-error the dependencies are listed in the wrong order
    expect(() => provide(container, WrongOrder)).not.toThrow() // (only the compiler can see this one)
    expect(container.resolve(Service)).toBeInstanceOf(Service)
  })

  test('refuses a class whose `static inject` is missing or too short, naming it', () => {
    class Forgotten {
      constructor(readonly a: A) {}
    }
    class TooShort {
      static readonly inject = [A] as const
      constructor(
        readonly a: A,
        readonly b: B,
      ) {}
    }
    const container = globalContainer.createChildContainer()
    // @ts-expect-error a constructor with arguments must list them in `static inject`
    expect(() => provide(container, Forgotten)).toThrow('Forgotten takes 1 constructor argument(s) but lists 0 in `static inject`')
    // @ts-expect-error one dependency short
    expect(() => provide(container, TooShort)).toThrow('TooShort takes 2 constructor argument(s) but lists 1 in `static inject`')
  })

  test('says which dependency of which class is not registered', () => {
    const Config = token<{ url: string }>('Config')
    class NeedsConfig {
      static readonly inject = [Config] as const
      constructor(readonly config: { url: string }) {}
    }
    const container = globalContainer.createChildContainer()
    provide(container, NeedsConfig)
    expect(() => container.resolve(NeedsConfig)).toThrow(
      /^Cannot build NeedsConfig: its dependency #1 \(Symbol\(Config\)\) could not be resolved: .*unregistered.* Register it with provide/,
    )
    container.register(Config, { useValue: { url: 'x' } })
    expect(container.resolve(NeedsConfig).config).toEqual({ url: 'x' })
  })

  describe('resolve() answers what tsyringe would, without writing to the request container', () => {
    const Greeting = token<string>('Greeting')
    class Repo {
      static readonly inject = [Greeting] as const
      constructor(readonly greeting: string) {}
    }
    class Service {
      static readonly inject = [Repo, Greeting] as const
      constructor(
        readonly repo: Repo,
        readonly greeting: string,
      ) {}
    }
    function rootWithService() {
      const root = globalContainer.createChildContainer()
      root.register(Greeting, { useValue: 'root' })
      provide(root, Service)
      return root
    }

    test('one instance per container, a new one per child, and the nearest registration wins for dependencies too', () => {
      const root = rootWithService()
      const request = root.createChildContainer()
      const service = resolve(request, Service)
      expect(resolve(request, Service)).toBe(service)
      expect(resolve(request, Repo)).toBe(service.repo)
      expect(request.resolve(Service)).toBe(service) // tsyringe's own resolve shares the instance
      expect(service.greeting).toBe('root')
      const other = root.createChildContainer()
      other.register(Greeting, { useValue: 'request' })
      expect(resolve(other, Service)).not.toBe(service)
      expect(resolve(other, Service).repo.greeting).toBe('request')
    })

    test('a registration made after provide() replaces it, in the root or in a request', () => {
      const root = rootWithService()
      const fake = new Repo('fake')
      root.register(Repo, { useValue: fake })
      expect(resolve(root.createChildContainer(), Service).repo).toBe(fake)
      const request = rootWithService().createChildContainer()
      const own = new Repo('own')
      request.registerInstance(Repo, own)
      expect(resolve(request, Service).repo).toBe(own)
    })

    test('leaves no entries in the request container for keys registered above it', () => {
      const root = rootWithService()
      const request = root.createChildContainer()
      resolve(request, Service)
      const registry = (request as unknown as { _registry: { _registryMap: Map<unknown, unknown> } })._registry._registryMap
      expect([...registry.keys()]).toEqual([])
    })

    test('interceptors, unregistered classes and disposed containers go through tsyringe', async () => {
      const root = rootWithService()
      const request = root.createChildContainer()
      const seen: unknown[] = []
      request.afterResolution(Repo, (_token, result) => seen.push(result))
      const service = resolve(request, Service)
      expect(seen).toEqual([service.repo])
      class Plain {}
      expect(resolve(request, Plain)).toBeInstanceOf(Plain)
      await request.dispose()
      expect(() => resolve(request, Service)).toThrow(/disposed/)
    })
  })
})
