import { useState } from 'preact/hooks'
import { ok, type Api, type Chat, type Member } from '../api/client.js'
import { Dialog } from './dialog.js'
import { PeopleSearch } from './people-search.js'

/** Members of the chat; for its owner also rename, add, remove and delete; for others, leave. */
export function ChatSettings(props: {
  api: Api
  chat: Chat
  me: { id: string }
  members: readonly Member[]
  attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>
  onClose: () => void
  onChat: (chat: Chat) => void
  onMember: (member: Member) => void
  onMemberGone: (userId: string) => void
  onLeft: () => void
}) {
  const { api, chat, me } = props
  const owner = chat.ownerId === me.id
  const [name, setName] = useState(chat.name)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const id = { params: { path: { id: chat.id } } }

  return (
    <Dialog title="Chat settings" onClose={props.onClose}>
      <div class="stack">
        {owner && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault()
              void props.attempt(async () => props.onChat(await ok(api.PATCH('/chats/{id}', { ...id, body: { name: name.trim() } }))))
            }}
          >
            <label class="grow">
              Chat name
              <input value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={!name.trim() || name.trim() === chat.name}>
              Rename
            </button>
          </form>
        )}
        <h3>Members</h3>
        <ul class="members" aria-label="Members">
          {props.members.map((m) => (
            <li key={m.userId}>
              <span>
                {m.username}
                {m.role === 'owner' && <span class="muted small"> (owner)</span>}
                {m.userId === me.id && <span class="muted small"> (you)</span>}
              </span>
              {owner && m.userId !== me.id && (
                <button
                  type="button"
                  aria-label={`Remove ${m.username}`}
                  onClick={() =>
                    void props.attempt(async () => {
                      await ok(api.DELETE('/chats/{id}/members/{userId}', { params: { path: { id: chat.id, userId: m.userId } } }))
                      props.onMemberGone(m.userId)
                    })
                  }
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
        {owner && (
          <PeopleSearch
            api={api}
            exclude={props.members.map((m) => m.userId)}
            onPick={(user) =>
              void props.attempt(async () => props.onMember(await ok(api.POST('/chats/{id}/members', { ...id, body: { userId: user.id } }))))
            }
          />
        )}
        <div class="row end danger-zone">
          {owner ? (
            confirmDelete ? (
              <>
                <span>Delete the chat and all its messages?</span>
                <button type="button" onClick={() => setConfirmDelete(false)}>
                  Keep it
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    void props.attempt(async () => {
                      await ok(api.DELETE('/chats/{id}', id))
                      props.onLeft()
                    })
                  }
                >
                  Yes, delete
                </button>
              </>
            ) : (
              <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                Delete chat
              </button>
            )
          ) : (
            <button
              type="button"
              class="danger"
              onClick={() =>
                void props.attempt(async () => {
                  await ok(api.DELETE('/chats/{id}/members/{userId}', { params: { path: { id: chat.id, userId: me.id } } }))
                  props.onLeft()
                })
              }
            >
              Leave chat
            </button>
          )}
        </div>
      </div>
    </Dialog>
  )
}
