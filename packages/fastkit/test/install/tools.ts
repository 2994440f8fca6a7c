// Helpers of the package tests: pack fastkit the way a release would, install it with npm into a
// fresh project far from this workspace, and run that project's programs.
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServerProcess } from '../../src/testing/index.js'

export const packageDir = fileURLToPath(new URL('../../', import.meta.url))
export const workspaceDir = path.resolve(packageDir, '../..')
export const readmePath = path.join(packageDir, 'README.md')

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/**
 * The environment for child tools: without the npm_* / pnpm_* variables a `pnpm test` run exports,
 * which would otherwise steer the nested npm (its registry, its lockfile mode, its user agent), and
 * without NODE_OPTIONS a test runner may have set for its own workers.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) || key === 'NODE_OPTIONS' || key.startsWith('VITEST')) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs a command to its end; never rejects (the caller asserts on `code` and shows the output). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]`
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 180_000)
    child.on('error', (error) => {
      stderr += `\n${error.message}`
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: Date.now() - started })
    })
  })
}

/** A failed run as one readable message. */
export function describeRun(what: string, result: RunResult): string {
  return `${what} exited with ${result.code} after ${result.millis} ms\n--- stdout\n${result.stdout.slice(-6000)}\n--- stderr\n${result.stderr.slice(-6000)}`
}

/** `npx -y pnpm@<the workspace's pinned version>`, so the test packs with the pnpm CI uses. */
export async function pnpmCommand(): Promise<[string, string[]]> {
  const root = JSON.parse(await fs.readFile(path.join(workspaceDir, 'package.json'), 'utf8')) as { packageManager?: string }
  return ['npx', ['-y', root.packageManager ?? 'pnpm']]
}

/** The version of a package installed for fastkit in this workspace (what its tests ran against). */
export async function workspaceVersion(name: string): Promise<string> {
  const file = path.join(packageDir, 'node_modules', name, 'package.json')
  return (JSON.parse(await fs.readFile(file, 'utf8')) as { version: string }).version
}

export interface PackedPackage {
  /** The `.tgz`, in its own temporary directory. */
  readonly tarball: string
  /** Paths inside the tarball, without the `package/` prefix, sorted. */
  readonly files: readonly string[]
  /** The package.json as packed. */
  readonly manifest: Record<string, unknown>
  /** How long the build and pack took. */
  readonly millis: number
  cleanup(): Promise<void>
}

/**
 * Packs fastkit with `pnpm pack` from a copy of its published inputs (package.json, src, docs, the
 * build config) in a temporary directory, so the `prepack` build runs from a tree without any
 * `dist/` and the workspace's own `dist/` is never touched while other tests run. The copy borrows
 * the package's node_modules (a symlink) for the compiler and the type declarations of its deps.
 */
export async function packFastkit(): Promise<PackedPackage> {
  const started = Date.now()
  const stage = await fs.mkdtemp(path.join(os.tmpdir(), 'fastkit-pack-'))
  const cleanup = () => fs.rm(stage, { recursive: true, force: true })
  try {
    for (const entry of ['package.json', 'src', 'README.md', 'CHANGELOG.md', 'LICENSE']) {
      await fs.cp(path.join(packageDir, entry), path.join(stage, entry), { recursive: true })
    }
    const buildConfig = JSON.parse(await fs.readFile(path.join(packageDir, 'tsconfig.build.json'), 'utf8')) as { extends?: string }
    if (buildConfig.extends) buildConfig.extends = path.resolve(packageDir, buildConfig.extends)
    await fs.writeFile(path.join(stage, 'tsconfig.build.json'), JSON.stringify(buildConfig, null, 2))
    await fs.symlink(path.join(packageDir, 'node_modules'), path.join(stage, 'node_modules'), 'dir')

    const out = path.join(stage, 'out')
    const [pnpm, pnpmArgs] = await pnpmCommand()
    const packed = await run(pnpm, [...pnpmArgs, 'pack', '--pack-destination', out], { cwd: stage, timeoutMs: 240_000 })
    if (packed.code !== 0) throw new Error(describeRun('pnpm pack', packed))
    const [name] = (await fs.readdir(out)).filter((f) => f.endsWith('.tgz'))
    if (!name) throw new Error(describeRun('pnpm pack (no .tgz written)', packed))
    const tarball = path.join(out, name)

    const listing = await run('tar', ['-tzf', tarball], { cwd: stage })
    if (listing.code !== 0) throw new Error(describeRun('tar -t', listing))
    const files = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''))
      .sort()
    const manifestText = await run('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: stage })
    const manifest = JSON.parse(manifestText.stdout) as Record<string, unknown>
    return { tarball, files, manifest, millis: Date.now() - started, cleanup }
  } catch (error) {
    await cleanup()
    throw error
  }
}

/** A long-running program of the installed project (its HTTP server). */
export interface StartedServer {
  readonly url: string
  readonly output: () => string
  /** Sends SIGTERM and waits for the exit; resolves to the exit code (128 + n when a signal killed it). */
  stop(): Promise<number | null>
}

/**
 * Runs `node <args>` and waits until it prints `listening on http://…` (the fixture app's first line),
 * failing with the program's output if it exits or stays silent for `timeoutMs`.
 */
export async function startServer(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<StartedServer> {
  const server = await startServerProcess({ args, cwd: options.cwd, env: options.env, ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/, timeoutMs: options.timeoutMs ?? 60_000 })
  return {
    url: server.readyMatch![1]!,
    output: server.output,
    async stop() {
      const { code, signal } = await server.stop('SIGTERM', 15_000)
      return code ?? (signal ? 128 : null)
    },
  }
}

/** What the README's project is made of: each is a file the README shows. */
export const README_PROJECT_FILES = [
  'package.json',
  'tsconfig.json',
  'src/schema.ts',
  'src/migrations/001-tasks.ts',
  'src/migrations/002-users.ts',
  'src/migrations/index.ts',
  'src/tasks.ts',
  'src/auth.ts',
  'src/app.ts',
  'src/main.ts',
  'test/app.test.ts',
] as const

/**
 * The project files the README shows: every fenced `ts`/`json` block whose paragraph starts with the
 * file's path in backticks (`` `src/app.ts`: … `` or `` `test/app.test.ts`, … ``). The install test
 * writes exactly these, so the README cannot drift from what is compiled, run and tested.
 */
export function readmeFiles(markdown: string): Map<string, string> {
  const files = new Map<string, string>()
  const block = /^`([\w./-]+\.(?:ts|json))`[:,][^\n]*(?:\n[^\n]+)*\n\n```(?:ts|json)\n([\s\S]*?)\n```$/gm
  for (const match of markdown.matchAll(block)) {
    const [, file, body] = match
    if (files.has(file!)) throw new Error(`README.md shows ${file} twice`)
    files.set(file!, `${body}\n`)
  }
  return files
}

/**
 * True when `version` is in `range` (an exact version, `^x.y.z` or `~x.y.z`, npm's semantics), so the
 * versions the README asks for are the ones fastkit is tested with.
 */
export function rangeAllows(range: string, version: string): boolean {
  const r = /^([\^~]?)(\d+)\.(\d+)\.(\d+)$/.exec(range)
  const v = /^(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (!r || !v) return false
  const [want, got] = [r.slice(2).map(Number), v.slice(1).map(Number)] as [number[], number[]]
  const op = r[1]
  if (op === '') return want.join('.') === got.join('.')
  if (got[0] !== want[0]) return false
  if ((op === '~' || want[0] === 0) && got[1] !== want[1]) return false
  return got[1]! > want[1]! || (got[1] === want[1] && got[2]! >= want[2]!)
}
