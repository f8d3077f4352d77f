// The krew install: the single executable from the linux-amd64 archive that `npm run package` built (npm
// test packages before it tests), unpacked and run with an empty environment, so no Node on PATH, no HOME
// and no KUBECONFIG. It must answer as the npm install does, byte for byte.
import {mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import * as tar from 'tar'

import {ROOT, run, runPlugin, startSim, type RunResult, type RunningSim} from '../sim/harness.js'

const {version} = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
const ARCHIVE = path.join(ROOT, 'release', `kubectl-dualstack_v${version}_linux_amd64.tar.gz`)

describe('the single executable, with no Node and an empty environment', () => {
  let sim: RunningSim
  let dir: string
  let binary: string
  const sea = (args: string[]): Promise<RunResult> => run(binary, args, {})

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dualstack-sea-'))
    await tar.extract({file: ARCHIVE, cwd: dir})
    binary = path.join(dir, 'kubectl-dualstack')
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(async () => {
    await sim.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('--version names the package version and the Node inside it', async () => {
    const result = await sea(['--version'])
    expect(result).toEqual({code: 0, stdout: expect.stringMatching(new RegExp(`^kubectl-dualstack/${version.replaceAll('.', '\\.')} linux-x64 node-v24\\.`)), stderr: ''})
  })

  it('--help lists every command, as the npm install does', async () => {
    const [fromSea, fromNpm] = await Promise.all([sea(['--help']), runPlugin(['--help'])])
    expect(fromSea.code).toBe(0)
    expect(fromSea.stdout).toMatch(/\n {2}ippool +Calico IP pools/)
    expect(fromSea.stdout).toMatch(/\n {2}services +Services: convert SingleStack Services to dual-stack/)
    for (const command of ['calico-restart', 'connectivity', 'doctor', 'lint', 'pod-ips', 'svc-check']) expect(fromSea.stdout).toContain(`  ${command} `)
    // Only the VERSION line names the runtime, which may differ.
    const withoutVersion = (text: string) => text.replace(/^ {2}kubectl-dualstack\/.*$/m, '')
    expect(withoutVersion(fromSea.stdout)).toBe(withoutVersion(fromNpm.stdout))
  })

  it('pod-ips -A prints what the npm install prints', async () => {
    const [fromSea, fromNpm] = await Promise.all([
      sea(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig]),
      runPlugin(['pod-ips', '-A', '--kubeconfig', sim.kubeconfig]),
    ])
    expect(fromSea).toEqual({code: 0, stdout: fromNpm.stdout, stderr: ''})
    expect(fromSea.stdout).toMatch(/default\s+hello-k8s\s+node-3\s+3\.2\.184\.119\s+2001::1:0:0:17:c2fb\s+dual\n/)
  })

  it('doctor -o json finds the runbook failures with the same report and exit status', async () => {
    const [fromSea, fromNpm] = await Promise.all([
      sea(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig]),
      runPlugin(['doctor', '-o', 'json', '--kubeconfig', sim.kubeconfig]),
    ])
    expect(fromSea.stderr).toBe('')
    expect(fromSea.code).toBe(1)
    expect(fromSea.code).toBe(fromNpm.code)
    expect(JSON.parse(fromSea.stdout)).toEqual(JSON.parse(fromNpm.stdout))
  })

  it('linked as kubectl_complete-dualstack, it answers kubectl\'s completion protocol', async () => {
    const link = path.join(dir, 'kubectl_complete-dualstack')
    symlinkSync(binary, link)
    const result = await run(link, ['ippool', ''], {})
    expect(result).toEqual({code: 0, stdout: expect.stringMatching(/^fix\tMake a Calico IP pool .*\n:4\n$/), stderr: ''})
    expect(await run(link, ['pod-ips', '--kubeconfig', sim.kubeconfig, '-n', 'def'], {})).toEqual({code: 0, stdout: 'default\n:4\n', stderr: ''})
  })

  it('an unknown command and a missing kubeconfig are one-line usage errors (exit 2)', async () => {
    expect(await sea(['nope'])).toEqual({code: 2, stdout: '', stderr: `error: unknown command "nope" for "kubectl dualstack"; see 'kubectl dualstack --help'\n`})
    const args = ['pod-ips', '--kubeconfig', path.join(dir, 'no-such-kubeconfig')]
    const [missing, fromNpm] = await Promise.all([sea(args), runPlugin(args)])
    expect(missing).toEqual(fromNpm)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^error: .*no-such-kubeconfig.*\n$/)
  })
})
