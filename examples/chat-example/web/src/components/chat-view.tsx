import { useLayoutEffect, useRef, useState } from 'preact/hooks'
import { ok, type Api, type Chat, type Member, type Message } from '../api/client.js'
import { shortTime } from './format.js'

const PAGE = 50

interface Props {
  api: Api
  chat: Chat
  me: { id: string }
  messages: readonly Message[]
  members: readonly Member[]
  olderCursor: string | null | undefined
  attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>
  onMessages: (items: Message[]) => void
  onOlder: (page: { items: Message[]; nextCursor: string | null }) => void
  onGone: (id: string) => void
  onBack: () => void
  onSettings: () => void
}

/** The open chat: messages oldest at the top, newest at the bottom, older pages on scrolling up. */
export function ChatView(props: Props) {
  const { api, chat, me, messages } = props
  const log = useRef<HTMLDivElement>(null)
  /** Where the log was before this render, to keep the reader's place. */
  const before = useRef({ firstId: undefined as string | undefined, height: 0, top: 0, atBottom: true })
  const [loadingOlder, setLoadingOlder] = useState(false)
  const [text, setText] = useState('')
  const names = new Map(props.members.map((m) => [m.userId, m.username]))
  const owner = chat.ownerId === me.id

  useLayoutEffect(() => {
    const el = log.current
    if (!el) return
    const was = before.current
    const firstId = messages[0]?.id
    if (was.firstId !== undefined && firstId !== was.firstId && el.scrollHeight > was.height && !was.atBottom) {
      // Older messages went in above: keep the same message under the reader's eyes.
      el.scrollTop = was.top + (el.scrollHeight - was.height)
    } else if (was.atBottom) {
      el.scrollTop = el.scrollHeight
    }
    before.current = { firstId, height: el.scrollHeight, top: el.scrollTop, atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 40 }
  }, [messages])

  const loadOlder = async () => {
    if (!props.olderCursor || loadingOlder) return
    setLoadingOlder(true)
    await props.attempt(async () =>
      props.onOlder(await ok(api.GET('/messages', { params: { query: { chatId: chat.id, limit: PAGE, cursor: props.olderCursor! } } }))),
    )
    setLoadingOlder(false)
  }

  const onScroll = () => {
    const el = log.current!
    before.current = { ...before.current, height: el.scrollHeight, top: el.scrollTop, atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 40 }
    if (el.scrollTop < 80) void loadOlder()
  }

  const send = async (e?: Event) => {
    e?.preventDefault()
    const body = text.trim()
    if (!body) return
    const sent = await props.attempt(() => ok(api.POST('/messages', { body: { chatId: chat.id, text: body } })))
    if (sent) {
      setText('')
      before.current.atBottom = true
      props.onMessages([sent])
    }
  }

  return (
    <section class="chat" aria-label={chat.name}>
      <header class="chat-head">
        <button type="button" class="ghost back" aria-label="Back to chats" onClick={props.onBack}>
          ←
        </button>
        <div class="grow">
          <h2>{chat.name}</h2>
          <p class="muted small">
            {props.members.length} {props.members.length === 1 ? 'member' : 'members'}
          </p>
        </div>
        <button type="button" onClick={props.onSettings}>
          Chat settings
        </button>
      </header>
      <div class="messages" role="log" aria-label="Messages" ref={log} onScroll={onScroll}>
        {props.olderCursor ? (
          <button type="button" class="ghost older" disabled={loadingOlder} onClick={() => void loadOlder()}>
            {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </button>
        ) : (
          props.olderCursor === null && <p class="muted small center">This is the start of the chat.</p>
        )}
        <ol>
          {messages.map((m) => (
            <MessageItem
              key={m.id}
              message={m}
              author={m.senderId === me.id ? 'You' : (names.get(m.senderId) ?? 'Former member')}
              mine={m.senderId === me.id}
              canDelete={m.senderId === me.id || owner}
              api={api}
              attempt={props.attempt}
              onSaved={(saved) => props.onMessages([saved])}
              onDeleted={() => props.onGone(m.id)}
            />
          ))}
        </ol>
      </div>
      <form class="composer" onSubmit={send}>
        <label class="sr-only" for="composer">
          Message
        </label>
        <textarea
          id="composer"
          rows={1}
          placeholder="Write a message"
          maxLength={4000}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault()
              void send()
            }
          }}
        />
        <button type="submit" class="primary" disabled={!text.trim()}>
          Send
        </button>
      </form>
    </section>
  )
}

function MessageItem(props: {
  message: Message
  author: string
  mine: boolean
  canDelete: boolean
  api: Api
  attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>
  onSaved: (message: Message) => void
  onDeleted: () => void
}) {
  const { message: m, api } = props
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(m.text)
  const id = { params: { path: { id: m.id } } }
  const deleteButton = (
    <button
      type="button"
      class="ghost"
      onClick={() =>
        void props.attempt(async () => {
          await ok(api.DELETE('/messages/{id}', id))
          props.onDeleted()
        })
      }
    >
      Delete
    </button>
  )

  const save = async (e: Event) => {
    e.preventDefault()
    const saved = await props.attempt(() => ok(api.PATCH('/messages/{id}', { ...id, body: { text: draft.trim() } })))
    if (saved) {
      props.onSaved(saved)
      setEditing(false)
    }
  }

  return (
    <li class={`message ${props.mine ? 'mine' : ''}`} data-message-id={m.id}>
      <div class="meta">
        <span class="author">{props.author}</span>
        <time dateTime={m.createdAt}>{shortTime(m.createdAt)}</time>
        {m.editedAt && <span class="muted">(edited)</span>}
        {/* The owner's Delete on others' messages sits in the header line, out of the way. */}
        {!editing && !props.mine && props.canDelete && deleteButton}
      </div>
      {editing ? (
        <form class="edit" onSubmit={save}>
          <label class="sr-only" for={`edit-${m.id}`}>
            Edit message
          </label>
          <textarea id={`edit-${m.id}`} maxLength={4000} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          <div class="row end">
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" class="primary" disabled={!draft.trim()}>
              Save
            </button>
          </div>
        </form>
      ) : (
        <p class="text">{m.text}</p>
      )}
      {!editing && props.mine && (
        <div class="actions">
          {props.mine && (
            <button
              type="button"
              class="ghost"
              onClick={() => {
                setDraft(m.text)
                setEditing(true)
              }}
            >
              Edit
            </button>
          )}
          {deleteButton}
        </div>
      )}
    </li>
  )
}
