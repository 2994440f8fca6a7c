// Builds the web client into web/dist (not in git): one ESM bundle and one stylesheet, with content
// hashes in their names, and index.html pointing at them. esbuild takes ~100 ms, so `pnpm start` runs
// this every time instead of guessing whether the bundle is stale.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const web = fileURLToPath(new URL('..', import.meta.url))
export const DIST = path.join(web, 'dist')

/** Builds the client into `outDir` (default web/dist); returns the names of the files in its assets/. */
export async function buildWeb(options: { minify?: boolean; outDir?: string } = {}): Promise<{ script: string; styles: string }> {
  const out = options.outDir ?? DIST
  const assets = path.join(out, 'assets')
  await rm(out, { recursive: true, force: true })
  await mkdir(assets, { recursive: true })
  const result = await build({
    entryPoints: [path.join(web, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // fastkit/client from source: a fresh clone has no fastkit dist/ when `pnpm start` runs.
    conditions: ['@fastkit/source'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: true,
    outdir: assets,
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  })
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f))
  const script = outputs.find((f) => f.endsWith('.js'))!
  const styles = outputs.find((f) => f.endsWith('.css'))!
  const html = (await readFile(path.join(web, 'index.html'), 'utf8')).replace('%SCRIPT%', script).replace('%STYLES%', styles)
  await writeFile(path.join(out, 'index.html'), html)
  return { script, styles }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = performance.now()
  const { script, styles } = await buildWeb()
  console.log(`web client built: dist/assets/${script}, dist/assets/${styles} (${Math.round(performance.now() - started)} ms)`)
}
