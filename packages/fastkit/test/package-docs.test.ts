// The package's documentation stays true: the README names every public export and its example is
// the app the install test really runs; every export carries JSDoc; package.json's `sideEffects`
// keeps every module whose import order matters.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { beforeAll, describe, expect, test } from 'vitest'
import { packageDir, README_PROJECT_FILES, readmeFiles } from './install/tools.js'

interface PublicExport {
  readonly name: string
  readonly entry: string
  /** A runtime value (function, class, constant), not only a type. */
  readonly isValue: boolean
  readonly jsdoc: string
  readonly file: string
}

const ENTRIES = {
  fastkit: 'src/index.ts',
  'fastkit/extend': 'src/extend.ts',
  'fastkit/testing': 'src/testing/index.ts',
  'fastkit/client': 'src/client/index.ts',
} as const

/** Every export of the public entry points, with the JSDoc of all its declarations. */
function publicExports(): PublicExport[] {
  const files = Object.values(ENTRIES).map((f) => path.join(packageDir, f))
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const out: PublicExport[] = []
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(path.join(packageDir, file))!
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const declarations = symbol.declarations ?? []
      const jsdoc = declarations
        .flatMap((d) => ts.getJSDocCommentsAndTags(ts.isVariableDeclaration(d) ? d.parent.parent : d))
        .map((doc) => doc.getText())
        .join('\n')
      out.push({
        name: exported.name,
        entry,
        isValue: (symbol.flags & ts.SymbolFlags.Value) !== 0,
        jsdoc,
        file: path.relative(packageDir, declarations[0]!.getSourceFile().fileName),
      })
    }
  }
  return out
}

let exports: PublicExport[]
let readme: string

beforeAll(async () => {
  exports = publicExports()
  readme = await fs.readFile(path.join(packageDir, 'README.md'), 'utf8')
})

describe('the package documentation', () => {
  test('the README API reference names every export of fastkit, fastkit/extend, fastkit/testing and fastkit/client', () => {
    expect(exports.length).toBeGreaterThan(100)
    const reference = readme.slice(readme.indexOf('## API reference'))
    const missing = exports.filter((e) => !reference.includes(`\`${e.name}\``)).map((e) => `${e.entry}: ${e.name} (${e.file})`)
    expect(missing).toEqual([])
  })

  test('the README shows every file of its example project, which the install test builds, runs and tests', () => {
    // The install test writes exactly these blocks into a fresh npm project; here only that each is found.
    expect([...readmeFiles(readme).keys()].sort()).toEqual([...README_PROJECT_FILES].sort())
  })

  test('every public export has JSDoc, and every function, class and constant an @example', () => {
    const undocumented = exports.filter((e) => !/\/\*\*[\s\S]*?\w[\s\S]*?\*\//.test(e.jsdoc)).map((e) => `${e.name} (${e.file})`)
    expect(undocumented).toEqual([])
    const withoutExample = exports.filter((e) => e.isValue && !e.jsdoc.includes('@example')).map((e) => `${e.name} (${e.file})`)
    expect(withoutExample).toEqual([])
  })

  test('sideEffects keeps every module that loads reflect-metadata, which tsyringe needs first', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8')) as { sideEffects: unknown }
    expect(Array.isArray(manifest.sideEffects)).toBe(true)
    const sources = (await fs.readdir(path.join(packageDir, 'src'), { recursive: true })).map(String).filter((f) => f.endsWith('.ts'))
    const loaders: string[] = []
    for (const file of sources) {
      if (/^import 'reflect-metadata'/m.test(await fs.readFile(path.join(packageDir, 'src', file), 'utf8'))) loaders.push(file)
    }
    expect(loaders).toContain('index.ts')
    expect(loaders).toContain('extend.ts')
    for (const file of loaders) {
      expect(manifest.sideEffects).toContain(`./src/${file}`)
      expect(manifest.sideEffects).toContain(`./dist/${file.replace(/\.ts$/, '.js')}`)
    }
  })

  test('the CHANGELOG has a section for the package version', async () => {
    const { version } = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }
    const changelog = await fs.readFile(path.join(packageDir, 'CHANGELOG.md'), 'utf8')
    expect(changelog).toMatch(new RegExp(`^## \\[?${version.replaceAll('.', '\\.')}\\]?`, 'm'))
  })
})
