import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/**
 * A port of 127.0.0.1 that nobody listens on right now: the OS picks it, the probe closes it again.
 * For a server started in another process, which binds it a moment later.
 *
 * @example
 * ```ts
 * const port = await freePort()
 * const server = await startServerProcess({ args: ['--import', 'tsx', 'src/main.ts'], env: { ...process.env, PORT: String(port) }, ready: { url: `http://127.0.0.1:${port}/health` } })
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** How {@link startServerProcess} runs a server and knows it is up. */
export interface ServerProcessOptions {
  /**
   * Node's arguments: flags and the script, run by this test's own Node (`process.execPath`). Run
   * TypeScript as `['--import', 'tsx', 'src/main.ts']`: the `tsx` command is a wrapper process whose
   * signal relay makes a SIGTERMed server look killed (exit 143) under load.
   */
  readonly args: readonly string[]
  readonly cwd?: string
  /** The whole environment of the process. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** Up once its output (stdout and stderr) matches this, or once `GET url` answers 200. */
  readonly ready: RegExp | { readonly url: string }
  /** How long it may take to be up. Default 60 000 ms. */
  readonly timeoutMs?: number
}

/** How a server process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A server running in a child process (see {@link startServerProcess}). */
export interface ServerProcess {
  readonly child: ChildProcess
  /** The match of `ready` when it was a pattern (e.g. the port the server printed). */
  readonly readyMatch: RegExpExecArray | undefined
  /** Everything it wrote to stdout and stderr so far, interleaved as it arrived. */
  output(): string
  /** Resolves with the first match of `pattern` in its output, now or once it arrives; rejects after `timeoutMs` (default 10 000) or if it exits first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** Resolves once it has exited. */
  readonly exited: Promise<ProcessExit>
  /** Sends `signal` (default SIGTERM), then SIGKILL after `killAfterMs` (default 5 000); resolves with how it ended. Safe to call twice. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ProcessExit>
}

/**
 * Starts a server in a child process of this Node and resolves once it is up; rejects (and kills
 * it) with its output when it exits first or is not up within `timeoutMs`. For what only a real
 * process shows: signals and shutdown, several processes sharing a database or a transport.
 *
 * @example
 * ```ts
 * const server = await startServerProcess({ args: ['--import', 'tsx', 'src/main.ts'], env: { ...process.env, PORT: '0' }, ready: /listening on (http:\S+)/ })
 * const baseUrl = server.readyMatch![1]!
 * expect((await server.stop()).code).toBe(0)
 * ```
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const child = spawn(process.execPath, [...options.args], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const listeners = new Set<() => void>()
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of [...listeners]) listener()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  let exit: ProcessExit | undefined
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      for (const listener of [...listeners]) listener()
      resolve(exit)
    })
    child.once('error', (error) => {
      output += `\n${error.message}`
      exit = { code: null, signal: null }
      for (const listener of [...listeners]) listener()
      resolve(exit)
    })
  })
  const describe = `node ${options.args.join(' ')}`

  const waitForOutput = (pattern: RegExp, waitMs = 10_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output)
        if (!match && !exit) return
        listeners.delete(check)
        clearTimeout(timer)
        if (match) resolve(match)
        else reject(new Error(`${describe} exited (${exit!.code ?? exit!.signal}) before printing ${pattern}\n--- output\n${output.slice(-6_000)}`))
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`${describe} did not print ${pattern} within ${waitMs} ms\n--- output\n${output.slice(-6_000)}`))
      }, waitMs)
      listeners.add(check)
      check()
    })

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 5_000) => {
    if (!exit) child.kill(signal)
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    try {
      return await exited
    } finally {
      clearTimeout(killer)
    }
  }

  let readyMatch: RegExpExecArray | undefined
  try {
    if (options.ready instanceof RegExp) readyMatch = await waitForOutput(options.ready, timeoutMs)
    else await untilAnswers(options.ready.url, timeoutMs, () => exit, describe, () => output)
  } catch (error) {
    await stop('SIGKILL')
    throw error
  }
  return { child, readyMatch, output: () => output, waitForOutput, exited, stop }
}

/** Polls `GET url` until it answers 200 (the server's port opens at some point; there is nothing to listen to before). */
async function untilAnswers(url: string, timeoutMs: number, exit: () => ProcessExit | undefined, describe: string, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = exit()
    if (status) throw new Error(`${describe} exited (${status.code ?? status.signal}) before answering GET ${url}\n--- output\n${output().slice(-6_000)}`)
    if (Date.now() > deadline) throw new Error(`${describe} did not answer GET ${url} within ${timeoutMs} ms\n--- output\n${output().slice(-6_000)}`)
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.arrayBuffer().then(() => response.status === 200),
      () => false,
    )
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
