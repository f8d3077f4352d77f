// Completion as a shell gets it: through the real kubectl's `__complete` (which runs
// kubectl_complete-dualstack from PATH), and through the bash, zsh and fish scripts of `completion`.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {shellCommand} from '../shells.js'
import {PLUGIN, ROOT, run, runPlugin, startSim, testEnv, type RunResult, type RunningSim} from '../sim/harness.js'

const BIN = path.join(ROOT, 'bin')

/** `kubectl __complete dualstack WORDS...` with the plugin's bin/ on PATH: candidates and the directive. */
async function kubectlComplete(words: string[], env: Record<string, string | undefined> = {}): Promise<{values: string[]; directive: number; result: RunResult}> {
  const result = await run('kubectl', ['__complete', 'dualstack', ...words], testEnv({PATH: `${BIN}${path.delimiter}${testEnv().PATH}`, ...env}))
  const lines = result.stdout.trimEnd().split('\n')
  const directive = Number(lines.at(-1)?.replace(/^:/, ''))
  return {values: lines.slice(0, -1).map((l) => l.split('\t')[0]!), directive, result}
}

describe('completion through kubectl __complete', () => {
  let sim: RunningSim
  beforeAll(async () => {
    sim = await startSim('runbook-rke-1.18')
  })
  afterAll(() => sim.stop())

  it('completes commands and topics, with descriptions, and never files', async () => {
    const {values, directive, result} = await kubectlComplete([''])
    expect(values).toEqual(['calico-restart', 'completion', 'connectivity', 'doctor', 'ippool', 'lint', 'pod-ips', 'pods', 'services', 'svc-check'])
    expect(result.stdout).toContain('doctor\tCheck every setting dual-stack needs')
    expect(directive).toBe(4)
    expect((await kubectlComplete(['ippool', ''])).values).toEqual(['fix'])
    expect((await kubectlComplete(['po'])).values).toEqual(['pod-ips', 'pods'])
  })

  it('completes flags (not the ones already given), flag options and check ids', async () => {
    expect((await kubectlComplete(['pod-ips', '--all'])).values).toEqual(['--all-contexts', '--all-namespaces'])
    expect((await kubectlComplete(['pod-ips', '-o', ''])).values).toEqual(['table', 'wide', 'json', 'yaml', 'plain'])
    expect((await kubectlComplete(['doctor', '--output=j'])).values).toEqual(['--output=json', '--output=junit'])
    expect((await kubectlComplete(['ippool', 'fix', '--dry-run', '--d'])).values).toEqual([])
    const ids = await kubectlComplete(['doctor', '--only', 'node.ipv6-forwarding,calico.ippool.c'])
    expect(ids.values).toEqual(['node.ipv6-forwarding,calico.ippool.cidr-match'])
    expect(ids.directive).toBe(4 | 2) // a group id is a prefix: no space after it
  })

  it('asks the cluster for namespaces, pods, Services and IP pools, and the kubeconfig for contexts', async () => {
    const kc = ['--kubeconfig', sim.kubeconfig]
    const namespaces = await runKubectlNames(['get', 'namespaces'])
    expect((await kubectlComplete(['pod-ips', ...kc, '-n', ''])).values).toEqual(namespaces)
    expect((await kubectlComplete(['pod-ips', '-n', 'default', ...kc, 'hello'])).values).toEqual(['hello-k8s'])
    expect((await kubectlComplete(['svc-check', ...kc, '--namespace=kube-system', ''])).values).toEqual(await runKubectlNames(['get', 'services', '-n', 'kube-system']))
    // services dual takes any number of names: each is completed, after one given too.
    expect((await kubectlComplete(['services', 'dual', ...kc, '-n', 'kube-system', 'kube-dns', ''])).values).toEqual(await runKubectlNames(['get', 'services', '-n', 'kube-system']))
    expect((await kubectlComplete(['pods', 'recreate', '--in-pool', ''], {KUBECONFIG: sim.kubeconfig})).values).toEqual(await runKubectlNames(['get', 'ippools.crd.projectcalico.org']))
    const two = path.join(sim.dir, 'two-contexts')
    writeFileSync(two, sim.server.kubeconfig().replace('contexts:\n', 'contexts:\n- name: prod-eu\n  context:\n    cluster: sim\n    user: admin\n'))
    expect((await kubectlComplete(['doctor', '--kubeconfig', two, '--context', ''])).values).toEqual(['prod-eu', 'sim'])
  })

  it('a slow cluster costs at most the completion timeout, and an unreachable one gives nothing, quickly', async () => {
    sim.server.sim.faults.push({verb: 'list', resource: 'namespaces', latencyMs: 10_000, hits: 0})
    try {
      const started = Date.now()
      const slow = await kubectlComplete(['pod-ips', '--kubeconfig', sim.kubeconfig, '-n', ''], {DUALSTACK_COMPLETION_TIMEOUT: '500ms'})
      expect(slow.values).toEqual([])
      expect(slow.directive).toBe(4)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      sim.server.sim.faults.pop()
    }
    const closed = sim.writeKubeconfig('closed', {server: 'https://127.0.0.1:1'})
    const unreachable = await kubectlComplete(['pod-ips', '--kubeconfig', closed, '-n', ''])
    expect(unreachable.values).toEqual([])
    expect(unreachable.result.code).toBe(0)
  })

  it('file arguments fall back to the shell (lint paths, --kubeconfig)', async () => {
    expect((await kubectlComplete(['lint', ''])).directive).toBe(0)
    expect((await kubectlComplete(['doctor', '--kubeconfig', ''])).directive).toBe(0)
  })

  async function runKubectlNames(args: string[]): Promise<string[]> {
    const result = await run('kubectl', ['--kubeconfig', sim.kubeconfig, ...args, '-o', 'jsonpath={.items[*].metadata.name}'], testEnv())
    expect(result.code).toBe(0)
    return result.stdout.split(' ').filter(Boolean).sort()
  }
})

describe('completion scripts for kubectl-dualstack run directly', () => {
  let scripts: Record<string, string>
  let dir: string
  beforeAll(async () => {
    scripts = {}
    dir = mkdtempSync(path.join(tmpdir(), 'dualstack-completion-'))
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await runPlugin(['completion', shell])
      if (result.code !== 0) throw new Error(`completion ${shell} failed: ${result.stderr}`)
      scripts[shell] = path.join(dir, `completion.${shell}`)
      writeFileSync(scripts[shell]!, result.stdout)
    }
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const env = () => testEnv({PATH: `${BIN}${path.delimiter}${testEnv().PATH}`})

  it('bash: completes topics, flag values after = and check-id lists', async () => {
    const complete = async (line: string): Promise<string[]> => {
      const program = `source ${scripts.bash}; COMP_LINE='${line}'; COMP_POINT=${line.length}; _kubectl_dualstack; printf '%s\\n' "\${COMPREPLY[@]}"`
      const result = await run('bash', ['-c', program], env())
      expect(result.stderr).toBe('')
      return result.stdout.split('\n').filter(Boolean)
    }
    expect(await complete('kubectl-dualstack ippool ')).toEqual(['fix'])
    expect(await complete('kubectl-dualstack pod-ips --output=ya')).toEqual(['yaml'])
    expect(await complete('kubectl-dualstack doctor --only k8s.')).toEqual(['k8s.feature-gate', 'k8s.version'])
  })

  it('fish: completes commands with their descriptions', async () => {
    const fish = shellCommand('fish')
    const result = await run(fish.binary, ['-c', `${fish.prelude}source ${scripts.fish}; complete -C 'kubectl-dualstack pod-ips -o j'; complete -C 'kubectl-dualstack calico'`], {...env(), ...fish.env})
    expect(result.stderr).toBe('')
    expect(result.stdout).toBe('json\ncalico-restart\tRestart calico-node node by node (each waited for until Ready), then calico-kube-controllers\n')
  })

  it('zsh: the script parses, and defines the function and the compdef', async () => {
    const zsh = shellCommand('zsh')
    const result = await run(zsh.binary, ['-c', `${zsh.prelude}autoload -U compinit && compinit -u -D && source ${scripts.zsh} && whence -w _kubectl_dualstack && echo $_comps[kubectl-dualstack]`], {...env(), ...zsh.env})
    expect(result).toEqual({code: 0, stdout: '_kubectl_dualstack: function\n_kubectl_dualstack\n', stderr: ''})
  })

  it('an unknown shell is a usage error', async () => {
    const result = await run(PLUGIN, ['completion', 'powershell'], testEnv())
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: .*powershell.*\n$/)
  })
})
