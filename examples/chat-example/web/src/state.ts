import type { LiveStatus } from 'fastkit/client'
import type { Chat, Member, Message } from './api/client.js'

/** A chat in the list: its newest activity (for ordering) and whether it changed unseen. */
export interface ChatItem {
  readonly chat: Chat
  /** ISO time of the newest message or change known. */
  readonly activity: string
  /** Id of the newest message known, to tell after a reconnect whether anything arrived. */
  readonly lastMessageId: string | null
  readonly lastMessageAt: string | null
  readonly changed: boolean
}

export interface ChatState {
  readonly chats: readonly ChatItem[]
  readonly openId: string | null
  /** The open chat's messages, oldest first. */
  readonly messages: readonly Message[]
  /** Cursor of the next older page of the open chat; null when the oldest is loaded; undefined before the first page. */
  readonly olderCursor: string | null | undefined
  readonly members: readonly Member[]
  readonly status: LiveStatus
}

export const initialState: ChatState = { chats: [], openId: null, messages: [], olderCursor: undefined, members: [], status: 'connecting' }

export type Action =
  | { type: 'chats'; items: readonly ChatItem[] }
  | { type: 'chat'; chat: Chat }
  | { type: 'chatGone'; id: string }
  | { type: 'open'; id: string | null }
  | { type: 'page'; chatId: string; items: readonly Message[]; olderCursor: string | null; replace: boolean }
  | { type: 'messages'; items: readonly Message[] }
  | { type: 'messageGone'; id: string; chatId: string }
  | { type: 'members'; chatId: string; items: readonly Member[] }
  | { type: 'memberAdded'; chatId: string; member: Member }
  | { type: 'memberGone'; chatId: string; userId: string }
  | { type: 'changed'; ids: readonly string[] }
  | { type: 'status'; status: LiveStatus }

const byActivity = (a: ChatItem, b: ChatItem) => (a.activity < b.activity ? 1 : a.activity > b.activity ? -1 : a.chat.id < b.chat.id ? -1 : 1)
const byTime = (a: Message, b: Message) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0)
const later = (a: string, b: string) => (a > b ? a : b)

/** Adds or replaces messages by id, keeping the list in creation order: never twice, never out of order. */
function mergeMessages(current: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map(current.map((m) => [m.id, m]))
  let appendOnly = true
  let last = current.at(-1)?.createdAt ?? ''
  for (const message of incoming) {
    const known = byId.get(message.id)
    // An older copy (a catch-up racing a live edit) never overwrites a newer one.
    if (known && known.updatedAt > message.updatedAt) continue
    if (!known) {
      if (message.createdAt < last) appendOnly = false
      last = later(last, message.createdAt)
    }
    byId.set(message.id, message)
  }
  const merged = [...byId.values()]
  // Map keeps insertion order: already sorted unless something older arrived late. sort() is stable.
  return appendOnly ? merged : merged.sort(byTime)
}

export function reducer(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case 'chats': {
      const open = state.openId && action.items.some((i) => i.chat.id === state.openId) ? state.openId : null
      return { ...state, chats: [...action.items].sort(byActivity), ...(open === state.openId ? {} : closed) }
    }
    case 'chat': {
      const existing = state.chats.find((i) => i.chat.id === action.chat.id)
      const item: ChatItem = existing
        ? { ...existing, chat: action.chat, activity: later(existing.activity, action.chat.updatedAt) }
        : { chat: action.chat, activity: action.chat.updatedAt, lastMessageId: null, lastMessageAt: null, changed: action.chat.id !== state.openId }
      return { ...state, chats: [item, ...state.chats.filter((i) => i.chat.id !== action.chat.id)].sort(byActivity) }
    }
    case 'chatGone': {
      const chats = state.chats.filter((i) => i.chat.id !== action.id)
      return state.openId === action.id ? { ...state, chats, ...closed } : { ...state, chats }
    }
    case 'open':
      return {
        ...state,
        ...closed,
        openId: action.id,
        chats: state.chats.map((i) => (i.chat.id === action.id ? { ...i, changed: false } : i)),
      }
    case 'page': {
      if (action.chatId !== state.openId) return state
      const messages = action.replace ? mergeMessages([], [...action.items].sort(byTime)) : mergeMessages(state.messages, action.items)
      return { ...state, messages, olderCursor: action.olderCursor }
    }
    case 'messages': {
      let chats = state.chats
      let messages = state.messages
      for (const message of action.items) {
        chats = chats.map((i) => {
          if (i.chat.id !== message.chatId || message.createdAt < (i.lastMessageAt ?? '')) return i
          return {
            ...i,
            activity: later(i.activity, message.createdAt),
            lastMessageId: message.id,
            lastMessageAt: message.createdAt,
            changed: i.changed || message.chatId !== state.openId,
          }
        })
      }
      const open = action.items.filter((m) => m.chatId === state.openId)
      if (open.length) messages = mergeMessages(messages, open)
      return { ...state, chats: [...chats].sort(byActivity), messages }
    }
    case 'messageGone':
      return action.chatId === state.openId ? { ...state, messages: state.messages.filter((m) => m.id !== action.id) } : state
    case 'members':
      return action.chatId === state.openId ? { ...state, members: action.items } : state
    case 'memberAdded':
      return action.chatId === state.openId
        ? { ...state, members: [...state.members.filter((m) => m.userId !== action.member.userId), action.member] }
        : state
    case 'memberGone':
      return action.chatId === state.openId ? { ...state, members: state.members.filter((m) => m.userId !== action.userId) } : state
    case 'changed':
      return { ...state, chats: state.chats.map((i) => (action.ids.includes(i.chat.id) && i.chat.id !== state.openId ? { ...i, changed: true } : i)) }
    case 'status':
      return { ...state, status: action.status }
  }
}

const closed = { openId: null, messages: [], olderCursor: undefined, members: [] } as const
