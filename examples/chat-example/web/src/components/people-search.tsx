import { useEffect, useId, useState } from 'preact/hooks'
import { ok, type Api, type UserSummary } from '../api/client.js'

/** A field labelled "Add people": username prefix search; each result is an "Add <name>" button. */
export function PeopleSearch(props: { api: Api; exclude: readonly string[]; onPick: (user: UserSummary) => void }) {
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<UserSummary[]>([])
  const [note, setNote] = useState<string | null>(null)
  const id = useId()

  useEffect(() => {
    const search = query.trim()
    if (!search) {
      setResults([])
      setNote(null)
      return
    }
    let current = true
    const timer = setTimeout(() => {
      ok(props.api.GET('/users', { params: { query: { search, limit: 10 } } }))
        .then((page) => {
          if (!current) return
          setResults(page.items)
          setNote(page.items.length ? null : 'Nobody found with that name.')
        })
        .catch((e: Error) => current && setNote(e.message))
    }, 200)
    return () => {
      current = false
      clearTimeout(timer)
    }
  }, [query, props.api])

  const shown = results.filter((u) => !props.exclude.includes(u.id))
  return (
    <div class="people-search">
      <label for={id}>Add people</label>
      <input id={id} type="search" placeholder="Search by username" autocomplete="off" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      {note && <p class="muted small">{note}</p>}
      {shown.length > 0 && (
        <ul class="results" aria-label="People found">
          {shown.map((user) => (
            <li key={user.id}>
              <span>{user.username}</span>
              <button type="button" aria-label={`Add ${user.username}`} onClick={() => {
                  props.onPick(user)
                  setQuery('')
                }}>
                Add
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
