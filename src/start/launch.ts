// What both installs run first (bin/kubectl-dualstack's dist/start.cjs, the single executable's main): --version
// at once, anything else from the CLI's bundle (src/cli.ts) through the code cache. Neither imports oclif.
import type {Install} from '../cli.js'
import {versionLine, wantsVersion, type PackageInfo} from '../version.js'
import {cacheKey, codeCacheRoot, runBundle} from './code-cache.js'

// Set by the build: the bundle's sha256, and the CLI's first words (commands and topics) that name a cache.
declare const __DUALSTACK_BUILD_ID__: string
declare const __DUALSTACK_COMMAND_WORDS__: string[]

export interface Assets {
  /** The install's package.json, oclif.manifest.json and the bundle, from files or the executable's assets. */
  read(name: 'package.json' | 'oclif.manifest.json' | 'cli.cjs'): string
  /** The bundle's file name, for stack traces and its require(). */
  bundleFilename: string
  /** The folder oclif takes as the CLI's root. */
  root: string
  /** The name this process was started by (completion is recognised by it). */
  invokedAs: string
}

export function launch(assets: Assets): void {
  const pjson = JSON.parse(assets.read('package.json')) as Install['pjson'] & PackageInfo
  const args = process.argv.slice(2)
  if (wantsVersion(args)) {
    process.stdout.write(`${versionLine(pjson)}\n`)
    return
  }
  const debug = /(^|[\s,])(\*|kubectl-dualstack(:\*|:code-cache)?)(?=$|[\s,])/.test(process.env.DEBUG ?? '')
  const key = cacheKey(args, __DUALSTACK_COMMAND_WORDS__)
  const cli = runBundle({source: assets.read('cli.cjs'), filename: assets.bundleFilename, buildId: __DUALSTACK_BUILD_ID__}, key, codeCacheRoot(), (state) => {
    if (debug) process.stderr.write(`kubectl-dualstack:code-cache ${key}: ${state}\n`)
  }) as {main(install: Install): Promise<void>}
  cli.main({pjson, manifest: () => JSON.parse(assets.read('oclif.manifest.json')) as ReturnType<Install['manifest']>, root: assets.root, invokedAs: assets.invokedAs})
    .catch((error: unknown) => {
      // oclif reports a command's errors itself; this is an install that cannot start (a missing or broken manifest).
      process.stderr.write(`error: kubectl-dualstack cannot start: ${error instanceof Error ? error.message : String(error)}; reinstall it\n`)
      process.exit(1)
    })
}
