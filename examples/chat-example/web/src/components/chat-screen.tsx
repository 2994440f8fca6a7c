import { connectLive, type LiveEvent } from 'fastkit/client'
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks'
import { createApi, ok, type Chat, type Member, type Message } from '../api/client.js'
import type { Session } from '../session.js'
import { initialState, reducer, type ChatItem } from '../state.js'
import { ChatList } from './chat-list.js'
import { ChatSettings } from './chat-settings.js'
import { ChatView } from './chat-view.js'
import { ConnectionIndicator } from './connection-indicator.js'
import { NewChatDialog } from './new-chat-dialog.js'

const PAGE = 50
const CATCH_UP_PAGE = 100

/**
 * The signed-in screen: the chat list, the open chat, and one live connection for the tab. Every
 * HTTP call goes through the typed client; every change (own or others') arrives as a state action.
 */
export function ChatScreen({ session, username }: { session: Session; username: string }) {
  const api = useMemo(() => createApi(() => session.accessToken()), [session])
  const [state, dispatch] = useReducer(reducer, initialState)
  const stateRef = useRef(state)
  stateRef.current = state
  const [me, setMe] = useState<{ id: string; username: string } | null>(null)
  const meRef = useRef(me)
  meRef.current = me
  const [error, setError] = useState<string | null>(null)
  const [dialog, setDialog] = useState<'new' | 'settings' | null>(null)

  /** Runs an action, showing its failure in words. */
  const attempt = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      setError(null)
      return await fn()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
      return undefined
    }
  }, [])

  /** The chat list with each chat's newest message; after a reconnect, marks chats that got messages. */
  const loadChats = useCallback(
    async (markChanged: boolean) => {
      const chats: Chat[] = []
      let cursor: string | undefined
      do {
        const page = await ok(api.GET('/chats', { params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } } }))
        chats.push(...page.items)
        cursor = page.nextCursor ?? undefined
      } while (cursor && chats.length < 500)
      const newest = await Promise.all(
        chats.map((chat) => ok(api.GET('/messages', { params: { query: { chatId: chat.id, limit: 1 } } })).then((p) => p.items[0]).catch(() => undefined)),
      )
      const previous = new Map(stateRef.current.chats.map((i) => [i.chat.id, i]))
      const items: ChatItem[] = chats.map((chat, n) => {
        const last = newest[n]
        const before = previous.get(chat.id)
        const arrived = markChanged && (last?.id ?? null) !== (before?.lastMessageId ?? null)
        return {
          chat,
          activity: last && last.createdAt > chat.updatedAt ? last.createdAt : chat.updatedAt,
          lastMessageId: last?.id ?? null,
          lastMessageAt: last?.createdAt ?? null,
          changed: chat.id !== stateRef.current.openId && ((before?.changed ?? false) || arrived),
        }
      })
      dispatch({ type: 'chats', items })
    },
    [api],
  )

  const loadMembers = useCallback(
    async (chatId: string) => {
      const members: Member[] = []
      let cursor: string | undefined
      do {
        const page = await ok(api.GET('/chats/{id}/members', { params: { path: { id: chatId }, query: { limit: 100, ...(cursor ? { cursor } : {}) } } }))
        members.push(...page.items)
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      dispatch({ type: 'members', chatId, items: members })
    },
    [api],
  )

  const loadNewest = useCallback(
    async (chatId: string) => {
      const page = await ok(api.GET('/messages', { params: { query: { chatId, limit: PAGE } } }))
      dispatch({ type: 'page', chatId, items: page.items, olderCursor: page.nextCursor, replace: true })
    },
    [api],
  )

  /**
   * What the open chat missed while the connection was down: `after=<newest shown>`, oldest first,
   * page after page until the server says there is no more (`nextCursor` null and a short page).
   */
  const catchUpOpenChat = useCallback(async (): Promise<LiveEvent[]> => {
    const { openId, messages } = stateRef.current
    if (!openId) return []
    // Newest shown first: if the newest was deleted meanwhile (after= answers 404), the one before it.
    const candidates = messages.slice(-5).map((m) => m.id).reverse()
    let after = candidates.shift()
    if (!after) {
      await loadNewest(openId)
      return []
    }
    const missed: Message[] = []
    for (;;) {
      const { data, response }: { data?: { items: Message[]; nextCursor: string | null }; response: Response } = await api.GET('/messages', {
        params: { query: { chatId: openId, after, limit: CATCH_UP_PAGE } },
      })
      if (response.status === 404 && missed.length === 0) {
        after = candidates.shift()
        if (after) continue
        // Everything recent we showed is gone: start again from the newest page.
        await loadNewest(openId)
        return []
      }
      if (!data) throw new Error(`catch-up failed (${response.status})`)
      missed.push(...data.items)
      const last: Message | undefined = data.items.at(-1)
      if (!last || (data.nextCursor === null && data.items.length < CATCH_UP_PAGE)) break
      after = last.id
    }
    // after= brings new messages only. Edits and deletions made meanwhile show in the pages that
    // cover what is shown (newest first, up to 5 pages of 100): newer copies replace older ones, and
    // a shown message inside the covered span that the pages lack was deleted.
    const shown = stateRef.current.messages
    const oldestShown = shown[0]?.createdAt ?? ''
    const current: Message[] = []
    let covered = ''
    let cursor: string | undefined
    for (let n = 0; n < 5; n++) {
      const page = await ok(api.GET('/messages', { params: { query: { chatId: openId, limit: CATCH_UP_PAGE, ...(cursor ? { cursor } : {}) } } }))
      current.push(...page.items)
      covered = page.nextCursor === null ? '' : (page.items.at(-1)?.createdAt ?? '')
      if (page.nextCursor === null || covered <= oldestShown) break
      cursor = page.nextCursor
    }
    const present = new Set([...current, ...missed].map((m) => m.id))
    for (const m of shown) {
      if (m.createdAt > covered && !present.has(m.id)) dispatch({ type: 'messageGone', id: m.id, chatId: openId })
    }
    const shownIds = new Set(shown.map((m) => m.id))
    dispatch({ type: 'messages', items: current.filter((m) => shownIds.has(m.id)).reverse() })
    return missed.map((message) => ({ type: 'message.created', data: message }))
  }, [api, loadNewest])

  const onEvent = useCallback(
    (event: LiveEvent) => {
      const { type, data } = event
      const known = (chatId: string) => stateRef.current.chats.some((i) => i.chat.id === chatId)
      switch (type) {
        case 'message.created':
        case 'message.updated':
          if (!known(data.chatId)) void loadChats(false)
          dispatch({ type: 'messages', items: [data as Message] })
          break
        case 'message.deleted':
          dispatch({ type: 'messageGone', id: data.id, chatId: data.chatId })
          break
        case 'chat.updated':
          dispatch({ type: 'chat', chat: data as Chat })
          break
        case 'chat.deleted':
          dispatch({ type: 'chatGone', id: data.id })
          break
        case 'chat.member_added':
          if (data.userId === meRef.current?.id || !known(data.chatId)) void loadChats(false)
          else dispatch({ type: 'memberAdded', chatId: data.chatId, member: data as Member })
          break
        case 'chat.member_removed':
          if (data.userId === meRef.current?.id) dispatch({ type: 'chatGone', id: data.chatId })
          else dispatch({ type: 'memberGone', chatId: data.chatId, userId: data.userId })
          break
      }
    },
    [loadChats],
  )

  useEffect(() => {
    void attempt(async () => setMe(await ok(api.GET('/auth/me'))))
    void attempt(() => loadChats(false))
    const live = connectLive({
      url: '/ws',
      token: ({ refresh }) => session.accessToken({ refresh }),
      catchUp: async ({ reconnect }) => {
        if (!reconnect) return []
        await loadChats(true)
        return catchUpOpenChat()
      },
      onEvent,
      onStatus: (status) => dispatch({ type: 'status', status }),
      onEnded: () => void session.logOut(),
    })
    return () => live.close()
  }, [api, session])

  const open = useCallback(
    (chatId: string | null) => {
      setDialog(null)
      dispatch({ type: 'open', id: chatId })
      if (chatId) void attempt(() => Promise.all([loadNewest(chatId), loadMembers(chatId)]))
    },
    [attempt, loadNewest, loadMembers],
  )

  const openItem = state.chats.find((i) => i.chat.id === state.openId)

  return (
    <div class={`shell ${state.openId ? 'has-open' : ''}`}>
      <header class="topbar">
        <h1>fastkit chat</h1>
        <ConnectionIndicator status={state.status} />
        <span class="me" title="Signed in as">
          {username}
        </span>
        <button type="button" onClick={() => void session.logOut()}>
          Log out
        </button>
      </header>
      {error && (
        <div class="banner" role="alert">
          <span>{error}</span>
          <button type="button" onClick={() => setError(null)}>
            Dismiss
          </button>
        </div>
      )}
      <ChatList items={state.chats} openId={state.openId} onOpen={open} onNew={() => setDialog('new')} />
      <main class="conversation">
        {openItem && me ? (
          <ChatView
            key={openItem.chat.id}
            api={api}
            chat={openItem.chat}
            me={me}
            messages={state.messages}
            members={state.members}
            olderCursor={state.olderCursor}
            attempt={attempt}
            onMessages={(items) => dispatch({ type: 'messages', items })}
            onOlder={(page) => dispatch({ type: 'page', chatId: openItem.chat.id, items: page.items, olderCursor: page.nextCursor, replace: false })}
            onGone={(id) => dispatch({ type: 'messageGone', id, chatId: openItem.chat.id })}
            onBack={() => open(null)}
            onSettings={() => setDialog('settings')}
          />
        ) : (
          <div class="empty">
            <p>Pick a chat, or start one with “New chat”.</p>
          </div>
        )}
      </main>
      {dialog === 'new' && me && (
        <NewChatDialog
          api={api}
          me={me}
          onClose={() => setDialog(null)}
          onCreated={(chat) => {
            dispatch({ type: 'chat', chat })
            open(chat.id)
          }}
        />
      )}
      {dialog === 'settings' && openItem && me && (
        <ChatSettings
          api={api}
          chat={openItem.chat}
          me={me}
          members={state.members}
          attempt={attempt}
          onClose={() => setDialog(null)}
          onChat={(chat) => dispatch({ type: 'chat', chat })}
          onMember={(member) => dispatch({ type: 'memberAdded', chatId: openItem.chat.id, member })}
          onMemberGone={(userId) => dispatch({ type: 'memberGone', chatId: openItem.chat.id, userId })}
          onLeft={() => {
            setDialog(null)
            dispatch({ type: 'chatGone', id: openItem.chat.id })
          }}
        />
      )}
    </div>
  )
}
