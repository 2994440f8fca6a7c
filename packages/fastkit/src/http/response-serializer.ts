import type { FastifySerializerCompiler } from 'fastify'
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod'
import { $ZodType } from 'zod/v4/core'

/** A response serializer: the value a handler returned → the JSON text sent. */
type Serialize = (data: unknown) => string

/** Thrown inside a compiled serializer when the data does not match its schema (then zod decides). */
const MISMATCH = Symbol('fastkit.serializer.mismatch')

/**
 * Compiles a zod response schema into a function that writes JSON directly, with exactly the output
 * of `JSON.stringify(schema.encode(data))` (what fastify-type-provider-zod does) for the schemas it
 * understands: objects (unknown keys dropped, so a column not in the read schema never leaves),
 * strings (plain, or a format with a pattern such as `z.uuid()`), finite numbers, booleans, dates
 * (ISO strings, as `Date#toJSON`), `null`, literals, enums, arrays, nullable, optional object keys
 * and `unknown`. The compiled function checks the same things zod would (types, patterns, valid
 * dates); when the data does not match, it hands the data to zod's serializer, which then rejects it
 * exactly as before. Returns undefined for a schema with anything else (a transform, a refinement, a
 * string length…): the route keeps zod's serializer.
 */
export function compileResponseSerializer(schema: unknown): Serialize | undefined {
  if (!(schema instanceof $ZodType)) return undefined
  const compiler = new SourceCompiler()
  let entry: string
  try {
    entry = compiler.compile(schema)
  } catch (error) {
    if (error === UNSUPPORTED) return undefined
    throw error
  }
  const source = `${compiler.functions.join('\n')}\nreturn ${entry}`
  return new Function('M', 'c', source)(MISMATCH, compiler.constants) as Serialize
}

/**
 * fastkit's serializer compiler: a compiled serializer ({@link compileResponseSerializer}) where the
 * schema allows, fastify-type-provider-zod's (`schema.encode` + `JSON.stringify`) otherwise and for
 * data that does not match, so a response that fails its schema is still a 500 as before.
 */
export const responseSerializerCompiler: FastifySerializerCompiler<unknown> = (route) => {
  const fallback = zodSerializerCompiler(route as never) as Serialize
  const compiled = compileResponseSerializer(route.schema)
  if (!compiled) return fallback
  return (data: unknown) => {
    try {
      return compiled(data)
    } catch (error) {
      if (error === MISMATCH) return fallback(data)
      throw error
    }
  }
}

const UNSUPPORTED = Symbol('fastkit.serializer.unsupported')

/** What `JSON.stringify` escapes in a string: `"`, `\\`, control characters and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/

/** zod string formats whose patterns admit only letters, digits and `-_+/=.:` (JSON leaves those as they are). */
const PLAIN_FORMATS = new Set(['uuid', 'guid', 'ulid', 'cuid2', 'nanoid', 'xid', 'ksuid', 'ipv4', 'ipv6', 'base64', 'base64url', 'hex'])

/**
 * Whether a string schema's format check lets through only characters JSON writes as they are: one
 * of {@link PLAIN_FORMATS}, with a pattern that has no negated class, no `.` wildcard, no escape but
 * `\.` and no quote (so a custom pattern given to such a format is not trusted blindly).
 */
function admitsOnlyPlainCharacters(def: Def): boolean {
  if (!PLAIN_FORMATS.has(def.format as string) || !(def.pattern instanceof RegExp)) return false
  const source = def.pattern.source
  return !source.includes('[^') && !source.includes('"') && !/\\[^.]/.test(source) && !/(^|[^\\])\./.test(source)
}

/** Any zod schema's internals, as far as the compiler reads them. */
interface Def {
  readonly type: string
  readonly checks?: readonly { readonly _zod: { readonly def: Record<string, unknown> } }[]
  readonly [key: string]: unknown
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def

/** Writes one JavaScript function per schema node; each takes the value and returns its JSON or throws `M`. */
class SourceCompiler {
  readonly functions: string[] = []
  readonly constants: unknown[] = []
  readonly #names = new Map<unknown, string>()

  compile(schema: unknown): string {
    const known = this.#names.get(schema)
    if (known) return known
    const name = `f${this.#names.size}`
    this.#names.set(schema, name)
    this.functions.push(`function ${name}(v) {\n${this.#body(defOf(schema))}\n}`)
    return name
  }

  #constant(value: unknown): string {
    this.constants.push(value)
    return `c[${this.constants.length - 1}]`
  }

  #body(def: Def): string {
    switch (def.type) {
      case 'object':
        return this.#object(def)
      case 'array': {
        if (def.checks?.length) throw UNSUPPORTED
        const element = defOf(def.element)
        const item = element.type === 'unknown' || element.type === 'any' ? '(JSON.stringify(v[i]) ?? "null")' : `${this.compile(def.element)}(v[i])`
        return `if (!Array.isArray(v)) throw M\nlet s = '['\nfor (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + ${item}\nreturn s + ']'`
      }
      case 'string':
        // A format whose alphabet needs no escaping (a checked uuid) is quoted as is; any other string
        // is quoted as is unless it holds a character JSON escapes (a quote, a backslash, a control
        // character, a surrogate), found by one regular expression test, cheaper than JSON.stringify.
        return `if (typeof v !== 'string'${this.#stringChecks(def)}) throw M\n${
          admitsOnlyPlainCharacters(def) ? '' : `if (${this.#constant(NEEDS_ESCAPE)}.test(v)) return JSON.stringify(v)\n`
        }return '"' + v + '"'`
      case 'number':
        return `if (typeof v !== 'number' || !Number.isFinite(v)${this.#numberChecks(def)}) throw M\nreturn '' + v`
      case 'boolean':
        if (def.checks?.length) throw UNSUPPORTED
        return `if (v === true) return 'true'\nif (v === false) return 'false'\nthrow M`
      case 'date':
        if (def.checks?.length) throw UNSUPPORTED
        return `if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw M\nreturn '"' + v.toISOString() + '"'`
      case 'null':
        return `if (v !== null) throw M\nreturn 'null'`
      case 'nullable':
        return `return v === null ? 'null' : ${this.compile(def.innerType)}(v)`
      case 'literal':
      case 'enum': {
        const values = def.type === 'literal' ? (def.values as unknown[]) : Object.values(def.entries as object)
        if (!values.every((value) => value === null || ['string', 'number', 'boolean'].includes(typeof value))) throw UNSUPPORTED
        return `if (!${this.#constant(new Set(values))}.has(v)) throw M\nreturn JSON.stringify(v)`
      }
      case 'unknown':
      case 'any':
        return `return JSON.stringify(v)`
      default:
        throw UNSUPPORTED
    }
  }

  #object(def: Def): string {
    // A strict object (catchall never) rejects extra keys and a loose one passes them on: zod decides.
    if (def.catchall !== undefined || def.checks?.length) throw UNSUPPORTED
    const lines = [`if (typeof v !== 'object' || v === null || Array.isArray(v)) throw M`, `let s = ''`, `let x`]
    for (let [key, field] of Object.entries(def.shape as Record<string, unknown>)) {
      const prefix = JSON.stringify(`,${JSON.stringify(key)}:`)
      const read = `x = v[${JSON.stringify(key)}]`
      let fieldDef = defOf(field)
      let optional = false
      if (fieldDef.type === 'optional') {
        optional = true
        field = fieldDef.innerType
        fieldDef = defOf(field)
      }
      if (fieldDef.type === 'unknown' || fieldDef.type === 'any') {
        // zod wants a required key present (even if undefined); JSON.stringify of its output then
        // leaves out an undefined (or function…) value.
        const present = optional ? '' : `if (x === undefined && !(${JSON.stringify(key)} in v)) throw M\n`
        lines.push(`${read}\n${present}if (x !== undefined) { x = JSON.stringify(x); if (x !== undefined) s += ${prefix} + x }`)
      } else if (optional) {
        lines.push(`${read}\nif (x !== undefined) s += ${prefix} + ${this.compile(field)}(x)`)
      } else {
        lines.push(`${read}\ns += ${prefix} + ${this.compile(field)}(x)`)
      }
    }
    lines.push(`return s === '' ? '{}' : '{' + s.slice(1) + '}'`)
    return lines.join('\n')
  }

  /** `z.uuid()`, `z.email()`…: a format zod checks with a regular expression. Nothing else. */
  #stringChecks(def: Def): string {
    if (def.checks?.length) throw UNSUPPORTED
    if (def.format === undefined) return ''
    if (!(def.pattern instanceof RegExp) || def.pattern.global || def.pattern.sticky) throw UNSUPPORTED
    return ` || !${this.#constant(def.pattern)}.test(v)`
  }

  /** `.int()`, `.min()`, `.max()`, `.positive()`…; anything else keeps zod. */
  #numberChecks(def: Def): string {
    let out = ''
    // `z.int()` is itself a check (`z.number().int()` carries one in `checks`).
    const own = def.check === undefined ? [] : [def as Record<string, unknown>]
    for (const c of [...own, ...(def.checks ?? []).map((check) => check._zod.def)]) {
      if (c.check === 'number_format' && c.format === 'safeint') out += ' || !Number.isSafeInteger(v)'
      else if (c.check === 'greater_than' && typeof c.value === 'number') out += ` || !(v ${c.inclusive ? '>=' : '>'} ${c.value})`
      else if (c.check === 'less_than' && typeof c.value === 'number') out += ` || !(v ${c.inclusive ? '<=' : '<'} ${c.value})`
      else throw UNSUPPORTED
      if (c.when !== undefined) throw UNSUPPORTED
    }
    return out
  }
}
