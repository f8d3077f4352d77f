// `npm run build`: dist/cli.cjs, the CLI's bundle (the same file in the npm package and the single executable),
// dist/start.cjs (the npm install's start), and oclif.manifest.json. .ci/package.ts makes the single executable.
import {createHash} from 'node:crypto'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Plugin} from '@oclif/core'
import * as esbuild from 'esbuild'

import {loadCommands} from '../src/commands.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Points client-node's KubeConfig at the two things it uses of the generated API index (src/cluster/client-node-gen.ts). */
export const slimClientNode: esbuild.Plugin = {
  name: 'slim-client-node',
  setup(build) {
    build.onResolve({filter: /^\.\/gen\/index\.js$/}, (args) =>
      /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]config\.js$/.test(args.importer) ? {path: join(ROOT, 'src', 'cluster', 'client-node-gen.ts')} : undefined)
  },
}

/**
 * oclif's Plugin.load sorts the commands with localeCompare, and the first localeCompare of a process builds
 * ICU's collator: 6 ms of every run, for ids that are ASCII. oclif has no option for it, so its one sort is
 * given the code-point comparison, which orders this CLI's ids as localeCompare does
 * (test/unit/manifest.test.ts). A build on an oclif whose plugin.js no longer has that line fails here.
 */
export const oclifCommandSort: esbuild.Plugin = {
  name: 'oclif-command-sort',
  setup(build) {
    const sort = '.sort((a, b) => a.id.localeCompare(b.id));'
    build.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (source.split(sort).length !== 2) throw new Error(`${args.path} no longer sorts its commands with ${sort}: see oclifCommandSort in .ci/build.ts`)
      return {contents: source.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));'), loader: 'js'}
    })
  },
}

/** The bundle's build id and the CLI's first words, as src/start/launch.ts reads them (esbuild defines). */
export function startDefines(root = ROOT): Record<string, string> {
  const buildId = createHash('sha256').update(readFileSync(join(root, 'dist', 'cli.cjs'))).digest('hex')
  const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {oclif: {topics?: Record<string, unknown>}}
  const words = [...new Set([...Object.keys(manifest.commands).map((id) => id.split(':')[0]!), ...Object.keys(pjson.oclif.topics ?? {})])].sort()
  return {__DUALSTACK_BUILD_ID__: JSON.stringify(buildId), __DUALSTACK_COMMAND_WORDS__: JSON.stringify(words)}
}

/**
 * oclif.manifest.json, made from the commands' classes as oclif itself makes it: with it, `--help` reads every
 * command's flags from one file and a run loads only the command it names (src/cli.ts hands oclif the manifest
 * and each command from the bundle). test/unit/manifest.test.ts holds it to the commands' code.
 */
export async function commandsManifest(root = ROOT): Promise<unknown> {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {oclif: Record<string, unknown>}
  // oclif's explicit discovery over src/commands.ts, its commands given as loaded (oclif would import the target).
  const oclif = {...pjson.oclif, commands: {strategy: 'explicit', target: './src/commands.ts', identifier: 'COMMANDS'}}
  const plugin = new Plugin({errorOnManifestCreate: true, ignoreManifest: true, isRoot: true, pjson: {...pjson, oclif} as never, root, type: 'core'})
  ;(plugin as unknown as {commandCache: unknown}).commandCache = await loadCommands()
  await plugin.load()
  return plugin.manifest
}

/**
 * The bundle in ASCII: V8 keeps an ASCII source as one byte a character (a non-ASCII one makes the whole 1.9 MB
 * a two-byte string, slower to read, hash and scan on every run). esbuild escapes every string but not regular
 * expression literals (a dependency's ANSI pattern has U+009B); in a regular expression \\uXXXX is the same
 * character. The source map's columns after such a character on its line are off by the escape's length.
 */
export function asciiOnly(file: string): void {
  const source = readFileSync(file, 'utf8')
  // eslint-disable-next-line no-control-regex
  const escaped = source.replace(/[^\x00-\x7f]/gu, (char) => {
    const code = char.codePointAt(0)!
    if (code > 0xffff) throw new Error(`${file}: a character beyond U+FFFF (U+${code.toString(16)}) outside a string: escape it in its source`)
    return `\\u${code.toString(16).padStart(4, '0')}`
  })
  if (escaped !== source) writeFileSync(file, escaped)
}

async function main(): Promise<void> {
  const outdir = join(ROOT, 'dist')
  rmSync(outdir, {force: true, recursive: true})
  rmSync(join(ROOT, 'oclif.manifest.json'), {force: true})
  // One CommonJS file: src/start/ runs it through vm.Script with a V8 code cache, which only a script (not an
  // ES module) can be given. Its dynamic imports become lazy initialisers, so a run evaluates only its command.
  await esbuild.build({
    bundle: true,
    entryPoints: [join(ROOT, 'src', 'cli.ts')],
    external: ['typescript'],
    format: 'cjs',
    legalComments: 'external',
    logLevel: 'warning',
    outfile: join(outdir, 'cli.cjs'),
    platform: 'node',
    minify: true,
    keepNames: true,
    plugins: [slimClientNode, oclifCommandSort],
    sourcemap: true,
    target: 'node22',
  })
  asciiOnly(join(outdir, 'cli.cjs'))
  writeFileSync(join(ROOT, 'oclif.manifest.json'), `${JSON.stringify(await commandsManifest(), null, 2)}\n`)
  await esbuild.build({
    bundle: true,
    define: startDefines(),
    entryPoints: [join(ROOT, 'src', 'start', 'npm.ts')],
    format: 'cjs',
    logLevel: 'warning',
    outfile: join(outdir, 'start.cjs'),
    platform: 'node',
    target: 'node22',
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
