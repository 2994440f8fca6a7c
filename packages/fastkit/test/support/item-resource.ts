// A complete fastkit resource: schemas, repository, service, router. (The "under 30 lines" of issue 3.)
import { z } from 'zod'
import { BaseRepository, BaseRouter, BaseService, type BaseRouterOptions } from '../../src/index.js'
import type { TestDB } from './schema.js'

export const ItemCreate = z.object({
  name: z.string().trim().min(1).max(100),
  qty: z.number().int().min(0),
  owner: z.string().max(50).nullable().optional(),
})
export const ItemRead = z.object({ id: z.uuid(), name: z.string(), qty: z.number().int(), owner: z.string().nullable(), createdAt: z.date() })

export class ItemRepository extends BaseRepository<TestDB, 'items'> {
  readonly table = 'items'
}

export class ItemService extends BaseService<ItemRepository> {
  static readonly inject = [ItemRepository] as const
}

export class ItemRouter extends BaseRouter<ItemService, typeof ItemCreate, typeof ItemRead> {
  constructor(options: BaseRouterOptions<typeof ItemRead, any> = {}) {
    super(ItemService, '/items', ItemCreate, ItemRead, {
      list: { filter: ['name', 'qty', 'owner', 'createdAt'], sort: ['name', 'qty', 'createdAt'], maxLimit: 100 },
      ...options,
    })
  }
}
