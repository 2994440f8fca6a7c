import { throttleEventsMigration } from 'fastkit'

// The login and registration throttles' counts, shared by every process on a PostgreSQL server.
export const { up, down } = throttleEventsMigration()
