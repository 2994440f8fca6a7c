import { BaseRouter, RegistrationThrottle, resolve } from 'fastkit'
import { z } from 'zod'
import { UserRead } from '../users/user.schemas.js'
import { AuthService } from './auth.service.js'
import { Claims, LoginBody, LogoutBody, RefreshBody, RegisterBody, TokenResponse } from './auth.schemas.js'

/**
 * `/auth`: register, login (JSON or the OAuth2 password flow's form, which Swagger UI's Authorize
 * button uses), refresh, logout, me, protected. Only routes of its own: no generated CRUD.
 */
export class AuthRouter extends BaseRouter<typeof AuthService> {
  constructor() {
    super(AuthService, '/auth')
  }

  protected override routes(): void {
    this.route({
      method: 'POST',
      url: '/register',
      status: 201,
      summary: 'Create an account',
      body: RegisterBody,
      response: UserRead,
      responses: {
        429: z.unknown().describe('Too many registrations from this address; see Retry-After'),
        503: z.unknown().describe('The server is busy hashing passwords; see Retry-After'),
      },
      // Per address, before any argon2 work: registering is the cheapest way to make the server hash.
      handler: ({ service, body, request }) =>
        resolve(request.container, RegistrationThrottle).attempt({ address: request.ip }, () => service.register(body)),
    })
    this.route({
      method: 'POST',
      url: '/login',
      summary: 'Log in with username and password (OAuth2 password flow)',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: LoginBody,
      response: TokenResponse,
      responses: {
        429: z.unknown().describe('Too many failed attempts; see Retry-After'),
        503: z.unknown().describe('The server is busy hashing passwords; see Retry-After'),
      },
      handler: ({ service, body, request }) => service.login(body, request.ip),
    })
    this.route({
      method: 'POST',
      url: '/refresh',
      summary: 'Exchange a refresh token for new tokens',
      body: RefreshBody,
      response: TokenResponse,
      handler: ({ service, body }) => service.refresh(body.refresh_token),
    })
    this.route({
      method: 'POST',
      url: '/logout',
      auth: true,
      status: 204,
      summary: "End this login's session (or every session, without a refresh token)",
      body: LogoutBody,
      response: z.null(),
      handler: async ({ service, body, request }) => {
        await service.logout(request.user, body.refresh_token)
        return null
      },
    })
    this.route({
      method: 'GET',
      url: '/me',
      auth: true,
      summary: 'The signed-in user',
      response: UserRead,
      handler: ({ service, request }) => service.me(request.user),
    })
    this.route({
      method: 'POST',
      url: '/protected',
      auth: true,
      summary: "The verified claims of the caller's access token",
      response: Claims,
      handler: ({ request }) => request.accessTokenClaims!,
    })
  }
}
