// `npm run build`: the npm package's bundle in dist/ (ESM, split so that client-node loads only for commands
// that reach a cluster). .ci/package.ts builds the single executable's CommonJS bundle with the same plugins.
import {readdirSync, rmSync, writeFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {Plugin} from '@oclif/core'
import * as esbuild from 'esbuild'

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
 * Node's built-in modules reached by require(), not by an ES-module import: importing one builds its whole
 * namespace, and node:http's namespace loads Node's bundled undici (about 25 ms of every run that reaches a
 * cluster; `require` costs 3 ms). The dependencies' own code is untouched: only how the bundle links them.
 */
export const builtinsByRequire: esbuild.Plugin = {
  name: 'builtins-by-require',
  setup(build) {
    const builtins = new Set(builtinModules)
    build.onResolve({filter: /^[a-z_/:]+$/}, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (!builtins.has(name) || args.namespace === 'builtin') return undefined
      return {path: `node:${name}`, namespace: 'builtin'}
    })
    build.onLoad({filter: /.*/, namespace: 'builtin'}, (args) => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js'}))
  },
}

// The ESM bundle still meets CommonJS dependencies that call require() or use __dirname.
const ESM_BANNER = [
  "import {createRequire as __dualstackRequire} from 'node:module';",
  "import {fileURLToPath as __dualstackPath} from 'node:url';",
  'const require = __dualstackRequire(import.meta.url);',
  'const __filename = __dualstackPath(import.meta.url);',
  "const __dirname = __dualstackPath(new URL('.', import.meta.url));",
].join(' ')

/** Every command's source file: each is an entry of its own (dist/commands/<topic>/<name>.js), as oclif's pattern discovery finds them. */
function commandSources(dir = join(ROOT, 'src', 'commands')): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) =>
    entry.isDirectory() ? commandSources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [])
}

/**
 * oclif.manifest.json, made from the built commands as oclif itself makes it: with it, `--help` reads every
 * command's flags from one file and a run imports only the command it names (without it oclif would import them
 * all to learn their flags, on every run). test/unit/manifest.test.ts holds it to the commands' code.
 */
export async function writeManifest(root = ROOT): Promise<void> {
  const plugin = new Plugin({errorOnManifestCreate: true, ignoreManifest: true, isRoot: true, root, type: 'core'})
  await plugin.load()
  writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest, null, 2)}\n`)
}

async function main(): Promise<void> {
  const outdir = join(ROOT, 'dist')
  rmSync(outdir, {force: true, recursive: true})
  rmSync(join(ROOT, 'oclif.manifest.json'), {force: true})
  await esbuild.build({
    banner: {js: ESM_BANNER},
    bundle: true,
    entryPoints: [join(ROOT, 'src', 'main.ts'), join(ROOT, 'src', 'cli.ts'), join(ROOT, 'src', 'hooks', 'command-not-found.ts'), ...commandSources()],
    outbase: join(ROOT, 'src'),
    external: ['typescript'],
    format: 'esm',
    legalComments: 'external',
    logLevel: 'warning',
    outdir,
    platform: 'node',
    plugins: [slimClientNode, builtinsByRequire],
    sourcemap: true,
    splitting: true,
    target: 'node22',
  })
  await writeManifest()
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
