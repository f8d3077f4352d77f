// Builds the real control plane for the test tier from Kubernetes' and etcd's Go modules, once per machine:
// one binary (kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet's exec endpoint) per
// Kubernetes version, and etcd. Each lands in a cache folder keyed by what went into it (go.mod, go.sum,
// main.go, the Go version), so a warm machine builds nothing and a changed go.sum builds again.
//
//   tsx test/control-plane/build.ts [VERSION...] [--all-versions]   build (default: the default version)
//   tsx test/control-plane/build.ts --regen 1.35.4                  write go/k8s-1.35/go.mod for a new release
//
// Go 1.24 or later must be on PATH (the Go module proxy must be reachable when the module cache is cold).
import {execFileSync, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const GO_DIR = path.join(HERE, 'go')

/** The Kubernetes releases the tier runs, newest first; the first is the default (CI runs it every time). */
export const KUBERNETES_VERSIONS = ['1.34.4', '1.30.14'] as const
export const ETCD_MODULE = 'etcd-3.6'

export function defaultVersion(): string {
  return process.env.DUALSTACK_K8S_VERSION ?? KUBERNETES_VERSIONS[0]
}

/** What a built control plane consists of. */
export interface ControlPlaneBinaries {
  version: string
  /** The one binary: `control-plane kube-apiserver|kube-controller-manager|kube-scheduler|exec-server ...`. */
  controlPlane: string
  etcd: string
}

export function cacheRoot(): string {
  return process.env.DUALSTACK_CONTROL_PLANE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'kubectl-dualstack', 'control-plane')
}

function minorDir(version: string): string {
  const [major, minor] = version.split('.')
  return path.join(GO_DIR, `k8s-${major}.${minor}`)
}

function goVersion(): string {
  const result = spawnSync('go', ['env', 'GOVERSION'], {encoding: 'utf8'})
  if (result.error || result.status !== 0) {
    throw new Error('the real control plane tier needs Go 1.24 or later on PATH (it builds kube-apiserver and etcd from their Go modules): install Go, or run `npm run test:sim` for the simulator tier alone')
  }
  const text = result.stdout.trim()
  const m = /^go(\d+)\.(\d+)/.exec(text)
  if (!m || Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 24)) throw new Error(`the real control plane tier needs Go 1.24 or later; PATH has ${text}`)
  return text
}

function key(files: string[], extra: string[]): string {
  const hash = createHash('sha256')
  for (const file of files) hash.update(readFileSync(file))
  for (const item of extra) hash.update(item)
  return hash.digest('hex').slice(0, 16)
}

/** -X flags so that the server reports its release (without them: v0.0.0-master+$Format:%H$, which breaks every version check). */
function versionLdflags(version: string): string {
  const [major, minor] = version.split('.')
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=v${version}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`, `-X ${pkg}.buildDate=2026-01-01T00:00:00Z`]).join(' ')
}

/** Takes a lock folder for one build target, so that two test workers never build the same thing at once. */
async function withLock<T>(dir: string, work: () => T): Promise<T> {
  const lock = `${dir}.lock`
  mkdirSync(path.dirname(dir), {recursive: true})
  const deadline = Date.now() + 20 * 60_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // A lock older than the longest build is left over from a killed build.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 20 * 60_000) rmSync(lock, {recursive: true, force: true})
      if (Date.now() > deadline) throw new Error(`timed out waiting for another build of ${dir} (remove ${lock} if none runs)`)
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
  }
  try {
    return work()
  } finally {
    rmSync(lock, {recursive: true, force: true})
  }
}

function goBuild(moduleDir: string, sources: string[], output: string, ldflags: string, pkg: string, log: (line: string) => void): void {
  const work = `${output}.src`
  rmSync(work, {recursive: true, force: true})
  mkdirSync(work, {recursive: true})
  for (const file of ['go.mod', 'go.sum']) copyFileSync(path.join(moduleDir, file), path.join(work, file))
  for (const file of sources) copyFileSync(file, path.join(work, path.basename(file)))
  const started = Date.now()
  // -mod=readonly: the committed go.sum is the whole truth; a go.mod that needs tidying fails here, not silently.
  const result = spawnSync('go', ['build', '-mod=readonly', '-trimpath', '-ldflags', ldflags, '-o', `${output}.tmp`, pkg], {cwd: work, stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, CGO_ENABLED: '0'}})
  if (result.status !== 0) throw new Error(`go build in ${work} failed (exit ${result.status ?? result.signal})`)
  renameSync(`${output}.tmp`, output)
  rmSync(work, {recursive: true, force: true})
  log(`built ${path.basename(output)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

export async function ensureEtcd(log: (line: string) => void = console.error): Promise<string> {
  const moduleDir = path.join(GO_DIR, ETCD_MODULE)
  const dir = path.join(cacheRoot(), `${ETCD_MODULE}-${key([path.join(moduleDir, 'go.mod'), path.join(moduleDir, 'go.sum')], [goVersion()])}`)
  const binary = path.join(dir, 'etcd')
  if (existsSync(binary)) return binary
  return withLock(dir, () => {
    if (existsSync(binary)) return binary
    mkdirSync(dir, {recursive: true})
    log(`building etcd (${ETCD_MODULE}) into ${dir} ...`)
    goBuild(moduleDir, [], binary, '-s -w', 'go.etcd.io/etcd/server/v3', log)
    return binary
  })
}

export async function ensureControlPlane(version = defaultVersion(), log: (line: string) => void = console.error): Promise<ControlPlaneBinaries> {
  const moduleDir = minorDir(version)
  if (!existsSync(path.join(moduleDir, 'go.mod'))) throw new Error(`no Go module for Kubernetes ${version} in ${moduleDir} (known: ${KUBERNETES_VERSIONS.join(', ')}; add one with --regen ${version})`)
  const declared = /require k8s\.io\/kubernetes v(\S+)|k8s\.io\/kubernetes v(\d+\.\d+\.\d+)/.exec(readFileSync(path.join(moduleDir, 'go.mod'), 'utf8'))
  const moduleVersion = declared?.[1] ?? declared?.[2]
  if (moduleVersion !== version) throw new Error(`${moduleDir}/go.mod requires Kubernetes ${moduleVersion ?? '(none)'}, not ${version}`)
  const main = path.join(GO_DIR, 'main.go')
  const ldflags = `-s -w ${versionLdflags(version)}`
  const dir = path.join(cacheRoot(), `k8s-${version}-${key([path.join(moduleDir, 'go.mod'), path.join(moduleDir, 'go.sum'), main], [goVersion(), ldflags])}`)
  const binary = path.join(dir, 'control-plane')
  const etcd = await ensureEtcd(log)
  if (existsSync(binary)) return {version, controlPlane: binary, etcd}
  await withLock(dir, () => {
    if (existsSync(binary)) return
    mkdirSync(dir, {recursive: true})
    log(`building Kubernetes ${version} (kube-apiserver, kube-controller-manager, kube-scheduler) into ${dir}: about 4 minutes on 2 cores when cold ...`)
    goBuild(moduleDir, [main], binary, ldflags, '.', log)
  })
  return {version, controlPlane: binary, etcd}
}

/**
 * Calico's own manifests (crds.yaml, calico.yaml, the Tigera operator's) at v3.28.5. The Go module proxy
 * serves no tagged Calico release, but this pseudo-version of the monorepo, checked against the Go checksum
 * database like any module.
 */
export const CALICO_MODULE = 'github.com/projectcalico/calico@v1.11.0-cni-plugin.0.20250813170300-a0db560f0520'

export function calicoManifests(): string {
  goVersion()
  const result = spawnSync('go', ['mod', 'download', '-json', CALICO_MODULE], {encoding: 'utf8', cwd: GO_DIR})
  const info = JSON.parse(result.stdout || '{}') as {Dir?: string; Error?: string}
  if (result.status !== 0 || !info.Dir) throw new Error(`go mod download ${CALICO_MODULE} failed: ${info.Error ?? result.stderr.trim()}`)
  return path.join(info.Dir, 'manifests')
}

/** Writes go/k8s-MAJOR.MINOR/go.mod for a release: k8s.io/kubernetes plus a replace of each staging module by its published v0 tag. */
function regenerate(version: string): void {
  const dir = minorDir(version)
  mkdirSync(dir, {recursive: true})
  const info = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${version}`], {encoding: 'utf8'})) as {GoMod: string}
  const staging = [...readFileSync(info.GoMod, 'utf8').matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\//gm)].map((m) => m[1]!)
  const [, minor, patch] = version.split('.')
  writeFileSync(path.join(dir, 'go.mod'), [
    `// Generated by test/control-plane/build.ts --regen ${version}: Kubernetes ${version} as a module (its staging modules at their published v0 tags).`,
    'module kubectl-dualstack.test/control-plane', '', 'go 1.24', '', `require k8s.io/kubernetes v${version}`, '', 'replace (',
    ...staging.map((mod) => `\t${mod} => ${mod} v0.${minor}.${patch}`), ')', ''].join('\n'))
  copyFileSync(path.join(GO_DIR, 'main.go'), path.join(dir, 'main.go'))
  try {
    execFileSync('go', ['mod', 'tidy'], {cwd: dir, stdio: 'inherit'})
  } finally {
    rmSync(path.join(dir, 'main.go'), {force: true})
  }
  console.error(`wrote ${dir}/go.mod and go.sum; add ${version} to KUBERNETES_VERSIONS`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  try {
    if (args[0] === '--regen') {
      if (!args[1]) throw new Error('usage: build.ts --regen VERSION (e.g. 1.35.4)')
      regenerate(args[1])
    } else {
      const versions = args.includes('--all-versions') ? [...KUBERNETES_VERSIONS] : args.filter((a) => !a.startsWith('-'))
      for (const version of versions.length > 0 ? versions : [defaultVersion()]) {
        const built = await ensureControlPlane(version)
        console.error(`Kubernetes ${built.version}: ${built.controlPlane}; etcd: ${built.etcd}`)
      }
      console.error(`Calico manifests: ${calicoManifests()}`)
    }
  } catch (error) {
    console.error(`control-plane build: ${(error as Error).message}`)
    process.exit(1)
  }
}
