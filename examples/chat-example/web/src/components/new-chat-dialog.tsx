import { useState } from 'preact/hooks'
import { ok, type Api, type Chat, type UserSummary } from '../api/client.js'
import { Dialog } from './dialog.js'
import { PeopleSearch } from './people-search.js'

/** "New chat": a name, people found by username search, and Create. */
export function NewChatDialog(props: { api: Api; me: { id: string }; onClose: () => void; onCreated: (chat: Chat) => void }) {
  const [name, setName] = useState('')
  const [people, setPeople] = useState<UserSummary[]>([])
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const create = async (e: Event) => {
    e.preventDefault()
    if (!name.trim()) {
      setError('Give the chat a name.')
      return
    }
    setBusy(true)
    setError(null)
    try {
      const chat = await ok(props.api.POST('/chats', { body: { name: name.trim(), isGroup: people.length > 1, memberIds: people.map((p) => p.id) } }))
      props.onCreated(chat)
    } catch (err) {
      setError((err as Error).message)
      setBusy(false)
    }
  }

  return (
    <Dialog title="New chat" onClose={props.onClose}>
      <form onSubmit={create} class="stack">
        <label>
          Chat name
          <input value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <PeopleSearch api={props.api} exclude={[props.me.id, ...people.map((p) => p.id)]} onPick={(user) => setPeople([...people, user])} />
        {people.length > 0 && (
          <ul class="chips" aria-label="People in the new chat">
            {people.map((p) => (
              <li key={p.id}>
                {p.username}
                <button type="button" class="ghost" aria-label={`Remove ${p.username}`} onClick={() => setPeople(people.filter((x) => x.id !== p.id))}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="row end">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  )
}
