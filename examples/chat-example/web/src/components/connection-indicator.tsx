import type { LiveStatus } from 'fastkit/client'

const LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  syncing: 'Catching up…',
  open: 'Live',
  offline: 'Offline',
  closed: 'Disconnected',
}

/** Whether live updates are flowing. */
export function ConnectionIndicator({ status }: { status: LiveStatus }) {
  return (
    <span class={`connection ${status}`} role="status" aria-live="polite" data-status={status} title={status === 'offline' ? 'Live connection lost: reconnecting' : 'Live connection'}>
      <span class="dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  )
}
