import { BaseService, type Page } from 'fastkit'
import type { User } from '../db/schema.js'
import { UserRepository } from './user.repository.js'

/** Reading users. Creating them is the auth feature's job (registration). */
export class UserService extends BaseService<UserRepository> {
  static readonly inject = [UserRepository] as const

  search(prefix: string | undefined, limit: number, cursor?: string): Promise<Page<User>> {
    return this.repository.search(prefix ?? '', limit, cursor)
  }
}
