import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'

const atLeast = (version: string, minimum: [number, number, number]) => {
  const parts = version.split(/[.+-]/).slice(0, 3).map(Number)
  for (let i = 0; i < 3; i++) {
    if (parts[i]! !== minimum[i]) return parts[i]! > minimum[i]!
  }
  return true
}

test('the lockfile resolves fast-jwt 6.3.1 or newer everywhere (older versions allow algorithm confusion)', () => {
  const lockfile = readFileSync(new URL('../../../pnpm-lock.yaml', import.meta.url), 'utf8')
  const versions = [...lockfile.matchAll(/^\s+'?fast-jwt@(\d+\.\d+\.\d+[^':\s]*)'?:/gm)].map((m) => m[1]!)
  const dependedOn = [...lockfile.matchAll(/^\s+fast-jwt: (\d+\.\d+\.\d+\S*)$/gm)].map((m) => m[1]!)
  expect(versions.length).toBeGreaterThan(0)
  expect(dependedOn.length).toBeGreaterThan(0)
  for (const version of [...versions, ...dependedOn]) expect(atLeast(version, [6, 3, 1]), `fast-jwt ${version}`).toBe(true)
})
