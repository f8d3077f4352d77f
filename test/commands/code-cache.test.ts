// The code cache both installs keep between runs (src/start/code-cache.ts), on the real binary: written after
// a run that did its work, read by the next, and never a reason for a run to fail or to print anything.
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import * as tar from 'tar'

import {ROOT, run, runPlugin, testEnv} from '../sim/harness.js'

const {version} = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
const dir = mkdtempSync(path.join(tmpdir(), 'dualstack-code-cache-'))

/** A fresh cache home: the caches go to $XDG_CACHE_HOME/kubectl-dualstack/code-cache/<build>/<command>.bin. */
function cacheHome(): {home: string; root: string; files(): string[]} {
  const home = mkdtempSync(path.join(dir, 'home-'))
  const root = path.join(home, 'kubectl-dualstack', 'code-cache')
  return {
    home, root,
    files: () => (existsSync(root) ? readdirSync(root).flatMap((folder) => readdirSync(path.join(root, folder)).map((file) => `${folder}/${file}`)) : []),
  }
}

const debugged = (home: string, extra: Record<string, string> = {}) => ({XDG_CACHE_HOME: home, DEBUG: 'kubectl-dualstack:code-cache', ...extra})

afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('the code cache (npm install)', () => {
  it('is written by a first run, one file per command, and read by the next with the same output', async () => {
    const cache = cacheHome()
    const first = await runPlugin(['--help'], debugged(cache.home))
    expect(first).toMatchObject({code: 0, stderr: 'kubectl-dualstack:code-cache help: missing\n'})
    expect(cache.files()).toEqual([expect.stringMatching(new RegExp(`^[0-9a-f]{16}-node${process.versions.node.replaceAll('.', '\\.')}-${process.arch}/help\\.bin$`))])
    const second = await runPlugin(['--help'], debugged(cache.home))
    expect(second).toEqual({...first, stderr: 'kubectl-dualstack:code-cache help: accepted\n'})
    // A command's help is help too; a command has a cache of its own.
    expect((await runPlugin(['lint', '--help'], debugged(cache.home))).stderr).toBe('kubectl-dualstack:code-cache help: accepted\n')
    const lint = await runPlugin(['lint', path.join(ROOT, 'test', 'fixtures', 'lint', 'clean')], debugged(cache.home))
    expect(lint).toMatchObject({code: 0, stderr: 'kubectl-dualstack:code-cache lint: missing\n'})
    expect(cache.files().map((file) => path.basename(file)).sort()).toEqual(['help.bin', 'lint.bin'])
  })

  it('reads a bundle that is ASCII (the npm install reads it as latin1; the build escapes what esbuild leaves)', () => {
    const bundle = readFileSync(path.join(ROOT, 'dist', 'cli.cjs'))
    expect(bundle.findIndex((byte) => byte > 0x7f)).toBe(-1)
    // The duration parser's unit, escaped, still parses: the character is the same.
    expect(bundle.includes('\\u00b5s')).toBe(true)
  })

  it('a run that ends in a usage error writes none (it has not compiled what the command needs)', async () => {
    const cache = cacheHome()
    const result = await runPlugin(['pod-ips', '--output', 'nope'], debugged(cache.home))
    expect(result.code).toBe(2)
    expect(cache.files()).toEqual([])
  })

  it('a broken cache file is rejected by V8, the run is right, and the file is written again', async () => {
    const cache = cacheHome()
    const expected = await runPlugin(['--help'], {XDG_CACHE_HOME: cache.home})
    const [file] = cache.files()
    writeFileSync(path.join(cache.root, file!), Buffer.alloc(4096, 7))
    const broken = await runPlugin(['--help'], debugged(cache.home))
    expect(broken).toEqual({...expected, stderr: 'kubectl-dualstack:code-cache help: rejected\n'})
    expect((await runPlugin(['--help'], debugged(cache.home))).stderr).toBe('kubectl-dualstack:code-cache help: accepted\n')
  })

  it('a cache folder that cannot be written changes nothing: same output, nothing on stderr', async () => {
    const home = path.join(dir, 'not-a-folder')
    writeFileSync(home, 'a file where the cache home should be\n')
    const result = await runPlugin(['--help'], {XDG_CACHE_HOME: home})
    expect(result).toEqual({...(await runPlugin(['--help'])), stderr: ''})
    expect(readFileSync(home, 'utf8')).toBe('a file where the cache home should be\n')
  })

  it('NODE_DISABLE_COMPILE_CACHE turns it off, as it does Node\'s own compile cache', async () => {
    const cache = cacheHome()
    const result = await runPlugin(['--help'], debugged(cache.home, {NODE_DISABLE_COMPILE_CACHE: '1'}))
    expect(result).toMatchObject({code: 0, stderr: 'kubectl-dualstack:code-cache help: off\n'})
    expect(existsSync(cache.root)).toBe(false)
  })

  it('a new build\'s first write keeps the four newest folders and removes older ones', async () => {
    const cache = cacheHome()
    const old = ['0000000000000001-node22.0.0-x64', '0000000000000002-node22.0.0-x64', '0000000000000003-node22.0.0-x64', '0000000000000004-node22.0.0-x64', '0000000000000005-node22.0.0-x64']
    for (const [i, folder] of old.entries()) {
      mkdirSync(path.join(cache.root, folder), {recursive: true})
      writeFileSync(path.join(cache.root, folder, 'help.bin'), 'old')
      const when = new Date(Date.UTC(2026, 0, 1 + i))
      utimesSync(path.join(cache.root, folder), when, when)
    }
    await runPlugin(['--help'], {XDG_CACHE_HOME: cache.home})
    const folders = readdirSync(cache.root).sort()
    expect(folders).toHaveLength(4)
    expect(folders.slice(0, 3)).toEqual(old.slice(2))
    expect(folders[3]).toMatch(new RegExp(`-node${process.versions.node.replaceAll('.', '\\.')}-`))
  })
})

describe('the code cache (single executable)', () => {
  it('is written and read as the npm install\'s, in the same place', async () => {
    const unpacked = mkdtempSync(path.join(tmpdir(), 'dualstack-code-cache-sea-'))
    try {
      await tar.extract({file: path.join(ROOT, 'release', `kubectl-dualstack_v${version}_linux_amd64.tar.gz`), cwd: unpacked})
      const cache = cacheHome()
      const sea = (args: string[]) => run(path.join(unpacked, 'kubectl-dualstack'), args, {XDG_CACHE_HOME: cache.home, DEBUG: 'kubectl-dualstack:code-cache'})
      expect(await sea(['--help'])).toMatchObject({code: 0, stderr: 'kubectl-dualstack:code-cache help: missing\n'})
      expect(await sea(['--help'])).toMatchObject({code: 0, stderr: 'kubectl-dualstack:code-cache help: accepted\n'})
      expect(cache.files()).toHaveLength(1)
      // The npm install on this machine's Node shares the folder when its Node is the executable's.
      const npm = await runPlugin(['--help'], debugged(cache.home))
      expect(npm.stderr).toBe(`kubectl-dualstack:code-cache help: ${process.version === (await sea(['--version'])).stdout.trim().split('node-')[1] ? 'accepted' : 'missing'}\n`)
    } finally {
      rmSync(unpacked, {recursive: true, force: true})
    }
  })
})

describe('an install that cannot start', () => {
  it('a broken oclif.manifest.json is one line naming it, exit 1, and --version still answers', async () => {
    const install = mkdtempSync(path.join(dir, 'install-'))
    for (const entry of ['bin', 'dist', 'package.json']) cpSync(path.join(ROOT, entry), path.join(install, entry), {recursive: true})
    writeFileSync(path.join(install, 'oclif.manifest.json'), '{broken')
    const plugin = path.join(install, 'bin', 'kubectl-dualstack')
    const help = await run(plugin, ['--help'], testEnv())
    expect(help.code).toBe(1)
    expect(help.stderr).toMatch(/^error: kubectl-dualstack cannot start: .*JSON.*; reinstall it\n$/)
    expect((await run(plugin, ['--version'], testEnv())).stdout).toMatch(/^kubectl-dualstack\//)
  })
})
