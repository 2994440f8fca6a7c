import { describe, expect, test } from 'vitest'
import { freePort, startServerProcess } from '../src/testing/index.js'

/** fastkit/testing's server processes, with tiny `node -e` servers (the real ones: events-processes.test.ts, the chat's process tests). */
describe('startServerProcess', () => {
  test('up once its output matches `ready`; later lines can be awaited; stop() sends SIGTERM and says how it ended', async () => {
    const script = `
      console.log('listening on port 4242')
      process.on('SIGTERM', () => { console.log('bye'); process.exit(0) })
      setTimeout(() => console.error('later, on stderr'), 50)
      setInterval(() => {}, 1000)`
    const server = await startServerProcess({ args: ['-e', script], ready: /listening on port (\d+)/ })
    expect(server.readyMatch?.[1]).toBe('4242')
    expect((await server.waitForOutput(/later, (on \w+)/))[1]).toBe('on stderr')
    expect(await server.stop()).toEqual({ code: 0, signal: null })
    expect(server.output()).toMatch(/bye/)
    expect(await server.stop()).toEqual({ code: 0, signal: null })
  })

  test('up once GET url answers 200 (polled until the port opens)', async () => {
    const port = await freePort()
    const script = `
      setTimeout(() => require('node:http').createServer((req, res) => res.end('ok')).listen(${port}, '127.0.0.1'), 300)`
    const server = await startServerProcess({ args: ['-e', script], ready: { url: `http://127.0.0.1:${port}/health` } })
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok')
    expect(await server.stop()).toEqual({ code: null, signal: 'SIGTERM' })
  })

  test('a process that exits before it is up rejects with its exit code and output', async () => {
    await expect(startServerProcess({ args: ['-e', `console.error('bad config'); process.exit(3)`], ready: /never/ })).rejects.toThrow(
      /exited \(3\) before printing \/never\/\n--- output\nbad config/,
    )
    const port = await freePort()
    await expect(startServerProcess({ args: ['-e', 'process.exit(4)'], ready: { url: `http://127.0.0.1:${port}/` } })).rejects.toThrow(/exited \(4\) before answering GET/)
  })

  test('one that is not up in time is killed, and the rejection says what it waited for', async () => {
    const started = Date.now()
    await expect(startServerProcess({ args: ['-e', `console.log('booting'); setInterval(() => {}, 1000)`], ready: /ready/, timeoutMs: 1_500 })).rejects.toThrow(
      /did not print \/ready\/ within 1500 ms\n--- output\nbooting/,
    )
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  test('waitForOutput rejects when the process exits without printing the pattern', async () => {
    const server = await startServerProcess({ args: ['-e', `console.log('up'); setTimeout(() => process.exit(0), 100)`], ready: /up/ })
    await expect(server.waitForOutput(/never printed/)).rejects.toThrow(/exited \(0\) before printing \/never printed\//)
  })
})
