// Extracts the TypeScript code blocks of Markdown files and of JSDoc `@example`s, and typechecks them
// all in ONE compiler program, each as its own module. The conventions are documented at the top of
// test/doc-snippets.test.ts.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { packageDir } from '../install/tools.js'

/** One fenced `ts` block, where it came from, and how it is to be compiled. */
export interface Snippet {
  /** `path:line` of the block's first code line, the path relative to the workspace root. */
  readonly where: string
  /** The documentation file, relative to the workspace root. */
  readonly file: string
  /** 1-based line (in `file`) of the block's first code line. */
  readonly line: number
  /** The Markdown heading the block sits under (`''` for JSDoc and for text before any heading). */
  readonly section: string
  /** The block's code, one line per line of the source. */
  readonly code: string
  /**
   * From the fence's info string: `ts class-body=Base` (the block is the body of a class extending
   * `Base`) or `ts method-body=Base` (the body of an async method of such a class). `Base` is a class of
   * the prelude or of the snippet's own imports.
   */
  readonly wrap?: { readonly kind: 'class-body' | 'method-body'; readonly base: string }
  /** For a README project file (`` `src/app.ts`: … `` before the block): its path in that project. */
  readonly projectFile?: string
}

/** A compiler error in a snippet, located in the documentation file. */
export interface SnippetError {
  readonly snippet: Snippet
  /** `path:line` in the documentation file. */
  readonly at: string
  readonly code: number
  readonly message: string
}

const FENCE = /^```(ts|typescript)(?:\s+(.*))?$/
const WRAP = /^(class-body|method-body)=([A-Za-z_$][\w$]*)$/

function infoOf(info: string | undefined, where: string): Pick<Snippet, 'wrap'> {
  if (!info?.trim()) return {}
  const match = WRAP.exec(info.trim())
  if (!match) throw new Error(`${where}: unknown snippet marker \`${info.trim()}\` (known: class-body=Base, method-body=Base)`)
  return { wrap: { kind: match[1] as 'class-body' | 'method-body', base: match[2]! } }
}

/**
 * The `ts`/`typescript` blocks of a Markdown text. A block whose paragraph starts with a project path
 * in backticks (`` `src/app.ts`: … ``) is a file of the README's example project.
 */
export function markdownSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n')
  const out: Snippet[] = []
  let section = ''
  let inOtherFence = false
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (inOtherFence) {
      if (/^```\s*$/.test(line)) inOtherFence = false
      continue
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line)
    if (heading) section = heading[1]!.trim()
    const fence = FENCE.exec(line)
    if (!fence) {
      if (line.startsWith('```')) inOtherFence = true
      continue
    }
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++
    if (end === lines.length) throw new Error(`${file}:${i + 1}: unclosed code block`)
    const where = `${file}:${start + 1}`
    // The paragraph before the block: its first line names a project file, if any.
    let p = i - 1
    while (p >= 0 && lines[p]!.trim() === '') p--
    while (p > 0 && lines[p - 1]!.trim() !== '') p--
    const project = p >= 0 ? /^`([\w./-]+\.ts)`[:,]/.exec(lines[p]!) : null
    out.push({
      where,
      file,
      line: start + 1,
      section,
      code: lines.slice(start, end).join('\n'),
      ...infoOf(fence[2], where),
      ...(project ? { projectFile: project[1]! } : {}),
    })
    i = end
  }
  return out
}

/** The ```` ```ts ```` blocks of the `@example` tags in a TypeScript source's JSDoc comments. */
export function jsdocSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n')
  const out: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i]!)) continue
    const fence = /^\s*\*\s*```(ts|typescript)(?:\s+(.*))?$/.exec(lines[i + 1] ?? '')
    if (!fence) throw new Error(`${file}:${i + 2}: an @example must be a fenced \`\`\`ts block`)
    const start = i + 2
    let end = start
    while (end < lines.length && !/^\s*\*\s*```\s*$/.test(lines[end]!)) {
      if (/\*\//.test(lines[end]!)) throw new Error(`${file}:${i + 1}: unclosed @example code block`)
      end++
    }
    const where = `${file}:${start + 1}`
    out.push({
      where,
      file,
      line: start + 1,
      section: '',
      code: lines
        .slice(start, end)
        .map((l) => l.replace(/^\s*\* ?/, ''))
        .join('\n'),
      ...infoOf(fence[2], where),
    })
    i = end
  }
  return out
}

/** Names a module declares at its top level (imports, variables, functions, classes, types, enums). */
function topLevelNames(code: string): Set<string> {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS)
  const names = new Set<string>()
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause
      if (clause.name) names.add(clause.name.text)
      const bindings = clause.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text)
    } else if (ts.isImportEqualsDeclaration(statement)) {
      names.add(statement.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name)
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement) ||
        ts.isModuleDeclaration(statement)) &&
      statement.name &&
      ts.isIdentifier(statement.name)
    ) {
      names.add(statement.name.text)
    }
  }
  return names
}

/** A module's exported names (read from its syntax), each marked a type (imported with `type`) or a value. */
export function exportsOf(file: string): Map<string, 'type' | 'value'> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS)
  const out = new Map<string, 'type' | 'value'>()
  const exported = (node: ts.Node) => ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) {
        out.set(element.name.text, statement.isTypeOnly || element.isTypeOnly ? 'type' : 'value')
      }
    } else if (!exported(statement)) {
      continue
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      out.set(statement.name.text, 'type')
    } else if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) out.set(d.name.text, 'value')
    } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
      out.set(statement.name.text, 'value')
    }
  }
  return out
}

/** Identifiers a snippet mentions anywhere (an over-approximation of the names it uses: fine for imports). */
function mentionedNames(code: string): Set<string> {
  const source = ts.createSourceFile('snippet.ts', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS)
  const names = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return names
}

/** Where a snippet's free names come from, first match wins: module specifier and its exports. */
export interface NameSource {
  readonly specifier: string
  readonly names: ReadonlyMap<string, 'type' | 'value'>
}

/** A snippet as the module the compiler sees, and how many lines precede its first code line. */
function moduleOf(snippet: Snippet, sources: readonly NameSource[]): { text: string; headerLines: number } {
  // A README project file is a complete module: it gets nothing it does not import.
  const declared = topLevelNames(snippet.code)
  const wanted = mentionedNames(snippet.code)
  if (snippet.wrap) wanted.add(snippet.wrap.base)
  const taken = new Set(declared)
  const statements: string[] = []
  for (const source of snippet.projectFile ? [] : sources) {
    const imports: string[] = []
    for (const [name, kind] of source.names) {
      if (!wanted.has(name) || taken.has(name)) continue
      taken.add(name)
      imports.push(kind === 'type' ? `type ${name}` : name)
    }
    if (imports.length > 0) statements.push(`import { ${imports.join(', ')} } from '${source.specifier}';`)
  }
  // One header line, so the snippet's line numbers shift by exactly one (or two, in a wrapper).
  const header = statements.length > 0 ? statements.join(' ') : 'export {}'
  if (!snippet.wrap) return { text: `${header}\n${snippet.code}\n`, headerLines: 1 }
  if (snippet.wrap.kind === 'class-body') {
    return { text: `${header}\nexport class DocSnippet extends ${snippet.wrap.base} {\n${snippet.code}\n}\n`, headerLines: 2 }
  }
  return {
    text: `${header}\nexport class DocSnippet extends ${snippet.wrap.base} { async docSnippet(): Promise<void> {\n${snippet.code}\n} }\n`,
    headerLines: 2,
  }
}

/** The compiler options of the package's own typecheck (tsconfig.json: strict and the rest). */
function packageCompilerOptions(): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(packageDir, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (!parsed) throw new Error('tsconfig.json could not be read')
  return { ...parsed.options, noEmit: true, moduleDetection: ts.ModuleDetectionKind.Force }
}

/**
 * Typechecks every snippet in one program. Each is a module of its own in a virtual folder inside the
 * package (`test/.doc-snippets/`, never written to disk), so `fastkit`, `fastkit/testing` and
 * `fastkit/client` resolve to the package sources (the package's self-reference, with the
 * `@fastkit/source` condition) and other imports to the package's node_modules. README project files
 * keep their paths (under `test/.doc-snippets/project/`), so their relative imports resolve to each other;
 * the other snippets sit in that project's `src/`, so `./migrations/index.js` or `./schema.js` in an
 * example are the README's files.
 * Names a snippet uses without declaring them are imported from the prelude or, failing that, from
 * the package's entry points (so an @example need not import what it documents).
 */
export function checkSnippets(snippets: readonly Snippet[], preludeFile: string): { errors: SnippetError[]; millis: number } {
  const started = performance.now()
  const root = path.join(packageDir, 'test', '.doc-snippets')
  // Free names: the prelude's first, then the public names of the package's entry points (every
  // `exports` entry of package.json with a source, the main one first).
  const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    name: string
    exports: Record<string, { '@fastkit/source'?: string }>
  }
  const entrySources = Object.entries(manifest.exports)
    .filter(([, target]) => typeof target === 'object' && target['@fastkit/source'])
    .map(([key, target]) => ({
      specifier: key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`,
      names: exportsOf(path.join(packageDir, target['@fastkit/source']!)),
    }))
  const preludeSource = { names: exportsOf(preludeFile) }
  const virtual = new Map<string, { snippet: Snippet; text: string; headerLines: number }>()
  snippets.forEach((snippet, index) => {
    const fileName = snippet.projectFile
      ? path.join(root, 'project', snippet.projectFile)
      : path.join(root, 'project', 'src', `snippet-${String(index).padStart(3, '0')}-${snippet.where.replace(/[^\w.-]+/g, '_')}.ts`)
    if (virtual.has(fileName)) throw new Error(`${snippet.where}: ${snippet.projectFile} is shown twice`)
    let specifier = path.relative(path.dirname(fileName), preludeFile).replace(/\.ts$/, '.js').split(path.sep).join('/')
    if (!specifier.startsWith('.')) specifier = `./${specifier}`
    virtual.set(fileName, { snippet, ...moduleOf(snippet, [{ specifier, ...preludeSource }, ...entrySources]) })
  })

  const options = packageCompilerOptions()
  const host = ts.createCompilerHost(options, true)
  const { fileExists, readFile, getSourceFile, directoryExists } = host
  host.fileExists = (f) => virtual.has(path.resolve(f)) || fileExists.call(host, f)
  host.readFile = (f) => virtual.get(path.resolve(f))?.text ?? readFile.call(host, f)
  host.directoryExists = (d) => path.resolve(d).startsWith(root) ? true : (directoryExists?.call(host, d) ?? true)
  host.getSourceFile = (f, language, onError, shouldCreate) => {
    const v = virtual.get(path.resolve(f))
    return v ? ts.createSourceFile(f, v.text, language, true) : getSourceFile.call(host, f, language, onError, shouldCreate)
  }
  const program = ts.createProgram({ rootNames: [...virtual.keys(), preludeFile], options, host })

  const errors: SnippetError[] = []
  const outside: string[] = []
  const workspace = path.resolve(packageDir, '../..')
  // Only the snippets' and the prelude's own diagnostics: the package sources have their own typecheck,
  // and checking all of them here would take most of the time.
  const checked = [...virtual.keys(), preludeFile].map((f) => program.getSourceFile(f)!)
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]),
  ]
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const file = diagnostic.file && path.resolve(diagnostic.file.fileName)
    const v = file ? virtual.get(file) : undefined
    if (!v || diagnostic.start === undefined) {
      // The prelude or a package source: a broken prelude must not pass silently.
      const at = diagnostic.file && diagnostic.start !== undefined
        ? `${path.relative(workspace, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1}`
        : '(no file)'
      outside.push(`${at} TS${diagnostic.code}: ${message}`)
      continue
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start)
    // An error in a wrapper's own lines is put on the snippet's nearest line.
    const codeLine = Math.min(Math.max(line - v.headerLines, 0), v.snippet.code.split('\n').length - 1)
    errors.push({ snippet: v.snippet, at: `${v.snippet.file}:${v.snippet.line + codeLine}`, code: diagnostic.code, message })
  }
  if (outside.length > 0) throw new Error(`errors outside the snippets (fix the prelude first):\n${outside.join('\n')}`)
  return { errors, millis: performance.now() - started }
}
