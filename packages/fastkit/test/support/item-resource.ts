// A complete fastkit resource: schemas, repository, service, router.
import { z } from 'zod'
import { BaseRepository, BaseRouter, BaseService, type BaseRouterOptions, type KeyColumns, type RouteOptions, type RowOf } from '../../src/index.js'
import type { TestDB } from './schema.js'

export const ItemCreate = z.object({
  name: z.string().trim().min(1).max(100),
  qty: z.number().int().min(0),
  owner: z.string().max(50).nullable().optional(),
})
export const ItemUpdate = ItemCreate.partial()
export const ItemRead = z.object({ id: z.uuid(), name: z.string(), qty: z.number().int(), owner: z.string().nullable(), createdAt: z.date() })

export class ItemRepository extends BaseRepository<TestDB, 'items'> {
  readonly table = 'items'
  protected override readonly keys = { id: 'uuid', name: 'text', qty: 'integer', createdAt: 'timestamp' } satisfies KeyColumns<RowOf<TestDB, 'items'>>
}

export class ItemService extends BaseService<ItemRepository> {
  static readonly inject = [ItemRepository] as const
  readonly list = this.crud.list()
  readonly get = this.crud.get()
  readonly create = this.crud.create()
  readonly update = this.crud.update()
  readonly replace = this.crud.replace()
  readonly delete = this.crud.delete()
}

export class ItemRouter extends BaseRouter<typeof ItemService> {
  /** `get`: options of the generated GET /:id (tests tune it). */
  constructor(options: BaseRouterOptions = {}, private readonly get: RouteOptions = {}) {
    super(ItemService, '/items', options)
  }
  protected override routes(): void {
    this.crud({
      read: ItemRead,
      list: { filter: ['name', 'qty', 'owner', 'createdAt'], sort: ['name', 'qty', 'createdAt'], maxLimit: 100 },
      get: this.get,
      create: { body: ItemCreate },
      update: { body: ItemUpdate },
      replace: { body: ItemCreate },
      delete: true,
    })
  }
}
