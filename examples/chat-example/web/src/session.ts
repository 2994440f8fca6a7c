import createClient from 'openapi-fetch'
import type { paths } from './api/schema.js'
import { ApiError, describeProblem, type Tokens } from './api/client.js'

/** What is kept in localStorage, so a reload keeps the session. */
interface Stored {
  readonly username: string
  readonly accessToken: string
  readonly refreshToken: string
  /** Epoch ms when the access token expires. */
  readonly expiresAt: number
  /** Its lifetime in ms. */
  readonly lifetime: number
}

const KEY = 'chat.session'
/** Refresh this long before the access token expires (or halfway through a shorter lifetime). */
const REFRESH_MARGIN_MS = 60_000

/** How long before expiry the scheduled refresh runs: a minute, or half of a lifetime under two minutes. */
function refreshMargin(stored: Stored): number {
  return Math.min(REFRESH_MARGIN_MS, stored.lifetime / 2)
}

/**
 * The signed-in session: tokens in localStorage, the access token refreshed before it expires with
 * the refresh token (rotated on every use), across tabs without reusing a rotated refresh token.
 */
export class Session {
  private timer: ReturnType<typeof setTimeout> | undefined
  private refreshing: Promise<string | null> | undefined
  private readonly listeners = new Set<() => void>()
  private readonly auth = createClient<paths>({ baseUrl: location.origin })

  constructor() {
    // Another tab logged out or refreshed: follow it.
    addEventListener('storage', (event) => {
      if (event.key !== KEY) return
      this.schedule()
      this.emit()
    })
    this.schedule()
  }

  get current(): Stored | null {
    try {
      const raw = localStorage.getItem(KEY)
      return raw ? (JSON.parse(raw) as Stored) : null
    } catch {
      return null
    }
  }

  /** Called when the user logs in or out (here or in another tab). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async logIn(username: string, password: string): Promise<void> {
    const { data, error, response } = await this.request(() => this.auth.POST('/auth/login', { body: { username, password } }))
    if (!data) throw new ApiError(describeProblem(response.status, error, response.headers), response.status)
    this.store(username, data)
  }

  async register(username: string, password: string): Promise<void> {
    const { data, error, response } = await this.request(() => this.auth.POST('/auth/register', { body: { username, password } }))
    if (!data) {
      const message = response.status === 409 ? 'That username is taken. Pick another one.' : describeProblem(response.status, error, response.headers)
      throw new ApiError(message, response.status)
    }
    await this.logIn(username, password)
  }

  /** Ends the session on the server (best effort) and forgets it here. */
  async logOut(): Promise<void> {
    const stored = this.current
    this.clear()
    if (!stored) return
    await this.auth
      .POST('/auth/logout', { body: { refresh_token: stored.refreshToken }, headers: { authorization: `Bearer ${stored.accessToken}` } })
      .catch(() => undefined)
  }

  /** A valid access token (refreshed first when it is about to expire), or null when logged out. */
  async accessToken(options: { refresh?: boolean } = {}): Promise<string | null> {
    const stored = this.current
    if (!stored) return null
    if (!options.refresh && stored.expiresAt - Date.now() > refreshMargin(stored) / 2) return stored.accessToken
    return this.refresh(stored.accessToken)
  }

  /**
   * Exchanges the refresh token, once per expired access token across all tabs: a Web Lock serializes
   * tabs, and a tab that finds a newer token than the one it wanted to replace just uses it (a
   * rotated refresh token used twice would revoke the whole session).
   */
  refresh(stale: string): Promise<string | null> {
    this.refreshing ??= this.withLock(async () => {
      const stored = this.current
      if (!stored) return null
      if (stored.accessToken !== stale) return stored.accessToken
      const { data, response } = await this.request(() => this.auth.POST('/auth/refresh', { body: { refresh_token: stored.refreshToken } }))
      if (data) {
        this.store(stored.username, data)
        return data.access_token
      }
      if (response.status === 401 || response.status === 400) {
        this.clear()
        return null
      }
      throw new ApiError('Cannot reach the server. Check your connection.', response.status)
    }).finally(() => (this.refreshing = undefined))
    return this.refreshing
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (navigator as Navigator & { locks?: LockManager }).locks
    return locks ? (locks.request('chat.session.refresh', fn) as Promise<T>) : fn()
  }

  private async request<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch {
      throw new ApiError('Cannot reach the server. Check your connection.', 0)
    }
  }

  private store(username: string, tokens: Tokens): void {
    const stored: Stored = {
      username,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: Date.now() + tokens.expires_in * 1000,
      lifetime: tokens.expires_in * 1000,
    }
    localStorage.setItem(KEY, JSON.stringify(stored))
    this.schedule()
    this.emit()
  }

  private clear(): void {
    localStorage.removeItem(KEY)
    this.schedule()
    this.emit()
  }

  /** Refreshes ahead of expiry, so requests and reconnects rarely meet an expired token. */
  private schedule(): void {
    clearTimeout(this.timer)
    const stored = this.current
    if (!stored) return
    const refreshAt = stored.expiresAt - refreshMargin(stored)
    this.timer = setTimeout(
      () =>
        void this.refresh(stored.accessToken).catch(() => {
          // Offline: try again shortly; requests refresh on their own when they need to.
          this.timer = setTimeout(() => this.schedule(), 5_000)
        }),
      Math.max(0, refreshAt - Date.now()),
    )
  }

  private emit(): void {
    for (const listener of this.listeners) listener()
  }
}
