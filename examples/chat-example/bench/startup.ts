/**
 * Start-up time and memory of the chat as `pnpm start` runs it (node --import tsx src/main.ts, embedded
 * PGlite): once on a new data folder, then twice on the existing one. Prints, for each start, the time
 * from spawn to the "ready" line, the time the process reports for itself, each start-up step and the
 * resident memory once ready.
 *
 *   node --import tsx examples/chat-example/bench/startup.ts [runs on existing data, default 2]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const exampleDir = fileURLToPath(new URL('..', import.meta.url))

interface Start {
  readonly label: string
  readonly wallMs: number
  readonly reportedMs: number
  readonly steps: string
  readonly rssMb: number
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024)
}

async function start(label: string, dataDir: string, port: number): Promise<Start> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', REDIS_URL: '' }
  delete env.DATABASE_URL
  const begin = performance.now()
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@fastkit/source', 'src/main.ts'], { cwd: exampleDir, env, stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  const steps: string[] = []
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready:\n${output}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue
        const { time, msg } = JSON.parse(line) as { time: number; msg: string }
        if (!steps.some((s) => s.endsWith(msg))) steps.push(`${time} ${msg}`)
        if (msg.startsWith('chat example ready')) resolve()
      }
    })
  })
  const wallMs = Math.round(performance.now() - begin)
  const rssMb = residentMb(child.pid!)
  const reportedMs = Number(/"startupMs":(\d+)/.exec(output)?.[1])
  const first = Number(steps[0]!.split(' ')[0])
  const timeline = steps.map((s) => `+${Number(s.split(' ')[0]) - first} ms ${s.slice(s.indexOf(' ') + 1).slice(0, 60)}`).join('\n    ')
  child.removeAllListeners('exit')
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
  return { label, wallMs, reportedMs, steps: timeline, rssMb }
}

const runs = Number(process.argv[2] ?? 2)
const dataDir = mkdtempSync(path.join(tmpdir(), 'chat-startup-'))
try {
  const results = [await start('new data folder', dataDir, 3990)]
  for (let i = 1; i <= runs; i++) results.push(await start(`existing data #${i}`, dataDir, 3990))
  for (const r of results) {
    console.log(`${r.label}: ready ${r.wallMs} ms after spawn (${r.reportedMs} ms by its own clock), ${r.rssMb} MB resident`)
    console.log(`    ${r.steps}`)
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
