// Every export of fastkit's entry points (package.json `exports`, through their `@fastkit/source`
// condition) with the number of files using it: in the chat example, in the package's tests and
// benchmarks, in other source files of the package (a name used only there is a candidate for
// leaving the barrels), and in the READMEs. Tab-separated, one row per name.
//
//   cd packages/fastkit && npx tsx scripts/api-inventory.mts > /tmp/api.tsv
import ts from 'typescript'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
const pkg = fileURLToPath(new URL('..', import.meta.url))
const repo = path.resolve(pkg, '../..')
const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
const entries: Record<string, string> = {}
for (const [entry, target] of Object.entries(manifest.exports)) {
  if (typeof target === 'object' && target['@fastkit/source']) entries[path.posix.join('fastkit', entry)] = target['@fastkit/source']
}
const program = ts.createProgram(Object.values(entries).map((f) => path.join(pkg, f)), { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, noEmit: true })
const checker = program.getTypeChecker()
const count = (name: string, dirs: string[], exclude: string[] = []) => {
  try {
    const out = execFileSync('grep', ['-rlwE', name, ...dirs, '--include=*.ts', '--include=*.tsx', '--include=*.mts', '--include=*.md', '--exclude-dir=node_modules', '--exclude-dir=dist'], { cwd: repo, encoding: 'utf8' })
    return out.split('\n').filter(Boolean).filter((f) => !exclude.some((e) => f.endsWith(e))).length
  } catch { return 0 }
}
const rows: string[] = []
for (const [entry, file] of Object.entries(entries)) {
  const source = program.getSourceFile(path.join(pkg, file))!
  for (const exp of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp
    const def = path.relative(pkg, sym.declarations![0]!.getSourceFile().fileName)
    const kind = sym.flags & ts.SymbolFlags.Value ? 'value' : 'type'
    const ex = count(exp.name, ['examples/chat-example'])
    const t = count(exp.name, ['packages/fastkit/test', 'packages/fastkit/bench'])
    const s = count(exp.name, ['packages/fastkit/src'], [def.replace(/^src\//, ''), 'src/index.ts'])
    const readme = count(exp.name, ['packages/fastkit/README.md', 'README.md'])
    rows.push([entry, exp.name, kind, def, ex, t, s, readme].join('\t'))
  }
}
console.log(['entry', 'name', 'kind', 'defined in', 'example', 'pkg tests', 'src (other files)', 'READMEs'].join('\t'))
console.log(rows.join('\n'))
