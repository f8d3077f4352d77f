// plugin.yaml is checked as krew checks a manifest before it installs it (sigs.k8s.io/krew
// internal/index/validation: ValidatePlugin, validatePlatform, validateSelector), and as krew-index's
// review does (one platform per os/arch, the bin inside the archive).
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import path from 'node:path'

import * as tar from 'tar'
import {parse} from 'yaml'

import {krewManifest} from '../../.ci/krew-manifest.js'
import {ROOT} from '../sim/harness.js'

interface Platform {
  selector?: {matchLabels?: Record<string, string>; matchExpressions?: {key: string}[]}
  uri?: string
  sha256?: string
  bin?: string
  files?: {from?: string; to?: string}[]
}
interface Manifest {
  apiVersion?: string
  kind?: string
  metadata?: {name?: string}
  spec?: {version?: string; shortDescription?: string; platforms?: Platform[]}
}

// krew's semver.Parse: a leading v, then semantic versioning 2.0.0.
const KREW_SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/
const WINDOWS_FORBIDDEN = ['CON', 'PRN', 'AUX', 'NUL', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((n) => [`COM${n}`, `LPT${n}`])]

/** The problems krew (and krew-index's review) would find; empty when the manifest would install. */
function krewProblems(manifest: Manifest, name: string): string[] {
  const problems: string[] = []
  if (manifest.apiVersion !== 'krew.googlecontainertools.github.com/v1alpha2') problems.push(`apiVersion ${manifest.apiVersion}`)
  if (manifest.kind !== 'Plugin') problems.push(`kind ${manifest.kind}`)
  if (!/^[\w-]+$/.test(name) || WINDOWS_FORBIDDEN.includes(name.toUpperCase())) problems.push(`unsafe name ${name}`)
  if (manifest.metadata?.name !== name) problems.push(`named ${manifest.metadata?.name}, not ${name}`)
  const spec = manifest.spec ?? {}
  if (!spec.shortDescription) problems.push('no shortDescription')
  else if (/[\r\n]/.test(spec.shortDescription)) problems.push('line break in shortDescription')
  if (!spec.platforms?.length) problems.push('no platforms')
  if (!spec.version) problems.push('no version')
  else if (!KREW_SEMVER.test(spec.version)) problems.push(`version ${spec.version} is not v-prefixed semver`)
  const seen = new Set<string>()
  for (const platform of spec.platforms ?? []) {
    if (!platform.uri) problems.push('platform without uri')
    if (!platform.sha256) problems.push('platform without sha256')
    else if (!/^[a-f0-9]{64}$/.test(platform.sha256)) problems.push(`sha256 ${platform.sha256} is not 64 lowercase hex digits`)
    if (!platform.bin) problems.push('platform without bin')
    if (platform.files && (platform.files.length === 0 || platform.files.some((f) => !f.from || !f.to))) problems.push('bad files')
    const selector = platform.selector
    if (!selector) problems.push('platform without selector')
    else if (!selector.matchLabels && !selector.matchExpressions?.length) problems.push('empty selector')
    else {
      const keys = [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)]
      for (const key of keys) if (key !== 'os' && key !== 'arch') problems.push(`selector key ${key}`)
      if (selector.matchLabels && Object.keys(selector.matchLabels).length === 0) problems.push('empty matchLabels')
      const id = `${selector.matchLabels?.os}/${selector.matchLabels?.arch}`
      if (seen.has(id)) problems.push(`two platforms for ${id}`)
      seen.add(id)
    }
  }
  return problems
}

const pjson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
const committed = parse(readFileSync(path.join(ROOT, 'plugin.yaml'), 'utf8')) as Manifest

describe('plugin.yaml, the krew manifest', () => {
  it('passes krew validation, at the package version, one archive per platform', () => {
    expect(krewProblems(committed, 'dualstack')).toEqual([])
    expect(committed.spec?.version).toBe(`v${pjson.version}`)
    for (const platform of committed.spec?.platforms ?? []) {
      const {os, arch} = platform.selector?.matchLabels ?? {}
      expect(platform.uri).toMatch(new RegExp(`/releases/download/v${pjson.version}/kubectl-dualstack_v${pjson.version}_${os}_${arch}\\.(tar\\.gz|zip)$`))
      expect(platform.bin).toBe(os === 'windows' ? 'kubectl-dualstack.exe' : 'kubectl-dualstack')
    }
  })

  it('the validation finds what krew would refuse', () => {
    const broken = (change: (m: Manifest & {spec: {platforms: Platform[]}}) => void): string[] => {
      const copy = structuredClone(committed) as Manifest & {spec: {platforms: Platform[]}}
      change(copy)
      return krewProblems(copy, 'dualstack')
    }
    expect(broken((m) => { m.spec.version = pjson.version })).toEqual([`version ${pjson.version} is not v-prefixed semver`])
    expect(broken((m) => { m.spec.platforms[0]!.sha256 = 'ABC' })).toEqual(['sha256 ABC is not 64 lowercase hex digits'])
    expect(broken((m) => { delete m.spec.platforms[0]!.bin })).toEqual(['platform without bin'])
    expect(broken((m) => { m.spec.platforms[0]!.selector = {matchLabels: {os: 'linux', platform: 'x'}} })).toContain('selector key platform')
    expect(broken((m) => { m.spec.platforms.push(structuredClone(m.spec.platforms[0]!)) })).toEqual([expect.stringMatching(/^two platforms for /)])
    expect(broken((m) => { m.spec.shortDescription = 'two\nlines' })).toEqual(['line break in shortDescription'])
    expect(broken((m) => { m.metadata = {name: 'kubectl-dualstack'} })).toEqual(['named kubectl-dualstack, not dualstack'])
  })

  describe('generated from the archives this build made (npm run package)', () => {
    const release = path.join(ROOT, 'release')
    const archives = existsSync(release) ? readdirSync(release).filter((f) => /\.(tar\.gz|zip)$/.test(f)).sort() : []

    it('there is an archive for this machine: npm test packages before it tests', () => {
      expect(archives).toContain(`kubectl-dualstack_v${pjson.version}_linux_amd64.tar.gz`)
    })

    it.each(archives.filter((f) => f.endsWith('.tar.gz')))('%s: the sha256 beside it, the bin and the LICENSE inside it', async (file) => {
      const bytes = readFileSync(path.join(release, file))
      const sha256 = createHash('sha256').update(bytes).digest('hex')
      expect(readFileSync(path.join(release, `${file}.sha256`), 'utf8')).toBe(`${sha256}  ${file}\n`)
      const manifest = krewManifest([{file, sha256}]) as Manifest
      expect(krewProblems(manifest, 'dualstack')).toEqual([])
      const entries: {path: string; mode: number}[] = []
      await tar.list({file: path.join(release, file), onReadEntry: (entry) => { entries.push({path: entry.path, mode: entry.mode ?? 0}) }})
      const bin = manifest.spec!.platforms![0]!.bin!
      expect(entries.map((e) => e.path).sort()).toEqual(['LICENSE', bin].sort())
      expect(entries.find((e) => e.path === bin)!.mode & 0o111).toBe(0o111)
    })
  })
})
