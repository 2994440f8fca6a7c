import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort } from 'fastkit/testing'

const run = promisify(execFile)

/**
 * A throwaway PostgreSQL cluster in a temp folder, run as the `postgres` user, on a free port of
 * 127.0.0.1 (never 5432). For tests that stop, kill or freeze a database server: never the shared one.
 * Processes are signalled by pid (postmaster.pid and its children), never by name.
 */
export interface PgCluster {
  readonly url: string
  readonly port: number
  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  start(): Promise<void>
  /** `pg_ctl stop -m <mode> -w`. */
  stop(mode: 'fast' | 'immediate'): Promise<void>
  /** SIGSTOP to the postmaster and every child of it (the server keeps its sockets, answers nothing). */
  freeze(): void
  /** SIGCONT to the same processes. */
  thaw(): void
  /** Stops the cluster (immediate) and deletes its folder. */
  destroy(): Promise<void>
}

/** Why a cluster cannot be made here (binaries or privileges missing), or `undefined` if it can. */
export function clusterUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'a throwaway PostgreSQL cluster needs Linux (/proc, runuser)'
  const bin = postgresBinDir()
  if (!bin) return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or PG_BIN'
  const user = userInfo().username
  if (user !== 'postgres' && process.getuid?.() !== 0) return `initdb must run as user postgres; this process is ${user}, not root`
  if (user !== 'postgres' && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'runuser is missing'
  return undefined
}

function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] && path.join(root, versions[0], 'bin')
}

/** Runs a server binary as the `postgres` user. */
async function asPostgres(binary: string, args: string[]): Promise<string> {
  const command = path.join(postgresBinDir()!, binary)
  const [file, argv] = userInfo().username === 'postgres' ? [command, args] : ['runuser', ['-u', 'postgres', '--', command, ...args]]
  const { stdout } = await run(file, argv, { timeout: 60_000 })
  return stdout
}

/** initdb (trust, UTF-8, no fsync) in a new temp folder, then starts it. */
export async function createPgCluster(): Promise<PgCluster> {
  const reason = clusterUnavailableReason()
  if (reason) throw new Error(reason)
  const dir = await mkdtemp(path.join(tmpdir(), 'fastkit-fault-pg-'))
  if (userInfo().username !== 'postgres') {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  await chmod(dir, 0o700)
  const data = path.join(dir, 'data')
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C'])
  const port = await freePort()
  // fsync off: the data still reaches the OS, which outlives any stop mode. synchronous_commit stays
  // on: an immediate stop must not lose a commit that was acknowledged.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
  const start = async () => {
    await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start'])
  }
  const stop = async (mode: 'fast' | 'immediate') => {
    await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'])
  }
  let frozen: number[] = []
  const signal = (pids: number[], name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name)
      } catch {
        // exited meanwhile
      }
    }
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    freeze() {
      const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
      // The postmaster first, so it forks no new children while we collect them.
      frozen = [postmaster]
      signal([postmaster], 'SIGSTOP')
      frozen.push(...childrenOf(postmaster))
      signal(frozen.slice(1), 'SIGSTOP')
    },
    thaw() {
      signal(frozen, 'SIGCONT')
      frozen = []
    },
    async destroy() {
      signal(frozen, 'SIGCONT')
      if (existsSync(path.join(data, 'postmaster.pid'))) await stop('immediate').catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Pids whose parent is `pid` (from /proc/<pid>/stat; the command name may contain spaces or parentheses). */
function childrenOf(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) children.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return children
}
