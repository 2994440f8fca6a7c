import { useEffect, useState } from 'preact/hooks'
import type { Session } from '../session.js'
import { ChatScreen } from './chat-screen.js'
import { LoginScreen } from './login-screen.js'

/** Login form while logged out, the chat once logged in; follows logins and logouts of other tabs. */
export function App({ session }: { session: Session }) {
  const [user, setUser] = useState(() => session.current?.username ?? null)
  useEffect(() => session.subscribe(() => setUser(session.current?.username ?? null)), [session])
  // Keyed by user: a new login starts from a fresh screen and a fresh connection.
  return user ? <ChatScreen key={user} session={session} username={user} /> : <LoginScreen session={session} />
}
