import type { ChatItem } from '../state.js'
import { shortTime } from './format.js'

/** The chats, newest activity first; a dot marks chats that changed while not open. */
export function ChatList(props: { items: readonly ChatItem[]; openId: string | null; onOpen: (id: string) => void; onNew: () => void }) {
  return (
    <nav class="sidebar" aria-label="Chats">
      <div class="sidebar-head">
        <h2>Chats</h2>
        <button type="button" class="primary" onClick={props.onNew}>
          New chat
        </button>
      </div>
      {props.items.length === 0 ? (
        <p class="muted pad">No chats yet.</p>
      ) : (
        <ul class="chat-list">
          {props.items.map((item) => (
            <li key={item.chat.id}>
              <button
                type="button"
                aria-label={item.chat.name}
                aria-current={item.chat.id === props.openId ? 'true' : undefined}
                data-changed={item.changed ? 'true' : undefined}
                onClick={() => props.onOpen(item.chat.id)}
              >
                <span class="chat-name">{item.chat.name}</span>
                <span class="chat-time">{shortTime(item.activity)}</span>
                {item.changed && <span class="badge" title="New activity" />}
              </button>
            </li>
          ))}
        </ul>
      )}
    </nav>
  )
}
