import { BaseRouter, pageQuerySchema, pageSchema } from 'fastkit'
import { z } from 'zod'
import { ChatCreate, ChatIdParams, ChatRead, ChatUpdate, MemberAdd, MemberParams, MemberRead } from './chat.schemas.js'
import { ChatService } from './chat.service.js'

/** `/chats`: the generated CRUD (no PUT) plus the members sub-resource. */
export class ChatRouter extends BaseRouter<typeof ChatService> {
  constructor() {
    super(ChatService, '/chats', { auth: true })
  }

  protected override routes(): void {
    this.crud({
      read: ChatRead,
      // Newest first by creation: a key no write changes, so a chat renamed (updatedAt, name) while a
      // client pages can neither be skipped nor seen twice. `updatedAt` and `name` stay sortable, as
      // keys that are unstable under writes (API.md says so).
      list: { sort: ['createdAt', 'updatedAt', 'name'], defaultSort: ['-createdAt'] },
      get: true,
      create: { body: ChatCreate },
      update: { body: ChatUpdate },
      delete: true,
    })
    this.route({
      method: 'GET',
      url: '/:id/members',
      summary: 'List the members of a chat',
      params: ChatIdParams,
      query: pageQuerySchema(),
      response: pageSchema(MemberRead),
      handler: ({ service, params, query }) => service.listMembers(params.id, query.limit, query.cursor),
    })
    this.route({
      method: 'POST',
      url: '/:id/members',
      status: 201,
      summary: 'Add a member (owner only)',
      params: ChatIdParams,
      body: MemberAdd,
      response: MemberRead,
      handler: ({ service, params, body }) => service.addMember(params.id, body.userId),
    })
    this.route({
      method: 'DELETE',
      url: '/:id/members/:userId',
      status: 204,
      summary: 'Remove a member (the owner removes others, a member leaves)',
      params: MemberParams,
      response: z.null(),
      handler: async ({ service, params }) => {
        await service.removeMember(params.id, params.userId)
        return null
      },
    })
  }
}
