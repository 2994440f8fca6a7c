import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type Chat = components['schemas']['Chat']
export type Message = components['schemas']['Message']
export type Member = components['schemas']['ChatMember']
export type Problem = components['schemas']['Problem']
export type Tokens = components['schemas']['TokenResponse']
export interface UserSummary {
  id: string
  username: string
}

/**
 * The typed HTTP client of the chat API (types generated from its OpenAPI document). Every request
 * carries the access token that `accessToken` returns, when there is one.
 */
export function createApi(accessToken: () => Promise<string | null>) {
  const api = createClient<paths>({ baseUrl: location.origin })
  const auth: Middleware = {
    async onRequest({ request, schemaPath }) {
      if (schemaPath === '/auth/login' || schemaPath === '/auth/register' || schemaPath === '/auth/refresh') return request
      const token = await accessToken()
      if (token) request.headers.set('authorization', `Bearer ${token}`)
      return request
    },
  }
  api.use(auth)
  return api
}

export type Api = ReturnType<typeof createApi>

/** An API failure, with a sentence a person can read. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message)
  }
}

/** Field names as a person says them. */
const FIELD_NAMES: Record<string, string> = { username: 'Username', password: 'Password', name: 'Chat name', text: 'Message' }

/** Turns a failed response (problem+json, or nothing) into words. `what` names the action, for 404s. */
export function describeProblem(status: number, body: unknown, headers?: Headers): string {
  const problem = (body && typeof body === 'object' ? body : {}) as Partial<Problem>
  if (problem.errors?.length) {
    return problem.errors
      .map((e) => {
        const field = e.path.split('.').pop() ?? ''
        return `${FIELD_NAMES[field] ?? (field || 'Input')} ${e.message}.`
      })
      .join(' ')
  }
  switch (status) {
    case 401:
      return 'Wrong username or password.'
    case 403:
      return 'You are not allowed to do that.'
    case 404:
      return 'That no longer exists, or you are no longer a member.'
    case 409:
      return problem.code === 'CONFLICT' && /user/i.test(problem.detail ?? '') ? 'That username is taken.' : (problem.detail ?? 'That already exists.')
    case 429: {
      const seconds = Number(headers?.get('retry-after'))
      return `Too many attempts. Try again in ${Number.isFinite(seconds) && seconds > 0 ? `${seconds} seconds` : 'a while'}.`
    }
  }
  if (status >= 500) return 'The server had a problem. Please try again.'
  return problem.detail ?? `The request failed (${status}).`
}

/**
 * Unwraps an openapi-fetch result: the data, or an {@link ApiError} in words. A network failure
 * (the fetch itself throwing) becomes "Cannot reach the server".
 */
export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response }
  try {
    result = await call
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw new ApiError('Cannot reach the server. Check your connection.', 0)
  }
  const { response } = result
  if (!response.ok) {
    const error = result.error as Partial<Problem> | undefined
    throw new ApiError(describeProblem(response.status, error, response.headers), response.status, error?.code)
  }
  return result.data as T
}
