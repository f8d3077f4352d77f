// Runs the CLI's bundle (one CommonJS file) with a V8 code cache written after a run: most of a run's
// start-up is compiling the same functions again. Node's own compile cache (module.enableCompileCache) is
// made right after a file is compiled, so it holds only what V8 compiles eagerly (a tenth of the bundle);
// a cache made when the command has run holds every function the command used.
//
// One cache file per command (what `pod-ips` compiles is not what `--help` does), in a folder named by the
// bundle's build id, Node's version and the architecture: V8 checks a cache against its own version and
// flags but only against the source's length, so a cache is never looked for under another build's name.
import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import Module from 'node:module'
import {homedir} from 'node:os'
import path from 'node:path'
import vm from 'node:vm'

export interface Bundle {
  /** The bundle's source. */
  source: string
  /** Its file (the npm install) or the name it is known by in the single executable: for stack traces and require(). */
  filename: string
  /** Changes with every build of the source (its sha256, from the build). */
  buildId: string
}

export type CacheState = 'off' | 'missing' | 'rejected' | 'accepted'

/**
 * Where code caches live: $XDG_CACHE_HOME (else ~/.cache; %LOCALAPPDATA% on Windows)/kubectl-dualstack/code-cache.
 * Undefined, and no cache used, when NODE_DISABLE_COMPILE_CACHE is set (Node's own switch for its compile cache).
 */
export function codeCacheRoot(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined
  const base = env.XDG_CACHE_HOME || (platform === 'win32' ? env.LOCALAPPDATA : undefined) || (safeHome() && path.join(safeHome()!, '.cache'))
  return base ? path.join(base, 'kubectl-dualstack', 'code-cache') : undefined
}

function safeHome(): string | undefined {
  try {
    return homedir() || undefined
  } catch {
    return undefined
  }
}

/**
 * The cache's name for a run: `help` for any help (the root's or a command's: oclif's help code, not the
 * command's), else its command's first word when it is one of the CLI's (`pod-ips`, `ippool`), else `other`
 * (never a file named after arbitrary input).
 */
export function cacheKey(args: readonly string[], words: readonly string[]): string {
  const first = args[0]
  if (first === undefined || first === 'help' || args.includes('--help') || args.includes('-h')) return 'help'
  return words.includes(first) ? first : 'other'
}

/** The folder of this build's caches. */
function buildFolder(root: string, buildId: string): string {
  return path.join(root, `${buildId.slice(0, 16)}-node${process.versions.node}-${process.arch}`)
}

const KEPT_FOLDERS = 4

/** The folders under root, newest first. */
function byAge(root: string): string[] {
  return readdirSync(root).map((name) => path.join(root, name)).map((folder) => ({folder, mtime: statSync(folder).mtimeMs}))
    .sort((a, b) => b.mtime - a.mtime).map((entry) => entry.folder)
}

function writeCache(root: string, folder: string, file: string, data: Buffer): void {
  const made = mkdirSync(folder, {recursive: true}) !== undefined
  // Written beside, then renamed: a concurrent run reads the old file or the new one, never half of one.
  const partial = `${file}.${process.pid}.partial`
  try {
    writeFileSync(partial, data)
    renameSync(partial, file)
  } catch {
    rmSync(partial, {force: true})
  }
  // A new build or a new Node: the oldest folders go, a few kept (the npm install and the single executable run
  // different Nodes, and a user may switch between two versions).
  if (made) for (const old of byAge(root).slice(KEPT_FOLDERS)) rmSync(old, {recursive: true, force: true})
}

/**
 * Compiles and runs the bundle as a CommonJS module and returns its exports. When the cache was missing or
 * rejected, a new one is written as the process exits after a run that did its work (exit 0 or 1: a usage
 * error or Ctrl-C has not compiled what the command needs). Nothing about the cache is ever an error: a
 * folder that cannot be written, or a broken file, means a run compiled as without one.
 */
export function runBundle(bundle: Bundle, key: string, root = codeCacheRoot(), onState?: (state: CacheState) => void): Record<string, unknown> {
  const folder = root === undefined ? undefined : buildFolder(root, bundle.buildId)
  const file = folder === undefined ? undefined : path.join(folder, `${key}.bin`)
  let cachedData: Buffer | undefined
  if (file) {
    try {
      cachedData = readFileSync(file)
    } catch {
      cachedData = undefined
    }
  }
  const script = new vm.Script(Module.wrap(bundle.source), {
    filename: bundle.filename,
    cachedData,
    // The bundle's own import()s are of its own parts (esbuild turns them into lazy initialisers); any
    // other goes to Node's loader as it would from a file.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const state: CacheState = !file ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted'
  onState?.(state)
  if (root !== undefined && folder !== undefined && file !== undefined && (state === 'missing' || state === 'rejected')) {
    process.once('exit', (code) => {
      if (code !== 0 && code !== 1) return
      try {
        writeCache(root, folder, file, script.createCachedData())
      } catch {
        // No cache this time (a read-only or full disk): the next run compiles again.
      }
    })
  }
  const module = {exports: {} as Record<string, unknown>}
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void
  run(module.exports, Module.createRequire(bundle.filename), module, bundle.filename, path.dirname(bundle.filename))
  return module.exports
}
