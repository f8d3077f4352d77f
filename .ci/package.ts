// `npm run package [-- --target os-arch ...]`: the krew release. For each target, one single executable
// (a Node SEA: the pinned node@24 with the bundled CLI and its package.json injected) in an archive with
// the LICENSE, and the archive's sha256. Without --target it builds this machine's platform.
//
// The Node binary of another platform comes from the npm registry's node-<os>-<arch> package at the same
// version as the pinned node@24 (the blob's format and V8 must match the binary's). macOS binaries must be
// signed after injection (`codesign --sign - kubectl-dualstack`), which only a macOS machine can do, so
// darwin targets are built by the same recipe on a macOS runner.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

import * as esbuild from 'esbuild'
import * as tar from 'tar'
import yazl from 'yazl'

import {startDefines} from './build.js'

export const TARGETS = ['linux-amd64', 'linux-arm64', 'darwin-amd64', 'darwin-arm64', 'windows-amd64'] as const
export type Target = (typeof TARGETS)[number]

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'release')
const WORK = join(OUT, '.work')
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
// Fixed times make the archives of one build reproducible byte for byte.
const ARCHIVE_MTIME = new Date('2026-01-01T00:00:00Z')

const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  type: string
  description: string
  oclif: Record<string, unknown>
}
const pinnedNode = realpathSync(join(ROOT, 'node_modules', 'node', 'bin', 'node'))
const pinnedVersion = execFileSync(pinnedNode, ['--version'], {encoding: 'utf8'}).trim().slice(1)

class MissingNodeBinary extends Error {}

function hostTarget(): Target {
  const os = process.platform === 'win32' ? 'windows' : process.platform
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const target = `${os}-${arch}`
  if (!(TARGETS as readonly string[]).includes(target)) throw new Error(`no release target for this machine (${target})`)
  return target as Target
}

export function archiveName(target: Target, version = pjson.version): string {
  const [os, arch] = target.split('-')
  return `${pjson.name}_v${version}_${os}_${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`
}

export function executableName(target: Target): string {
  return target.startsWith('windows') ? `${pjson.name}.exe` : pjson.name
}

/**
 * The SEA's main script (Node 24's must be CommonJS): src/sea.ts, the start that runs the CLI's bundle from
 * its asset with the code cache. The bundle is npm run build's dist/cli.cjs, the npm package's file itself.
 */
async function bundle(): Promise<string> {
  const outfile = join(WORK, 'sea.cjs')
  await esbuild.build({
    bundle: true,
    define: startDefines(),
    entryPoints: [join(ROOT, 'src', 'sea.ts')],
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    outfile,
    platform: 'node',
    target: 'node24',
  })
  return outfile
}

/** The CLI's bundle, embedded as the SEA asset cli.cjs. */
function builtBundle(): string {
  const path = join(ROOT, 'dist', 'cli.cjs')
  if (!existsSync(path)) throw new Error('dist/cli.cjs is missing: run npm run build first')
  return path
}

/** The build's oclif.manifest.json (every command's flags and help), embedded as the SEA asset of that name. */
function builtManifest(): string {
  const path = join(ROOT, 'oclif.manifest.json')
  if (!existsSync(path)) throw new Error('oclif.manifest.json is missing: run npm run build first')
  return path
}

/** What oclif reads of package.json at run time, embedded as the SEA asset `package.json`. */
function embeddedPackageJson(): string {
  const path = join(WORK, 'package.json')
  const {name, version, type, description, oclif} = pjson
  writeFileSync(path, JSON.stringify({name, version, type, description, oclif}))
  return path
}

/** The node binary of a target: the pinned one here, the registry's same-version build for another platform. */
function nodeBinary(target: Target, host: Target): string {
  if (target === host) return pinnedNode
  const [os, arch] = target.split('-')
  const pkg = `node-${os === 'windows' ? 'win' : os}-${arch === 'amd64' ? 'x64' : arch}@${pinnedVersion}`
  const dir = join(WORK, 'node', target)
  const binary = join(dir, 'package', os === 'windows' ? 'bin/node.exe' : 'bin/node')
  if (existsSync(binary)) return binary
  mkdirSync(dir, {recursive: true})
  let tarball: string
  try {
    tarball = execFileSync('npm', ['pack', pkg, '--silent', '--pack-destination', dir], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim()
  } catch {
    throw new MissingNodeBinary(`the npm registry has no ${pkg} (the Node binary for ${target} at the pinned version): build ${target} on a ${target} machine`)
  }
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', dir])
  return binary
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

async function buildTarget(target: Target, host: Target, script: string, packageJson: string): Promise<string> {
  const dir = join(WORK, target)
  rmSync(dir, {force: true, recursive: true})
  mkdirSync(dir, {recursive: true})
  const blob = join(dir, 'sea.blob')
  const seaConfig = join(dir, 'sea-config.json')
  writeFileSync(seaConfig, JSON.stringify({
    main: script,
    output: blob,
    disableExperimentalSEAWarning: true,
    // The main script is the small start: the bundle it runs (an asset) has its own code cache, made after a run.
    useCodeCache: false,
    execArgv: ['--max-semi-space-size=2'],
    assets: {'package.json': packageJson, 'oclif.manifest.json': builtManifest(), 'cli.cjs': builtBundle()},
  }))
  execFileSync(pinnedNode, ['--experimental-sea-config', seaConfig], {stdio: ['ignore', 'ignore', 'inherit']})

  const executable = join(dir, executableName(target))
  copyFileSync(nodeBinary(target, host), executable)
  chmodSync(executable, 0o755)
  const postject = ['--sentinel-fuse', SEA_FUSE, ...(target.startsWith('darwin') ? ['--macho-segment-name', 'NODE_SEA'] : [])]
  // postject's ELF writer warns about unnamed note sections of Node's binary; the injection is sound.
  execFileSync(pinnedNode, [join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js'), executable, 'NODE_SEA_BLOB', blob, ...postject], {stdio: 'ignore'})
  if (target.startsWith('darwin') && process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', executable])

  copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'))
  mkdirSync(OUT, {recursive: true})
  const archive = join(OUT, archiveName(target))
  const entries = [executableName(target), 'LICENSE']
  if (target.startsWith('windows')) {
    const zip = new yazl.ZipFile()
    for (const entry of entries) zip.addFile(join(dir, entry), entry, {mode: 0o100755, mtime: ARCHIVE_MTIME})
    zip.end()
    await new Promise<void>((done, fail) => {
      zip.outputStream.pipe(createWriteStream(archive)).on('close', done).on('error', fail)
    })
  } else {
    await tar.create({cwd: dir, file: archive, gzip: {level: 9}, mtime: ARCHIVE_MTIME, portable: true}, entries)
  }
  writeFileSync(`${archive}.sha256`, `${sha256(archive)}  ${archiveName(target)}\n`)
  return archive
}

async function main(): Promise<void> {
  const {values} = parseArgs({options: {target: {multiple: true, type: 'string'}}})
  const host = hostTarget()
  const all = values.target?.includes('all') ?? false
  const targets = (all ? [...TARGETS] : (values.target ?? [host])) as Target[]
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) throw new Error(`unknown target ${target}: one of ${TARGETS.join(', ')}, or all`)
  }
  mkdirSync(WORK, {recursive: true})
  for (const stale of readdirSync(OUT)) if (stale !== '.work') rmSync(join(OUT, stale), {force: true})
  const script = await bundle()
  const packageJson = embeddedPackageJson()
  for (const target of targets) {
    const started = Date.now()
    let archive: string
    try {
      archive = await buildTarget(target, host, script, packageJson)
    } catch (error) {
      // `all` is every target this machine can build; a target named on its own must build.
      if (!all || !(error instanceof MissingNodeBinary)) throw error
      console.log(`${target}: skipped: ${error.message}`)
      continue
    }
    console.log(`${target}: ${archive} (${(readFileSync(archive).length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`)
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`package: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  })
}
