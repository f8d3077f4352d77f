// The npm install: `npm pack` of this build, installed with `npm install -g` into an empty prefix with the
// registry out of reach (--offline): it needs no runtime dependency, and kubectl-dualstack works from there.
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {ROOT, run, runPlugin, startSim, testEnv, type RunningSim} from '../sim/harness.js'

describe('npm pack, then npm install -g', () => {
  let dir: string
  let prefix: string
  let sim: RunningSim

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dualstack-npm-'))
    prefix = path.join(dir, 'prefix')
    const env = testEnv({npm_config_cache: path.join(dir, 'cache')})
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', dir], {...env, PWD: ROOT}, 120_000)
    if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`)
    const tarball = path.join(dir, packed.stdout.trim().split('\n').at(-1)!)
    const installed = await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], env, 120_000)
    if (installed.code !== 0) throw new Error(`npm install -g failed: ${installed.stderr}`)
    sim = await startSim('runbook-rke-1.18')
  }, 240_000)
  afterAll(async () => {
    await sim?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('installs the bundle and nothing else: no runtime dependencies, no sources, no source maps', () => {
    const installed = path.join(prefix, 'lib', 'node_modules', 'kubectl-dualstack')
    const pjson = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {dependencies?: object}
    expect(pjson.dependencies ?? {}).toEqual({})
    expect(existsSync(path.join(installed, 'node_modules'))).toBe(false)
    expect(existsSync(path.join(installed, 'src'))).toBe(false)
    expect(readdirSync(path.join(installed, 'dist')).sort()).toEqual(['cli.cjs', 'cli.cjs.LEGAL.txt', 'start.cjs'])
    expect(readdirSync(path.join(installed, 'bin')).sort()).toEqual(['kubectl-dualstack', 'package.json'])
  })

  it('the installed kubectl-dualstack answers as the one in this clone does, and kubectl_complete-dualstack completes', async () => {
    const bin = path.join(prefix, 'bin', 'kubectl-dualstack')
    const version = await run(bin, ['--version'], testEnv())
    expect(version).toEqual({code: 0, stdout: expect.stringMatching(/^kubectl-dualstack\/\d+\.\d+\.\d+ /), stderr: ''})
    const args = ['pod-ips', '-A', '--kubeconfig', sim.kubeconfig]
    const [installed, clone] = await Promise.all([run(bin, args, testEnv()), runPlugin(args)])
    expect(installed).toEqual(clone)
    expect(installed.code).toBe(0)
    const completion = await run(path.join(prefix, 'bin', 'kubectl_complete-dualstack'), ['pod-ips', '--kubeconfig', sim.kubeconfig, '-n', 'kube-'], testEnv())
    expect(completion).toEqual({code: 0, stdout: 'kube-node-lease\nkube-public\nkube-system\n:4\n', stderr: ''})
    expect(installed.stdout).toMatch(/default\s+hello-k8s\s+node-3\s+3\.2\.184\.119\s+2001::1:0:0:17:c2fb\s+dual\n/)
  })
})
