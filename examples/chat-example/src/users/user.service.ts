import { BaseService, type Page } from 'fastkit'
import type { User } from '../db/schema.js'
import { UserRepository } from './user.repository.js'
import type { UserSearchQuery } from './user.schemas.js'

/** Reading users. Creating them is the auth feature's job (registration). */
export class UserService extends BaseService<UserRepository> {
  static readonly inject = [UserRepository] as const

  readonly get = this.crud.get()

  search({ search, limit, cursor }: UserSearchQuery): Promise<Page<User>> {
    return this.repository.search(search ?? '', limit, cursor)
  }
}
