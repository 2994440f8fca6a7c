import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

// The layering rules of ARCHITECTURE.md, checked from the import statements themselves: each folder
// under src/ is an area; files directly in src/ (the barrel, the Fastify augmentations) sit above
// every area and are left out.

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )
}

function areaOf(file: string): string | undefined {
  const parts = relative(src, file).split(sep)
  return parts.length > 1 ? parts[0] : undefined
}

/** Relative specifiers of a file's `import … from`, `export … from` and `import '…'` statements (JSDoc examples are not at a line start). */
function relativeImports(text: string): string[] {
  const specifiers = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms), ...text.matchAll(/^import\s+'(\.[^']+)'/gm)]
  return specifiers.map((match) => match[1]!)
}

/** `from area -> to area` with the files that make each arrow. */
function areaArrows(): Map<string, Set<string>> {
  const arrows = new Map<string, Set<string>>()
  for (const file of sourceFiles(src)) {
    const from = areaOf(file)
    if (!from) continue
    for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
      const to = areaOf(resolve(dirname(file), specifier))
      if (!to || to === from) continue
      const key = `${from} -> ${to}`
      if (!arrows.has(key)) arrows.set(key, new Set())
      arrows.get(key)!.add(relative(src, file))
    }
  }
  return arrows
}

/** The areas of one cycle in the arrows, or undefined if there is none. */
function findCycle(arrows: Iterable<string>): string[] | undefined {
  const next = new Map<string, string[]>()
  for (const arrow of arrows) {
    const [from, to] = arrow.split(' -> ') as [string, string]
    next.set(from, [...(next.get(from) ?? []), to])
  }
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (area: string): string[] | undefined => {
    if (state.get(area) === 'open') return [...path.slice(path.indexOf(area)), area]
    if (state.get(area) === 'done') return undefined
    state.set(area, 'open')
    path.push(area)
    for (const to of next.get(area) ?? []) {
      const cycle = visit(to)
      if (cycle) return cycle
    }
    path.pop()
    state.set(area, 'done')
    return undefined
  }
  for (const area of next.keys()) {
    const cycle = visit(area)
    if (cycle) return cycle
  }
  return undefined
}

describe('architecture: dependencies between areas of src/ point one way', () => {
  const arrows = areaArrows()

  test('the import scan sees the arrows it should (so the rules below cannot pass on an empty graph)', () => {
    expect(arrows.get('router -> service')).toContain(join('router', 'base-router.ts'))
    expect(arrows.get('http -> db')).toContain(join('http', 'database-error-mapping.ts'))
    expect(findCycle(['a -> b', 'b -> c', 'c -> a'])).toEqual(['a', 'b', 'c', 'a'])
  })

  test('nothing in db/ imports from http/: the database layer says what an error is, http/ says what a client sees', () => {
    expect([...(arrows.get('db -> http') ?? [])]).toEqual([])
  })

  test('every area imports only from areas below it in the layer order', () => {
    // Lowest first. A new area must be placed here, which is the point: where it sits is a decision.
    const layers = [
      'db', 'redis', 'di', 'uow', 'http', 'repository', 'service', 'openapi', 'router',
      'request-scope', 'events', 'auth', 'realtime', 'app', 'client', 'testing',
    ]
    const areas = new Set(sourceFiles(src).map(areaOf).filter((area): area is string => area !== undefined))
    expect([...areas].filter((area) => !layers.includes(area))).toEqual([])
    const upward = [...arrows.keys()].filter((arrow) => {
      const [from, to] = arrow.split(' -> ') as [string, string]
      return layers.indexOf(to) > layers.indexOf(from)
    })
    expect(upward.map((arrow) => `${arrow}: ${[...arrows.get(arrow)!].join(', ')}`)).toEqual([])
  })

  test('there is no import cycle between areas', () => {
    const cycle = findCycle(arrows.keys())
    const detail = cycle?.slice(1).map((to, i) => `${cycle[i]} -> ${to}: ${[...arrows.get(`${cycle[i]} -> ${to}`)!].join(', ')}`)
    expect(detail).toBeUndefined()
  })
})
