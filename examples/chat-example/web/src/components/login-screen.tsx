import { useState } from 'preact/hooks'
import type { Session } from '../session.js'

/** Log in or create an account; errors in words. */
export function LoginScreen({ session }: { session: Session }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const run = async (action: 'logIn' | 'register') => {
    setError(null)
    if (!username.trim() || !password) {
      setError('Enter a username and a password.')
      return
    }
    setBusy(true)
    try {
      await session[action](username.trim(), password)
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <form
        class="login-card"
        aria-labelledby="login-title"
        onSubmit={(e) => {
          e.preventDefault()
          void run('logIn')
        }}
      >
        <h1 id="login-title">fastkit chat</h1>
        <p class="muted">Log in, or create an account to start chatting.</p>
        <label>
          Username
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Log in
          </button>
          <button type="button" disabled={busy} onClick={() => void run('register')}>
            Create account
          </button>
        </div>
        <p class="muted small">Usernames: 3–32 letters, digits, _ . -. Passwords: at least 8 characters.</p>
      </form>
    </main>
  )
}
